// The TV page, live: every few seconds the board's figures come again, rendered by the server.
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
})();
