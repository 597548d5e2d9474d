"""Self-reported weeks: which ISO weeks the `week` and `last_week` windows name, and which report counts.

A rep may file a week's report more than once (to correct it); the one with the latest
`occurred_at` counts, ties broken by event id so that arrival order does not matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from salespulse.models.targets import iso_week_of

ReportWindow = Literal["week", "last_week"]


def report_key(team: str, rep: str, week: str) -> str:
    """Return the table key of a rep's report on an ISO week."""
    return f"{team}|{rep}|{week}"


def split_report_key(key: str) -> tuple[str, str, str]:
    """Return (team, rep, week) of a key made by `report_key`."""
    team, rep, week = key.split("|")
    return team, rep, week


def window_weeks(now: datetime, tz: ZoneInfo) -> dict[ReportWindow, str]:
    """Return the team-local ISO week of `now` (week) and the one before it (last_week)."""
    today = now.astimezone(tz).date()
    return {"week": iso_week_of(today), "last_week": iso_week_of(today - timedelta(days=7))}


def supersedes(current: Mapping[str, Any] | None, at: float, event_id: str) -> bool:
    """Tell whether a report filed at `at` replaces the stored one."""
    return current is None or (at, event_id) > (current["at"], current["event_id"])
