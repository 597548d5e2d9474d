"""Working time: defaults, parsing as YAML gives it, and validation errors that name the field."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from salespulse.models.working_time import WEEKDAYS, WorkingTime


def errors(**fields: Any) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as info:
        WorkingTime(**fields)
    return info.value.errors()


# --- defaults and parsing ------------------------------------------------------------------


def test_defaults() -> None:
    schedule = WorkingTime()
    assert schedule.days == ("mon", "tue", "wed", "thu", "fri")
    assert (schedule.start, schedule.end) == ("09:00", "17:00")
    assert (schedule.start_time, schedule.end_time) == (time(9, 0), time(17, 0))
    assert schedule.holidays == ()


def test_weekdays_are_indexed_like_date_weekday() -> None:
    # 2026-01-05 is a Monday.
    assert [WEEKDAYS[date(2026, 1, 5 + i).weekday()] for i in range(7)] == [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    ]


def test_custom_schedule_from_yaml_shaped_data() -> None:
    schedule = WorkingTime.model_validate(
        {
            "days": ["sun", "mon", "tue", "wed", "thu"],
            "start": "08:30",
            "end": "16:30",
            "holidays": ["2026-04-02", date(2026, 9, 21)],
        }
    )
    assert schedule.days == ("sun", "mon", "tue", "wed", "thu")
    assert (schedule.start_time, schedule.end_time) == (time(8, 30), time(16, 30))
    assert schedule.holidays == (date(2026, 4, 2), date(2026, 9, 21))


@pytest.mark.parametrize(
    ("day", "works"),
    [
        (date(2026, 1, 5), True),  # Monday
        (date(2026, 1, 9), True),  # Friday
        (date(2026, 1, 10), False),  # Saturday
        (date(2026, 1, 11), False),  # Sunday
        (date(2026, 1, 7), False),  # Wednesday, but a holiday
    ],
)
def test_works_on(day: date, works: bool) -> None:
    assert WorkingTime(holidays=(date(2026, 1, 7),)).works_on(day) is works


def test_extreme_but_valid_hours() -> None:
    schedule = WorkingTime(start="00:00", end="23:59")
    assert (schedule.start_time, schedule.end_time) == (time(0, 0), time(23, 59))


def test_frozen() -> None:
    schedule = WorkingTime()
    with pytest.raises(ValidationError):
        schedule.start = "08:00"  # type: ignore[misc]


def test_unknown_key_is_rejected() -> None:
    [error] = errors(timezone="Europe/Amsterdam")
    assert error["type"] == "extra_forbidden"
    assert error["loc"] == ("timezone",)


# --- hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [("17:00", "09:00"), ("09:00", "09:00"), ("12:30", "12:29")])
def test_end_must_be_after_start(start: str, end: str) -> None:
    [error] = errors(start=start, end=end)
    assert error["loc"] == ("end",)
    assert f"end {end} must be later than start {start}" in error["msg"]


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize(
    "value",
    ["9:00", "09:0", "24:00", "09:60", "0900", "09:00:00", "", " 09:00", "09:00\n", "nine", "٠٩:٠٠"],
)
def test_bad_hh_mm(field: str, value: str) -> None:
    # Keep the other bound out of the way so only the format is at fault.
    other = {"start": "00:00"} if field == "end" else {"end": "23:59"}
    [error] = errors(**{field: value}, **other)
    assert error["loc"] == (field,)
    assert f"{field} must be HH:MM" in error["msg"]
    assert repr(value) in error["msg"]


def test_bad_start_is_reported_once() -> None:
    # No second "end must be later" error about a start that did not parse.
    [error] = errors(start="25:00", end="08:00")
    assert error["loc"] == ("start",)


# --- days and holidays ---------------------------------------------------------------------


def test_days_must_not_be_empty() -> None:
    [error] = errors(days=())
    assert error["loc"] == ("days",)
    assert "at least one working day" in error["msg"]


def test_days_must_be_unique() -> None:
    [error] = errors(days=("tue", "mon", "tue", "mon", "fri"))
    assert error["loc"] == ("days",)
    assert "duplicate days: mon, tue" in error["msg"]


@pytest.mark.parametrize("bad", ["monday", "Mon", "mo", "1"])
def test_unknown_day(bad: str) -> None:
    [error] = errors(days=("tue", bad))
    assert error["loc"] == ("days", 1)
    assert error["type"] == "literal_error"


def test_bad_holiday() -> None:
    [error] = errors(holidays=("2026-12-25", "2026-02-30"))
    assert error["loc"] == ("holidays", 1)
