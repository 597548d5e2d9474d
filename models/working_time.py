"""A team's working time: which weekdays, which hours of the local day, and which days are off.

Times are local wall-clock times in the team's timezone; the timezone itself lives with the team
in the configuration, so one schedule can serve teams in several timezones.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Indexed like date.weekday(): Monday is 0.
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# [0-9], not \d: \d also matches non-ASCII digits such as "٠٩:٠٠".
_HH_MM = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")


class WorkingTime(BaseModel):
    """Working days and hours of a team, in its local time; a working day runs [start, end)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: str = "09:00"
    end: str = "17:00"
    holidays: tuple[date, ...] = ()

    @field_validator("days")
    @classmethod
    def _unique_days(cls, values: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if not values:
            raise ValueError("must list at least one working day")
        seen = [v for i, v in enumerate(values) if v in values[:i]]
        if seen:
            raise ValueError(f"duplicate days: {', '.join(sorted(set(seen), key=WEEKDAYS.index))}")
        return values

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, value: str, info: ValidationInfo) -> str:
        # fullmatch, not match with "$": "$" also matches before a trailing newline.
        if not _HH_MM.fullmatch(value):
            raise ValueError(f"{info.field_name} must be HH:MM from 00:00 to 23:59, got {value!r}")
        return value

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: str, info: ValidationInfo) -> str:
        # A day's hours never cross midnight, so `end` must be later on the same day.
        # `start` is absent from info.data when it failed its own check; that error is enough.
        start = info.data.get("start")
        if start is not None and time.fromisoformat(value) <= time.fromisoformat(start):
            raise ValueError(f"end {value} must be later than start {start}")
        return value

    @property
    def start_time(self) -> time:
        """Return the start of the working day as a time."""
        return time.fromisoformat(self.start)

    @property
    def end_time(self) -> time:
        """Return the end of the working day as a time."""
        return time.fromisoformat(self.end)

    def works_on(self, day: date) -> bool:
        """Return whether the local date `day` is a working day and not a holiday."""
        return WEEKDAYS[day.weekday()] in self.days and day not in self.holidays
