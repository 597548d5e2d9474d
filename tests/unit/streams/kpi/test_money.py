"""Deal velocity in money and stages, against numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from salespulse.models.rates import Rate, RateBook, RatesFile
from salespulse.streams.kpi.money import (
    DealPath,
    RepMoney,
    add_event,
    money_figures,
    sales_velocity,
    stage_exits,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
DAY = timedelta(days=1)
STAGES = ("lead", "qualified", "proposal")
RATES = RateBook([
    Rate(currency="USD", to="EUR", rate=0.9, effective_from=date(2026, 1, 1)),
    Rate(currency="USD", to="EUR", rate=0.8, effective_from=date(2026, 11, 20)),
])


def deal(*events: tuple) -> DealPath:
    """events: (days ago, stage, rep, amount, currency), ids e1, e2, ... in order."""
    path = None
    for n, (ago, stage, rep, *money) in enumerate(events, 1):
        amount, currency = (money + [None, None])[:2]
        path = add_event(path, occurred_at=NOW - ago * DAY, event_id=f"e{n}", stage=stage, team="nl", rep=rep,
                         amount=amount, currency=currency)
    assert path is not None
    return path


def figures(*paths: DealPath, stale_days: int = 14):
    return money_figures(paths, NOW, currency_of=lambda team: "EUR", rates=RATES, open_stages=STAGES, stale_days=stale_days)


def test_a_deal_won_then_lost_later_stays_won_and_its_cycle_ends_at_the_first_decision() -> None:
    path = deal((20, "lead", "ann", 1000, "EUR"), (10, "won", "ann"), (5, "lost", "ann"))
    assert path.decision == ((NOW - 10 * DAY).timestamp(), "e2", "won")
    cell = figures(path).reps[("nl", "ann", "rolling_30d")]
    assert (cell.won, cell.lost, cell.won_value, cell.cycle_days) == (1, 0, 1000.0, 10.0)


def test_the_amount_is_the_latest_at_or_before_the_decision_whatever_the_order_of_arrival() -> None:
    events = [(30, "lead", "ann", 10_000, "EUR"), (20, "proposal", "ann", 12_000, "EUR"), (10, "won", "ann"),
              (5, "won", "ann", 15_000, "EUR")]
    path = deal(*events)
    backwards = None
    for n, (ago, stage, rep, *money) in reversed(list(enumerate(events, 1))):
        amount, currency = (money + [None, None])[:2]
        backwards = add_event(backwards, occurred_at=NOW - ago * DAY, event_id=f"e{n}", stage=stage, team="nl",
                              rep=rep, amount=amount, currency=currency)
    assert backwards == path
    assert path.amount() == (12_000, "EUR")
    assert figures(path).reps[("nl", "ann", "rolling_30d")].won_value == 12_000.0


def test_an_amount_without_a_rate_counts_the_deal_without_a_value() -> None:
    sek = deal((20, "lead", "bob", 50_000, "SEK"), (3, "won", "bob"))
    eur = deal((20, "lead", "bob", 2_000, "EUR"), (2, "won", "bob"))
    result = figures(sek, eur)
    cell = result.reps[("nl", "bob", "rolling_30d")]
    # Two wins, one of them valued: the average won value is 2,000, not 1,000.
    assert (cell.won, cell.won_valued, cell.won_value_avg) == (2, 1, 2_000.0)
    assert result.without_rate == {"nl": 1}


def test_each_decision_takes_the_rate_in_force_on_its_date() -> None:
    # 0.9 until 19 November 2026, 0.8 from 20 November: won on 18 and on 27 November.
    before = deal((40, "lead", "cy", 1_000, "USD"), (19, "won", "cy"))
    after = deal((40, "lead", "cy", 1_000, "USD"), (10, "won", "cy"))
    assert figures(before, after).reps[("nl", "cy", "rolling_30d")].won_value == pytest.approx(900.0 + 800.0)
    # An open deal is valued at the latest rate.
    assert RATES.convert(1_000, "USD", "EUR", None) == pytest.approx(800.0)


def test_win_rate_average_value_cycle_and_sales_velocity() -> None:
    won_a = deal((50, "lead", "ann", 10_000, "EUR"), (20, "won", "ann"))  # 30 days
    won_b = deal((40, "lead", "ann", 20_000, "EUR"), (30, "won", "ann"))  # 10 days
    lost = deal((60, "lead", "ann"), (25, "lost", "ann"))
    open_1 = deal((5, "lead", "ann", 5_000, "EUR"))
    open_2 = deal((4, "qualified", "ann"))
    result = figures(won_a, won_b, lost, open_1, open_2)
    cell = result.reps[("nl", "ann", "rolling_90d")]
    # 2 won of 3 decided; (10,000 + 20,000) / 2 = 15,000; (30 + 10) / 2 = 20 days.
    assert (cell.win_rate, cell.won_value_avg, cell.cycle_days) == (pytest.approx(2 / 3), 15_000.0, 20.0)
    open_deals = sum(n for (team, rep, _), n in result.open_deals.items() if (team, rep) == ("nl", "ann"))
    assert open_deals == 2
    # 2 open × 15,000 × 2/3 ÷ 20 days = 1,000 EUR a day.
    assert sales_velocity(open_deals, cell) == pytest.approx(1_000.0)
    # All three decisions are in the 30 days too: b's was exactly 30 days ago, and a window includes its start.
    thirty = result.reps[("nl", "ann", "rolling_30d")]
    assert (thirty.won, thirty.lost) == (2, 1)


def test_a_factor_missing_means_no_velocity() -> None:
    assert sales_velocity(3, RepMoney(won=0, lost=2)) is None  # no win: no value, no cycle
    assert sales_velocity(3, RepMoney(won=1, lost=0, won_seconds=86_400.0)) is None  # no valued win


def test_time_in_stage_is_from_entering_a_stage_to_the_next_change() -> None:
    path = deal((10, "lead", "ann"), (8, "lead", "ann"), (8 - 0.5, "qualified", "ann"), (5, "proposal", "ann"),
                (4, "won", "ann"))
    # lead from 10 days ago to 7.5 (a repeated lead changes nothing), qualified 2.5 days, proposal 1 day.
    assert [(stage, seconds / 86_400) for stage, seconds, _ in stage_exits(path, STAGES)] == [
        ("lead", 2.5), ("qualified", 2.5), ("proposal", 1.0)]
    result = figures(path)
    assert result.stage_time[("nl", "qualified", "rolling_30d")] == [1, 2.5 * 86_400]


def test_the_funnel_counts_a_deal_that_skips_stages_only_where_it_went() -> None:
    skipper = deal((10, "lead", "ann"), (3, "won", "ann"))
    full = deal((12, "lead", "bob"), (9, "qualified", "bob"), (6, "proposal", "bob"))
    old = deal((200, "lead", "bob"), (100, "qualified", "bob"))  # created before both windows
    result = figures(skipper, full, old)
    assert result.created[("nl", "rolling_30d")] == 2
    reached = {stage: result.reached.get(("nl", stage, "rolling_30d"), 0) for stage in (*STAGES, "won")}
    assert reached == {"lead": 2, "qualified": 1, "proposal": 1, "won": 1}


def test_open_deals_go_stale_after_the_stale_days_and_follow_their_latest_rep() -> None:
    handed_over = deal((30, "lead", "ann"), (20, "qualified", "bob"))  # bob's now, quiet for 20 days
    fresh = deal((3, "lead", "ann"))
    result = figures(handed_over, fresh, stale_days=14)
    assert dict(result.open_deals) == {("nl", "bob", "qualified"): 1, ("nl", "ann", "lead"): 1}
    assert dict(result.stale_deals) == {("nl", "bob", "qualified"): 1}


def test_a_path_survives_its_changelog_record() -> None:
    path = deal((20, "lead", "ann", 1_000, "USD"), (2, "won", "ann"))
    import orjson

    assert DealPath.from_json(orjson.loads(orjson.dumps(path.to_json()))) == path


def test_a_rates_file_is_checked_and_a_rate_is_in_force_from_its_day() -> None:
    with pytest.raises(ValueError, match="to itself"):
        Rate(currency="EUR", to="EUR", rate=1.0, effective_from=date(2026, 1, 1))
    with pytest.raises(ValueError, match="two rates of USD to EUR from 2026-01-01"):
        RatesFile.model_validate({"rates": [
            {"currency": "USD", "to": "EUR", "rate": 0.9, "effective_from": "2026-01-01"},
            {"currency": "USD", "to": "EUR", "rate": 0.8, "effective_from": "2026-01-01"},
        ]})
    assert RATES.rate("USD", "EUR", date(2025, 12, 31)) is None  # before the first rate
    assert RATES.rate("USD", "EUR", date(2026, 11, 19)) == 0.9
    assert RATES.rate("USD", "EUR", date(2026, 11, 20)) == 0.8
    assert RATES.rate("EUR", "EUR", None) == 1.0
