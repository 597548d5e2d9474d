"""A synthetic sales floor for the end-to-end benchmark: a configuration and a backlog of events.

The mix is what a contact centre sends: mostly activities (a third of them naming a deal), the
deal-stage changes of those deals, and a few reviews; a share of events is sent twice with the
same `event_id`, as a retrying producer does. Open deals can be added: one deal-stage event each,
with an amount, over the last 60 days, so that a worker holds that many deals nobody has decided.
`expected_totals`, `expected_stage_changes` and `expected_open_deals` count what the worker must
report, computed here from the events alone.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ACTIONS = ("call", "cold_call", "outbound_email", "meeting")
STAGES = ("qualified", "proposal", "negotiation")
TERMINAL = ("won", "lost")
CURRENCIES = ("EUR", "USD")


def floor_config(teams: int, reps_per_team: int) -> dict[str, Any]:
    """Return a configuration with `teams` teams of `reps_per_team` named reps each."""
    timezones = ("Europe/Amsterdam", "America/New_York", "Asia/Tokyo", "UTC")
    return {
        "actions": list(ACTIONS),
        "stages": list(STAGES),
        "reviews": {"themes": {"call": ["opening", "discovery", "closing"]}},
        "teams": {
            f"team{t:02d}": {
                "timezone": timezones[t % len(timezones)],
                "reps": {f"rep{t:02d}{r:03d}": {"name": f"Rep {t}-{r}"} for r in range(reps_per_team)},
            }
            for t in range(teams)
        },
    }


@dataclass(frozen=True)
class Record:
    """One record as a producer keyed by rep or deal sends it."""

    kind: str  # activity, deal_stage or review
    key: bytes
    value: bytes
    event_id: str


def floor_events(
    config: dict[str, Any],
    n: int,
    *,
    now: datetime,
    days: int = 6,
    mix: str = "mixed",
    duplicate_share: float = 0.1,
    open_deals: int = 0,
    seed: int = 7,
) -> list[Record]:
    """Return `n` records, duplicates included, spread over the last `days` days, then `open_deals` more, shuffled.

    Without open deals the backlog is the same as before they existed, record for record.
    """
    rng = random.Random(seed)
    reps = [(team, rep) for team, spec in config["teams"].items() for rep in spec["reps"]]
    unique = int(n / (1 + duplicate_share))
    records: list[Record] = []
    deal_stage_left: dict[str, int] = {}
    for i in range(unique):
        team, rep = rng.choice(reps)
        at = now - timedelta(seconds=rng.uniform(60, days * 86_400))
        event: dict[str, Any] = {
            "event_id": f"e{i}",
            "occurred_at": at.isoformat(),
            "team_id": team,
            "rep_id": rep,
            "source": "bench",
            "schema_version": 1,
        }
        roll = rng.random() if mix == "mixed" else 0.0
        if roll < 0.80:
            kind = "activity"
            event.update(type="activity", action=rng.choice(ACTIONS), duration_s=rng.randint(5, 900))
            if mix == "mixed" and rng.random() < 0.33:
                event["deal_id"] = f"d{rng.randrange(unique // 20 + 1)}"
            key = f"{team}|{rep}"
        elif roll < 0.97:
            kind = "deal_stage"
            deal = f"d{rng.randrange(unique // 20 + 1)}"
            left = deal_stage_left.setdefault(deal, rng.randint(2, 4))
            deal_stage_left[deal] = left - 1
            stage = rng.choice(TERMINAL) if left <= 1 else rng.choice(STAGES)
            event.update(type="deal_stage", deal_id=deal, stage=stage)
            key = deal
        else:
            kind = "review"
            event.update(
                type="review",
                reviewer_id="manager",
                subject="call",
                scores={theme: rng.randint(1, 5) for theme in ("opening", "discovery", "closing")},
            )
            key = f"{team}|{rep}"
        records.append(Record(kind, key.encode(), json.dumps(event).encode(), event["event_id"]))
    records += [rng.choice(records) for _ in range(n - unique)]
    records += open_deal_events(reps, open_deals, now=now, seed=seed)
    rng.shuffle(records)
    return records


def open_deal_events(
    reps: list[tuple[str, str]], n: int, *, now: datetime, days: int = 60, seed: int = 7
) -> list[Record]:
    """Return `n` deal-stage events, each opening a deal of its own in an open stage, with an amount."""
    rng = random.Random(seed + 1)  # its own stream: the rest of the backlog stays as it was
    records = []
    for i in range(n):
        team, rep = rng.choice(reps)
        event = {
            "event_id": f"open{i}",
            "type": "deal_stage",
            "occurred_at": (now - timedelta(seconds=rng.uniform(60, days * 86_400))).isoformat(),
            "team_id": team,
            "rep_id": rep,
            "source": "bench",
            "schema_version": 1,
            "deal_id": f"open{i}",
            "stage": rng.choice(STAGES),
            "amount": round(rng.uniform(1_000, 250_000), 2),
            "currency": rng.choice(CURRENCIES),
        }
        records.append(Record("deal_stage", f"open{i}".encode(), json.dumps(event).encode(), event["event_id"]))
    return records


def expected_totals(records: list[Record]) -> Counter[str]:
    """Return the number of distinct events of each kind: what the worker must count."""
    seen: dict[str, str] = {}
    for record in records:
        seen.setdefault(record.event_id, record.kind)
    return Counter(seen.values())


def distinct_deal_events(records: list[Record]) -> list[dict[str, Any]]:
    """Return the first copy of each distinct deal-stage event, parsed."""
    firsts: dict[str, bytes] = {}
    for record in records:
        if record.kind == "deal_stage":
            firsts.setdefault(record.event_id, record.value)
    return [json.loads(value) for value in firsts.values()]


def expected_stage_changes(deal_events: list[dict[str, Any]], now: datetime, days: float = 29) -> int:
    """Return how many distinct deal-stage events are younger than `days` days at `now`.

    The stage-change series count the rolling 30 days: a worker that counted every event shows at
    least this many for the day after `now`, whatever the hour of the scrape.
    """
    since = now - timedelta(days=days)
    return sum(1 for event in deal_events if datetime.fromisoformat(event["occurred_at"]) > since)


def expected_open_deals(deal_events: list[dict[str, Any]]) -> int:
    """Return how many deals have no event in a terminal stage: the deals nobody has decided yet."""
    deals = {event["deal_id"] for event in deal_events}
    decided = {event["deal_id"] for event in deal_events if event["stage"] in TERMINAL}
    return len(deals - decided)


def expected_action_totals(records: list[Record]) -> dict[tuple[str, str, str], int]:
    """Return the all-time count per (team, rep, action) of distinct activities."""
    firsts: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.kind == "activity" and record.event_id not in firsts:
            firsts[record.event_id] = json.loads(record.value)
    totals: Counter[tuple[str, str, str]] = Counter(
        (event["team_id"], event["rep_id"], event["action"]) for event in firsts.values()
    )
    return dict(totals)


def utc_now() -> datetime:
    """Return the current time."""
    return datetime.now(UTC)
