"""Quarter-hour buckets and action windows, with exact slot numbers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from salespulse.streams.kpi.actions import (
    ACTION_WINDOWS,
    SlotKey,
    WindowedSlots,
    bucket_groups,
    expired_slot_limit,
    iso_week_slots,
    rep_action_key,
    slot_key,
    slot_of,
    split_rep_action_key,
    split_week_key,
    week_expired,
    week_key,
    week_of_slot,
    window_bounds,
)
from tests.unit.streams.kpi.windows_reference import count_windows

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def q(instant: datetime) -> int:
    """Index of the UTC quarter hour holding `instant`, by plain timedelta arithmetic."""
    return (instant - EPOCH) // QUARTER


# --- slot_of -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(1970, 1, 1), 0),
        (utc(1970, 1, 1, 0, 14, 59), 0),
        (utc(1970, 1, 1, 0, 15), 1),
        (utc(1969, 12, 31, 23, 59, 59), -1),
        # 2026-01-01T00:00Z is 1_767_225_600 s after the epoch = 1_963_584 quarter hours.
        (utc(2026, 1, 1), 1_963_584),
        (utc(2026, 1, 1, 0, 14, 59), 1_963_584),
        (utc(2026, 1, 1, 0, 15), 1_963_585),
        # 01:07:30 at +01:00 is 00:07:30Z.
        (datetime(2026, 1, 1, 1, 7, 30, tzinfo=AMSTERDAM), 1_963_584),
        # 05:30 at +05:30 is 00:00Z.
        (datetime(2026, 1, 1, 5, 30, tzinfo=KOLKATA), 1_963_584),
    ],
)
def test_slot_of(instant: datetime, expected: int) -> None:
    assert slot_of(instant) == expected


def test_slot_of_sub_second_before_boundary_stays_in_earlier_slot() -> None:
    assert slot_of(utc(2026, 1, 1, 0, 14, 59) + timedelta(microseconds=999_999)) == 1_963_584


# --- SlotKey and the rep/action key --------------------------------------------------------


def test_slot_key_encode() -> None:
    assert SlotKey("nl", "ann", "cold_call", 1_963_584).encode() == "nl|ann|cold_call|1963584"
    assert slot_key("nl", "ann", "cold_call", 1_963_584) == "nl|ann|cold_call|1963584"


@pytest.mark.parametrize(
    "key",
    [
        SlotKey("nl", "ann", "cold_call", 1_963_584),
        SlotKey("team.a", "ann@example.com", "outbound_email", 0),
        SlotKey("t:1", "r-2", "a_3", -7),
    ],
)
def test_slot_key_round_trip(key: SlotKey) -> None:
    assert SlotKey.decode(key.encode()) == key


def test_slot_key_decode() -> None:
    assert SlotKey.decode("us|joe|call|42") == SlotKey("us", "joe", "call", 42)


@pytest.mark.parametrize("bad", ["nl|ann|call", "nl|ann|call|1|2", "nl|ann|call|x"])
def test_slot_key_decode_rejects_malformed_keys(bad: str) -> None:
    with pytest.raises(ValueError):
        SlotKey.decode(bad)


def test_rep_action_key_round_trip() -> None:
    assert rep_action_key("nl", "ann", "demo") == "nl|ann|demo"
    assert split_rep_action_key("nl|ann|demo") == ("nl", "ann", "demo")


# --- window_bounds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "now", "today", "week", "last_week"),
    [
        pytest.param(
            AMSTERDAM,
            utc(2026, 11, 25, 9),  # Wednesday 10:00 CET (+01:00)
            (utc(2026, 11, 24, 23), utc(2026, 11, 25, 23)),
            (utc(2026, 11, 22, 23), utc(2026, 11, 29, 23)),
            (utc(2026, 11, 15, 23), utc(2026, 11, 22, 23)),
            id="amsterdam-winter",
        ),
        pytest.param(
            NEW_YORK,
            utc(2026, 11, 25, 9),  # Wednesday 04:00 EST (-05:00)
            (utc(2026, 11, 25, 5), utc(2026, 11, 26, 5)),
            (utc(2026, 11, 23, 5), utc(2026, 11, 30, 5)),
            (utc(2026, 11, 16, 5), utc(2026, 11, 23, 5)),
            id="new-york-winter",
        ),
        pytest.param(
            NEW_YORK,
            utc(2026, 11, 25, 4, 59, 59),  # Tuesday 23:59:59 EST: still the 24th locally
            (utc(2026, 11, 24, 5), utc(2026, 11, 25, 5)),
            (utc(2026, 11, 23, 5), utc(2026, 11, 30, 5)),
            (utc(2026, 11, 16, 5), utc(2026, 11, 23, 5)),
            id="new-york-local-date-behind-utc",
        ),
        pytest.param(
            KOLKATA,
            utc(2026, 11, 25, 9),  # Wednesday 14:30 IST (+05:30)
            (utc(2026, 11, 24, 18, 30), utc(2026, 11, 25, 18, 30)),
            (utc(2026, 11, 22, 18, 30), utc(2026, 11, 29, 18, 30)),
            (utc(2026, 11, 15, 18, 30), utc(2026, 11, 22, 18, 30)),
            id="kolkata",
        ),
        pytest.param(
            KOLKATA,
            utc(2026, 11, 22, 18, 30),  # Monday 00:00 IST, while it is still Sunday in UTC
            (utc(2026, 11, 22, 18, 30), utc(2026, 11, 23, 18, 30)),
            (utc(2026, 11, 22, 18, 30), utc(2026, 11, 29, 18, 30)),
            (utc(2026, 11, 15, 18, 30), utc(2026, 11, 22, 18, 30)),
            id="kolkata-monday-midnight",
        ),
        pytest.param(
            AMSTERDAM,
            utc(2026, 7, 1, 12),  # Wednesday 14:00 CEST (+02:00)
            (utc(2026, 6, 30, 22), utc(2026, 7, 1, 22)),
            (utc(2026, 6, 28, 22), utc(2026, 7, 5, 22)),
            (utc(2026, 6, 21, 22), utc(2026, 6, 28, 22)),
            id="amsterdam-summer",
        ),
        pytest.param(
            ZoneInfo("UTC"),
            utc(2026, 1, 1, 12),  # Thursday; ISO week 1 of 2026 starts Monday 2025-12-29
            (utc(2026, 1, 1), utc(2026, 1, 2)),
            (utc(2025, 12, 29), utc(2026, 1, 5)),
            (utc(2025, 12, 22), utc(2025, 12, 29)),
            id="utc-week-across-new-year",
        ),
    ],
)
def test_window_bounds_calendar_windows(
    tz: ZoneInfo,
    now: datetime,
    today: tuple[datetime, datetime],
    week: tuple[datetime, datetime],
    last_week: tuple[datetime, datetime],
) -> None:
    bounds = window_bounds(now, tz)
    assert bounds["today"] == (q(today[0]), q(today[1]))
    assert bounds["week"] == (q(week[0]), q(week[1]))
    assert bounds["last_week"] == (q(last_week[0]), q(last_week[1]))


def test_window_bounds_returns_every_window() -> None:
    assert tuple(window_bounds(utc(2026, 11, 25, 9), AMSTERDAM)) == ACTION_WINDOWS


@pytest.mark.parametrize(
    ("tz", "now", "today", "week", "last_week", "hours"),
    [
        pytest.param(
            # Clocks go back 03:00 CEST -> 02:00 CET on Sunday 2026-10-25: a 25 h day, 169 h week.
            AMSTERDAM,
            utc(2026, 10, 25, 12),
            (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),
            (utc(2026, 10, 18, 22), utc(2026, 10, 25, 23)),
            (utc(2026, 10, 11, 22), utc(2026, 10, 18, 22)),
            (25, 169, 168),
            id="amsterdam-autumn",
        ),
        pytest.param(
            # The week after: last_week is the 169 h week, this week is 168 h.
            AMSTERDAM,
            utc(2026, 10, 28, 12),
            (utc(2026, 10, 27, 23), utc(2026, 10, 28, 23)),
            (utc(2026, 10, 25, 23), utc(2026, 11, 1, 23)),
            (utc(2026, 10, 18, 22), utc(2026, 10, 25, 23)),
            (24, 168, 169),
            id="amsterdam-week-after-autumn",
        ),
        pytest.param(
            # Clocks go forward 02:00 CET -> 03:00 CEST on Sunday 2026-03-29: a 23 h day.
            AMSTERDAM,
            utc(2026, 3, 29, 12),
            (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),
            (utc(2026, 3, 22, 23), utc(2026, 3, 29, 22)),
            (utc(2026, 3, 15, 23), utc(2026, 3, 22, 23)),
            (23, 167, 168),
            id="amsterdam-spring",
        ),
        pytest.param(
            # Clocks go back 02:00 EDT -> 01:00 EST on Sunday 2026-11-01.
            NEW_YORK,
            utc(2026, 11, 1, 17),
            (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)),
            (utc(2026, 10, 26, 4), utc(2026, 11, 2, 5)),
            (utc(2026, 10, 19, 4), utc(2026, 10, 26, 4)),
            (25, 169, 168),
            id="new-york-autumn",
        ),
        pytest.param(
            # Clocks go forward 02:00 EST -> 03:00 EDT on Sunday 2026-03-08.
            NEW_YORK,
            utc(2026, 3, 8, 17),
            (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),
            (utc(2026, 3, 2, 5), utc(2026, 3, 9, 4)),
            (utc(2026, 2, 23, 5), utc(2026, 3, 2, 5)),
            (23, 167, 168),
            id="new-york-spring",
        ),
    ],
)
def test_window_bounds_dst_weeks(
    tz: ZoneInfo,
    now: datetime,
    today: tuple[datetime, datetime],
    week: tuple[datetime, datetime],
    last_week: tuple[datetime, datetime],
    hours: tuple[int, int, int],
) -> None:
    bounds = window_bounds(now, tz)
    assert bounds["today"] == (q(today[0]), q(today[1]))
    assert bounds["week"] == (q(week[0]), q(week[1]))
    assert bounds["last_week"] == (q(last_week[0]), q(last_week[1]))
    lengths = tuple(bounds[w][1] - bounds[w][0] for w in ("today", "week", "last_week"))
    assert lengths == tuple(h * 4 for h in hours)


# --- rolling_7d ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "first", "end"),
    [
        (utc(2026, 11, 25, 9, 7, 30), utc(2026, 11, 18, 9), utc(2026, 11, 25, 9, 15)),
        (utc(2026, 11, 25, 9, 15), utc(2026, 11, 18, 9, 15), utc(2026, 11, 25, 9, 30)),
        (utc(2026, 11, 25, 9, 14, 59), utc(2026, 11, 18, 9), utc(2026, 11, 25, 9, 15)),
        # Across the Amsterdam autumn change: 7x24 h, not 7 local days.
        (utc(2026, 10, 28, 12), utc(2026, 10, 21, 12), utc(2026, 10, 28, 12, 15)),
    ],
)
@pytest.mark.parametrize("tz", [AMSTERDAM, NEW_YORK, KOLKATA], ids=str)
def test_rolling_7d_bounds(tz: ZoneInfo, now: datetime, first: datetime, end: datetime) -> None:
    assert window_bounds(now, tz)["rolling_7d"] == (q(first), q(end))


@pytest.mark.parametrize(
    ("event", "inside"),
    [
        (utc(2026, 11, 18, 8, 59, 59), False),  # before the rounded-down start
        (utc(2026, 11, 18, 9), True),  # start of the quarter hour holding now - 7x24 h
        (utc(2026, 11, 18, 9, 14, 59), True),
        (utc(2026, 11, 25, 9, 14, 59), True),  # now itself
        (utc(2026, 11, 25, 9, 15), False),  # next quarter hour
    ],
)
def test_rolling_7d_edges(event: datetime, inside: bool) -> None:
    now = utc(2026, 11, 25, 9, 14, 59)
    counted = count_windows([(q(event), 1)], window_bounds(now, AMSTERDAM))
    assert counted["rolling_7d"] == (1 if inside else 0)


# --- day and week edges through count_windows ----------------------------------------------

ONE_SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("tz", "midnight"),
    [
        (AMSTERDAM, utc(2026, 11, 24, 23)),  # Wednesday 25 Nov 00:00 CET
        (NEW_YORK, utc(2026, 11, 25, 5)),  # Wednesday 25 Nov 00:00 EST
        (KOLKATA, utc(2026, 11, 24, 18, 30)),  # Wednesday 25 Nov 00:00 IST
    ],
    ids=["amsterdam", "new-york", "kolkata"],
)
def test_event_at_local_midnight_belongs_to_the_new_day(tz: ZoneInfo, midnight: datetime) -> None:
    now = midnight + timedelta(hours=10)
    bounds = window_bounds(now, tz)
    at_midnight = count_windows([(q(midnight), 1)], bounds)
    before = count_windows([(q(midnight - ONE_SECOND), 1)], bounds)
    assert at_midnight == {"today": 1, "week": 1, "last_week": 0, "rolling_7d": 1}
    assert before == {"today": 0, "week": 1, "last_week": 0, "rolling_7d": 1}


@pytest.mark.parametrize(
    ("tz", "monday"),
    [
        (AMSTERDAM, utc(2026, 11, 22, 23)),  # Monday 23 Nov 00:00 CET
        (NEW_YORK, utc(2026, 11, 23, 5)),  # Monday 23 Nov 00:00 EST
        (KOLKATA, utc(2026, 11, 22, 18, 30)),  # Monday 23 Nov 00:00 IST
    ],
    ids=["amsterdam", "new-york", "kolkata"],
)
def test_event_at_monday_midnight_belongs_to_the_new_week(tz: ZoneInfo, monday: datetime) -> None:
    now = monday + timedelta(hours=10)
    bounds = window_bounds(now, tz)
    at_monday = count_windows([(q(monday), 1)], bounds)
    before = count_windows([(q(monday - ONE_SECOND), 1)], bounds)
    assert at_monday == {"today": 1, "week": 1, "last_week": 0, "rolling_7d": 1}
    assert before == {"today": 0, "week": 0, "last_week": 1, "rolling_7d": 1}


def test_dst_week_counts_the_repeated_hour_once_per_quarter() -> None:
    # 2026-10-25 in Amsterdam: 02:00-03:00 local happens twice, at 00:00Z and at 01:00Z.
    now = utc(2026, 10, 25, 12)
    events = [
        (q(utc(2026, 10, 25, 0, 30)), 1),  # 02:30 CEST
        (q(utc(2026, 10, 25, 1, 30)), 1),  # 02:30 CET
        (q(utc(2026, 10, 25, 22, 59, 59)), 1),  # Sunday 23:59:59 CET, last second of the week
        (q(utc(2026, 10, 25, 23)), 1),  # Monday 26 Oct 00:00 CET: next week
        (q(utc(2026, 10, 18, 21, 59, 59)), 1),  # Sunday 18 Oct 23:59:59 CEST: last week
    ]
    assert count_windows(events, window_bounds(now, AMSTERDAM)) == {
        "today": 3,
        "week": 3,
        "last_week": 1,
        "rolling_7d": 3,  # the two 02:30s and last Sunday; 22:59:59 is after now
    }


# --- count_windows -------------------------------------------------------------------------

NOW = utc(2026, 11, 25, 9)  # Wednesday 10:00 in Amsterdam
SAMPLE = [
    (q(utc(2026, 11, 25, 8)), 5),  # today
    (q(utc(2026, 11, 25, 8, 10)), 2),  # same slot as the line above
    (q(utc(2026, 11, 24, 22, 59, 59)), 1),  # Tuesday 23:59:59: week, not today
    (q(utc(2026, 11, 23, 7)), 3),  # Monday
    (q(utc(2026, 11, 20, 10)), 2),  # last Friday: last_week and rolling_7d
    (q(utc(2026, 11, 17, 10)), 4),  # last Tuesday: last_week only
    (q(utc(2026, 11, 10, 10)), 100),  # two weeks ago: nowhere
    (q(utc(2026, 11, 26, 10)), 50),  # tomorrow: week only
]
SAMPLE_EXPECTED = {"today": 7, "week": 61, "last_week": 6, "rolling_7d": 13}


def test_count_windows_sums_each_window() -> None:
    assert count_windows(SAMPLE, window_bounds(NOW, AMSTERDAM)) == SAMPLE_EXPECTED


@pytest.mark.parametrize("seed", range(10))
def test_count_windows_ignores_arrival_order(seed: int) -> None:
    shuffled = SAMPLE[:]
    random.Random(seed).shuffle(shuffled)
    assert count_windows(shuffled, window_bounds(NOW, AMSTERDAM)) == SAMPLE_EXPECTED


def test_count_windows_half_open_ranges() -> None:
    bounds = {"today": (10, 20)}
    assert count_windows([(9, 1), (10, 2), (19, 4), (20, 8)], bounds) == {"today": 6}


def test_count_windows_empty_input_gives_zeros() -> None:
    assert count_windows([], window_bounds(NOW, AMSTERDAM)) == {
        "today": 0,
        "week": 0,
        "last_week": 0,
        "rolling_7d": 0,
    }


def test_count_windows_accepts_a_generator() -> None:
    pairs = ((q(utc(2026, 11, 25, 8)), n) for n in (1, 2, 3))
    assert count_windows(pairs, window_bounds(NOW, AMSTERDAM))["today"] == 6


# --- expired_slot_limit --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "days", "expected"),
    [
        # 1_963_584 - 35 days * 96 quarter hours
        (utc(2026, 1, 1), 35, 1_960_224),
        (utc(2026, 1, 1, 0, 14, 59), 35, 1_960_224),
        (utc(2026, 1, 1, 0, 15), 35, 1_960_225),
        (utc(2026, 1, 1), 15, 1_962_144),
    ],
)
def test_expired_slot_limit(now: datetime, days: int, expected: int) -> None:
    assert expired_slot_limit(now, days) == expected


def test_expired_slot_limit_keeps_everything_a_35_day_rolling_window_needs() -> None:
    now = utc(2026, 11, 25, 9)
    oldest_needed = min(first for first, _ in window_bounds(now, AMSTERDAM).values())
    assert expired_slot_limit(now, 35) <= oldest_needed


# --- WindowedSlots: windows kept current, checked against count_windows over every bucket ---


def test_windowed_slots_follow_bucket_changes() -> None:
    slots = WindowedSlots()
    bounds = {"today": (100, 196), "rolling_7d": (0, 150)}
    for slot, count in [(99, 1), (100, 2), (150, 4), (195, 8), (196, 16)]:
        slots.set(slot, count)
    assert slots.windows(bounds) == {"today": 2 + 4 + 8, "rolling_7d": 1 + 2}
    slots.set(150, 5)  # a bucket inside today only, already summed
    slots.set(100, 0)  # a bucket in both, removed
    assert slots.windows(bounds) == {"today": 5 + 8, "rolling_7d": 1}


def test_windowed_slots_shift_with_moving_windows() -> None:
    slots = WindowedSlots()
    for slot in range(0, 400, 3):
        slots.set(slot, slot % 7 + 1)
    assert slots.windows({"rolling_7d": (10, 110)})["rolling_7d"] == sum(s % 7 + 1 for s in range(12, 110, 3))
    # One quarter hour later, then a jump back and a jump far ahead.
    assert slots.windows({"rolling_7d": (11, 111)})["rolling_7d"] == sum(s % 7 + 1 for s in range(12, 111, 3))
    assert slots.windows({"rolling_7d": (0, 50)})["rolling_7d"] == sum(s % 7 + 1 for s in range(0, 50, 3))
    assert slots.windows({"rolling_7d": (300, 500)})["rolling_7d"] == sum(s % 7 + 1 for s in range(300, 400, 3))


def test_buckets_group_by_rep_action() -> None:
    keys = [SlotKey("nl", "ann", "call", 7), SlotKey("nl", "ann", "call", 9), SlotKey("nl", "ann", "meeting", 7),
            SlotKey("de", "ann", "call", 7)]
    groups = bucket_groups((key.encode(), n) for n, key in enumerate(keys, start=1))
    assert groups == {"nl|ann|call": {7: 1, 9: 2}, "nl|ann|meeting": {7: 3}, "de|ann|call": {7: 4}}
    assert {split_rep_action_key(key) for key in groups} == {("nl", "ann", "call"), ("nl", "ann", "meeting"),
                                                               ("de", "ann", "call")}


def test_a_moving_window_is_updated_in_place() -> None:
    # A quarter hour moves the rolling window of every rep action at once: new objects for each
    # would set the garbage collector going over the whole heap in that scrape.
    slots = WindowedSlots({5: 1, 6: 2, 7: 4})
    answer = slots.windows({"rolling_7d": (5, 7)})
    span = slots.sums["rolling_7d"]
    assert answer == {"rolling_7d": 1 + 2}
    assert slots.windows({"rolling_7d": (6, 8)}) is answer
    assert answer == {"rolling_7d": 2 + 4}
    assert slots.sums["rolling_7d"] is span
    # Asked for other windows, it answers for those only.
    assert slots.windows({"today": (7, 8)}) == {"today": 4}


@pytest.mark.parametrize("seed", range(20))
def test_windowed_slots_equal_a_full_count_after_any_sequence(seed: int) -> None:
    rng = random.Random(seed)
    slots = WindowedSlots()
    reference: dict[int, int] = {}
    start = 1_000
    for _ in range(300):
        if rng.random() < 0.7:
            slot, count = rng.randrange(900, 1_800), rng.randrange(0, 5)
            slots.set(slot, count)
            if count:
                reference[slot] = count
            else:
                reference.pop(slot, None)
        else:
            start += rng.choice((0, 1, 1, 4, 96, -3, 700))
            bounds = {"today": (start, start + 96), "week": (start - 200, start + 472), "rolling_7d": (start - 672, start + 1)}
            assert slots.windows(bounds) == count_windows(reference.items(), bounds)


# --- weekly totals: the team-local ISO week of a bucket ------------------------------------


@pytest.mark.parametrize(
    ("tz", "instant", "week"),
    [
        # Sunday 23:59 in Amsterdam (CET, UTC+1) is 22:59 UTC: still 2026-W49.
        (ZoneInfo("Europe/Amsterdam"), datetime(2026, 12, 6, 22, 45, tzinfo=timezone.utc), "2026-W49"),
        # Monday 00:00 in Amsterdam is 23:00 UTC on Sunday: already 2026-W50.
        (ZoneInfo("Europe/Amsterdam"), datetime(2026, 12, 6, 23, 0, tzinfo=timezone.utc), "2026-W50"),
        # Sydney (AEDT, UTC+11): Sunday 14:00 UTC is Monday 01:00 there.
        (ZoneInfo("Australia/Sydney"), datetime(2026, 12, 6, 14, 0, tzinfo=timezone.utc), "2026-W50"),
        # Kathmandu (UTC+5:45): Sunday 18:15 UTC is Monday 00:00 there; 18:00 UTC is still Sunday.
        (ZoneInfo("Asia/Kathmandu"), datetime(2026, 12, 6, 18, 15, tzinfo=timezone.utc), "2026-W50"),
        (ZoneInfo("Asia/Kathmandu"), datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc), "2026-W49"),
        # ISO year 2026 ends on Sunday 3 January 2027 (2026 has 53 ISO weeks).
        (ZoneInfo("UTC"), datetime(2027, 1, 3, 12, 0, tzinfo=timezone.utc), "2026-W53"),
        (ZoneInfo("UTC"), datetime(2027, 1, 4, 0, 0, tzinfo=timezone.utc), "2027-W01"),
    ],
)
def test_week_of_slot_is_the_team_local_iso_week(tz: ZoneInfo, instant: datetime, week: str) -> None:
    assert week_of_slot(slot_of(instant), tz) == week


def test_every_slot_of_a_week_maps_to_it_and_none_outside() -> None:
    tz = ZoneInfo("Europe/Amsterdam")
    # 2026-W13 holds the spring clock change (Sunday 29 March): 167 hours, 668 slots.
    first, end = iso_week_slots(datetime(2026, 3, 23).date(), tz)
    assert end - first == 668
    assert {week_of_slot(slot, tz) for slot in range(first, end)} == {"2026-W13"}
    assert week_of_slot(first - 1, tz) == "2026-W12"
    assert week_of_slot(end, tz) == "2026-W14"


def test_week_key_round_trip() -> None:
    assert split_week_key(week_key("nl", "ann", "cold_call", "2026-W49")) == ("nl", "ann", "cold_call", "2026-W49")


@pytest.mark.parametrize(
    ("week", "expired"),
    [
        # 400 days before 7 December 2026 is Sunday 2 November 2025.
        ("2025-W44", False),  # Monday 27 October to Sunday 2 November 2025: its last day is kept
        ("2025-W43", True),  # ends Sunday 26 October 2025
        ("2026-W49", False),
    ],
)
def test_a_week_expires_once_its_last_day_is_older_than_the_retention(week: str, expired: bool) -> None:
    assert week_expired(week, datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc), 400) is expired
