"""Mystery checks: team-local months, active deals, the seeded draw, corrections, scores and the reward."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from salespulse.streams.kpi.mystery import (
    MonthScore,
    active_deals,
    draw_sample,
    month_key,
    month_of,
    month_scores,
    note_activity,
    record_check,
    reward_earned,
)

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")
POOL = [f"deal-{i:02d}" for i in range(1, 21)]


# --- month_of ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "tz", "month"),
    [
        # 22:30 UTC on the last day of November: still November in Amsterdam.
        (datetime.fromisoformat("2026-11-30T23:30:00+01:00"), AMS, "2026-11"),
        # 23:15 UTC on 30 November, but already 1 December in Amsterdam.
        (datetime.fromisoformat("2026-12-01T00:15:00+01:00"), AMS, "2026-12"),
        (datetime.fromisoformat("2026-12-01T00:15:00+01:00"), ZoneInfo("UTC"), "2026-11"),
        # West of UTC it goes the other way: 01:00 UTC on 1 December is 30 November in New York.
        (datetime(2026, 12, 1, 1, tzinfo=UTC), NYC, "2026-11"),
        (datetime(2026, 12, 1, 5, tzinfo=UTC), NYC, "2026-12"),
        # New Year's Eve 23:59:59 in Amsterdam is 22:59:59 UTC; one second later is 2027 locally.
        (datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC), AMS, "2026-12"),
        (datetime(2026, 12, 31, 23, 0, 0, tzinfo=UTC), AMS, "2027-01"),
    ],
)
def test_month_of_is_the_team_local_month(instant: datetime, tz: ZoneInfo, month: str) -> None:
    assert month_of(instant, tz) == month


def test_month_key() -> None:
    assert month_key("nl", "2026-11") == "nl|2026-11"


# --- note_activity -------------------------------------------------------------------------


def test_first_event_of_a_deal() -> None:
    assert note_activity(None, "nl", "2026-11", 100.0, "ann") == {"months": {"2026-11": [100.0, "ann", "nl"]}}


def test_a_later_event_in_the_month_takes_the_deal_to_its_rep() -> None:
    stored = {"months": {"2026-11": [100.0, "bob", "nl"]}}
    assert note_activity(stored, "nl", "2026-11", 200.0, "ann") == {"months": {"2026-11": [200.0, "ann", "nl"]}}


@pytest.mark.parametrize(
    ("at", "rep"),
    [
        (99.0, "ann"),  # an older event arriving late
        (100.0, "bob"),  # the same event again
        (100.0, "abe"),  # same time: the rep sorting later keeps the deal, whatever the arrival order
    ],
)
def test_nothing_changes_for_an_event_that_is_not_later(at: float, rep: str) -> None:
    stored = {"months": {"2026-11": [100.0, "bob", "nl"]}}
    assert note_activity(stored, "nl", "2026-11", at, rep) is None


def test_same_time_tie_goes_to_the_later_rep_name() -> None:
    stored = {"months": {"2026-11": [100.0, "bob", "nl"]}}
    assert note_activity(stored, "nl", "2026-11", 100.0, "cas") == {"months": {"2026-11": [100.0, "cas", "nl"]}}


def test_other_months_are_kept_and_the_stored_value_is_not_mutated() -> None:
    stored: dict[str, Any] = {"months": {"2026-10": [50.0, "bob", "nl"]}}
    changed = note_activity(stored, "nl", "2026-11", 100.0, "ann")
    assert changed == {"months": {"2026-10": [50.0, "bob", "nl"], "2026-11": [100.0, "ann", "nl"]}}
    # The table's current value must stay as it was until the agent writes the new one.
    assert stored == {"months": {"2026-10": [50.0, "bob", "nl"]}}


def test_events_either_side_of_midnight_make_a_deal_active_in_two_months() -> None:
    before = datetime.fromisoformat("2026-11-30T23:30:00+01:00")
    after = datetime.fromisoformat("2026-12-01T00:15:00+01:00")
    first = note_activity(None, "nl", month_of(before, AMS), before.timestamp(), "ann")
    second = note_activity(first, "nl", month_of(after, AMS), after.timestamp(), "bob")
    assert second is not None
    deals = [("deal-1", second)]
    assert active_deals(deals, "nl", "2026-11") == {"ann": ["deal-1"]}
    assert active_deals(deals, "nl", "2026-12") == {"bob": ["deal-1"]}


# --- active_deals --------------------------------------------------------------------------

DEALS: list[tuple[str, dict[str, Any]]] = [
    ("d3", {"months": {"2026-11": [300.0, "ann", "nl"], "2026-10": [30.0, "bob", "nl"]}}),
    ("d1", {"months": {"2026-11": [100.0, "ann", "nl"]}}),
    ("d2", {"months": {"2026-11": [200.0, "bob", "nl"]}}),
    ("d4", {"months": {"2026-11": [100.0, "ann", "us"]}}),  # another team
    ("d5", {"months": {"2026-10": [50.0, "ann", "nl"]}}),  # another month
]


def test_active_deals_per_rep_sorted() -> None:
    active = active_deals(DEALS, "nl", "2026-11")
    assert active == {"ann": ["d1", "d3"], "bob": ["d2"]}
    assert list(active) == ["ann", "bob"]


def test_active_deals_of_another_month_and_team() -> None:
    assert active_deals(DEALS, "nl", "2026-10") == {"ann": ["d5"], "bob": ["d3"]}
    assert active_deals(DEALS, "us", "2026-11") == {"ann": ["d4"]}
    assert active_deals(DEALS, "nl", "2026-09") == {}


def test_a_deal_handed_over_in_the_month_belongs_to_the_rep_of_its_latest_event() -> None:
    stored = note_activity(None, "nl", "2026-11", 100.0, "bob")
    stored = note_activity(stored, "nl", "2026-11", 200.0, "ann")
    assert stored is not None
    # bob's older event arrives last and changes nothing.
    assert note_activity(stored, "nl", "2026-11", 150.0, "bob") is None
    assert active_deals([("d1", stored)], "nl", "2026-11") == {"ann": ["d1"]}


# --- draw_sample ---------------------------------------------------------------------------


def test_draw_is_pinned() -> None:
    # Checkers work from draws already handed out: a change in the seeding would silently
    # redraw past months. Pinned from random.Random("salespulse|nl|2026-11|ann").sample(POOL, 2).
    assert draw_sample({"ann": POOL}, 2, "salespulse", "nl", "2026-11", None) == {"ann": ["deal-13", "deal-15"]}


def test_draw_takes_count_deals_sorted_from_the_rep_s_own() -> None:
    drawn = draw_sample({"ann": POOL}, 5, "salespulse", "nl", "2026-11", None)["ann"]
    assert len(drawn) == 5
    assert len(set(drawn)) == 5
    assert set(drawn) <= set(POOL)
    assert drawn == sorted(drawn)


def test_draw_is_the_same_whatever_the_input_order() -> None:
    shuffled = list(POOL)
    random.Random(7).shuffle(shuffled)
    assert shuffled != POOL
    expected = draw_sample({"ann": POOL}, 2, "salespulse", "nl", "2026-11", None)
    assert draw_sample({"ann": shuffled}, 2, "salespulse", "nl", "2026-11", None) == expected
    assert draw_sample({"ann": list(reversed(POOL))}, 2, "salespulse", "nl", "2026-11", None) == expected
    # A deal read twice is one deal.
    assert draw_sample({"ann": POOL + POOL}, 2, "salespulse", "nl", "2026-11", None) == expected


def test_other_reps_do_not_change_a_rep_s_draw() -> None:
    alone = draw_sample({"ann": POOL}, 2, "salespulse", "nl", "2026-11", None)["ann"]
    # A rep sorting before ann and one after, with pools overlapping hers.
    crowded = draw_sample({"aad": POOL[:10], "ann": POOL, "zed": POOL}, 2, "salespulse", "nl", "2026-11", None)
    assert crowded["ann"] == alone
    assert set(crowded) == {"aad", "ann", "zed"}


@pytest.mark.parametrize(
    ("seed", "team", "month", "drawn"),
    [
        ("salespulse", "nl", "2026-12", ["deal-10", "deal-14"]),  # next month
        ("other", "nl", "2026-11", ["deal-08", "deal-13"]),  # another seed
        ("salespulse", "us", "2026-11", ["deal-10", "deal-17"]),  # another team
    ],
)
def test_month_seed_and_team_change_the_draw(seed: str, team: str, month: str, drawn: list[str]) -> None:
    base = draw_sample({"ann": POOL}, 2, "salespulse", "nl", "2026-11", None)["ann"]
    other = draw_sample({"ann": POOL}, 2, seed, team, month, None)["ann"]
    assert other != base
    # Pinned like test_draw_is_pinned, with the seed string of each row.
    assert other == drawn


def test_the_rep_is_part_of_the_seed() -> None:
    # Two reps with the same pool get different deals: no rep can predict another's draw.
    drawn = draw_sample({"ann": POOL, "bob": POOL}, 2, "salespulse", "nl", "2026-11", None)
    assert drawn == {"ann": ["deal-13", "deal-15"], "bob": ["deal-01", "deal-16"]}


def test_the_checker_is_not_drawn() -> None:
    active = {"ann": ["a1", "a2"], "bob": ["b1"], "cas": ["c1"]}
    assert list(draw_sample(active, 2, "s", "nl", "2026-11", "bob")) == ["ann", "cas"]
    assert list(draw_sample(active, 2, "s", "nl", "2026-11", None)) == ["ann", "bob", "cas"]
    # A checker with no active deals leaves everyone to be drawn.
    assert list(draw_sample(active, 2, "s", "nl", "2026-11", "dan")) == ["ann", "bob", "cas"]


def test_a_rep_with_fewer_deals_than_the_count_gives_them_all() -> None:
    active = {"ann": ["a3", "a1"], "bob": ["b1"], "cas": ["c2", "c3", "c1"]}
    assert draw_sample(active, 3, "s", "nl", "2026-11", None) == {
        "ann": ["a1", "a3"],
        "bob": ["b1"],
        "cas": ["c1", "c2", "c3"],
    }


def test_a_deal_listed_twice_is_drawn_once() -> None:
    # Two distinct deals, so a count of 2 or 3 must give both, each once.
    assert draw_sample({"ann": ["a1", "a1", "a1", "a2"]}, 2, "s", "nl", "2026-11", None) == {"ann": ["a1", "a2"]}
    assert draw_sample({"ann": ["a1", "a2", "a1"]}, 3, "s", "nl", "2026-11", None) == {"ann": ["a1", "a2"]}


def test_draw_of_nothing() -> None:
    assert draw_sample({}, 2, "s", "nl", "2026-11", None) == {}


# --- record_check --------------------------------------------------------------------------


def test_first_check_of_the_month() -> None:
    assert record_check(None, "ann", "d1", 100.0, "m-1", 90) == {"ann": {"d1": [100.0, "m-1", 90]}}


def test_a_later_check_corrects_the_earlier_one() -> None:
    stored = {"ann": {"d1": [100.0, "m-1", 90]}}
    assert record_check(stored, "ann", "d1", 200.0, "m-0", 140) == {"ann": {"d1": [200.0, "m-0", 140]}}


@pytest.mark.parametrize(
    ("at", "event_id"),
    [
        (99.0, "m-9"),  # an older check arriving late, whatever its id
        (100.0, "m-1"),  # the same check again
        (100.0, "m-0"),  # same time, lower event id
    ],
)
def test_a_check_that_is_not_later_changes_nothing(at: float, event_id: str) -> None:
    stored = {"ann": {"d1": [100.0, "m-1", 90]}}
    assert record_check(stored, "ann", "d1", at, event_id, 0) is None


def test_same_time_tie_goes_to_the_higher_event_id() -> None:
    stored = {"ann": {"d1": [100.0, "m-1", 90]}}
    assert record_check(stored, "ann", "d1", 100.0, "m-2", 10) == {"ann": {"d1": [100.0, "m-2", 10]}}


def test_tie_break_does_not_depend_on_arrival_order() -> None:
    one_way = record_check(record_check(None, "ann", "d1", 100.0, "m-1", 90), "ann", "d1", 100.0, "m-2", 10)
    first = record_check(None, "ann", "d1", 100.0, "m-2", 10)
    assert record_check(first, "ann", "d1", 100.0, "m-1", 90) is None
    assert one_way == first == {"ann": {"d1": [100.0, "m-2", 10]}}


def test_other_deals_and_reps_are_kept_and_the_stored_value_is_not_mutated() -> None:
    stored = {"ann": {"d1": [100.0, "m-1", 90]}, "bob": {"d2": [100.0, "m-2", 150]}}
    changed = record_check(stored, "ann", "d3", 300.0, "m-3", 50)
    assert changed == {"ann": {"d1": [100.0, "m-1", 90], "d3": [300.0, "m-3", 50]}, "bob": {"d2": [100.0, "m-2", 150]}}
    assert stored == {"ann": {"d1": [100.0, "m-1", 90]}, "bob": {"d2": [100.0, "m-2", 150]}}


# --- scores and the reward -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "maximum", "share"),
    [(240, 300, 0.8), (0, 150, 0.0), (150, 150, 1.0), (119, 150, 119 / 150)],
)
def test_share(points: int, maximum: int, share: float) -> None:
    assert MonthScore(points, maximum).share == share


def test_month_scores_sum_points_against_checked_deals_times_rubric() -> None:
    checks = {
        "bob": {"d1": [1.0, "m-1", 150], "d2": [2.0, "m-2", 90]},
        "ann": {"d3": [3.0, "m-3", 0]},
        "cas": {},  # nothing checked: no score rather than 0 of 0
    }
    scores = month_scores(checks, 150)
    # bob: 150 + 90 = 240 of 2 × 150; ann: 0 of 1 × 150.
    assert scores == {"ann": MonthScore(0, 150), "bob": MonthScore(240, 300)}
    assert list(scores) == ["ann", "bob"]


def test_month_scores_use_the_given_rubric_total() -> None:
    # A rubric of 10 + 30 = 40 points, three deals checked: at most 120.
    checks = {"ann": {"d1": [1.0, "m-1", 40], "d2": [1.0, "m-2", 25], "d3": [1.0, "m-3", 5]}}
    assert month_scores(checks, 40) == {"ann": MonthScore(70, 120)}


def test_month_scores_of_a_corrected_check_count_the_correction_only() -> None:
    month = record_check(None, "ann", "d1", 100.0, "m-1", 30)
    month = record_check(month, "ann", "d2", 110.0, "m-2", 100)
    month = record_check(month, "ann", "d1", 200.0, "m-3", 140)
    assert month is not None
    # 140 + 100 = 240 of 2 × 150, not 30 + 140 + 100 of 3 × 150.
    assert month_scores(month, 150) == {"ann": MonthScore(240, 300)}


SCORES = {"ann": MonthScore(240, 300), "bob": MonthScore(150, 150)}


@pytest.mark.parametrize(
    ("scores", "due", "earned"),
    [
        (SCORES, {"ann", "bob"}, True),  # ann exactly at 0.8
        ({**SCORES, "ann": MonthScore(239, 300)}, {"ann", "bob"}, False),  # one point short
        (SCORES, {"ann", "bob", "cas"}, False),  # cas was due but not checked
        (SCORES, {"bob"}, True),
        ({**SCORES, "zed": MonthScore(0, 150)}, {"ann", "bob"}, True),  # zed was not due
        (SCORES, set(), True),  # nobody configured: the checked reps are due
        ({**SCORES, "ann": MonthScore(239, 300)}, set(), False),
        ({}, set(), False),  # no checks at all earn nothing
        ({}, {"ann"}, False),
    ],
)
def test_reward_earned(scores: dict[str, MonthScore], due: set[str], earned: bool) -> None:
    assert reward_earned(scores, due, 0.8) is earned


def test_reward_share_is_a_parameter() -> None:
    # ann at 0.8 misses a 0.9 share and makes a 0.5 one.
    assert reward_earned(SCORES, ["ann", "bob"], 0.9) is False
    assert reward_earned(SCORES, ["ann", "bob"], 0.5) is True
    assert reward_earned({"ann": MonthScore(150, 150)}, iter(["ann"]), 1.0) is True


def test_a_later_check_of_a_deal_under_another_rep_replaces_the_earlier_one() -> None:
    stored = {"ann": {"d1": [100.0, "m-1", 90]}}
    # The checker corrected the deal's owner: only bob's later check counts, and ann has none left.
    assert record_check(stored, "bob", "d1", 200.0, "m-2", 140) == {"bob": {"d1": [200.0, "m-2", 140]}}
    assert month_scores(record_check(stored, "bob", "d1", 200.0, "m-2", 140) or {}, 150) == {"bob": MonthScore(140, 150)}
    # An earlier check under another rep does not displace the later one.
    assert record_check(stored, "bob", "d1", 50.0, "m-0", 10) is None


def test_a_deal_handed_to_another_team_stays_in_the_first_teams_earlier_month() -> None:
    october = note_activity(None, "nl", "2026-10", 50.0, "ann")
    both = note_activity(october, "us", "2026-11", 100.0, "joe")
    assert both == {"months": {"2026-10": [50.0, "ann", "nl"], "2026-11": [100.0, "joe", "us"]}}
    deals = [("d1", both)]
    assert active_deals(deals, "nl", "2026-10") == {"ann": ["d1"]}
    assert active_deals(deals, "nl", "2026-11") == {}
    assert active_deals(deals, "us", "2026-11") == {"joe": ["d1"]}
