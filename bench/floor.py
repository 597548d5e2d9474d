"""A synthetic sales floor for the end-to-end benchmark: a configuration and a backlog of events.

The mix is what a contact centre sends: mostly activities (a third of them naming a deal), the
deal-stage changes of those deals, and a few reviews; a share of events is sent twice with the
same `event_id`, as a retrying producer does. `expected_totals` counts what the worker must
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
    seed: int = 7,
) -> list[Record]:
    """Return `n` records, duplicates included, spread over the last `days` days, shuffled."""
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
            stage = rng.choice(("won", "lost")) if left <= 1 else rng.choice(STAGES)
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
    rng.shuffle(records)
    return records


def expected_totals(records: list[Record]) -> Counter[str]:
    """Return the number of distinct events of each kind: what the worker must count."""
    seen: dict[str, str] = {}
    for record in records:
        seen.setdefault(record.event_id, record.kind)
    return Counter(seen.values())


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
