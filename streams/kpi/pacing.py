"""Pacing maths: how far through its working week a team is, and whether its actions keep up.

Definitions, for a team whose timezone is `tz` and whose working time is `schedule`, at `now`:

- working time:   on every local date that is one of `schedule.days` and not in
                  `schedule.holidays`, the local interval [start, end); nothing else counts.
- week:           [local Monday 00:00 of now's ISO week, next local Monday 00:00), as in
                  `salespulse.streams.kpi.actions`.
- elapsed:        seconds of working time in [week start, now).
- total:          seconds of working time in [week start, next week start).
- expected-by-now = weekly target × working time elapsed this week ÷ working time in the week;
                  0 when the week holds no working time (a week of holidays).
- pace ratio      = actual ÷ expected-by-now; undefined (None) when expected-by-now ≤ 0.
- missing to pace = expected-by-now − actual, rounded up to a whole action; 0 when on or ahead
                  of pace.

Durations are differences of POSIX timestamps of aware datetimes, never of wall-clock readings,
so a day on which the clocks change lasts what it really lasts; a 09:00–17:00 day is 8 h
unless the switch falls inside it.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from salespulse.models.working_time import WorkingTime

# Differences below this are float noise (e.g. 3.0000000000000004), not a missing action.
_ACTION_EPSILON_DECIMALS = 9


def _require_aware(**instants: datetime) -> None:
    # A naive datetime's .timestamp() silently uses the host's timezone, not the team's.
    for name, instant in instants.items():
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime, got naive {instant.isoformat()}")


def _day_window(day: date, schedule: WorkingTime, tz: ZoneInfo) -> tuple[float, float]:
    # A wall time skipped by a spring-forward switch resolves with the offset in force before
    # it (PEP 495, fold=0), so 02:30 on that day means 03:30 new time; a repeated one means
    # its first occurrence.
    start = datetime.combine(day, schedule.start_time, tzinfo=tz).timestamp()
    end = datetime.combine(day, schedule.end_time, tzinfo=tz).timestamp()
    return start, end


def working_seconds(start: datetime, end: datetime, schedule: WorkingTime, tz: ZoneInfo) -> float:
    """Return the seconds of working time in [start, end), 0.0 when end is not after start."""
    _require_aware(start=start, end=end)
    lo, hi = start.timestamp(), end.timestamp()
    total = 0.0
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        if schedule.works_on(day):
            day_start, day_end = _day_window(day, schedule, tz)
            total += max(0.0, min(hi, day_end) - max(lo, day_start))
        day += timedelta(days=1)
    return total


def week_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Return local Monday 00:00 of now's ISO week and the next Monday 00:00, in `tz`."""
    _require_aware(now=now)
    # Both results share `tz`, so subtracting them gives wall-clock 7 days even in a DST week;
    # use .timestamp() for the real length.
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    return (
        datetime.combine(monday, time(0), tzinfo=tz),
        datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz),
    )


def week_progress(now: datetime, schedule: WorkingTime, tz: ZoneInfo) -> tuple[float, float]:
    """Return (working seconds elapsed this ISO week up to now, working seconds in the week)."""
    week_start, next_week_start = week_bounds(now, tz)
    return (
        working_seconds(week_start, now, schedule, tz),
        working_seconds(week_start, next_week_start, schedule, tz),
    )


def expected_by_now(weekly_target: float, elapsed_s: float, total_s: float) -> float:
    """Return the share of the weekly target due by now; 0.0 in a week without working time."""
    if total_s <= 0:
        return 0.0
    return weekly_target * elapsed_s / total_s


def pace_ratio(actual: float, expected: float) -> float | None:
    """Return actual ÷ expected, or None when nothing is expected yet."""
    if expected <= 0:
        return None
    return actual / expected


def in_working_time(now: datetime, schedule: WorkingTime, tz: ZoneInfo) -> bool:
    """Return whether `now` falls inside the team's working time."""
    _require_aware(now=now)
    day = now.astimezone(tz).date()
    if not schedule.works_on(day):
        return False
    day_start, day_end = _day_window(day, schedule, tz)
    return day_start <= now.timestamp() < day_end


def missing_to_pace(actual: float, expected: float) -> float:
    """Return the whole actions still needed to be back on pace, 0.0 when on or ahead of it."""
    gap = round(expected - actual, _ACTION_EPSILON_DECIMALS)
    return float(max(0, math.ceil(gap)))
