"""Execution quality on a real broker: process checklists, mystery checks, self-reports and the
weekly review written from /metrics."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.integration.conftest import scrape, wait_for
from tests.integration.test_pipeline import samples

pytestmark = pytest.mark.integration

SIM_ACTIONS = ("call", "cold_call", "outbound_email", "summary_email", "meeting", "demo", "proposal_sent", "follow_up")


def event(kind: str, event_id: str, at: datetime, rep: str, team: str = "floor", **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": event_id, "occurred_at": at.isoformat(), "team_id": team,
                       "rep_id": rep, "source": "test", **fields})


def publish(pipeline: Any, path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")
    published = pipeline.cli("publish", str(path), "--quiet")
    assert published.returncode == 0, published.stderr


def wait_for_figures(url: str, pick: Any, expected: dict, what: str, timeout: float = 90) -> None:
    last: dict = {}

    def matches() -> bool:
        last["seen"] = {key: value for (name, labels), value in samples(scrape(url) or "").items()
                        if (key := pick(name, dict(labels))) is not None}
        return last["seen"] == expected

    wait_for(matches, timeout, lambda: f"{what}: expected {expected}; last seen {last.get('seen')}")


def test_process_checklists_are_judged_on_event_time(make_pipeline, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    pipeline = make_pipeline({
        "actions": ["call", "summary_email"],
        "checklists": {"proposal": {"process": ["summary_email"]}},
        "teams": {"floor": {"timezone": "UTC", "reps": {"anna": {"name": "Anna"}}}},
    })
    stage_at = now - timedelta(days=1)

    def proposal(deal: str) -> str:
        return event("deal_stage", f"{deal}-proposal", stage_at, "anna", deal_id=deal, stage="proposal")

    def email(deal: str, at: datetime) -> str:
        return event("activity", f"{deal}-mail", at, "anna", action="summary_email", deal_id=deal)

    # d1: e-mail before the stage change (complete). d2: none (incomplete). d4: e-mail after it
    # (incomplete). d3's e-mail happened before its stage change but is published after it.
    publish(pipeline, tmp_path / "first.jsonl", [
        email("d1", stage_at - timedelta(hours=2)), proposal("d1"),
        proposal("d2"),
        proposal("d3"),
        proposal("d4"), email("d4", stage_at + timedelta(hours=1)),
    ])
    url = pipeline.start_worker()

    def pick(name: str, labels: dict[str, str]) -> tuple[str, ...] | None:
        if name == "salespulse_stage_changes" and labels["stage"] == "proposal":
            return (labels["completeness"],)
        if name == "salespulse_checklist_missing":
            return (labels["kind"], labels["item"])
        return None

    wait_for_figures(url, pick, {("complete",): 1, ("incomplete",): 3, ("process", "summary_email"): 3},
                     "before d3's late e-mail")
    publish(pipeline, tmp_path / "late.jsonl", [email("d3", stage_at - timedelta(minutes=5))])
    wait_for_figures(url, pick, {("complete",): 2, ("incomplete",): 2, ("process", "summary_email"): 2},
                     "after d3's late e-mail")


def test_mystery_checks_sample_score_and_reward(make_pipeline, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    month = now.strftime("%Y-%m")
    earlier = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    pipeline = make_pipeline({
        "teams": {"floor": {"timezone": "UTC", "mystery_rotation": ["cas", "anna", "bram"],
                            "reps": {"anna": {"name": "Anna"}, "bram": {"name": "Bram"}, "cas": {"name": "Cas"}}}},
        # cas checks this month; anna the month after.
        "mystery": {"rotation_start": month, "rubric": {"lead_profile": 50, "call_report": 100},
                    "deals_per_rep": 2, "reward_share": 0.8},
    })
    start_of_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    deals = {"anna": ["a1", "a2", "a3"], "bram": ["b1"], "cas": ["c1"]}
    lines = [event("deal_stage", f"{deal}-lead", start_of_month + timedelta(seconds=n + 1), rep, deal_id=deal, stage="lead")
             for n, (rep, ids) in enumerate(deals.items()) for deal in ids]
    # A deal only active the month before is not drawn this month.
    lines.append(event("deal_stage", "old-lead", start_of_month - timedelta(seconds=1), "bram", deal_id="old", stage="lead"))
    publish(pipeline, tmp_path / "deals.jsonl", lines)
    url = pipeline.start_worker()
    wait_for(lambda: bool(scrape(url)), 60, "the worker to serve /metrics")

    printed: list[str] = []

    def sample_lines() -> list[str]:
        result = pipeline.cli("mystery", "sample", "--team", "floor", "--month", month)
        assert result.returncode == 0, result.stderr
        printed[:] = [result.stdout]
        return result.stdout.splitlines()

    def drawn() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        rep = None
        for line in sample_lines():
            if match := re.match(r"^\S.* \((\w+)\): \d+ of \d+ active deals$", line):
                rep = match.group(1)
                out[rep] = []
            elif rep and re.match(r"^  \S+$", line):
                out[rep].append(line.strip())
        return out

    wait_for(lambda: drawn().get("bram") == ["b1"], 60, lambda: f"the deal months in the changelog; printed {printed}")
    first = drawn()
    # cas is the checker: not drawn; anna has 3 active deals, 2 are drawn; bram's only one is.
    assert set(first) == {"anna", "bram"}
    assert len(first["anna"]) == 2 and set(first["anna"]) <= {"a1", "a2", "a3"}
    assert drawn() == first  # reproducible

    a, b = first["anna"]
    checks = [
        event("mystery_check", "m1", now, "anna", checker_id="cas", month=month, deal_id=a, points={"lead_profile": 50, "call_report": 100}),
        event("mystery_check", "m2", now, "anna", checker_id="cas", month=month, deal_id=b, points={"lead_profile": 50, "call_report": 60}),
        event("mystery_check", "m3", now, "bram", checker_id="cas", month=month, deal_id="b1", points={"lead_profile": 40, "call_report": 100}),
        # The month before, whose checker was bram (the last of the rotation): its own label.
        event("mystery_check", "m4", now, "cas", checker_id="bram", month=earlier, deal_id="c0",
              points={"lead_profile": 0, "call_report": 30}),
    ]
    publish(pipeline, tmp_path / "checks.jsonl", checks)

    def pick(name: str, labels: dict[str, str]) -> tuple[str, ...] | None:
        if name in ("salespulse_mystery_points", "salespulse_mystery_points_max"):
            return (name.removeprefix("salespulse_mystery_"), labels["rep"], labels["month"])
        if name == "salespulse_team_reward_earned":
            return ("reward", labels["month"])
        return None

    # anna: 150 + 110 = 260 of 300 (0.867); bram: 140 of 150 (0.933): both reach 0.8.
    expected = {
        ("points", "anna", month): 260, ("points_max", "anna", month): 300,
        ("points", "bram", month): 140, ("points_max", "bram", month): 150,
        ("points", "cas", earlier): 30, ("points_max", "cas", earlier): 150,
        ("reward", month): 1,
        # The month before, anna was due a check too and had none: no reward.
        ("reward", earlier): 0,
    }
    wait_for_figures(url, pick, expected, "mystery scores")
    # A correction of bram's check, and a check by someone who is not the checker (rejected).
    publish(pipeline, tmp_path / "correction.jsonl", [
        event("mystery_check", "m5", now + timedelta(seconds=1), "bram", checker_id="cas", month=month, deal_id="b1",
              points={"lead_profile": 0, "call_report": 100}),
    ])
    wait_for_figures(url, pick, {**expected, ("points", "bram", month): 100, ("reward", month): 0}, "after the correction")
    rejected = (tmp_path / "rejected.jsonl")
    rejected.write_text(event("mystery_check", "m6", now, "bram", checker_id="anna", month=month, deal_id="b1",
                              points={"lead_profile": 0, "call_report": 0}) + "\n")
    result = pipeline.cli("publish", str(rejected), "--quiet")
    assert result.returncode == 1 and "not_the_checker" in result.stderr


def test_self_reports_and_the_weekly_review_match_metrics(make_pipeline, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    week = f"{now.isocalendar()[0]}-W{now.isocalendar()[1]:02d}"
    pipeline = make_pipeline({
        "actions": ["call", "outbound_email"],
        "teams": {"floor": {"timezone": "UTC", "reps": {"anna": {"name": "Anna <A&B>"}, "bram": {"name": "Bram"}}}},
    })
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n  - team: floor\n    effective_from: 2026-W01\n    actions: {call: 10, outbound_email: 4}\n")
    assert pipeline.cli("targets", "apply", str(targets)).returncode == 0
    this_week = now - timedelta(seconds=1)
    last_week = now - timedelta(days=7)
    lines = [event("activity", f"c{n}", this_week, "anna", action="call") for n in range(3)]
    lines += [event("activity", "c-old", last_week, "anna", action="call")]
    lines += [event("activity", f"e{n}", this_week, "anna", action="outbound_email") for n in range(4)]
    lines += [
        event("self_report", "r1", this_week - timedelta(hours=1), "anna", week=week,
              figures={"call": 2}, lessons="first draft"),
        # A later report on the same week replaces the first.
        event("self_report", "r2", this_week, "anna", week=week, figures={"call": 5, "outbound_email": 4},
              lessons="Budget <first> & then the demo."),
    ]
    publish(pipeline, tmp_path / "week.jsonl", lines)
    url = pipeline.start_worker()

    def pick(name: str, labels: dict[str, str]) -> tuple[str, ...] | None:
        if name == "salespulse_self_reported_actions" and labels["window"] == "week":
            return ("reported", labels["rep"], labels["action"])
        if name == "salespulse_self_report_submitted" and labels["window"] == "week":
            return ("submitted", labels["rep"])
        if name == "salespulse_actions" and labels["window"] in ("week", "last_week") and labels["action"] == "call":
            return (labels["window"], labels["rep"])
        return None

    wait_for_figures(url, pick, {
        ("reported", "anna", "call"): 5, ("reported", "anna", "outbound_email"): 4,
        ("submitted", "anna"): 1, ("submitted", "bram"): 0,
        ("week", "anna"): 3, ("last_week", "anna"): 1, ("week", "bram"): 0, ("last_week", "bram"): 0,
    }, "self-reports and actions")
    wait_for(lambda: any(name == "salespulse_action_target" for (name, _) in samples(scrape(url) or "")), 60,
             "targets in force")

    out = tmp_path / "review"
    result = pipeline.cli("report", "weekly", "--team", "floor", "--week", week, "--metrics-url", url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    markdown = (out / f"weekly-review-floor-{week}.md").read_text()
    page = (out / f"weekly-review-floor-{week}.html").read_text()
    scraped = samples(scrape(url) or "")

    def metric(name: str, **labels: str) -> int:
        return int(scraped[(name, frozenset({"team": "floor", "rep": "anna", **labels}.items()))])

    # The same figures as /metrics: 3 calls this week, 1 last week, target 10, reported 5.
    calls = [metric("salespulse_actions", action="call", window=w) for w in ("week", "last_week")]
    target = metric("salespulse_action_target", action="call")
    assert (calls, target) == ([3, 1], 10)
    assert "| call | 3 | 1 | ▲ | 10 | 30% | 5 | +2 |" in markdown
    assert "| outbound_email | 4 | 0 | ▲ | 4 | 100% | 4 | +0 |" in markdown
    assert "> Budget \\<first> & then the demo." in markdown
    assert "## Bram (bram)" in markdown and "> (no self-report for the week)" in markdown
    assert "<blockquote>Budget &lt;first&gt; &amp; then the demo.</blockquote>" in page
    assert "<h2>Anna &lt;A&amp;B&gt; (anna)</h2>" in page
    # The same cells, the attainment coloured as on the wallboard (30 % is red).
    assert '<td>call</td><td>3</td><td>1</td><td>▲</td><td>10</td><td class="red">30%</td><td>5</td><td>+2</td>' in page

    stale = pipeline.cli("report", "weekly", "--team", "floor", "--week", "2020-W01", "--metrics-url", url)
    assert stale.returncode == 2 and "neither team floor's current week" in stale.stderr


def test_weekly_review_of_the_simulated_floor_equals_metrics(make_pipeline, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    pipeline = make_pipeline(yaml.safe_load((repo / "examples" / "demo.yaml").read_text()))
    assert pipeline.cli("targets", "apply", str(repo / "examples" / "targets.yaml")).returncode == 0
    simulated = pipeline.cli("simulate", "--backfill-days", "9", "--duration", "1", "--rate", "5")
    assert simulated.returncode == 0, simulated.stderr
    url = pipeline.start_worker()
    team, tz = "amsterdam", ZoneInfo("Europe/Amsterdam")

    # What the clock moves by itself (expected actions grow through working time) is left out.
    clock_driven = {"salespulse_in_working_time", "salespulse_action_expected", "salespulse_action_pace_ratio",
                    "salespulse_action_shortfall"}

    def team_samples() -> dict:
        return {key: value for key, value in samples(scrape(url) or "").items()
                if dict(key[1]).get("team") == team and key[0] not in clock_driven}

    # Caught up: activities counted, and two scrapes 5 s apart agree.
    seen: list[dict] = [{}]

    def settled() -> bool:
        time.sleep(4)
        current = team_samples()
        done = current == seen[0] and any(k[0] == "salespulse_actions_total" and v > 0 for k, v in current.items())
        seen[0] = current
        return done

    wait_for(settled, 150, "the worker to settle on the simulated floor")
    now = datetime.now(UTC).astimezone(tz)
    week = now.strftime("%G-W%V")
    out = tmp_path / "review"
    result = pipeline.cli("report", "weekly", "--team", team, "--week", week, "--metrics-url", url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert team_samples() == seen[0], "the figures moved while the review was written"
    assert (out / f"weekly-review-{team}-{week}.html").read_text().startswith("<!doctype html>")
    markdown = (out / f"weekly-review-{team}-{week}.md").read_text()
    scraped = seen[0]

    def metric(name: str, **labels: str) -> str:
        value = scraped.get((name, frozenset({"team": team, **labels}.items())))
        return "–" if value is None else str(int(value))

    rows = checked = deal_lines = 0
    rep = None
    for line in markdown.splitlines():
        if match := re.match(r"^## .* \((\w+)\)$", line):
            rep = match.group(1)
        elif rep and (cells := [c.strip() for c in line.strip("|").split("|")])[0] in SIM_ACTIONS and len(cells) == 8:
            action, this, last, _, target, _, reported, _ = cells
            who = {"rep": rep, "action": action}
            assert (this, last) == (metric("salespulse_actions", **who, window="week"),
                                    metric("salespulse_actions", **who, window="last_week")), line
            assert target == metric("salespulse_action_target", **who), line
            assert reported == metric("salespulse_self_reported_actions", **who, window="week"), line
            rows += 1
            checked += this != "0"
        elif rep and (match := re.match(r"^- Deals decided \(30 days\): (\d+) won.*; (\d+) lost", line)):
            window = {"rep": rep, "window": "rolling_30d"}
            # A rep with no decided deal in 90 days has no velocity series: none decided.
            assert match.groups() == tuple(
                metric("salespulse_deals_decided", **window, outcome=outcome).replace("–", "0") for outcome in ("won", "lost")
            ), line
            deal_lines += 1
        elif rep and (match := re.match(r"^- Mystery check (\S+): (\d+) of (\d+) points", line)):
            month, points, most = match.groups()
            assert (points, most) == (metric("salespulse_mystery_points", rep=rep, month=month),
                                      metric("salespulse_mystery_points_max", rep=rep, month=month)), line
    # Three reps, every configured action, and a floor that did something this week or last.
    assert rows == 3 * len(SIM_ACTIONS) and deal_lines == 3
    assert checked > 0 or now.weekday() == 0
