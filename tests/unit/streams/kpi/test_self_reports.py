"""Self-reports: table keys, the team-local `week` and `last_week` windows, and which report counts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from salespulse.streams.kpi.self_reports import report_key, split_report_key, supersedes, window_weeks

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")


def test_report_key_round_trips() -> None:
    key = report_key("nl", "ann", "2026-W48")
    assert key == "nl|ann|2026-W48"
    assert split_report_key(key) == ("nl", "ann", "2026-W48")


def test_a_key_with_another_field_count_is_refused() -> None:
    # Identifiers cannot hold "|", so a key that splits otherwise is corrupt, not a report.
    with pytest.raises(ValueError):
        split_report_key("nl|ann")


# --- window_weeks --------------------------------------------------------------------------
# 2026-11-29 is a Sunday (2026-W48); 2026-11-30 the Monday of 2026-W49.


@pytest.mark.parametrize(
    ("now", "tz", "week", "last_week"),
    [
        # Monday 00:30 in Amsterdam is still Sunday 23:30 in UTC.
        (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), AMS, "2026-W49", "2026-W48"),
        (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), ZoneInfo("UTC"), "2026-W48", "2026-W47"),
        # Sunday 23:59 in Amsterdam (22:59 UTC): the old week still.
        (datetime(2026, 11, 29, 22, 59, tzinfo=UTC), AMS, "2026-W48", "2026-W47"),
        # Monday 01:00 UTC is Sunday 20:00 in New York.
        (datetime(2026, 11, 30, 1, 0, tzinfo=UTC), NYC, "2026-W48", "2026-W47"),
        (datetime(2026, 11, 30, 5, 0, tzinfo=UTC), NYC, "2026-W49", "2026-W48"),
    ],
)
def test_week_boundary_is_team_local(now: datetime, tz: ZoneInfo, week: str, last_week: str) -> None:
    assert window_weeks(now, tz) == {"week": week, "last_week": last_week}


# 2026 starts on a Thursday, so it has 53 ISO weeks: 2026-W53 runs Monday 2026-12-28 to Sunday
# 2027-01-03, and 2027-W01 starts Monday 2027-01-04.
@pytest.mark.parametrize(
    ("now", "tz", "week", "last_week"),
    [
        (datetime(2026, 12, 28, 12, tzinfo=UTC), AMS, "2026-W53", "2026-W52"),
        # New Year's Day 2027 is in the ISO year 2026.
        (datetime(2027, 1, 1, 12, tzinfo=UTC), AMS, "2026-W53", "2026-W52"),
        # Monday 2027-01-04 00:30 in Amsterdam, still Sunday 2027-01-03 23:30 in UTC.
        (datetime(2027, 1, 3, 23, 30, tzinfo=UTC), AMS, "2027-W01", "2026-W53"),
        (datetime(2027, 1, 3, 23, 30, tzinfo=UTC), ZoneInfo("UTC"), "2026-W53", "2026-W52"),
        (datetime(2027, 1, 11, 9, tzinfo=UTC), AMS, "2027-W02", "2027-W01"),
        # Thursday 2026-01-01 is in 2026-W01; the week before it belongs to 2025, which has 52 weeks.
        (datetime(2026, 1, 1, 12, tzinfo=UTC), AMS, "2026-W01", "2025-W52"),
        # Monday 2025-12-29 is already in the ISO year 2026.
        (datetime(2025, 12, 29, 12, tzinfo=UTC), AMS, "2026-W01", "2025-W52"),
    ],
)
def test_year_boundary_uses_iso_years(now: datetime, tz: ZoneInfo, week: str, last_week: str) -> None:
    assert window_weeks(now, tz) == {"week": week, "last_week": last_week}


def test_weeks_are_zero_padded() -> None:
    # Wednesday 2026-03-04 is in 2026-W10, Wednesday 2026-02-25 in 2026-W09.
    assert window_weeks(datetime(2026, 3, 4, 12, tzinfo=UTC), AMS) == {"week": "2026-W10", "last_week": "2026-W09"}


# --- supersedes ----------------------------------------------------------------------------

STORED = {"at": 100.0, "event_id": "report-5", "figures": {"call": 60}, "lessons": ""}


def test_the_first_report_is_kept() -> None:
    assert supersedes(None, 100.0, "report-1") is True


@pytest.mark.parametrize(
    ("at", "event_id", "replaces"),
    [
        (101.0, "report-1", True),  # a correction, whatever its id
        (99.0, "report-9", False),  # an older report arriving late
        (100.0, "report-6", True),  # same time: the higher event id wins ...
        (100.0, "report-4", False),  # ... in either arrival order
        (100.0, "report-5", False),  # the same report again
    ],
)
def test_supersedes(at: float, event_id: str, replaces: bool) -> None:
    assert supersedes(STORED, at, event_id) is replaces
