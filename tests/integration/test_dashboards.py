"""Every panel query of every generated dashboard returns data from a real Prometheus.

The simulator feeds a worker through Kafka, Prometheus (Debian's package) scrapes the worker,
and each panel's PromQL is sent to Prometheus's query API with the dashboard variables filled in.

The second test runs a worker whose clock stands at Monday 00:30 in Amsterdam (the worker takes
its clock as a parameter, `build_pipeline(clock=...)`; the test starts it with one that runs from
last Monday 00:30), feeds it known events, and checks every pace panel of every dashboard as
Grafana would show it then: a value, not red.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from salespulse.dashboards.build import build_all, panel_queries
from salespulse.exporters.metrics import ACTION_EXPECTED, ACTION_PACE_RATIO, ACTION_SHORTFALL
from salespulse.kafka.launcher import free_port
from salespulse.models.config import parse_settings
from tests.integration.conftest import REPO, Pipeline, api, scrape, wait_for
from tests.integration.test_pipeline import samples
from tests.unit.dashboards.grafana_display import display, is_red

pytestmark = pytest.mark.integration

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def fill_variables(expr: str, team: str, rep: str) -> str:
    """Replace Grafana variables the way Grafana would for one team and rep."""
    values = {
        "team": team, "rep": rep, "window": "rolling_90d", "__rate_interval": "30s", "__interval": "15s", "__range": "1h",
    }

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"unexpected dashboard variable ${name} in {expr}"
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", one, expr)


def won_deals(teams: dict[str, Any], stages: tuple[str, ...], now: datetime) -> str:
    """Return JSON lines of one deal per team at 20,000 EUR: created 10 days ago, a day in each
    open stage, won 3 days ago."""
    path = [*((stage, 10 - day) for day, stage in enumerate(stages)), ("won", 3)]
    lines = []
    for team, team_config in teams.items():
        rep = next(iter(team_config["reps"]))
        for stage, days_ago in path:
            lines.append(json.dumps({
                "event_id": f"won-{team}-{stage}", "type": "deal_stage", "occurred_at": (now - timedelta(days=days_ago)).isoformat(),
                "team_id": team, "rep_id": rep, "source": "test", "deal_id": f"won-{team}", "stage": stage,
                "amount": 20000, "currency": "EUR",
            }))
    return "\n".join(lines) + "\n"


def test_every_panel_query_returns_data(make_pipeline, prometheus, tmp_path: Path) -> None:
    config: dict[str, Any] = yaml.safe_load((REPO / "examples" / "demo.yaml").read_text())
    # Working all day, every day, so that pace is defined whenever the test runs.
    config["defaults"]["working_time"] = {"days": EVERY_DAY, "start": "00:00", "end": "23:59"}
    for team in config["teams"].values():
        team["working_time"] = {"days": EVERY_DAY, "start": "00:00", "end": "23:59"}
    # A day, not the default 14: the five simulated days then leave stale deals for the stale panels.
    config["deals"] = {"stale_days": 1}
    pipeline = make_pipeline(config)
    settings = parse_settings(yaml.safe_load(pipeline.config_path.read_text()))

    assert pipeline.cli("targets", "apply", str(REPO / "examples" / "targets.yaml")).returncode == 0
    simulated = pipeline.cli("simulate", "--backfill-days", "5", "--duration", "2", "--always-open", "--rate", "5")
    assert simulated.returncode == 0, simulated.stderr
    # A simulated deal takes six steps of hours to days to be won, so five days rarely see one,
    # nor a deal leaving each late stage: one deal per team through every stage to won, with an
    # amount, for the won value, the sales cycle, the velocity and the time in each stage.
    won = tmp_path / "won.jsonl"
    won.write_text(won_deals(config["teams"], settings.stages, datetime.now(UTC)))
    published = pipeline.cli("publish", str(won), "--quiet")
    assert published.returncode == 0, published.stdout + published.stderr
    metrics_url = pipeline.start_worker()
    wait_for(
        lambda: any(
            name == "salespulse_deals_decided" and value > 0 for (name, _), value in samples(scrape(metrics_url) or "").items()
        ),
        90,
        "the worker to count the simulated floor",
    )

    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "salespulse", "static_configs": [{"targets": [metrics_url.split("/")[2]]}]}],
    }))
    prom = prometheus(prom_config)

    def scraped_enough() -> bool:
        data = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote("count_over_time(up[1m])"))
        return bool(data and data["result"] and float(data["result"][0]["value"][1]) >= 5)

    wait_for(scraped_enough, 60, "five scrapes of the worker")
    time.sleep(2)

    dashboards = build_all(settings)
    assert len(dashboards) >= 4

    def reps_to_pick() -> list[tuple[str, str]]:
        # Reps with decided deals, as a manager would pick one to look at; first those in a team
        # with stage checks to show: the simulated floor of some days leaves a team with every
        # checklist complete, and that panel rightly empty for it.
        picks: list[tuple[str, str]] = []
        for query in ("salespulse_deals_decided > 0 and on (team) salespulse_checklist_missing",
                      "salespulse_deals_decided > 0"):
            decided = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote(query)) or {"result": []}
            for series in decided["result"]:
                pick = (series["metric"]["team"], series["metric"]["rep"])
                if pick not in picks:
                    picks.append(pick)
        assert picks, "no decided deal reached Prometheus"
        return picks[:6]

    def query_every_panel(team: str, rep: str) -> tuple[int, list[str]]:
        checked, empty = 0, []
        for filename, dashboard in dashboards.items():
            for title, expr in panel_queries(dashboard):
                query = fill_variables(expr, team, rep)
                data = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote(query))
                assert data is not None, f"{filename} / {title}: Prometheus refused {query}"
                checked += 1
                if not data["result"]:
                    empty.append(f"{filename} / {title}: {query}")
        return checked, empty

    # Decided deals show while the worker may still fold the rest of the backlog: stage checks
    # reach a rep's series after two more hops (checklists, then the forwarded deal figures).
    deadline = time.monotonic() + 60
    while True:
        checked, empty = min((query_every_panel(team, rep) for team, rep in reps_to_pick()), key=lambda r: len(r[1]))
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert checked > 20
    assert empty == [], "panel queries without data:\n" + "\n".join(empty)


# A worker whose clock runs `offset` seconds behind the real one; otherwise `salespulse worker`.
WORKER_BEHIND = """
import asyncio, os, sys
from datetime import UTC, datetime, timedelta
from salespulse.models.config import KafkaSettings, load_settings
from salespulse.worker.pipeline import PipelineWorker, build_pipeline
from salespulse.streams.topics import ensure_topics

offset = timedelta(seconds=float(sys.argv[1]))
settings = load_settings(os.environ["SALESPULSE_CONFIG"])
kafka = KafkaSettings.from_env()
pipeline = build_pipeline(
    settings, kafka, port=int(sys.argv[2]), data_dir=sys.argv[3], clock=lambda: datetime.now(UTC) - offset
)
asyncio.run(ensure_topics(kafka, settings.kafka, pipeline.changelog_topics()))
PipelineWorker(pipeline.app, loglevel="warn", quiet=True).execute_from_commandline()
"""
PACE_METRICS = (ACTION_EXPECTED.sample_name, ACTION_PACE_RATIO.sample_name, ACTION_SHORTFALL.sample_name)


def start_worker_behind(pipeline: Pipeline, offset: timedelta) -> str:
    """Start a worker whose clock runs `offset` behind; return its /metrics URL."""
    port = free_port()
    number = len(pipeline.workers)
    log = open(pipeline.workdir / f"worker-{number}.log", "wb")
    data_dir = pipeline.workdir / f"worker-{number}"
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER_BEHIND, str(offset.total_seconds()), str(port), str(data_dir)],
        env=pipeline.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    pipeline.workers.append(proc)
    return f"http://127.0.0.1:{port}/metrics"


def last_monday_half_past_midnight(now: datetime, zone: ZoneInfo) -> datetime:
    """Return the latest Monday 00:30 in `zone` at or before `now`."""
    local = now.astimezone(zone)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), datetime.min.time(), zone)
    monday = monday.replace(minute=30)
    return monday if monday <= local else monday - timedelta(days=7)


def test_pace_panels_on_monday_at_half_past_midnight(make_pipeline, prometheus, tmp_path: Path) -> None:
    config: dict[str, Any] = yaml.safe_load((REPO / "examples" / "demo.yaml").read_text())
    # Amsterdam works Monday to Friday, 09:00-17:00 (the default): at Monday 00:30 nothing is due.
    assert "working_time" not in config["teams"]["amsterdam"]
    pipeline = make_pipeline(config)
    amsterdam = ZoneInfo("Europe/Amsterdam")
    now = datetime.now(UTC)
    monday = last_monday_half_past_midnight(now, amsterdam)
    week = f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"

    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": [
        {"team": "amsterdam", "effective_from": week, "actions": {"call": 40, "cold_call": 25}},
    ]}))
    applied = pipeline.cli("targets", "apply", str(targets))
    assert applied.returncode == 0, applied.stderr

    # Last week's Friday for every rep, and one call by Anna at 00:10 on the Monday.
    events = []
    friday = monday - timedelta(days=3)
    for rep in ("anna", "bram", "sara"):
        for n in range(3):
            events.append({"rep": rep, "at": friday + timedelta(hours=9, minutes=n), "action": "call"})
    events.append({"rep": "anna", "at": monday - timedelta(minutes=20), "action": "call"})
    lines = [
        json.dumps({
            "event_id": f"monday-{n}", "type": "activity", "occurred_at": event["at"].isoformat(),
            "team_id": "amsterdam", "rep_id": event["rep"], "source": "test", "action": event["action"],
        })
        for n, event in enumerate(events)
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    published = pipeline.cli("publish", str(tmp_path / "events.jsonl"), "--quiet")
    assert published.returncode == 0, published.stdout + published.stderr

    # The worker's clock starts at that Monday 00:30 and runs on: the test ends within minutes.
    metrics_url = start_worker_behind(pipeline, now - monday.astimezone(UTC))
    anna_call = frozenset({("team", "amsterdam"), ("rep", "anna"), ("action", "call")})

    def nothing_due_yet() -> bool:
        found = samples(scrape(metrics_url) or "")
        return found.get(("salespulse_action_expected", anna_call)) == 0 and (
            found.get(("salespulse_actions", anna_call | {("window", "week")})) == 1
        )

    wait_for(nothing_due_yet, 90, "the worker at Monday 00:30 to know the targets and Anna's call")
    scraped = samples(scrape(metrics_url) or "")
    # Independent of the dashboards: targets are in force, nothing is expected, so no pace ratio.
    assert scraped[("salespulse_action_target", anna_call)] == 40
    assert not any(name == "salespulse_action_pace_ratio" for name, _ in scraped)

    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "salespulse", "static_configs": [{"targets": [metrics_url.split("/")[2]]}]}],
    }))
    prom = prometheus(prom_config)

    def scraped_expected() -> bool:
        data = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote('salespulse_action_expected{team="amsterdam"}'))
        return bool(data and data["result"])

    wait_for(scraped_expected, 60, "Prometheus to scrape the worker")

    settings = parse_settings(yaml.safe_load(pipeline.config_path.read_text()))
    checked = []
    for filename, dashboard in build_all(settings).items():
        if "new-york" in filename:
            continue  # at that instant New York is still in Sunday, last week
        panels = [p for top in dashboard["panels"] for p in [top, *top.get("panels", [])]]
        for panel in panels:
            for target in panel.get("targets") or []:
                if not target.get("instant") or not any(metric in target["expr"] for metric in PACE_METRICS):
                    continue
                query = fill_variables(target["expr"], "amsterdam", "anna")
                data = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote(query))
                name = f"{filename} / {panel.get('title') or panel['id']}"
                assert data is not None, f"{name}: Prometheus refused {query}"
                assert data["result"], f"{name}: empty at Monday 00:30 ({query})"
                for sample in data["result"]:
                    text, colour = display(panel["fieldConfig"], float(sample["value"][1]))
                    assert not is_red(colour), f"{name}: {sample} is {colour} at Monday 00:30"
                    checked.append((name, text, sample["value"][1]))
    names = {name for name, _, _ in checked}
    # Team pace and pace vs target on both wallboards, pace now and the shortfall on the drill-down.
    assert len(names) == 6, names
    for name, text, value in checked:
        if name.endswith("Actions short of pace"):
            assert float(value) == 0, checked  # nothing due, nothing short: green
        else:
            assert text == "nothing due yet", checked
