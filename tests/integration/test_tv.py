"""The sales floor's TV in real Chromium at 1920x1080, on a real broker, worker and Prometheus.

Every number on /tv/<team> is checked against a count made here from the published events (or,
for pace, which moves with the clock, against Prometheus' answer at the instant the page was
rendered, asked here with a query of the test's own), and the money (the team's sales velocity
and win rate, the weekly review's deal velocity) against a deal-by-deal working-out of the deals
published; the page never scrolls, its texts are at least 32 px and its headline numbers at least
64 px; axe-core finds nothing serious; a kiosk token opens it off loopback and nothing else does;
it updates without a reload; /tv rotates the teams.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from playwright.sync_api import Browser, Page

from salespulse.kafka.launcher import free_port
from salespulse.weekly.review import Samples
from tests.integration.conftest import REPO, Pipeline, api, scrape, wait_for
from tests.integration.test_web import SCREENSHOTS, SECRET, axe_script, axe_violations, browser, link, sign_in  # noqa: F401

pytestmark = pytest.mark.integration

TEAMS = {"amsterdam": "Europe/Amsterdam", "sydney": "Australia/Sydney"}
CONFIG: dict[str, Any] = {
    "defaults": {"timezone": "UTC"},
    "actions": ["call", "cold_call", "outbound_email", "meeting"],
    "teams": {
        "amsterdam": {"timezone": TEAMS["amsterdam"], "reps": {
            "anna": {"name": "Anna de Vries"}, "bram": {"name": "Bram Jansen"}, "sara": {"name": "Sara Bakker"}},
            "managers": {"lotte": {"name": "Lotte Visser"}}},
        "sydney": {"timezone": TEAMS["sydney"], "reps": {"liam": {"name": "Liam Chen"}, "mia": {"name": "Mia Wong"}}},
    },
}
TARGETS = {"amsterdam": {"call": 40, "cold_call": 20}, "sydney": {"call": 30}}
# Who did what, minutes before now; deals: (team, rep, deal, outcome, days since created, minutes since decided).
DONE = {
    ("amsterdam", "anna"): ["call"] * 5 + ["cold_call"] * 3,
    ("amsterdam", "bram"): ["call"] * 2 + ["outbound_email"],
    ("sydney", "liam"): ["call"] * 4,
    ("sydney", "mia"): ["call"],
}
DEALS = [("amsterdam", "anna", "A-1", "won", 6, 5), ("amsterdam", "bram", "A-2", "lost", 2, 10)]
# Deals still open: (team, rep, deal, stage, days since their only event).
OPEN_DEALS = [("amsterdam", "anna", "A-4", "proposal", 20), ("amsterdam", "sara", "A-5", "lead", 3)]
# Amounts on a deal's first event, in the team's currency (EUR: CONFIG names none); A-5 has none.
AMOUNTS = {"A-1": 12_000.0, "A-2": 8_000.0, "A-4": 30_000.0}
DAY_S = 86_400
# A decided deal as the money figures see it: (rep, outcome, amount or None, seconds from its first event to its decision).
Decided = tuple[str, str, float | None, float]


def money_by_hand(decided: list[Decided], open_deals: int) -> tuple[float | None, float | None, float | None, float | None]:
    """Return sales velocity per day, win rate, average won value and sales cycle (s) of the deals, worked
    out one by one: open deals x average won value x win rate / (average cycle / 86400); None without a factor."""
    won = [deal for deal in decided if deal[1] == "won"]
    win_rate = len(won) / len(decided) if decided else None
    amounts = [amount for _, _, amount, _ in won if amount is not None]
    value = sum(amounts) / len(amounts) if amounts else None
    cycle = sum(seconds for *_, seconds in won) / len(won) if won else None
    if win_rate is None or value is None or cycle is None:
        return None, win_rate, value, cycle
    return open_deals * value * win_rate / (cycle / DAY_S), win_rate, value, cycle


def euros(value: float) -> str:
    """Return an amount of euros as the English pages write it: "€ 12,400"."""
    return f"€ {value:,.0f}"


def since_midnight(now: datetime) -> timedelta:
    """Return the time since the latest local midnight of any team."""
    def since(tz: str) -> timedelta:
        local = now.astimezone(ZoneInfo(tz))
        return local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    return min(since(tz) for tz in TEAMS.values())


def clear_of_midnight(ahead: timedelta = timedelta(minutes=5)) -> datetime:
    """Return now once no team's day ends within `ahead` nor began under a minute ago.

    The test's events are today's in each team's timezone, and its checks read "today" minutes
    later: near a team's midnight it waits (at most `ahead` and a minute) instead of failing.
    """
    while True:
        now = datetime.now(UTC).replace(microsecond=0)
        to_midnight = min(
            (now.astimezone(ZoneInfo(tz)) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            - now.astimezone(ZoneInfo(tz))
            for tz in TEAMS.values()
        )
        if to_midnight < ahead:
            print(f"waiting {to_midnight.total_seconds() + 60:.0f} s for a team's midnight to pass")
            time.sleep(to_midnight.total_seconds() + 60)
        elif since_midnight(now) < timedelta(minutes=1):
            time.sleep((timedelta(minutes=1) - since_midnight(now)).total_seconds())
        else:
            return now


def _event(n: int, team: str, rep: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"tv-{n}", "occurred_at": at.isoformat(), "team_id": team, "rep_id": rep, "source": "crm",
            "schema_version": 1, **fields}


def publish(pipeline: Pipeline, events: list[dict[str, Any]], path: Path) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    done = pipeline.cli("publish", str(path), "--quiet")
    assert done.returncode == 0, done.stderr


def prom_query(prom: str, expr: str, at: float | None = None) -> list[dict[str, Any]]:
    query = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
    data = api(f"{prom}/api/v1/query?" + urllib.parse.urlencode(query))
    return data["result"] if data else []


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def shown(page: Page, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


def cut_short(page: Page) -> list[str]:
    """Return the texts of the board that do not fit their cell, tile or footer line."""
    found: list[str] = page.evaluate("""() => [...document.querySelectorAll('.reps th, .reps td, .tile, .quality .line')]
        .filter(c => c.scrollWidth > c.clientWidth).map(c => c.textContent.trim())""")
    return found


def pace_text(value: float) -> str:
    # As the Grafana board words it: -1 is "nothing due yet", else a whole percentage.
    return "nothing due yet" if value == -1 else f"{round(value * 100)} %"


def test_the_tv_page_is_live_readable_and_equal_to_the_events(
    make_pipeline, prometheus, browser: Browser, axe_script: Path, tmp_path: Path  # noqa: F811
) -> None:
    pipeline = make_pipeline(CONFIG)
    pipeline.env["SALESPULSE_WEB_SECRET"] = SECRET
    now = clear_of_midnight()
    # Today's actions a minute apart, or closer where a team's day began less than 16 minutes ago.
    step = min(timedelta(minutes=1), since_midnight(now) / 16)
    events: list[dict[str, Any]] = []
    for (team, rep), actions in DONE.items():
        for n, action in enumerate(actions):
            events.append(_event(len(events), team, rep, now - step * (2 + n), type="activity", action=action))
    for team, rep, deal, outcome, days, minutes in DEALS:
        # A deal is created by its first deal event (docs/events.md), here its lead stage.
        money = {"amount": AMOUNTS[deal], "currency": "EUR"} if deal in AMOUNTS else {}
        events.append(_event(len(events), team, rep, now - timedelta(days=days), type="deal_stage", deal_id=deal,
                             stage="lead", **money))
        events.append(_event(len(events), team, rep, now - timedelta(minutes=minutes), type="deal_stage", deal_id=deal,
                             stage=outcome))
    for team, rep, deal, stage, days in OPEN_DEALS:
        # Without a currency, an amount is in the team's.
        money = {"amount": AMOUNTS[deal]} if deal in AMOUNTS else {}
        events.append(_event(len(events), team, rep, now - timedelta(days=days), type="deal_stage", deal_id=deal,
                             stage=stage, **money))
    publish(pipeline, events, tmp_path / "events.jsonl")
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": [
        {"team": team, "effective_from": "2026-W01", "actions": actions} for team, actions in TARGETS.items()]}))
    assert pipeline.cli("targets", "apply", str(targets)).returncode == 0

    # Counted here, from the events: actions today and this week in each team's own timezone.
    def counted(team: str, rep: str, window: str) -> int:
        local = now.astimezone(ZoneInfo(TEAMS[team]))
        start = local.replace(hour=0, minute=0, second=0)
        if window == "week":
            start -= timedelta(days=local.weekday())
        return sum(1 for e in events if e["type"] == "activity" and (e["team_id"], e["rep_id"]) == (team, rep)
                   and datetime.fromisoformat(e["occurred_at"]) >= start)

    metrics = pipeline.start_worker()
    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "salespulse", "static_configs": [{"targets": [metrics.split("/")[2]]}]}],
    }))
    prom = prometheus(prom_config)
    anna_week = counted("amsterdam", "anna", "week")
    held = ('sum(salespulse_deals_decided{team="amsterdam", window="rolling_30d"})',
            'sum(salespulse_actions{rep="anna", window="week"})', 'count(salespulse_action_target{team="sydney"})')

    def holds() -> list[list[float]]:
        return [[float(r["value"][1]) for r in prom_query(prom, expr)] for expr in held]

    wait_for(lambda: holds() == [[2], [anna_week], [2]], 120,
             lambda: f"Prometheus to hold the worker's counts {[[2], [anna_week], [2]]}, not {holds()}")
    # The team's money over 90 days, worked out here deal by deal: 2 open deals x 12,000 (A-1, the
    # only won deal) x 1 won of 2 decided / (6 days - 5 minutes) = about 2,001 a day.
    decided_deals: list[Decided] = [
        (rep, outcome, AMOUNTS.get(deal), (timedelta(days=days) - timedelta(minutes=minutes)).total_seconds())
        for team, rep, deal, outcome, days, minutes in DEALS if team == "amsterdam"
    ]
    velocity, win_rate, _, _ = money_by_hand(decided_deals, sum(1 for deal in OPEN_DEALS if deal[0] == "amsterdam"))
    assert velocity is not None and win_rate is not None
    exported = 'salespulse_sales_velocity{team="amsterdam", rep="", window="rolling_90d", currency="EUR"}'

    def prom_velocity() -> list[float]:
        return [float(r["value"][1]) for r in prom_query(prom, exported)]

    wait_for(lambda: [round(v, 6) for v in prom_velocity()] == [round(velocity, 6)], 60,
             lambda: f"Prometheus to hold the team's velocity {velocity}, not {prom_velocity()}")

    port = free_port()
    log = tmp_path / "web.log"
    web = subprocess.Popen(
        [sys.executable, "-m", "salespulse.cli", "web", "--bind", "0.0.0.0", "--port", str(port),
         "--metrics-url", metrics, "--prometheus-url", prom, "--tv-dwell-s", "6"],
        env=pipeline.env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    problems: list[str] = []
    try:
        wait_for(lambda: scrape(base + "/metrics") is not None or web.poll() is not None, 60, "salespulse web to answer")
        assert web.poll() is None, log.read_text()
        made = pipeline.cli("web", "link", "--tv", "amsterdam", "--base-url", base)
        assert made.returncode == 0, made.stderr
        tv_url = made.stdout.strip()
        token = tv_url.split("token=", 1)[1]
        every = pipeline.cli("web", "link", "--tv", "*", "--base-url", base).stdout.strip()

        # --- off loopback: the token, and only the token, opens the TV --------------------------------
        outside = f"http://192.0.2.2:{port}" if "192.0.2.2" in subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True).stdout else None
        assert outside, "the test needs an address other than loopback to ask from (hostname -I)"
        assert status(f"{outside}/tv/amsterdam") == 401
        assert status(f"{outside}/tv/amsterdam/figures") == 401
        assert status(f"{outside}/tv/sydney?token={token}") == 401, "a token opens its own team only"
        assert status(f"{outside}/tv/amsterdam?token={token}") == 200
        assert status(f"{outside}/tv") == 401 and status(every.replace(base, outside)) == 200

        # --- the page at 1920x1080 ---------------------------------------------------------------
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        answer = page.goto(tv_url)
        assert answer is not None and answer.status == 200
        assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight"), "the TV page scrolls"
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), "the TV page scrolls sideways"
        sizes = page.evaluate("""() => {
            const out = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                if (n.textContent.trim()) out.push([n.textContent.trim(), parseFloat(getComputedStyle(n.parentElement).fontSize)]);
            }
            return out;
        }""")
        assert len(sizes) > 30, sizes
        small = [(text, px) for text, px in sizes if px < 32]
        assert not small, f"texts under 32 px: {small}"
        for selector in ("[data-value=today]", "[data-value=this_week]", "[data-value=pace]", "[data-value=won]",
                         "[data-value=lost]"):
            px = page.evaluate(f"parseFloat(getComputedStyle(document.querySelector('.headline {selector}')).fontSize)")
            assert px >= 64, f"headline {selector} is {px} px"
        assert cut_short(page) == [], "names, figures or headings cut short"
        main = page.locator("main").inner_text()
        assert "amsterdam" in main.lower() and now.astimezone(ZoneInfo(TEAMS["amsterdam"])).strftime("%G-W%V") in main
        assert "Lessons" not in main and "Note" not in main

        # --- every number, against the events ------------------------------------------------------
        reps = [rep for (team, rep) in DONE if team == "amsterdam"] + ["sara"]
        assert shown(page, ".headline [data-value=today]") == str(sum(counted("amsterdam", r, "today") for r in reps))
        assert shown(page, ".headline [data-value=this_week]") == str(sum(counted("amsterdam", r, "week") for r in reps))
        assert shown(page, "[data-value=won]") == "1" and shown(page, "[data-value=lost]") == "1"
        for outcome, days, minutes in [(d[3], d[4], d[5]) for d in DEALS]:
            decided = (timedelta(days=days) - timedelta(minutes=minutes)).total_seconds() / 86_400
            assert shown(page, f"[data-value=decision-{outcome}]") == f"{decided:.1f} days"
        assert shown(page, "[data-value=velocity]") == f"{euros(velocity)} / day"
        assert shown(page, "[data-value=win_rate]") == f"{win_rate:.0%}".replace("%", " %")
        weekly_target = sum(TARGETS["amsterdam"].values())
        for rep in reps:
            row = f"tr[data-rep={rep}]"
            assert shown(page, f"{row} [data-value=today]") == str(counted("amsterdam", rep, "today")), rep
            assert shown(page, f"{row} [data-value=week]") == str(counted("amsterdam", rep, "week")), rep
            assert shown(page, f"{row} [data-value=target]") == str(weekly_target), rep
        order = page.eval_on_selector_all("tbody tr", "rows => rows.map(r => r.dataset.rep)")
        by_attainment = sorted(reps, key=lambda r: -counted("amsterdam", r, "week"))
        assert order == by_attainment, "the leaderboard is ordered by attainment of the weekly target"
        # Pace moves with the clock: Prometheus' answer at the instant the page was rendered.
        at = float(page.locator("[data-at]").get_attribute("data-at") or "nan")
        done = 'salespulse_actions{team="amsterdam", window="week"} and on (team, rep, action) salespulse_action_expected'
        due = 'sum by (rep) (salespulse_action_expected{team="amsterdam"})'
        paces = {r["metric"]["rep"]: float(r["value"][1])
                 for r in prom_query(prom, f"sum by (rep) ({done}) / ({due} > 0)", at)}
        due_now = {r["metric"]["rep"]: float(r["value"][1]) for r in prom_query(prom, due, at)}
        for rep in reps:
            expected = pace_text(paces[rep]) if rep in paces else pace_text(-1) if due_now.get(rep) == 0 else "no target set"
            assert shown(page, f"tr[data-rep={rep}] [data-value=pace]") == expected, rep
        for rep in reps:
            colour = page.eval_on_selector(f"tr[data-rep={rep}] [data-value=pace]",
                                           "e => [...e.classList].filter(c => COLOURS.includes(c)).join()".replace(
                                               "COLOURS", '["red", "amber", "green", "grey"]'))
            pace = paces.get(rep)
            assert colour == ("grey" if pace is None else "red" if pace < 0.8 else "amber" if pace < 1 else "green"), rep

        problems += axe_violations(page, axe_script)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

        # --- in Dutch: the money grouped the Dutch way, and still one screen ------------------------
        dutch = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="nl-NL").new_page()
        dutch.goto(tv_url)
        assert shown(dutch, "[data-panel=sales_velocity]").startswith("Verkoopsnelheid (90 dagen):")
        assert shown(dutch, "[data-value=velocity]") == f"{euros(velocity).replace(',', '.')} / dag"
        for outcome, days, minutes in [(d[3], d[4], d[5]) for d in DEALS]:
            decided = (timedelta(days=days) - timedelta(minutes=minutes)).total_seconds() / 86_400
            assert shown(dutch, f"[data-value=decision-{outcome}]") == f"{decided:.1f} dagen".replace(".", ",")
        dutch.screenshot(path=str(SCREENSHOTS / "tv-amsterdam-nl.png"))
        assert dutch.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight"), "the Dutch TV page scrolls"
        assert cut_short(dutch) == [], "Dutch names, figures or headings cut short"
        dutch.context.close()

        # --- live: a call published now shows without a reload -------------------------------------
        before = int(shown(page, "tr[data-rep=bram] [data-value=today]"))
        publish(pipeline, [_event(900, "amsterdam", "bram", datetime.now(UTC), type="activity", action="call")],
                tmp_path / "more.jsonl")
        started = time.monotonic()
        wait_for(lambda: shown(page, "tr[data-rep=bram] [data-value=today]") == str(before + 1), 40,
                 "bram's new call on the TV without a reload")
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1, "the page was not reloaded"
        print(f"the new call showed after {time.monotonic() - started:.1f} s")

        # --- the newsflash: a deal won now, 12 days after its first event, in a banner within 15 s ------------
        won_at = datetime.now(UTC)
        publish(pipeline, [
            _event(901, "amsterdam", "anna", won_at - timedelta(days=12), type="deal_stage", deal_id="A-3", stage="lead",
                   fields={"deal_name": "Acme"}),
            _event(902, "amsterdam", "anna", won_at, type="deal_stage", deal_id="A-3", stage="won",
                   fields={"deal_name": "Acme"}),
        ], tmp_path / "won.jsonl")
        started = time.monotonic()
        banner = page.locator("#news [data-news=won]")
        wait_for(lambda: banner.count() > 0, 15, "the banner of the deal won, within 15 s of publishing it")
        print(f"the banner showed after {time.monotonic() - started:.1f} s")
        assert banner.first.inner_text().strip() == "Anna de Vries won Acme in 12 days"
        assert float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('#news .banner')).fontSize)")) >= 32
        assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight"), "the banner made it scroll"
        fits = page.evaluate("[...document.querySelectorAll('#news .banner')].every(b => b.scrollWidth <= b.clientWidth)")
        assert fits, "the banner's text is cut short"
        page.screenshot(path=str(SCREENSHOTS / "tv-amsterdam-newsflash.png"))
        # About 20 s, then gone (the page was rendered before: the time it is on counts from its arrival).
        wait_for(lambda: banner.count() == 0, 30, "the banner to go after about 20 s")
        on_for = time.monotonic() - started
        assert 15 <= on_for <= 30, f"the banner was on for {on_for:.0f} s"

        # --- the weekly review, for the team's manager, as a page and a download ---------------------------
        # Its deal velocity: the 30 days up to now, A-3 won in 12 days (no amount) included.
        decided_deals.append(("anna", "won", None, timedelta(days=12).total_seconds()))
        open_by_rep = {rep: sum(1 for deal in OPEN_DEALS if deal[:2] == ("amsterdam", rep))
                       for rep in ("anna", "bram", "sara")}

        def review_cells(deals: list[Decided], open_deals: int) -> list[str]:
            per_day, rate, value, cycle = money_by_hand(deals, open_deals)
            return ["–" if per_day is None else f"{euros(per_day)} / day", "–" if rate is None else f"{rate:.0%}",
                    "–" if value is None else euros(value), "–" if cycle is None else f"{cycle / DAY_S:.1f} days"]

        expected_rows = [[f"{name} ({rep})", *review_cells([d for d in decided_deals if d[0] == rep], open_by_rep[rep])]
                         for rep, name in (("anna", "Anna de Vries"), ("bram", "Bram Jansen"), ("sara", "Sara Bakker"))]
        expected_rows.append(["Whole team", *review_cells(decided_deals, sum(open_by_rep.values()))])
        # Anna: 1 open x 12,000 x 2 of 2 won / 9.0 days; Bram lost his only deal: 0 %, nothing else; Sara decided none.
        assert [row[1:] for row in expected_rows[1:3]] == [["–", "0%", "–", "–"], ["–"] * 4]

        def team_win_rate_30d() -> float | None:
            page = Samples([scrape(metrics) or ""])
            return page.one("salespulse_win_rate", team="amsterdam", rep="", window="rolling_30d")

        wait_for(lambda: team_win_rate_30d() == 2 / 3, 30,
                 lambda: f"the worker's 30-day win rate 2/3 with A-3, not {team_win_rate_30d()}")
        week = now.astimezone(ZoneInfo(TEAMS["amsterdam"])).strftime("%G-W%V")
        manager = sign_in(browser.new_context(viewport={"width": 1440, "height": 900}),
                          link(pipeline, base, "amsterdam/lotte"))
        answer = manager.goto(f"{base}/weekly/amsterdam/{week}")
        assert answer is not None and answer.status == 200
        assert shown(manager, "h1") == f"Weekly review: amsterdam, {week}"
        review_text = manager.locator("body").inner_text()
        for rep in ("Anna de Vries", "Bram Jansen", "Sara Bakker"):
            assert rep in review_text, rep
        table = manager.locator("xpath=//h3[.='Deal velocity (30 days)']/following-sibling::table[1]")
        shown_rows = table.evaluate("t => [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim()))")
        assert shown_rows == [["rep", "sales velocity", "win rate", "average won value", "sales cycle"], *expected_rows]
        anna_line = "Deal velocity (30 days): " + ", ".join(
            f"{head} {cell}" for head, cell in zip(shown_rows[0][1:], expected_rows[0][1:]))
        assert anna_line in review_text and "Deal velocity (30 days): –" in review_text  # Sara's
        kept = manager.request.get(f"{base}/weekly/amsterdam/{week}.html")
        assert kept.status == 200 and kept.headers["content-disposition"] == (
            f'attachment; filename="weekly-amsterdam-{week}.html"')
        assert f"Weekly review: amsterdam, {week}" in kept.text()
        problems += axe_violations(manager, axe_script)
        manager.screenshot(path=str(SCREENSHOTS / "weekly-amsterdam.png"), full_page=True)
        anon = browser.new_context().new_page()
        assert (r := anon.goto(f"{base}/weekly/amsterdam/{week}")) is not None and r.status == 401

        # --- without Prometheus: the same board from the worker's /metrics ------------------------------
        plain = subprocess.Popen(
            [sys.executable, "-m", "salespulse.cli", "web", "--port", str(plain_port := free_port()),
             "--metrics-url", metrics],
            env=pipeline.env, stdout=open(tmp_path / "web-plain.log", "wb"), stderr=subprocess.STDOUT,
        )
        try:
            plain_base = f"http://127.0.0.1:{plain_port}"
            wait_for(lambda: scrape(plain_base + "/metrics") is not None, 60, "salespulse web without Prometheus")

            def board_of(base_url: str) -> dict[str, Any]:
                with urllib.request.urlopen(f"{base_url}/tv/amsterdam/figures", timeout=10) as answer:
                    view: dict[str, Any] = json.load(answer)["view"]
                return {key: value for key, value in view.items() if key not in ("at", "time")}

            # Prometheus lags the worker by a scrape: the two agree once both hold the last call.
            wait_for(lambda: board_of(plain_base) == board_of(base), 30,
                     lambda: f"the board from /metrics {board_of(plain_base)} to equal Prometheus' {board_of(base)}")
        finally:
            plain.terminate()
            plain.wait(timeout=30)

        # --- the other team, in colour now or not, and /tv rotating to it ---------------------------
        sydney = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        sydney.goto(every.replace("/tv?", "/tv/sydney?"))
        assert sydney.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight")
        assert cut_short(sydney) == [], "names, figures or headings cut short"
        assert shown(sydney, ".headline [data-value=today]") == str(sum(counted("sydney", r, "today") for r in ("liam", "mia")))
        # No deal decided in sydney: no velocity nor win rate, and not a 0.
        assert (shown(sydney, "[data-value=velocity]"), shown(sydney, "[data-value=win_rate]")) == ("–", "–")
        problems += axe_violations(sydney, axe_script)
        sydney.screenshot(path=str(SCREENSHOTS / "tv-sydney.png"))
        rotating = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        rotating.goto(every)
        first = shown(rotating, "h1").split()[0].lower()
        wait_for(lambda: shown(rotating, "h1").split()[0].lower() not in ("", first), 20, "/tv to rotate to the other team")
        assert {first, shown(rotating, "h1").split()[0].lower()} == set(TEAMS)
        assert not problems, "\n".join(problems)
    finally:
        web.terminate()
        web.wait(timeout=30)


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("reps", [6, 8, 10, 12])
def test_a_large_floor_with_long_names_and_big_numbers_still_fits_one_screen(
    browser: Browser, reps: int, lang: str  # noqa: F811
) -> None:
    # Layout only: the board of `reps` reps rendered from given answers, with the page's own style sheet,
    # in English and in Dutch, whose words are longer.
    import jinja2

    from salespulse.models.config import parse_settings
    from salespulse.web.i18n import translations
    from salespulse.web.tv import FILTERS, tv_view

    names = {f"r{i}": {"name": f"Maximiliaan van Oldenbarnevelt-{i}"} for i in range(reps)}
    settings = parse_settings({"actions": ["call"], "teams": {"amsterdam": {"reps": names}}})
    # Counts of two to five digits, deals of one to three: each size of number in its tile.
    today, week = {6: (475, 9999), 8: (99, 475), 10: (1234, 12345), 12: (8, 888)}[reps]
    deals = {6: (1, 9), 8: (12, 99), 10: (128, 256), 12: (0, 100)}[reps]
    answers = {
        "team_actions/0": [({}, float(today))], "team_actions/1": [({}, float(week))], "team_pace/0": [({}, 1.42)],
        "deals/0": [({}, float(deals[0]))], "deals/1": [({}, float(deals[1]))],
        # Twelve reps: no deal decided yet, the words instead of two durations.
        "time_to_decision/0": [] if reps == 12 else [({"outcome": "won"}, 99.9 * 86_400),
                                                     ({"outcome": "lost"}, 12.5 * 86_400)],
        "actions_today/0": [({"rep": r}, 88.0) for r in names], "actions_week/0": [({"rep": r}, 888.0) for r in names],
        # The first rep without a target: "–" in the target column, its pace in words.
        "weekly_target/0": [({"rep": r}, 999.0) for r in names if r != "r0"],
        "pace/0": [({"rep": r}, -1.0 if i % 2 else 1.05) for i, r in enumerate(names) if r != "r0"],
        "checklists/0": [({"rep": r}, 1.0) for r in names], "mystery/0": [({"rep": r}, 1.0) for r in names],
        "team_reward/0": [({"month": "2026-12"}, 1.0)],
        "review_score/0": [({"subject": "call"}, 3.2), ({"subject": "proposal"}, 4.1)],
        # Seven digits of money a day, the longest the footer's line must hold.
        "sales_velocity/0": [({"currency": "EUR"}, 1_234_567.4)], "win_rate/0": [({}, 0.384)],
    }
    web = REPO / "salespulse" / "web"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(web / "templates"), autoescape=True,
                             extensions=["jinja2.ext.i18n"])
    env.filters.update(FILTERS)
    html = env.get_template("tv.html").render(
        view=tv_view(settings, "amsterdam", datetime.now(UTC), answers), problem=None,
        _=translations(lang).gettext, lang=lang, figures_url="/tv/amsterdam/figures", refresh_s=10, rotate_s=None,
    ).replace('<link rel="stylesheet" href="/static/tv.css">', f"<style>{(web / 'static' / 'tv.css').read_text()}</style>")
    page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    page.set_content(html)
    assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight"), f"{reps} reps scroll"
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), f"{reps} reps scroll sideways"
    overflowing = page.evaluate("""() => [...document.querySelectorAll('.tile')]
        .filter(t => t.scrollWidth > t.clientWidth).map(t => t.dataset.panel)""")
    assert overflowing == [], f"headline tiles whose content is wider than the tile: {overflowing}"
    wide = page.evaluate("[...document.querySelectorAll('.quality .line')].filter(l => l.scrollWidth > l.clientWidth).length")
    assert wide == 0, "a footer line is wider than the screen"
    # Names may end in "…"; a number may not.
    cut = page.evaluate("""() => [...document.querySelectorAll('.reps td, .reps thead th')]
        .filter(c => c.scrollWidth > c.clientWidth).map(c => c.textContent.trim())""")
    assert cut == [], f"figures or headings cut short: {cut}"
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('body *')]
        .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
    assert smallest >= 32
    assert page.locator("tbody tr").count() == (reps if reps <= 10 else 9)


def _last(weekday: int, hour: int, minute: int, before: datetime) -> datetime:
    """Return the latest Amsterdam `weekday` at hour:minute at least an hour before `before`."""
    tz = ZoneInfo(TEAMS["amsterdam"])
    local = (before - timedelta(hours=1)).astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return at if at <= local else at - timedelta(days=7)


@pytest.mark.parametrize("when", ["wednesday", "monday-0030"])
def test_the_tv_on_a_faked_clock(make_pipeline, browser: Browser, tmp_path: Path, when: str) -> None:  # noqa: F811
    # Prometheus stamps each scrape with its own clock, which libfaketime cannot move (a Go binary), so
    # here the web process reads the board from the worker's /metrics, whose sums the first test and
    # test_tv_samples hold equal to the declared PromQL. Worker and web share the faked clock.
    libfaketime = next(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"), None)
    assert libfaketime, "libfaketime not found: install Debian's faketime package (.ci/run does)"
    clock = _last(2, 11, 0, datetime.now(UTC)) if when == "wednesday" else _last(0, 0, 30, datetime.now(UTC))
    faked = {"LD_PRELOAD": str(libfaketime), "TZ": "UTC",
             "FAKETIME": "@" + clock.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")}
    pipeline = make_pipeline(CONFIG)
    pipeline.env["SALESPULSE_WEB_SECRET"] = SECRET
    # Wednesday: calls since Monday morning; Monday 00:30: last week's only, and nothing due yet.
    events = []
    for n, (rep, count) in enumerate({"anna": 24, "bram": 9, "sara": 16}.items()):
        for i in range(count):
            at = clock - timedelta(hours=1 + i * (40 if when == "wednesday" else 3) / count) if when == "wednesday" \
                else clock - timedelta(days=3, hours=i % 8)
            events.append(_event(100 * n + i, "amsterdam", rep, at, type="activity", action="call"))
    # The floor's deals of the last weeks, for the deal tiles and the money line: two won with an amount
    # and one lost, three open. 3 open x 13,500 x 2 of 3 won / 24 days of cycle = 1,125 a day.
    deals = [("anna", "D-1", 20, 2, "won", 18_000.0), ("sara", "D-2", 40, 10, "won", 9_000.0),
             ("bram", "D-3", 15, 1, "lost", 12_000.0), ("anna", "D-4", 5, None, "proposal", 25_000.0),
             ("bram", "D-5", 8, None, "qualified", None), ("sara", "D-6", 1, None, "lead", None)]
    # Whole days in UTC: Amsterdam's wall clock would add the hour of October's clock change to D-2.
    utc = clock.astimezone(UTC)
    for number, (rep, deal, created, decided, stage, amount) in enumerate(deals):
        money = {} if amount is None else {"amount": amount, "currency": "EUR"}
        events.append(_event(500 + 2 * number, "amsterdam", rep, utc - timedelta(days=created), type="deal_stage",
                             deal_id=deal, stage="lead" if decided else stage, **money))
        if decided:
            events.append(_event(501 + 2 * number, "amsterdam", rep, utc - timedelta(days=decided), type="deal_stage",
                                 deal_id=deal, stage=stage))
    velocity, win_rate, _, _ = money_by_hand(
        [(rep, stage, amount, (created - decided) * DAY_S) for rep, _, created, decided, stage, amount in deals if decided],
        sum(1 for *_, decided, _, _ in deals if decided is None))
    assert velocity is not None and win_rate is not None
    publish(pipeline, events, tmp_path / "events.jsonl")
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": [
        {"team": team, "effective_from": "2026-W01", "actions": actions} for team, actions in TARGETS.items()]}))
    assert pipeline.cli("targets", "apply", str(targets)).returncode == 0
    week_start = (clock - timedelta(days=clock.weekday())).replace(hour=0, minute=0)
    counted = {rep: sum(1 for e in events if e["type"] == "activity" and e["rep_id"] == rep
                        and datetime.fromisoformat(e["occurred_at"]) >= week_start) for rep in ("anna", "bram", "sara")}

    metrics = pipeline.start_worker(env=faked)
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "salespulse.cli", "web", "--port", str(port), "--metrics-url", metrics],
        env={**pipeline.env, **faked}, stdout=open(tmp_path / "web.log", "wb"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        def view() -> dict[str, Any]:
            try:
                with urllib.request.urlopen(f"{base}/tv/amsterdam/figures", timeout=10) as answer:
                    found: dict[str, Any] = json.load(answer)["view"]
                    return found
            except (urllib.error.URLError, OSError):
                return {}

        def weeks() -> dict[str, int]:
            return {rep["id"]: rep["week"] for rep in view().get("reps", []) if rep["target"] is not None}

        def money() -> tuple[Any, Any]:
            figures = view()
            return figures.get("velocity"), figures.get("win_rate", {}).get("text")

        shows = ({"per_day": round(velocity), "currency": "EUR"}, f"{win_rate:.0%}".replace("%", " %"))
        wait_for(lambda: (weeks(), money()) == (counted, shows) or web.poll() is not None, 120,
                 lambda: f"the board to count {counted} with targets and the team's money, not {weeks()}, {money()}")
        assert web.poll() is None, (tmp_path / "web.log").read_text()
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        page.goto(f"{base}/tv/amsterdam")
        local = clock.astimezone(ZoneInfo(TEAMS["amsterdam"]))
        assert shown(page, "h1 .week") == local.strftime("%G-W%V")
        hour, minute = map(int, shown(page, ".updated").split()[-1].split(":"))
        since = (hour * 60 + minute) - (local.hour * 60 + local.minute)
        assert 0 <= since <= 10, f"the page's time {hour:02d}:{minute:02d} is not the faked clock's {local:%H:%M}"
        for rep, count in counted.items():
            assert shown(page, f"tr[data-rep={rep}] [data-value=week]") == str(count), rep
        assert shown(page, "[data-value=velocity]") == f"{euros(velocity)} / day" == "€ 1,125 / day"
        assert shown(page, "[data-value=win_rate]") == f"{win_rate:.0%}".replace("%", " %")
        colours = page.eval_on_selector_all(
            "[data-value=pace]", "cells => cells.map(c => [c.textContent.trim(), ['red', 'amber', 'green', 'grey']"
            ".filter(k => c.classList.contains(k)).join()])")
        if when == "monday-0030":
            assert colours == [["nothing due yet", "grey"]] * 4, colours
            assert page.locator(".red").count() == 0, "red before the week's first working hour"
        else:
            assert len(colours) == 4 and all(colour in ("red", "amber", "green") for _, colour in colours), colours
        assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight")
        assert cut_short(page) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / ("tv-amsterdam.png" if when == "wednesday" else "tv-amsterdam-monday-0030.png")))
    finally:
        web.terminate()
        web.wait(timeout=30)
