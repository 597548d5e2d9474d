"""Targets through Kafka, pacing on the worker, and generated alert rules in a real Prometheus."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.integration.conftest import api, scrape, wait_for
from tests.integration.test_pipeline import samples

pytestmark = pytest.mark.integration


def zone_at_local_noon(now: datetime) -> str:
    """Return an Etc/GMT zone in which `now` is between 12:00 and 13:00, far from any day edge."""
    offset = 12 - now.hour
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def test_rep_behind_pace_fires_in_prometheus_only_in_working_time(make_pipeline, prometheus, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    zone = zone_at_local_noon(now)
    local = now.astimezone(ZoneInfo(zone))
    week = f"{local.isocalendar()[0]}-W{local.isocalendar()[1]:02d}"
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    config = {
        "actions": ["cold_call", "outbound_email"],
        "teams": {
            # Working all day, every day: now is working time.
            "floor-a": {"timezone": zone, "working_time": {"days": every_day, "start": "00:00", "end": "23:59"},
                        "reps": {"anna": {"name": "Anna de Vries"}}},
            # Working only 00:00-06:00: at local noon it is outside working time.
            "floor-b": {"timezone": zone, "working_time": {"days": every_day, "start": "00:00", "end": "06:00"},
                        "reps": {"bob": {"name": "Bob Smit"}}},
        },
        "alerts": {"rep_hold": "3s", "team_hold": "3s", "rep_pace_ratio": 0.8, "min_expected": 1},
    }
    pipeline = make_pipeline(config)

    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": [
        {"team": "floor-a", "effective_from": week, "actions": {"cold_call": 700}},
        {"team": "floor-b", "effective_from": week, "actions": {"cold_call": 700}},
    ]}))
    applied = pipeline.cli("targets", "apply", str(targets))
    assert applied.returncode == 0, applied.stderr
    assert "published 2 changed" in applied.stdout

    events = tmp_path / "events.jsonl"
    lines = []
    for n, (team, rep) in enumerate([("floor-a", "anna"), ("floor-a", "anna"), ("floor-b", "bob")]):
        lines.append(json.dumps({"event_id": f"e{n}", "type": "activity", "occurred_at": (now - timedelta(minutes=5)).isoformat(),
                                 "team_id": team, "rep_id": rep, "source": "test", "action": "cold_call"}))
    events.write_text("\n".join(lines) + "\n")
    assert pipeline.cli("publish", str(events), "--quiet").returncode == 0

    metrics_url = pipeline.start_worker()

    # Independent pacing for floor-a: every minute of the week but 23:59-24:00 counts.
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    day_s = 23 * 3600 + 59 * 60
    elapsed = local.weekday() * day_s + (local - local.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    assert monday.weekday() == 0
    expected_a = 700 * elapsed / (7 * day_s)

    def worker_ready() -> bool:
        text = scrape(metrics_url)
        if not text:
            return False
        anna_cold_calls = frozenset({("team", "floor-a"), ("rep", "anna"), ("action", "cold_call")})
        seen = samples(text)
        # The targets are known and both of anna's calls counted (they were published first, but
        # a loaded machine may scrape before the worker has read them).
        return seen.get(("salespulse_action_target", anna_cold_calls)) == 700 and seen.get(
            ("salespulse_actions_total", anna_cold_calls)
        ) == 2

    wait_for(worker_ready, 90, "the worker to know the applied targets and count anna's two calls")
    scraped = samples(scrape(metrics_url) or "")
    anna = frozenset({("team", "floor-a"), ("rep", "anna"), ("action", "cold_call")})
    # Scraped a moment after `now`: expected grows by 700 / (7 * 86340 s) per second, under 0.01 a minute.
    assert scraped[("salespulse_action_expected", anna)] == pytest.approx(expected_a, abs=0.05)
    assert scraped[("salespulse_action_pace_ratio", anna)] == pytest.approx(2 / expected_a, rel=1e-3)
    assert scraped[("salespulse_in_working_time", frozenset({("team", "floor-a")}))] == 1
    assert scraped[("salespulse_in_working_time", frozenset({("team", "floor-b")}))] == 0

    check = subprocess.run(["promtool", "check", "metrics"], input=scrape(metrics_url), capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    rules = tmp_path / "rules.yml"
    assert pipeline.cli("alerts", "build", "--out", str(rules)).returncode == 0
    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "salespulse", "static_configs": [{"targets": [metrics_url.split("/")[2]]}]}],
    }))
    prom = prometheus(prom_config)

    firing: list[dict[str, Any]] = []

    def rep_alert_firing() -> bool:
        data = api(f"{prom}/api/v1/alerts")
        alerts = data["alerts"] if data else []
        firing[:] = [a for a in alerts if a["labels"]["alertname"] == "SalespulseRepBehindPace" and a["state"] == "firing"]
        return bool(firing)

    wait_for(rep_alert_firing, 90, lambda: f"the rep alert to fire in Prometheus; log: {(tmp_path / 'prometheus.log').read_text()[-1500:]}")
    assert [(a["labels"]["team"], a["labels"]["rep"], a["labels"]["name"]) for a in firing] == [("floor-a", "anna", "Anna de Vries")]
    shortfall = float(firing[0]["value"])
    # Prometheus evaluated a little after the scrape above; the shortfall moves by < 1 a minute.
    assert shortfall in {float(int(expected_a - 2) + d) for d in (0, 1, 2)}
    assert f"needs {shortfall:.0f} more cold_call" in firing[0]["annotations"]["description"]

    # A target change reaches the running worker without a restart.
    targets.write_text(yaml.safe_dump({"targets": [
        {"team": "floor-a", "effective_from": week, "actions": {"cold_call": 1}},
        {"team": "floor-b", "effective_from": week, "actions": {"cold_call": 700}},
    ]}))
    applied = pipeline.cli("targets", "apply", str(targets))
    assert "published 1 changed, 1 unchanged" in applied.stdout
    wait_for(
        lambda: samples(scrape(metrics_url) or "").get(("salespulse_action_target", anna)) == 1,
        30,
        "the new target in the running worker",
    )
    shown = pipeline.cli("targets", "show")
    assert "floor-a: in force in" in shown.stdout and "cold_call: 1" in shown.stdout


def test_a_closed_week_below_target_is_counted_once(make_pipeline, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    today = now.date()
    last_monday = today - timedelta(days=today.weekday() + 7)
    three_weeks_ago = last_monday - timedelta(days=14)
    config = {"actions": ["cold_call", "outbound_email"], "teams": {"floor": {"timezone": "UTC", "reps": {"anna": {"name": "Anna"}}}}}
    pipeline = make_pipeline(config)
    targets = tmp_path / "targets.yaml"
    start_week = f"{three_weeks_ago.isocalendar()[0]}-W{three_weeks_ago.isocalendar()[1]:02d}"
    targets.write_text(yaml.safe_dump({"targets": [
        {"team": "floor", "effective_from": start_week, "actions": {"cold_call": 5, "outbound_email": 5}},
    ]}))
    assert pipeline.cli("targets", "apply", str(targets)).returncode == 0

    # Last week, Wednesday noon UTC: 3 cold calls (below 5) and 6 e-mails (above 5).
    wednesday = datetime.combine(last_monday + timedelta(days=2), datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    lines = [
        json.dumps({"event_id": f"w{n}", "type": "activity", "occurred_at": wednesday.isoformat(), "team_id": "floor",
                    "rep_id": "anna", "source": "test", "action": action})
        for n, action in enumerate(["cold_call"] * 3 + ["outbound_email"] * 6)
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    assert pipeline.cli("publish", str(events), "--quiet").returncode == 0

    url = pipeline.start_worker()

    def missed(action: str) -> float | None:
        labels = frozenset({("team", "floor"), ("rep", "anna"), ("action", action)})
        return samples(scrape(url) or "").get(("salespulse_action_target_missed_total", labels))

    wait_for(lambda: missed("cold_call") == 1, 90, "last week's verdict")
    assert missed("outbound_email") == 0
    # Restarted, the worker recovers the verdict and does not count the week twice.
    pipeline.stop_workers()
    url = pipeline.start_worker()
    wait_for(lambda: missed("cold_call") is not None, 90, "the verdict after restart")
    time.sleep(20)  # longer than the 15 s week-closing timer
    assert missed("cold_call") == 1
