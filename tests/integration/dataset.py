"""A generated, seeded data set of sales events, good and bad, and its expected KPIs.

The expectations are computed here from first principles (local dates, ISO weeks, minima),
independently of the pipeline's own slot arithmetic.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ACTIONS = ["call", "cold_call", "outbound_email"]
STAGES = ["lead", "qualified", "proposal"]
CONFIG: dict[str, Any] = {
    "defaults": {"timezone": "UTC"},
    "actions": ACTIONS,
    "stages": STAGES,
    "teams": {
        "amsterdam": {"timezone": "Europe/Amsterdam", "reps": {"anna": {"name": "Anna de Vries"}, "bram": {"name": "Bram Jansen"}}},
        "new-york": {"timezone": "America/New_York", "reps": {"mike": {"name": "Mike Chen"}}},
    },
    # A producer's team the file does not name, counted as is (the default rejects it).
    "limits": {"unknown_reps": "accept"},
}
# "berlin" is absent from the configuration: its events are accepted and use the UTC default.
REPS = [("amsterdam", "anna"), ("amsterdam", "bram"), ("new-york", "mike"), ("berlin", "lena")]
ZONES = {"amsterdam": ZoneInfo("Europe/Amsterdam"), "new-york": ZoneInfo("America/New_York"), "berlin": ZoneInfo("UTC")}
NAMES = {("amsterdam", "anna"): "Anna de Vries", ("amsterdam", "bram"): "Bram Jansen", ("new-york", "mike"): "Mike Chen", ("berlin", "lena"): "lena"}
QUARTER_S = 900


@dataclass
class DataSet:
    """Lines to publish, and what each valid one means."""

    lines: list[bytes] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    deal_events: list[dict[str, Any]] = field(default_factory=list)
    bad: dict[int, str] = field(default_factory=dict)  # 1-based line number -> reason
    duplicates: Counter[str] = field(default_factory=Counter)


def _stamp(at: datetime, team: str, rng: random.Random) -> str:
    # Producers write offsets their own way: UTC with Z, or the team's local offset.
    if rng.random() < 0.5:
        return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return at.astimezone(ZONES[team]).isoformat()


def generate(
    now: datetime, seed: int = 42, activities_per_rep: int = 60, deals: int = 25, reversals: bool = False
) -> DataSet:
    """Build a shuffled JSONL data set with valid, duplicate, late, future and malformed lines.

    Duplicates are 5 % of the activities and 4 % of the deal events (12 and 4 by default).
    Every third decided deal has a later "lost" that changes nothing. With `reversals`, every
    decided deal is reversed two days later (won, then lost; lost, then won), half of them by
    another rep: shuffled, the reversal often comes first, and the earlier decision must take
    the deal, and its credit, back.
    """
    rng = random.Random(seed)
    good: list[bytes] = []
    ds = DataSet()
    serial = 0

    def event(team: str, rep: str, at: datetime, **fields: Any) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        return {"event_id": f"ev-{seed}-{serial}", "occurred_at": _stamp(at, team, rng), "team_id": team,
                "rep_id": rep, "source": "test", "schema_version": 1, **fields}

    for team, rep in REPS:
        for _ in range(activities_per_rep):
            # Up to 40 days back: older than the 35-day bucket retention counts in totals only.
            at = now - timedelta(seconds=rng.uniform(60, 40 * 86400))
            body = event(team, rep, at, type="activity", action=rng.choice(ACTIONS), duration_s=round(rng.uniform(0, 600), 1))
            ds.activities.append(body)
            good.append(json.dumps(body).encode())
    for number in range(deals):
        team, rep = rng.choice(REPS)
        deal = f"deal-{seed}-{number}"
        created = now - timedelta(seconds=rng.uniform(86400, 120 * 86400))
        history = [(created, "lead")]
        at = created
        for stage in STAGES[1:]:
            at = at + timedelta(seconds=rng.uniform(3600, 5 * 86400))
            history.append((at, stage))
        if number % 5 != 4:  # every fifth deal stays open
            decided = min(at + timedelta(seconds=rng.uniform(600, 10 * 86400)), now - timedelta(minutes=1))
            history.append((decided, rng.choice(["won", "lost"])))
            later = min(decided + timedelta(days=2), now - timedelta(seconds=30))
            if reversals:
                reversed_by = rng.choice([other for other in REPS if other != (team, rep)]) if number % 2 else (team, rep)
                history.append((later, "lost" if history[-1][1] == "won" else "won", *reversed_by))
            elif number % 3 == 0:  # an event after the decision changes nothing
                history.append((later, "lost"))
        for at, stage, *by in history:
            by_team, by_rep = by or (team, rep)
            body = event(by_team, by_rep, at, type="deal_stage", deal_id=deal, stage=stage, amount=1000.0, currency="EUR")
            ds.deal_events.append(body)
            good.append(json.dumps(body).encode())
    for body in rng.sample(ds.activities, len(ds.activities) // 20):
        good.append(json.dumps(body).encode())
        ds.duplicates["activity"] += 1
    for body in rng.sample(ds.deal_events, len(ds.deal_events) // 25):
        good.append(json.dumps(body).encode())
        ds.duplicates["deal_stage"] += 1

    team, rep = REPS[0]
    bad: list[tuple[bytes, str]] = [
        (b"this is not json", "not_json"),
        (b'{"event_id": "x1", ', "not_json"),
        (json.dumps({k: v for k, v in event(team, rep, now, type="activity", action="call").items() if k != "rep_id"}).encode(), "invalid"),
        (json.dumps({**event(team, rep, now, type="activity", action="call"), "occurred_at": "2026-11-20T10:00:00"}).encode(), "invalid"),
        (json.dumps(event(team, rep, now, type="activity", action="demo")).encode(), "unknown_action"),
        (json.dumps(event(team, rep, now, type="activity", action="lunch")).encode(), "unknown_action"),
        (json.dumps(event(team, rep, now, type="deal_stage", deal_id="d-x", stage="negotiation")).encode(), "unknown_stage"),
        (json.dumps(event(team, rep, now + timedelta(days=2), type="activity", action="call")).encode(), "future"),
        (json.dumps(event(team, rep, now + timedelta(days=3), type="deal_stage", deal_id="d-f", stage="lead")).encode(), "future"),
        (json.dumps(event(team, rep, now - timedelta(days=500), type="deal_stage", deal_id="d-old", stage="won")).encode(), "too_late"),
    ]
    tagged = [(line, None) for line in good] + [(line, reason) for line, reason in bad]
    rng.shuffle(tagged)
    for number, (line, reason) in enumerate(tagged, start=1):
        ds.lines.append(line)
        if reason:
            ds.bad[number] = reason
    return ds


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def expected_actions(ds: DataSet, now: datetime) -> dict[tuple[str, ...], float]:
    """Return {(team, rep, action, window): count} and {(team, rep, action): total}."""
    out: dict[tuple[str, ...], float] = {}
    for team, rep in REPS:
        for action in ACTIONS:
            for window in ("today", "week", "last_week", "rolling_7d"):
                out[(team, rep, action, window)] = 0
            out[(team, rep, action)] = 0
    floor = lambda ts: ts - ts % QUARTER_S  # noqa: E731
    rolling_start = floor((now - timedelta(days=7)).timestamp())
    rolling_end = floor(now.timestamp()) + QUARTER_S
    for body in ds.activities:
        team, rep, action = body["team_id"], body["rep_id"], body["action"]
        at = _parse(body["occurred_at"])
        out[(team, rep, action)] += 1
        tz = ZONES[team]
        local, local_now = at.astimezone(tz), now.astimezone(tz)
        if local.date() == local_now.date():
            out[(team, rep, action, "today")] += 1
        if local.isocalendar()[:2] == local_now.isocalendar()[:2]:
            out[(team, rep, action, "week")] += 1
        if local.isocalendar()[:2] == (local_now - timedelta(days=7)).isocalendar()[:2]:
            out[(team, rep, action, "last_week")] += 1
        if rolling_start <= at.timestamp() < rolling_end:
            out[(team, rep, action, "rolling_7d")] += 1
    return out


def expected_velocity(ds: DataSet, now: datetime) -> dict[tuple[str, ...], float]:
    """Return {(metric, team, rep, outcome, window): value} for decided deals."""
    by_deal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in ds.deal_events:
        by_deal[body["deal_id"]].append(body)
    out: dict[tuple[str, ...], float] = {}
    for events in by_deal.values():
        created = min(_parse(e["occurred_at"]) for e in events)
        terminal = sorted((_parse(e["occurred_at"]), e["event_id"], e) for e in events if e["stage"] in ("won", "lost"))
        if not terminal:
            continue
        decided, _, decision = terminal[0]
        team, rep = decision["team_id"], decision["rep_id"]
        for outcome in ("won", "lost"):
            for window in ("rolling_30d", "rolling_90d"):
                out.setdefault(("decided", team, rep, outcome, window), 0)
                out.setdefault(("combined", team, rep, outcome, window), 0.0)
        for window, days in (("rolling_30d", 30), ("rolling_90d", 90)):
            if now - timedelta(days=days) <= decided <= now:
                out[("decided", team, rep, decision["stage"], window)] += 1
                out[("combined", team, rep, decision["stage"], window)] += (decided - created).total_seconds()
    return out
