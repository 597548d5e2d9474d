"""Deal velocity: order-independent deal histories and rolling windows of decided deals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import reduce
from itertools import permutations

import pytest

from salespulse.streams.kpi.velocity import (
    DealHistory,
    VelocityFigures,
    apply_deal_event,
    deal_expired,
    velocity_windows,
)

UTC = timezone.utc
DAY = 86_400.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T0_TS = 1_767_225_600.0  # 2026-01-01T00:00Z


@dataclass(frozen=True)
class Ev:
    at: datetime
    stage: str
    event_id: str
    team: str = "nl"
    rep: str = "ann"


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def fold(events: list[Ev] | tuple[Ev, ...], start: DealHistory | None = None) -> DealHistory:
    def step(history: DealHistory | None, ev: Ev) -> DealHistory:
        return apply_deal_event(
            history, occurred_at=ev.at, stage=ev.stage, event_id=ev.event_id, team=ev.team, rep=ev.rep
        )

    result = reduce(step, events, start)
    assert result is not None
    return result


# --- apply_deal_event ----------------------------------------------------------------------


def test_first_open_event_creates_an_open_deal() -> None:
    history = fold([Ev(day(0), "lead", "e1")])
    assert history == DealHistory(created_at=T0_TS, last_at=T0_TS)
    assert history.decision_seconds is None


def test_created_is_the_earliest_event_even_when_it_arrives_last() -> None:
    history = fold([Ev(day(5), "proposal", "e3"), Ev(day(2), "qualified", "e2"), Ev(day(1), "lead", "e1")])
    assert history.created_at == T0_TS + 1 * DAY
    assert history.last_at == T0_TS + 5 * DAY
    assert history.decided_at is None


def test_won_event_decides_the_deal() -> None:
    history = fold([Ev(day(0), "lead", "e1"), Ev(day(3), "won", "e2", rep="bob")])
    assert history == DealHistory(
        created_at=T0_TS,
        last_at=T0_TS + 3 * DAY,
        decided_at=T0_TS + 3 * DAY,
        decision_event_id="e2",
        outcome="won",
        team="nl",
        rep="bob",
    )
    assert history.decision_seconds == 3 * DAY


def test_lost_deal_has_its_own_velocity() -> None:
    history = fold([Ev(day(0), "lead", "e1"), Ev(day(0.5), "lost", "e2")])
    assert history.outcome == "lost"
    assert history.decision_seconds == 43_200.0


def test_decided_is_the_earliest_terminal_event() -> None:
    history = fold(
        [Ev(day(0), "lead", "e1"), Ev(day(12), "won", "e4", rep="bob"), Ev(day(10), "lost", "e3", rep="cy")]
    )
    assert history.decided_at == T0_TS + 10 * DAY
    assert (history.outcome, history.rep, history.decision_event_id) == ("lost", "cy", "e3")
    assert history.decision_seconds == 864_000.0


def test_events_after_the_decision_do_not_change_velocity() -> None:
    decided = fold([Ev(day(0), "lead", "e1"), Ev(day(4), "won", "e2")])
    later = fold([Ev(day(20), "negotiation", "e3"), Ev(day(25), "lost", "e4", rep="bob")], decided)
    assert later.decision_seconds == 4 * DAY
    assert (later.outcome, later.rep, later.decision_event_id) == ("won", "ann", "e2")
    assert later.last_at == T0_TS + 25 * DAY


def test_an_earlier_open_event_arriving_late_lengthens_velocity() -> None:
    decided = fold([Ev(day(10), "qualified", "e2"), Ev(day(14), "won", "e3")])
    assert decided.decision_seconds == 4 * DAY
    assert fold([Ev(day(1), "lead", "e1")], decided).decision_seconds == 13 * DAY


@pytest.mark.parametrize(
    "order",
    [("b-won", "a-lost"), ("a-lost", "b-won")],
)
def test_tie_on_time_is_broken_by_event_id(order: tuple[str, str]) -> None:
    by_id = {
        "b-won": Ev(day(7), "won", "b-won", rep="bob"),
        "a-lost": Ev(day(7), "lost", "a-lost", rep="ann"),
    }
    history = fold([Ev(day(0), "lead", "e0")] + [by_id[i] for i in order])
    assert (history.decision_event_id, history.outcome, history.rep) == ("a-lost", "lost", "ann")


def test_a_terminal_event_does_not_replace_itself_when_redelivered() -> None:
    won = Ev(day(3), "won", "e2")
    once = fold([Ev(day(0), "lead", "e1"), won])
    assert fold([won, won], once) == once


EVENTS = (
    Ev(day(0), "lead", "e1"),
    Ev(day(2), "qualified", "e2"),
    Ev(day(9), "won", "e5", rep="bob"),
    Ev(day(9), "lost", "e4", rep="cy", team="us"),  # same time as e5: e4 sorts first
    Ev(day(30), "negotiation", "e6"),
)
EXPECTED = DealHistory(
    created_at=T0_TS,
    last_at=T0_TS + 30 * DAY,
    decided_at=T0_TS + 9 * DAY,
    decision_event_id="e4",
    outcome="lost",
    team="us",
    rep="cy",
)


def test_every_arrival_order_gives_the_same_history() -> None:
    orders = list(permutations(EVENTS))
    assert len(orders) == 120
    for order in orders:
        assert fold(order) == EXPECTED, order


def test_history_json_round_trip() -> None:
    assert EXPECTED.to_json() == {
        "created_at": T0_TS,
        "last_at": T0_TS + 30 * DAY,
        "decided_at": T0_TS + 9 * DAY,
        "decision_event_id": "e4",
        "outcome": "lost",
        "team": "us",
        "rep": "cy",
    }
    assert DealHistory.from_json(EXPECTED.to_json()) == EXPECTED


# --- velocity_windows ----------------------------------------------------------------------

NOW = datetime(2026, 6, 1, tzinfo=UTC)
NOW_TS = 1_780_272_000.0  # 2026-06-01T00:00Z


def decided(decided_ago_s: float, took_s: float, outcome: str = "won", rep: str = "ann") -> DealHistory:
    at = NOW_TS - decided_ago_s
    return DealHistory(
        created_at=at - took_s,
        last_at=at,
        decided_at=at,
        decision_event_id="x",
        outcome=outcome,  # type: ignore[arg-type]
        team="nl",
        rep=rep,
    )


def test_now_constant_matches_now() -> None:
    assert NOW.timestamp() == NOW_TS


@pytest.mark.parametrize(
    ("ago_s", "in_30", "in_90"),
    [
        (-1, False, False),  # decided after now
        (0, True, True),  # exactly now
        (30 * DAY, True, True),  # exactly 30 days ago
        (30 * DAY + 1, False, True),
        (90 * DAY, False, True),  # exactly 90 days ago
        (90 * DAY + 1, False, False),
    ],
)
def test_window_edges(ago_s: float, in_30: bool, in_90: bool) -> None:
    figures = velocity_windows([decided(ago_s, took_s=DAY)], NOW)
    assert figures[("nl", "ann", "won", "rolling_30d")].count == int(in_30)
    assert figures[("nl", "ann", "won", "rolling_90d")].count == int(in_90)
    assert figures[("nl", "ann", "won", "rolling_30d")].seconds_sum == (DAY if in_30 else 0.0)
    assert figures[("nl", "ann", "won", "rolling_90d")].seconds_sum == (DAY if in_90 else 0.0)


def test_won_and_lost_are_kept_apart() -> None:
    deals = [
        decided(1 * DAY, took_s=1 * DAY),
        decided(2 * DAY, took_s=3 * DAY),
        decided(3 * DAY, took_s=5 * DAY, outcome="lost"),
        decided(40 * DAY, took_s=10 * DAY, outcome="lost"),
    ]
    figures = velocity_windows(deals, NOW)
    won30 = figures[("nl", "ann", "won", "rolling_30d")]
    assert (won30.count, won30.seconds_sum, won30.seconds_avg) == (2, 4 * DAY, 2 * DAY)
    lost30 = figures[("nl", "ann", "lost", "rolling_30d")]
    assert (lost30.count, lost30.seconds_sum, lost30.seconds_avg) == (1, 5 * DAY, 5 * DAY)
    lost90 = figures[("nl", "ann", "lost", "rolling_90d")]
    assert (lost90.count, lost90.seconds_sum, lost90.seconds_avg) == (2, 15 * DAY, 7.5 * DAY)


def test_every_outcome_and_window_is_present_for_a_rep_with_a_decision() -> None:
    figures = velocity_windows([decided(DAY, took_s=DAY, rep="bob"), decided(200 * DAY, took_s=DAY)], NOW)
    assert set(figures) == {
        (team, rep, outcome, window)
        for team, rep in (("nl", "bob"), ("nl", "ann"))
        for outcome in ("won", "lost")
        for window in ("rolling_30d", "rolling_90d")
    }
    empty = figures[("nl", "ann", "won", "rolling_90d")]
    assert (empty.count, empty.seconds_sum, empty.seconds_avg) == (0, 0.0, None)
    assert figures[("nl", "bob", "lost", "rolling_30d")] == VelocityFigures()


def test_open_deals_are_ignored() -> None:
    open_deal = DealHistory(created_at=NOW_TS - DAY, last_at=NOW_TS)
    assert velocity_windows([open_deal], NOW) == {}


def test_decision_is_credited_to_the_deciding_rep() -> None:
    history = fold(
        [
            Ev(datetime(2026, 5, 20, tzinfo=UTC), "lead", "e1", rep="ann"),
            Ev(datetime(2026, 5, 30, tzinfo=UTC), "won", "e2", rep="bob"),
        ]
    )
    figures = velocity_windows([history], NOW)
    assert {(team, rep) for team, rep, _, _ in figures} == {("nl", "bob")}
    assert figures[("nl", "bob", "won", "rolling_30d")].seconds_sum == 10 * DAY


def test_velocity_windows_do_not_depend_on_deal_order() -> None:
    deals = [decided(n * DAY, took_s=(n + 1) * DAY, outcome=o) for n, o in ((1, "won"), (31, "lost"), (5, "lost"))]
    reference = velocity_windows(deals, NOW)
    for order in permutations(deals):
        assert velocity_windows(order, NOW) == reference
    assert reference[("nl", "ann", "lost", "rolling_90d")].seconds_sum == 38 * DAY


# --- deal_expired --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_ago_s", "expired"),
    [(400 * DAY - 1, False), (400 * DAY, False), (400 * DAY + 1, True)],
)
def test_deal_expired(last_ago_s: float, expired: bool) -> None:
    deal = DealHistory(created_at=NOW_TS - 500 * DAY, last_at=NOW_TS - last_ago_s)
    assert deal_expired(deal, NOW, 400) is expired
