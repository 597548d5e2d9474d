"""Review-score maths: keys, cells and the rolling 30-day window, with exact numbers."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from salespulse.streams.kpi.reviews import (
    REVIEWS,
    ReviewDayKey,
    ScoreSum,
    add_score,
    day_of,
    in_rolling_window,
    review_day_expired,
    review_increments,
    rolling_sums,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)  # window: the UTC days 2026-10-27 .. 2026-11-25


def key(theme: str, day: date, team: str = "nl", rep: str = "ann", subject: str = "call") -> str:
    return ReviewDayKey(team, rep, subject, theme, day).encode()


# --- keys and cells ------------------------------------------------------------------------


def test_key_round_trip() -> None:
    parsed = ReviewDayKey("nl", "ann@x.io", "call", "pain_points", date(2026, 11, 25))
    assert parsed.encode() == "nl|ann@x.io|call|pain_points|2026-11-25"
    assert ReviewDayKey.decode(parsed.encode()) == parsed


def test_review_count_key_has_the_empty_theme() -> None:
    assert key(REVIEWS, date(2026, 11, 25)) == "nl|ann|call||2026-11-25"
    assert ReviewDayKey.decode("nl|ann|call||2026-11-25").theme == ""


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (datetime(2026, 11, 25, 0, 30, tzinfo=timezone(timedelta(hours=1))), date(2026, 11, 24)),
        (datetime(2026, 11, 24, 23, 30, tzinfo=timezone(timedelta(hours=-5))), date(2026, 11, 25)),
        (datetime(2026, 11, 25, 0, 0, tzinfo=UTC), date(2026, 11, 25)),
        (datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC), date(2026, 11, 24)),
    ],
)
def test_day_of_is_the_utc_day(instant: datetime, day: date) -> None:
    assert day_of(instant) == day


def test_review_increments_one_per_theme_and_one_for_the_review() -> None:
    day = date(2026, 11, 25)
    assert review_increments("nl", "ann", "call", {"opening": 4, "closing": 2, "pain_points": 5}, day) == [
        ("nl|ann|call|opening|2026-11-25", 4),
        ("nl|ann|call|closing|2026-11-25", 2),
        ("nl|ann|call|pain_points|2026-11-25", 5),
        ("nl|ann|call||2026-11-25", 0),
    ]


def test_add_score() -> None:
    assert add_score(None, 4) == {"sum": 4, "count": 1}
    assert add_score({"sum": 7, "count": 2}, 3) == {"sum": 10, "count": 3}
    assert add_score({"sum": 0, "count": 2}, 0) == {"sum": 0, "count": 3}  # the review count


def test_add_score_leaves_the_stored_cell_alone() -> None:
    stored = {"sum": 7, "count": 2}
    add_score(stored, 3)
    assert stored == {"sum": 7, "count": 2}


def test_score_sum_average() -> None:
    assert ScoreSum(11, 3).average == pytest.approx(11 / 3)
    assert ScoreSum(8, 2).average == 4.0
    assert ScoreSum().average is None


# --- the rolling 30-day window -------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "day", "inside"),
    [
        (NOW, date(2026, 11, 25), True),  # today
        (NOW, date(2026, 11, 26), False),  # tomorrow has not begun
        (NOW, date(2026, 10, 27), True),  # the oldest day: starts 29 d 9 h before now
        (NOW, date(2026, 10, 26), False),  # starts 30 d 9 h before now
        # At midnight the new day is in (start == now) and the day 30 days back is out (start == now - 30 d).
        (datetime(2026, 11, 25, tzinfo=UTC), date(2026, 11, 25), True),
        (datetime(2026, 11, 25, tzinfo=UTC), date(2026, 10, 26), False),
        (datetime(2026, 11, 25, tzinfo=UTC), date(2026, 10, 27), True),
        # One microsecond earlier, the window is the day before's.
        (datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC), date(2026, 11, 25), False),
        (datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC), date(2026, 10, 26), True),
        (datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC), date(2026, 10, 25), False),
        # The window follows UTC, whatever offset `now` carries: 2026-11-25T01:00+02:00 is 23:00Z on the 24th.
        (datetime(2026, 11, 25, 1, tzinfo=timezone(timedelta(hours=2))), date(2026, 11, 25), False),
        (datetime(2026, 11, 25, 1, tzinfo=timezone(timedelta(hours=2))), date(2026, 11, 24), True),
    ],
)
def test_rolling_window_edges(now: datetime, day: date, inside: bool) -> None:
    assert in_rolling_window(day, now) is inside


def test_rolling_window_is_always_30_days() -> None:
    for now in (NOW, datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 3, 29, 23, 59, tzinfo=UTC)):
        days = [now.date() - timedelta(days=n) for n in range(-2, 40)]
        assert sum(in_rolling_window(d, now) for d in days) == 30


def test_rolling_sums() -> None:
    cells = [
        (key("opening", date(2026, 10, 27)), {"sum": 7, "count": 2}),
        (key("opening", date(2026, 11, 25)), {"sum": 4, "count": 1}),
        (key("opening", date(2026, 10, 26)), {"sum": 5, "count": 1}),  # out: too old
        (key("opening", date(2026, 11, 26)), {"sum": 1, "count": 1}),  # out: not begun
        (key("closing", date(2026, 11, 1)), {"sum": 9, "count": 3}),
        (key(REVIEWS, date(2026, 10, 27)), {"sum": 0, "count": 2}),
        (key(REVIEWS, date(2026, 11, 25)), {"sum": 0, "count": 1}),
        (key(REVIEWS, date(2026, 10, 26)), {"sum": 0, "count": 1}),  # out
        (key("opening", date(2026, 11, 20), rep="bob"), {"sum": 2, "count": 1}),
        (key("value", date(2026, 11, 20), subject="proposal"), {"sum": 5, "count": 1}),
        (key("opening", date(2026, 10, 1), rep="old"), {"sum": 3, "count": 1}),  # out: nothing for "old"
    ]
    assert rolling_sums(cells, NOW) == {
        ("nl", "ann", "call", "opening"): ScoreSum(11, 3),
        ("nl", "ann", "call", "closing"): ScoreSum(9, 3),
        ("nl", "ann", "call", REVIEWS): ScoreSum(0, 3),
        ("nl", "bob", "call", "opening"): ScoreSum(2, 1),
        ("nl", "ann", "proposal", "value"): ScoreSum(5, 1),
    }


def test_rolling_sums_of_nothing() -> None:
    assert rolling_sums([], NOW) == {}


# --- retention -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expired"),
    [
        (date(2026, 10, 20), True),
        (date(2026, 10, 21), True),  # starts 35 d 9 h before now
        (date(2026, 10, 22), False),  # starts 34 d 9 h before now
        (date(2026, 10, 27), False),  # still in the window
    ],
)
def test_review_day_expired(day: date, expired: bool) -> None:
    assert review_day_expired(day, NOW, 35) is expired


def test_retention_never_drops_a_day_of_the_window() -> None:
    # The minimum retention of 31 days keeps every day the window can hold.
    for hour in range(24):
        now = NOW.replace(hour=hour)
        for n in range(40):
            day = now.date() - timedelta(days=n)
            assert not (in_rolling_window(day, now) and review_day_expired(day, now, 31))
