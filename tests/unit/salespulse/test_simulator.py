"""The simulated floor: valid events only, office hours respected, deals decided."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from models.config import load_settings
from models.events import ActivityEvent, DealStageEvent, ReviewEvent, parse_event
from salespulse.simulator import Floor

REPO = Path(__file__).resolve().parents[3]
SETTINGS = load_settings(REPO / "examples" / "demo.yaml")
MONDAY_0600_UTC = datetime(2026, 11, 23, 6, tzinfo=UTC)


def simulate(floor: Floor, start: datetime, hours: int) -> list[dict]:
    events = []
    for hour in range(hours):
        events.extend(floor.step(start + timedelta(hours=hour), start + timedelta(hours=hour + 1), 6.0))
    return events


def test_every_event_passes_the_contract_and_ids_are_unique() -> None:
    events = simulate(Floor.create(SETTINGS, seed=1), MONDAY_0600_UTC, 24 * 5)
    now = MONDAY_0600_UTC + timedelta(days=6)
    parsed = [parse_event(json.dumps(body).encode(), SETTINGS, now) for body in events]
    assert len({e.event_id for e in parsed}) == len(parsed) > 500
    assert {type(e) for e in parsed} == {ActivityEvent, DealStageEvent, ReviewEvent}


def test_reviews_come_from_a_teammate_on_the_configured_scale() -> None:
    events = simulate(Floor.create(SETTINGS, seed=5), MONDAY_0600_UTC, 24 * 5)
    reviews = [body for body in events if body["type"] == "review"]
    teams = {team: set(cfg.reps) for team, cfg in SETTINGS.teams.items()}
    assert len(reviews) > 10
    assert {body["subject"] for body in reviews} == set(SETTINGS.reviews.themes)
    for body in reviews:
        assert body["reviewer_id"] != body["rep_id"]
        assert body["reviewer_id"] in teams[body["team_id"]]
        assert tuple(body["scores"]) == SETTINGS.reviews.themes[body["subject"]]
        assert all(SETTINGS.reviews.scale_min <= s <= SETTINGS.reviews.scale_max for s in body["scores"].values())


def test_activities_fall_in_each_teams_working_time() -> None:
    events = simulate(Floor.create(SETTINGS, seed=2), MONDAY_0600_UTC - timedelta(days=1), 48)
    for body in events:
        if body["type"] != "activity":
            continue
        at = datetime.fromisoformat(body["occurred_at"])
        # occurred_at carries the team's own offset; Mon-Fri 09:00-17:00 local by default.
        assert at.weekday() < 5 and 9 <= at.hour < 17, body


def test_deals_move_through_the_stages_and_get_decided() -> None:
    events = simulate(Floor.create(SETTINGS, seed=3), MONDAY_0600_UTC, 24 * 14)
    stages = Counter(body["stage"] for body in events if body["type"] == "deal_stage")
    assert stages["lead"] > 10
    assert stages["won"] > 0 and stages["lost"] > 0
    assert set(stages) <= set(SETTINGS.all_stages)


def test_two_runs_with_one_seed_never_share_an_event_id() -> None:
    first = {b["event_id"] for b in simulate(Floor.create(SETTINGS, seed=4), MONDAY_0600_UTC, 24)}
    second = {b["event_id"] for b in simulate(Floor.create(SETTINGS, seed=4), MONDAY_0600_UTC, 24)}
    assert first and second and not first & second
