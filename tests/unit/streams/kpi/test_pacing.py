"""Pacing maths with exact numbers: working time, ISO week bounds, expected-by-now.

Reference week: Monday 2026-01-05 to Sunday 2026-01-11. Amsterdam is UTC+1 and New York
UTC−5 then (no DST). The default schedule is Mon–Fri 09:00–17:00, 8 h a day, 40 h a week.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from salespulse.models.working_time import WorkingTime
from salespulse.streams.kpi.pacing import (
    expected_by_now,
    in_working_time,
    missing_to_pace,
    pace_ratio,
    week_bounds,
    week_progress,
    working_seconds,
)

UTC = timezone.utc
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
JERUSALEM = ZoneInfo("Asia/Jerusalem")
HOUR = 3600
DAY = 8 * HOUR  # one default working day: 28_800 s
WEEK = 5 * DAY  # one default working week: 144_000 s
OFFICE = WorkingTime()


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


# --- week_bounds ---------------------------------------------------------------------------


def test_week_bounds_mid_week() -> None:
    # Wednesday 12:00 Amsterdam; Monday 00:00 CET is Sunday 23:00 UTC.
    assert week_bounds(utc(2026, 1, 7, 11), AMSTERDAM) == (utc(2026, 1, 4, 23), utc(2026, 1, 11, 23))


@pytest.mark.parametrize(
    ("now", "tz", "week_start"),
    [
        # Sunday 23:59:59 Amsterdam: still the week of Monday 5 January.
        (utc(2026, 1, 11, 22, 59, 59), AMSTERDAM, utc(2026, 1, 4, 23)),
        # Monday 00:00 Amsterdam: the next week starts exactly here.
        (utc(2026, 1, 11, 23), AMSTERDAM, utc(2026, 1, 11, 23)),
        # Sunday 23:30 in UTC, but already Monday 00:30 in Amsterdam.
        (utc(2026, 1, 11, 23, 30), AMSTERDAM, utc(2026, 1, 11, 23)),
        # The same instant is still Sunday 18:30 in New York; its Monday 00:00 is 05:00 UTC.
        (utc(2026, 1, 11, 23, 30), NEW_YORK, utc(2026, 1, 5, 5)),
        (utc(2026, 1, 12, 5), NEW_YORK, utc(2026, 1, 12, 5)),
    ],
)
def test_week_bounds_at_the_week_boundary(now: datetime, tz: ZoneInfo, week_start: datetime) -> None:
    start, end = week_bounds(now, tz)
    assert start == week_start
    assert end.timestamp() - start.timestamp() == 7 * 24 * HOUR
    assert start.utcoffset() is not None and start.tzinfo is tz


def test_week_bounds_are_local_midnights() -> None:
    start, end = week_bounds(utc(2026, 1, 7, 11), AMSTERDAM)
    assert (start.year, start.month, start.day, start.hour, start.minute) == (2026, 1, 5, 0, 0)
    assert (end.year, end.month, end.day, end.hour, end.minute) == (2026, 1, 12, 0, 0)


def test_week_progress_sunday_night_vs_monday_morning() -> None:
    # Sunday 23:30 Amsterdam: the whole week has elapsed.
    assert week_progress(utc(2026, 1, 11, 22, 30), OFFICE, AMSTERDAM) == (WEEK, WEEK)
    # Monday 00:30 and 08:30 Amsterdam: a new week, nothing elapsed yet.
    assert week_progress(utc(2026, 1, 11, 23, 30), OFFICE, AMSTERDAM) == (0.0, WEEK)
    assert week_progress(utc(2026, 1, 12, 7, 30), OFFICE, AMSTERDAM) == (0.0, WEEK)
    # Monday 10:00 Amsterdam: one hour.
    assert week_progress(utc(2026, 1, 12, 9), OFFICE, AMSTERDAM) == (HOUR, WEEK)


# --- one day: before, at start, mid-day, at end, after; the weekend ---------------------------


@pytest.mark.parametrize(
    ("now", "elapsed", "working"),
    [
        (utc(2026, 1, 5, 6), 0, False),  # Monday 07:00, before the first day starts
        (utc(2026, 1, 7, 7), 2 * DAY, False),  # Wednesday 08:00, before start of day
        (utc(2026, 1, 7, 8), 2 * DAY, True),  # Wednesday 09:00, start is inside
        (utc(2026, 1, 7, 12, 15), 2 * DAY + 4 * HOUR + 15 * 60, True),  # Wednesday 13:15
        (utc(2026, 1, 7, 15, 59, 59), 3 * DAY - 1, True),  # Wednesday 16:59:59
        (utc(2026, 1, 7, 16), 3 * DAY, False),  # Wednesday 17:00, end is outside
        (utc(2026, 1, 7, 17), 3 * DAY, False),  # Wednesday 18:00, after end of day
        (utc(2026, 1, 10, 10), WEEK, False),  # Saturday 11:00
        (utc(2026, 1, 11, 12), WEEK, False),  # Sunday 13:00
    ],
)
def test_progress_through_the_week(now: datetime, elapsed: int, working: bool) -> None:
    assert week_progress(now, OFFICE, AMSTERDAM) == (elapsed, WEEK)
    assert in_working_time(now, OFFICE, AMSTERDAM) is working


# --- holidays ------------------------------------------------------------------------------


def test_holiday_shrinks_the_week_and_adds_no_elapsed_time() -> None:
    schedule = WorkingTime(holidays=(date(2026, 1, 7),))  # Wednesday
    # Wednesday 13:15 Amsterdam, on the holiday: Monday and Tuesday only.
    now = utc(2026, 1, 7, 12, 15)
    assert week_progress(now, schedule, AMSTERDAM) == (2 * DAY, 4 * DAY)
    assert in_working_time(now, schedule, AMSTERDAM) is False
    # Thursday 10:00 Amsterdam: Monday, Tuesday and one hour.
    assert week_progress(utc(2026, 1, 8, 9), schedule, AMSTERDAM) == (2 * DAY + HOUR, 4 * DAY)


def test_holiday_in_another_week_changes_nothing() -> None:
    schedule = WorkingTime(holidays=(date(2026, 1, 14),))
    now = utc(2026, 1, 7, 12, 15)  # Wednesday 13:15 Amsterdam
    assert week_progress(now, schedule, AMSTERDAM) == (2 * DAY + 4 * HOUR + 15 * 60, WEEK)


def test_holiday_on_a_weekend_changes_nothing() -> None:
    schedule = WorkingTime(holidays=(date(2026, 1, 10),))  # Saturday
    assert week_progress(utc(2026, 1, 11, 12), schedule, AMSTERDAM) == (WEEK, WEEK)


def test_a_week_of_holidays_expects_nothing() -> None:
    schedule = WorkingTime(holidays=tuple(date(2026, 1, d) for d in range(5, 10)))
    now = utc(2026, 1, 7, 12, 15)
    elapsed, total = week_progress(now, schedule, AMSTERDAM)
    assert (elapsed, total) == (0.0, 0.0)
    assert in_working_time(now, schedule, AMSTERDAM) is False
    expected = expected_by_now(50, elapsed, total)
    assert expected == 0.0
    assert pace_ratio(3, expected) is None
    assert missing_to_pace(3, expected) == 0.0


# --- two timezones -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "in_amsterdam", "in_new_york"),
    [
        (utc(2026, 1, 7, 8, 30), True, False),  # Amsterdam 09:30, New York 03:30
        (utc(2026, 1, 7, 15), True, True),  # Amsterdam 16:00, New York 10:00
        (utc(2026, 1, 7, 17), False, True),  # Amsterdam 18:00, New York 12:00
        (utc(2026, 1, 7, 22, 30), False, False),  # Amsterdam 23:30, New York 17:30
    ],
)
def test_same_instant_in_two_timezones(now: datetime, in_amsterdam: bool, in_new_york: bool) -> None:
    assert in_working_time(now, OFFICE, AMSTERDAM) is in_amsterdam
    assert in_working_time(now, OFFICE, NEW_YORK) is in_new_york


def test_progress_in_two_timezones() -> None:
    # Wednesday 17:00 UTC: Amsterdam 18:00, day done; New York 12:00, three hours in.
    now = utc(2026, 1, 7, 17)
    assert week_progress(now, OFFICE, AMSTERDAM) == (3 * DAY, WEEK)
    assert week_progress(now, OFFICE, NEW_YORK) == (2 * DAY + 3 * HOUR, WEEK)
    # Friday 20:00 UTC: Amsterdam 21:00, week done; New York 15:00, six hours into Friday.
    now = utc(2026, 1, 9, 20)
    assert week_progress(now, OFFICE, AMSTERDAM) == (WEEK, WEEK)
    assert week_progress(now, OFFICE, NEW_YORK) == (4 * DAY + 6 * HOUR, WEEK)


# --- DST -----------------------------------------------------------------------------------
# EU 2026: clocks go forward Sunday 29 March 01:00 UTC, back Sunday 25 October 01:00 UTC.
# US 2026: forward Sunday 8 March 07:00 UTC, back Sunday 1 November 06:00 UTC.


def test_week_bounds_in_the_eu_fall_back_week() -> None:
    # Monday 19 Oct 00:00 CEST (UTC+2) to Monday 26 Oct 00:00 CET (UTC+1): 169 real hours.
    start, end = week_bounds(utc(2026, 10, 22, 10), AMSTERDAM)
    assert (start, end) == (utc(2026, 10, 18, 22), utc(2026, 10, 25, 23))
    assert end.timestamp() - start.timestamp() == 169 * HOUR


def test_week_bounds_in_the_us_spring_forward_week() -> None:
    # Monday 2 Mar 00:00 EST (UTC−5) to Monday 9 Mar 00:00 EDT (UTC−4): 167 real hours.
    start, end = week_bounds(utc(2026, 3, 5, 12), NEW_YORK)
    assert (start, end) == (utc(2026, 3, 2, 5), utc(2026, 3, 9, 4))
    assert end.timestamp() - start.timestamp() == 167 * HOUR


def test_a_switch_on_sunday_night_leaves_the_working_week_at_40_hours() -> None:
    # Friday 18:00 CEST, and Monday 12:00 CET just after the switch.
    assert week_progress(utc(2026, 10, 23, 16), OFFICE, AMSTERDAM) == (WEEK, WEEK)
    assert week_progress(utc(2026, 10, 26, 11), OFFICE, AMSTERDAM) == (3 * HOUR, WEEK)
    assert working_seconds(utc(2026, 10, 18, 22), utc(2026, 10, 25, 23), OFFICE, AMSTERDAM) == WEEK


@pytest.mark.parametrize(
    ("now", "tz", "working"),
    [
        # 07:30 UTC is 09:30 CEST on Friday 23 October but 08:30 CET on Monday 26 October.
        (utc(2026, 10, 23, 7, 30), AMSTERDAM, True),
        (utc(2026, 10, 26, 7, 30), AMSTERDAM, False),
        # 13:30 UTC is 08:30 EST on Monday 2 March but 09:30 EDT on Monday 9 March.
        (utc(2026, 3, 2, 13, 30), NEW_YORK, False),
        (utc(2026, 3, 9, 13, 30), NEW_YORK, True),
    ],
)
def test_the_same_utc_time_of_day_across_a_switch(now: datetime, tz: ZoneInfo, working: bool) -> None:
    assert in_working_time(now, OFFICE, tz) is working


def test_a_switch_inside_working_hours_counts_real_time() -> None:
    night = WorkingTime(days=("sun",), start="00:00", end="06:00")
    # 25 October: 00:00 CEST is 22:00 UTC the day before, 06:00 CET is 05:00 UTC: 7 h.
    assert working_seconds(utc(2026, 10, 24), utc(2026, 10, 26), night, AMSTERDAM) == 7 * HOUR
    # At 01:30 UTC the wall clock reads 02:30 for the second time; 22:00 → 01:30 UTC is 3.5 h.
    assert working_seconds(utc(2026, 10, 24), utc(2026, 10, 25, 1, 30), night, AMSTERDAM) == 3.5 * HOUR
    # 29 March: 00:00 CET is 23:00 UTC the day before, 06:00 CEST is 04:00 UTC: 5 h.
    assert working_seconds(utc(2026, 3, 28), utc(2026, 3, 30), night, AMSTERDAM) == 5 * HOUR


# --- a custom schedule ---------------------------------------------------------------------


SUN_TO_THU = WorkingTime(days=("sun", "mon", "tue", "wed", "thu"), start="08:30", end="16:30")


@pytest.mark.parametrize(
    ("now", "elapsed", "working"),
    [
        # Jerusalem is UTC+2 in January; the ISO week still runs Monday to Sunday, so this
        # team's Sunday is the last working day of the week, not the first.
        (utc(2026, 1, 5, 6, 29), 0, False),  # Monday 08:29
        (utc(2026, 1, 5, 6, 30), 0, True),  # Monday 08:30
        (utc(2026, 1, 5, 14, 30), DAY, False),  # Monday 16:30
        (utc(2026, 1, 9, 10), 4 * DAY, False),  # Friday 12:00, a day off
        (utc(2026, 1, 10, 10), 4 * DAY, False),  # Saturday 12:00, a day off
        (utc(2026, 1, 11, 8), 4 * DAY + HOUR + 30 * 60, True),  # Sunday 10:00
        (utc(2026, 1, 11, 21, 59), 5 * DAY, False),  # Sunday 23:59
    ],
)
def test_custom_schedule(now: datetime, elapsed: int, working: bool) -> None:
    assert week_progress(now, SUN_TO_THU, JERUSALEM) == (elapsed, 5 * DAY)
    assert in_working_time(now, SUN_TO_THU, JERUSALEM) is working


# --- working_seconds edges -----------------------------------------------------------------


def test_working_seconds_over_two_weeks() -> None:
    assert working_seconds(utc(2026, 1, 4, 23), utc(2026, 1, 18, 23), OFFICE, AMSTERDAM) == 2 * WEEK


def test_working_seconds_of_an_empty_or_reversed_range() -> None:
    noon = utc(2026, 1, 7, 11)
    assert working_seconds(noon, noon, OFFICE, AMSTERDAM) == 0.0
    assert working_seconds(noon, utc(2026, 1, 5, 11), OFFICE, AMSTERDAM) == 0.0


def test_working_seconds_inside_one_day() -> None:
    # 10:00 to 11:30 Amsterdam, and 08:00 to 09:15 (only 15 min after start).
    assert working_seconds(utc(2026, 1, 7, 9), utc(2026, 1, 7, 10, 30), OFFICE, AMSTERDAM) == 90 * 60
    assert working_seconds(utc(2026, 1, 7, 7), utc(2026, 1, 7, 8, 15), OFFICE, AMSTERDAM) == 15 * 60


def test_inputs_in_any_timezone_give_the_same_answer() -> None:
    start = datetime(2026, 1, 7, 10, tzinfo=AMSTERDAM)  # 09:00 UTC
    end = datetime(2026, 1, 7, 6, tzinfo=NEW_YORK)  # 11:00 UTC, 12:00 Amsterdam
    assert working_seconds(start, end, OFFICE, AMSTERDAM) == 2 * HOUR


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 1, 7, 12)
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        working_seconds(naive, utc(2026, 1, 8), OFFICE, AMSTERDAM)
    with pytest.raises(ValueError, match="end must be a timezone-aware datetime"):
        working_seconds(utc(2026, 1, 6), naive, OFFICE, AMSTERDAM)
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        week_bounds(naive, AMSTERDAM)
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        in_working_time(naive, OFFICE, AMSTERDAM)


# --- expected_by_now, pace_ratio, missing_to_pace ------------------------------------------


@pytest.mark.parametrize(
    ("target", "elapsed", "total", "expected"),
    [
        (40, 0, WEEK, 0.0),
        (40, WEEK, WEEK, 40.0),
        # Wednesday 13:15: 72_900 of 144_000 s is 0.50625 of the week; 40 × 0.50625 = 20.25.
        (40, 2 * DAY + 4 * HOUR + 15 * 60, WEEK, 20.25),
        # A four-day week (one holiday), Monday done: 30 × 1/4 = 7.5.
        (30, DAY, 4 * DAY, 7.5),
        (40, 0, 0, 0.0),
    ],
)
def test_expected_by_now(target: float, elapsed: float, total: float, expected: float) -> None:
    assert expected_by_now(target, elapsed, total) == expected


@pytest.mark.parametrize(
    ("actual", "expected", "ratio"),
    [(15, 20, 0.75), (25, 20, 1.25), (0, 20, 0.0), (20.25, 20.25, 1.0), (3, 0.0, None), (3, -1, None)],
)
def test_pace_ratio(actual: float, expected: float, ratio: float | None) -> None:
    assert pace_ratio(actual, expected) == ratio


@pytest.mark.parametrize(
    ("actual", "expected", "missing"),
    [
        (15, 20.25, 6.0),  # 5.25 short: six more actions to be back on pace
        (15, 20, 5.0),
        (20.25, 20.25, 0.0),
        (25, 20, 0.0),  # ahead of pace
        (0, 0.0, 0.0),
        (0, 0.30000000000000004, 1.0),
        (0, 3.0000000000000004, 3.0),  # float noise, not a fourth action
    ],
)
def test_missing_to_pace(actual: float, expected: float, missing: float) -> None:
    result = missing_to_pace(actual, expected)
    assert result == missing
    assert isinstance(result, float)
