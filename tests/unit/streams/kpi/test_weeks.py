"""Closing a week: which week closed last, and which actions ended it below target."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from salespulse.models.targets import TargetSet
from salespulse.streams.kpi.actions import SlotKey, count_in_slots, iso_week_slots
from salespulse.streams.kpi.weeks import last_closed_week, missed_actions

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("now", "tz", "monday"),
    [
        # Monday 2026-11-23 00:30 in Amsterdam is 2026-11-22 23:30 UTC: the week of 16 Nov has closed there.
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), AMS, date(2026, 11, 16)),
        # ...but in New York it is still Sunday 18:30: the last closed week is the one before.
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), NYC, date(2026, 11, 9)),
        (datetime(2026, 11, 25, 12, tzinfo=UTC), AMS, date(2026, 11, 16)),
        (datetime(2027, 1, 4, 8, tzinfo=UTC), AMS, date(2026, 12, 28)),
    ],
)
def test_last_closed_week(now: datetime, tz: ZoneInfo, monday: date) -> None:
    assert last_closed_week(now, tz) == monday


SETS = [
    TargetSet(team="ams", effective_from="2026-W40", actions={"call": 10, "cold_call": 5}, reps={"anna": {"cold_call": 8}}),
    TargetSet(team="ams", effective_from="2026-W48", actions={"call": 100}),
]


def test_missed_actions_use_the_targets_of_that_week_and_overrides() -> None:
    counts = {"call": 10, "cold_call": 7, "outbound_email": 0}
    week = date(2026, 11, 16)  # 2026-W47: the first set is in force
    assert missed_actions("ams", "anna", week, SETS, counts, counts.__getitem__) == ["cold_call"]  # 7 < 8
    assert missed_actions("ams", "bram", week, SETS, counts, counts.__getitem__) == []  # 7 >= 5, 10 >= 10
    assert missed_actions("ams", "bram", date(2026, 11, 23), SETS, counts, counts.__getitem__) == ["call"]
    assert missed_actions("nyc", "mike", week, SETS, counts, counts.__getitem__) == []


def test_week_slots_and_counts_in_amsterdam() -> None:
    first, end = iso_week_slots(date(2026, 11, 16), AMS)
    # Monday 00:00 CET is Sunday 23:00 UTC.
    assert first * 900 == datetime(2026, 11, 15, 23, tzinfo=UTC).timestamp()
    assert end - first == 7 * 96
    inside = int(datetime(2026, 11, 15, 23, 0, tzinfo=UTC).timestamp()) // 900
    before = inside - 1
    after = end
    slots = {
        SlotKey("ams", "anna", "call", inside).encode(): 2,
        SlotKey("ams", "anna", "call", end - 1).encode(): 3,
        SlotKey("ams", "anna", "call", before).encode(): 50,
        SlotKey("ams", "anna", "call", after).encode(): 70,
        SlotKey("ams", "bram", "call", inside).encode(): 9,
    }
    assert count_in_slots(slots, "ams", "anna", "call", first, end) == 5
