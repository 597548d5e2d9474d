"""Mystery-check maths: which deals were active in a month, the seeded draw, scores and the reward.

Months are calendar months in the team's timezone. A deal is active in a month when it had a
stage change or an activity in it, and it belongs there to the rep of its latest event in that
month. Each month the team's checker draws, per other rep, up to `deals_per_rep` of that rep's
active deals. The draw is seeded by (seed, team, month, rep) and made from the sorted deal ids,
so it is the same on every run, whatever order the deals were read in and whoever else is drawn.

A check gives points per rubric item; a rep's score for the month is the sum over their checked
deals, against a maximum of (checked deals × the rubric's total). When a deal is checked twice
for the same month, the check with the later `occurred_at` counts (a correction). The team earns
its reward for the month when every rep due a check reaches `reward_share` of their maximum.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# deal id -> {"months": {"YYYY-MM": [epoch seconds, rep, team]}}, as stored in the table
DealMonths = Mapping[str, Any]
# rep -> {deal id: [epoch seconds, event id, points]}: one team's month of checks, as stored
MonthChecks = Mapping[str, Mapping[str, list[Any]]]


def month_of(instant: datetime, tz: ZoneInfo) -> str:
    """Return the team-local calendar month YYYY-MM that holds `instant`."""
    return instant.astimezone(tz).strftime("%Y-%m")


def note_activity(stored: DealMonths | None, team: str, month: str, at: float, rep: str) -> dict[str, object] | None:
    """Return the deal's active months with one more event, or None when nothing changes.

    The team is kept per month, so a deal handed to another team stays in the first team's
    earlier months.
    """
    months: dict[str, list[Any]] = dict(stored["months"]) if stored else {}
    latest = months.get(month)
    if latest is not None and (latest[0], latest[1], latest[2]) >= (at, rep, team):
        return None
    months[month] = [at, rep, team]
    return {"months": months}


def active_deals(deals: Iterable[tuple[str, DealMonths]], team: str, month: str) -> dict[str, list[str]]:
    """Return each rep's deals active in the team's month, sorted by deal id."""
    by_rep: dict[str, list[str]] = {}
    for deal_id, stored in deals:
        entry = stored["months"].get(month)
        if entry is not None and entry[2] == team:
            by_rep.setdefault(entry[1], []).append(deal_id)
    return {rep: sorted(ids) for rep, ids in sorted(by_rep.items())}


def draw_sample(
    active: Mapping[str, Iterable[str]], count: int, seed: str, team: str, month: str, checker: str | None
) -> dict[str, list[str]]:
    """Draw up to `count` deals of each rep but the checker; reproducible (see the module docstring)."""
    drawn = {}
    for rep in sorted(active):
        if rep == checker:
            continue
        deals = sorted(set(active[rep]))
        # A string seed is hashed with SHA-512 by `random`, so the draw is the same in every process.
        rng = random.Random(f"{seed}|{team}|{month}|{rep}")
        drawn[rep] = sorted(rng.sample(deals, min(count, len(deals))))
    return drawn


def month_key(team: str, month: str) -> str:
    """Return the table key of a team's month of checks."""
    return f"{team}|{month}"


def split_month_key(key: str) -> tuple[str, str]:
    """Return (team, month) of a key made by `month_key`."""
    team, month = key.split("|")
    return team, month


def record_check(
    stored: MonthChecks | None, rep: str, deal_id: str, at: float, event_id: str, points: int
) -> dict[str, dict[str, list[Any]]] | None:
    """Return the month's checks with this one, or None when a later check of the deal stands.

    The later check replaces the earlier one even when it names another rep (a corrected owner).
    """
    reps = {r: dict(deals) for r, deals in (stored or {}).items()}
    current = next((deals[deal_id] for deals in reps.values() if deal_id in deals), None)
    if current is not None and (current[0], current[1]) >= (at, event_id):
        return None
    for deals in reps.values():
        deals.pop(deal_id, None)
    reps.setdefault(rep, {})[deal_id] = [at, event_id, points]
    return {r: deals for r, deals in reps.items() if deals}


@dataclass(frozen=True)
class MonthScore:
    """A rep's mystery-check points for a month and the most they could have had."""

    points: int
    maximum: int

    @property
    def share(self) -> float:
        """Return points / maximum (the maximum is never 0: a score exists only for checked deals)."""
        return self.points / self.maximum


def month_scores(checks: MonthChecks, rubric_total: int) -> dict[str, MonthScore]:
    """Return each checked rep's score for the month."""
    return {
        rep: MonthScore(sum(int(entry[2]) for entry in deals.values()), rubric_total * len(deals))
        for rep, deals in sorted(checks.items())
        if deals
    }


def reward_earned(scores: Mapping[str, MonthScore], due: Iterable[str], share: float) -> bool:
    """Tell whether every rep due a check was checked and reached `share` of their maximum."""
    reps = set(due) or set(scores)
    return bool(reps) and all(rep in scores and scores[rep].share >= share for rep in reps)
