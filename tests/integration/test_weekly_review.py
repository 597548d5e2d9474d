"""The weekly review of the demo floor, read from a real Prometheus, and its page in a real browser.

How two past weeks get into Prometheus. A Prometheus holds only what it scraped, and the worker
serves only the team's current week and last week (`salespulse_actions` windows week and
last_week), so the week before last is in no scrape a test can make today. The test makes the
scrapes that a Prometheus running through those weeks would have made: it runs the real worker
(the same command, on the same topics and tables, after a worker on the real clock has taken in
every event) under libfaketime with its clock set to shortly before the end of the week before
last, and again shortly before the end of last week, scrapes its /metrics once each time, and imports each scrape into Prometheus' storage with promtool at
the instant the worker believed it was (`promtool tsdb create-blocks-from openmetrics`). Then a
worker on the real clock is scraped live. Every sample in Prometheus is one a worker served.

The floor is the demo configuration's, published from the simulator's own events, so the test
counts each rep's activities per team-local week from the events themselves. The report's team
totals and trend cells for last week and the week before must equal both those counts and
PromQL instant queries at the scrapes' instants, and each week's attainment must be against the
target the worker served in that week (a targets set that starts last week changes the call
target).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import time
import urllib.parse
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from salespulse.models.config import parse_settings
from salespulse.models.targets import iso_week_of
from salespulse.simulator import Floor
from tests.integration.conftest import REPO, api, scrape, wait_for
from tests.integration.test_pipeline import samples

pytestmark = pytest.mark.integration

TEAM, TZ = "amsterdam", ZoneInfo("Europe/Amsterdam")
WIDTH = 1280


def week_monday(week: str) -> datetime:
    """Return the team-local Monday 00:00 of an ISO week."""
    day = datetime.strptime(week + "-1", "%G-W%V-%u")
    return day.replace(tzinfo=TZ)


def floor_events(settings: Any, start: datetime, end: datetime) -> list[dict]:
    """Return the demo floor's events of [start, end), hour by hour, as the simulator makes them."""
    floor = Floor.create(settings, seed=13)
    events: list[dict] = []
    cursor = start
    while cursor < end:
        step_end = min(cursor + timedelta(hours=1), end)
        events.extend(floor.step(cursor, step_end))
        cursor = step_end
    return events


def team_counts(events: list[dict]) -> Counter[tuple[str, str, str]]:
    """Count the team's activities by (rep, action, team-local ISO week)."""
    return Counter(
        (body["rep_id"], body["action"], iso_week_of(datetime.fromisoformat(body["occurred_at"]).astimezone(TZ).date()))
        for body in events
        if body["type"] == "activity" and body["team_id"] == TEAM
    )


def series(page: str, name: str, **labels: str) -> dict[tuple[str, str], float]:
    """Return the page's `name` samples of the team matching `labels`, by (rep, action)."""
    return {
        (lab["rep"], lab["action"]): value
        for (sample, frozen), value in samples(page).items()
        if sample == name and (lab := dict(frozen)).get("team") == TEAM and all(lab.get(k) == v for k, v in labels.items())
    }


def openmetrics(snapshots: list[tuple[float, str, str]]) -> str:
    """Return the scrapes as OpenMetrics with their instants, the families promtool needs grouped."""
    families: dict[str, list[str]] = {}
    for at, page, instance in snapshots:
        for (name, frozen), value in samples(page).items():
            if name not in ("salespulse_actions", "salespulse_action_target", "salespulse_rep_info"):
                continue
            labels = {**dict(frozen), "job": "salespulse", "instance": instance}
            text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            families.setdefault(name, []).append(f"{name}{{{text}}} {value} {at:.3f}")
    lines = []
    for name, rows in families.items():
        lines += [f"# TYPE {name} gauge", *rows]
    return "\n".join(lines) + "\n# EOF\n"


def query(prom: str, by: str, promql: str, at: float) -> dict[tuple[str, ...], float]:
    """Return `sum by (by) (promql)` at `at`, keyed by the values of the `by` labels."""
    labels = [label.strip() for label in by.split(",")]
    expr = f"sum by ({by}) ({promql})"
    data = api(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"}))
    assert data is not None, expr
    return {tuple(r["metric"][label] for label in labels): float(r["value"][1]) for r in data["result"]}


def markdown_tables(markdown: str) -> dict[str, list[list[str]]]:
    """Return the Markdown's tables by the heading (and "Weeks:" line) they follow, head row first."""
    tables: dict[str, list[list[str]]] = {}
    heading = ""
    for line in markdown.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("# ")
        elif line == "Weeks:":
            heading += " weeks"
        elif line.startswith("| ") and not line.startswith("| ---"):
            tables.setdefault(heading, []).append([cell.strip() for cell in line.strip("|").split("|")])
    return tables


def column(table: list[list[str]], head: str) -> dict[str, str]:
    """Return one column of a table by the first cell of each row."""
    index = table[0].index(head)
    return {row[0]: row[index] for row in table[1:]}


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Run Debian's chromium headless with the given arguments."""
    binary = shutil.which("chromium")
    assert binary, "chromium not found: install Debian's chromium package (.ci/run does)"
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True, text=True, timeout=120,
    )


PROBE = (
    "<script>var d=document.documentElement,p=document.createElement('pre');p.id='probe';"
    "p.textContent=JSON.stringify({scroll:d.scrollWidth,inner:innerWidth,height:d.scrollHeight});"
    "document.body.appendChild(p);</script>"
)


def measure(page: Path, width: int) -> dict[str, int]:
    """Lay a copy of the page out at `width` px, with a probe script added, and read its extent."""
    probe = page.with_name(page.stem + f"-probe-{width}.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    result = chromium(f"--window-size={width},900", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="probe">([^<]*)</pre>', result.stdout)
    assert found, result.stderr[-2000:]
    measured: dict[str, int] = json.loads(found.group(1))
    return measured


def screenshot(page: Path, png: Path, width: int = WIDTH) -> tuple[int, int]:
    """Take a full-page screenshot at `width` px; return the PNG's width and height."""
    height = measure(page, width)["height"]
    result = chromium(f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri())
    assert png.exists(), result.stderr[-2000:]
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    size: tuple[int, int] = struct.unpack(">II", header[16:24])
    assert size == (width, height)
    return size


def check_page_in_a_browser(page: Path, png: Path) -> None:
    """The page fits 1280 px and the printable width of A4, prints on A4, and screenshots at 1280 px."""
    text = page.read_text()
    assert "<script" not in text and "<link" not in text
    # No horizontal overflow: the laid-out document is no wider than the window.
    for width in (WIDTH, 700):  # 700 px: A4's 186 mm between 12 mm margins, at 96 px per inch
        measured = measure(page, width)
        assert measured["inner"] == width and measured["scroll"] <= width, (width, measured)
    width, height = screenshot(page, png)
    assert width == WIDTH and height > 800 and png.stat().st_size > 50_000
    pdf = page.with_suffix(".pdf")
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    boxes = set(re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf.read_bytes()))
    # A4 is 595 x 842 points.
    assert boxes and all(abs(float(w) - 595) < 1 and abs(float(h) - 842) < 1 for w, h in boxes), boxes


def test_the_overflow_check_sees_a_page_wider_than_the_window(tmp_path: Path) -> None:
    page = tmp_path / "wide.html"
    page.write_text('<!doctype html><html><body><div style="width:1500px">wide</div></body></html>')
    assert measure(page, WIDTH)["scroll"] > WIDTH


def test_weekly_review_of_the_demo_floor_equals_promql(make_pipeline, prometheus, tmp_path: Path) -> None:
    libfaketime = next(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"), None)
    assert libfaketime, "libfaketime not found: install Debian's faketime package (.ci/run does)"
    config = yaml.safe_load((REPO / "examples" / "demo.yaml").read_text())
    pipeline = make_pipeline(config)
    settings = parse_settings(yaml.safe_load(pipeline.config_path.read_text()))
    now = datetime.now(UTC)
    this_week = iso_week_of(now.astimezone(TZ).date())
    last_week = iso_week_of((now.astimezone(TZ) - timedelta(days=7)).date())
    week_before = iso_week_of((now.astimezone(TZ) - timedelta(days=14)).date())

    # The demo's targets, and from last week on 60 calls a week instead of 50.
    targets = yaml.safe_load((REPO / "examples" / "targets.yaml").read_text())
    demo = next(t for t in targets["targets"] if t["team"] == TEAM)
    targets["targets"].append({**demo, "effective_from": last_week, "actions": {**demo["actions"], "call": 60}})
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump(targets))
    applied = pipeline.cli("targets", "apply", str(tmp_path / "targets.yaml"))
    assert applied.returncode == 0, applied.stderr

    start = week_monday(week_before) - timedelta(days=3)
    events = floor_events(settings, start, now - timedelta(minutes=1))
    (tmp_path / "floor.jsonl").write_text("".join(json.dumps(body) + "\n" for body in events))
    published = pipeline.cli("publish", str(tmp_path / "floor.jsonl"), "--quiet", timeout=300)
    assert published.returncode == 0, published.stderr
    counted = team_counts(events)
    reps = sorted(settings.teams[TEAM].reps)

    def expected(week: str) -> dict[tuple[str, str], float]:
        return {(rep, action): float(counted[(rep, action, week)]) for rep in reps for action in settings.actions}

    def snapshot(clock: datetime | None, window: str, week: str) -> tuple[float, str, str]:
        """Run a worker whose clock starts at `clock` (now when None) until its `window` counts equal
        the events of `week`; return the instant of its scrape, the page and the worker's address."""
        # The preloaded library sets the process' clocks to start at FAKETIME (read in TZ).
        faked = {"LD_PRELOAD": str(libfaketime), "TZ": "UTC",
                 "FAKETIME": "@" + clock.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")} if clock else {}
        started = time.monotonic()
        url = pipeline.start_worker(env=faked)
        seen: dict[str, str] = {}

        def caught_up() -> bool:
            seen["page"] = scrape(url) or ""
            # The targets topic is read beside the counts: a page may count everything before
            # the targets in force are known (seen once in CI: no target in the scrape).
            return "salespulse_worker_ready 1.0" in seen["page"] and series(
                seen["page"], "salespulse_actions", window=window) == expected(week) and bool(
                series(seen["page"], "salespulse_action_target"))

        wait_for(caught_up, 180, lambda: f"the worker at {clock} to count {week}; last page:\n{seen.get('page', '')[:3000]}")
        # The worker's clock started at `clock` when it was started, and has run since.
        at = clock.timestamp() + (time.monotonic() - started) if clock else time.time()
        return at, seen["page"], url.split("/")[2]

    # A worker on the real clock takes in every event first: one on a clock in the past would
    # reject the later ones as from the future.
    snapshot(None, "last_week", last_week)
    pipeline.stop_workers()
    # The scrapes Prometheus would have made half an hour before each of the two past weeks ended.
    before_at, before_page, before_instance = snapshot(week_monday(last_week) - timedelta(minutes=30), "week", week_before)
    pipeline.stop_workers()
    last_at, last_page, last_instance = snapshot(week_monday(this_week) - timedelta(minutes=30), "week", last_week)
    pipeline.stop_workers()
    assert week_monday(week_before).timestamp() < before_at < week_monday(last_week).timestamp()
    assert week_monday(last_week).timestamp() < last_at < week_monday(this_week).timestamp()

    tsdb = tmp_path / "tsdb"
    (tmp_path / "backfill.om").write_text(
        openmetrics([(before_at, before_page, before_instance), (last_at, last_page, last_instance)])
    )
    created = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(tmp_path / "backfill.om"), str(tsdb)],
        capture_output=True, text=True, timeout=120,
    )
    assert created.returncode == 0, created.stderr

    # The live worker: last week in its last_week window, as now.
    _, _, live = snapshot(None, "last_week", last_week)
    metrics_url = f"http://{live}/metrics"
    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "salespulse", "static_configs": [{"targets": [live]}]}],
    }))
    prom = prometheus(prom_config)

    def scraped_thrice() -> bool:
        data = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote("count_over_time(up[1m]) >= 3"))
        return bool(data and data["result"])

    wait_for(scraped_thrice, 60, "three scrapes of the live worker")

    out = tmp_path / "review"
    result = pipeline.cli("report", "weekly", "--team", TEAM, "--week", last_week, "--metrics-url", metrics_url,
                          "--prometheus-url", prom, "--out", str(out))
    assert result.returncode == 0, result.stderr
    asked_at = time.time()
    markdown = (out / f"weekly-review-{TEAM}-{last_week}.md").read_text()
    tables = markdown_tables(markdown)

    # PromQL, independently: last week from the live worker's last_week window now, the week
    # before from the week window of the scrape made in it; targets as the workers served them.
    team = f'team="{TEAM}"'
    counts = f'salespulse_actions{{{team}, window="%s"}}'
    served_targets = f"salespulse_action_target{{{team}}}"
    live_last = query(prom, "action", counts % "last_week", asked_at)
    then_before = query(prom, "action", counts % "week", before_at)
    then_last = query(prom, "action", counts % "week", last_at)
    assert live_last == then_last, "last week: the live worker and last week's scrape disagree"
    rep_last = query(prom, "rep, action", counts % "last_week", asked_at)
    rep_before = query(prom, "rep, action", counts % "week", before_at)
    target_last = query(prom, "rep, action", served_targets, last_at)
    target_before = query(prom, "rep, action", served_targets, before_at)
    # The events say the same.
    for action in settings.actions:
        assert live_last[(action,)] == sum(counted[(rep, action, last_week)] for rep in reps)
        assert then_before[(action,)] == sum(counted[(rep, action, week_before)] for rep in reps)
    assert (target_before[("anna", "call")], target_last[("anna", "call")]) == (50, 60)

    def cell(count: float, target: float | None) -> str:
        return f"{int(count)} ({count / target:.0%})" if target else str(int(count))

    # The team: totals of last week and the week before, and last week's attainment.
    team_table = tables["Team"]
    assert team_table[0] == ["action", last_week, week_before, "change", "target", "attainment"]
    for action in settings.actions:
        this, before = live_last[(action,)], then_before[(action,)]
        target = sum(target_last.get((rep, action), 0) for rep in reps) or None
        assert column(team_table, last_week)[action] == str(int(this))
        assert column(team_table, week_before)[action] == str(int(before))
        assert column(team_table, "change")[action].split()[0] == f"{int(this - before):+d}"
        assert column(team_table, "target")[action] == (str(int(target)) if target else "–")
        assert column(team_table, "attainment")[action] == (f"{this / target:.0%}" if target else "–")
        team_target_before = sum(target_before.get((rep, action), 0) for rep in reps) or None
        assert column(tables["Trends"], week_before[5:])[action] == cell(before, team_target_before)
        assert column(tables["Trends"], last_week[5:])[action] == cell(this, target)

    # Each rep's trend cells for the two weeks, with the target in force in each.
    checked = 0
    for rep in reps:
        name = settings.rep_name(TEAM, rep)
        weeks = tables[f"{name} ({rep}) weeks"]
        rows = tables[f"{name} ({rep})"]
        for action in settings.actions:
            last, before = rep_last[(rep, action)], rep_before[(rep, action)]
            target = target_last.get((rep, action))
            assert column(weeks, last_week[5:])[action] == cell(last, target), (rep, action)
            assert column(weeks, week_before[5:])[action] == cell(before, target_before.get((rep, action))), (rep, action)
            assert [column(rows, head)[action] for head in (last_week, week_before, "target", "attainment")] == [
                str(int(last)), str(int(before)), str(int(target)) if target else "–",
                f"{last / target:.0%}" if target else "–",
            ], (rep, action)
            checked += last > 0 and before > 0
    assert checked > len(reps) * 4, "the floor was too quiet to compare"

    check_page_in_a_browser(out / f"weekly-review-{TEAM}-{last_week}.html", tmp_path / "weekly-review.png")



def test_the_review_of_last_week_holds_nine_back_filled_weeks_without_prometheus(make_pipeline, tmp_path: Path) -> None:
    """A floor back-filled with ten weeks of events: the worker's weekly totals give the review of
    last week the week before it and the eight weeks of its trend, with no Prometheus at all."""
    config = yaml.safe_load((REPO / "examples" / "demo.yaml").read_text())
    pipeline = make_pipeline(config)
    settings = parse_settings(yaml.safe_load(pipeline.config_path.read_text()))
    now = datetime.now(UTC)
    local_now = now.astimezone(TZ)
    last_week = iso_week_of((local_now - timedelta(days=7)).date())
    trend = [iso_week_of((local_now - timedelta(days=7 * n)).date()) for n in range(9, 0, -1)]
    assert trend[-1] == last_week and len(set(trend)) == 9
    reps = sorted(settings.teams[TEAM].reps)
    # One target per action for every rep, in force all along: attainment is count / 10 per rep.
    target = 10
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump({"targets": [
        {"team": TEAM, "effective_from": trend[0], "actions": {action: target for action in settings.actions}},
    ]}))
    applied = pipeline.cli("targets", "apply", str(tmp_path / "targets.yaml"))
    assert applied.returncode == 0, applied.stderr

    events = floor_events(settings, week_monday(trend[0]) - timedelta(days=2), now - timedelta(minutes=1))
    (tmp_path / "floor.jsonl").write_text("".join(json.dumps(body) + "\n" for body in events))
    published = pipeline.cli("publish", str(tmp_path / "floor.jsonl"), "--quiet", timeout=300)
    assert published.returncode == 0, published.stderr
    counted = team_counts(events)
    assert all(counted[(rep, action, week)] for rep in reps for action in ("call",) for week in trend), (
        "the back-filled floor should have calls in every week")

    url = pipeline.start_worker()
    last_week_counts = {(rep, action): float(counted[(rep, action, last_week)]) for rep in reps for action in settings.actions}
    wait_for(lambda: series(scrape(url) or "", "salespulse_actions", window="last_week") == last_week_counts, 180,
             "the worker to count last week")

    def cell(count: int, of: int) -> str:
        return f"{count} ({count / of:.0%})"

    out = tmp_path / "review"
    seen: dict[str, Any] = {}

    def reviewed() -> bool:
        # The totals reach their changelog when the worker writes its batch, just after it counts.
        result = pipeline.cli("report", "weekly", "--team", TEAM, "--week", last_week, "--metrics-url", url, "--out", str(out))
        assert result.returncode == 0, result.stderr
        seen["stderr"] = result.stderr
        seen["tables"] = markdown_tables((out / f"weekly-review-{TEAM}-{last_week}.md").read_text())
        trends = seen["tables"]["Trends"]
        return trends[0] == ["action", *(week[5:] for week in trend)] and all(
            column(trends, week[5:])["call"] == cell(sum(counted[(rep, "call", week)] for rep in reps), target * len(reps))
            for week in trend
        )

    wait_for(reviewed, 60, lambda: f"the review to hold the back-filled weeks; stderr: {seen.get('stderr')}; "
             f"trends: {seen.get('tables', {}).get('Trends')}")
    tables = seen["tables"]
    assert "no --prometheus-url" not in seen["stderr"] and "holds no weekly totals" not in seen["stderr"]

    week_before = trend[-2]
    for action in settings.actions:
        team_last = sum(counted[(rep, action, last_week)] for rep in reps)
        team_before = sum(counted[(rep, action, week_before)] for rep in reps)
        assert column(tables["Team"], last_week)[action] == str(team_last)
        assert column(tables["Team"], week_before)[action] == str(team_before)
        for week in trend:
            team_count = sum(counted[(rep, action, week)] for rep in reps)
            assert column(tables["Trends"], week[5:])[action] == cell(team_count, target * len(reps)), (action, week)
    for rep in reps:
        name = settings.rep_name(TEAM, rep)
        rows, weeks = tables[f"{name} ({rep})"], tables[f"{name} ({rep}) weeks"]
        for action in settings.actions:
            assert column(rows, week_before)[action] == str(counted[(rep, action, week_before)]), (rep, action)
            for week in trend:
                assert column(weeks, week[5:])[action] == cell(counted[(rep, action, week)], target), (rep, action, week)
    assert "the worker's weekly totals" in (out / f"weekly-review-{TEAM}-{last_week}.md").read_text()
