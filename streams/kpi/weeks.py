"""Closing a week: which actions a rep finished below target.

A week is judged once, when it has closed in the team's timezone; events that arrive for it
later still change its counts but not its verdict, as a manager's record of the week would not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from salespulse.models.targets import TargetSet, in_force


def last_closed_week(now: datetime, tz: ZoneInfo) -> date:
    """Return the Monday of the ISO week that closed most recently in the team's timezone."""
    local = now.astimezone(tz).date()
    return local - timedelta(days=local.weekday() + 7)


def missed_actions(
    team: str,
    rep: str,
    week_monday: date,
    sets: Iterable[TargetSet],
    actions: Iterable[str],
    count: Callable[[str], int],
) -> list[str]:
    """Return the actions whose weekly count stayed below the target in force that week."""
    chosen = in_force(sets, team, week_monday)
    if chosen is None:
        return []
    missed = []
    for action in actions:
        target = chosen.target_for(rep, action)
        if target is not None and count(action) < target:
            missed.append(action)
    return missed
