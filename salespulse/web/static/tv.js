// The TV page, live: every few seconds the board's figures come again, rendered by the server,
// and the newsflash arrives as server-sent events the moment the server has it.
// Without this script the page is complete and reloads itself (a <noscript> refresh).
"use strict";
(function () {
  const main = document.querySelector("main[data-figures]");
  if (!main) return;
  const everyMs = 1000 * Number(main.dataset.refreshS || 10);
  async function refresh() {
    try {
      const answer = await fetch(main.dataset.figures, { cache: "no-store", credentials: "same-origin" });
      if (answer.ok) {
        main.innerHTML = (await answer.json()).html;
      }
    } catch (error) {
      // A TV keeps the last figures on screen while the server is away; the time shows their age.
    }
  }
  setInterval(refresh, everyMs);

  // Two banners at most on screen: a third pushes out the oldest. EventSource reconnects by itself.
  const news = document.getElementById("news");
  if (!news || !main.dataset.news || !window.EventSource) return;
  const shown = new Set();
  new EventSource(main.dataset.news).onmessage = function (message) {
    const item = JSON.parse(message.data);
    if (shown.has(item.key)) return;
    shown.add(item.key);
    const banner = document.createElement("p");
    banner.className = "banner " + item.kind;
    banner.dataset.news = item.kind;
    banner.textContent = item.text;
    news.appendChild(banner);
    while (news.children.length > 2) news.removeChild(news.firstChild);
    setTimeout(function () { banner.remove(); }, 1000 * Math.max(1, item.left_s));
  };
})();
