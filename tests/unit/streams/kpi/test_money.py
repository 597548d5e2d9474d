"""Deal velocity in money and stages, against numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from salespulse.models.rates import Rate, RateBook, RatesFile
from salespulse.streams.kpi.money import (
    DealPath,
    DealSummary,
    MoneyFigures,
    MoneyIndex,
    RepMoney,
    add_event,
    sales_velocity,
    stage_exits,
    summarise,
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


BOUNDS = (86_400.0, 7 * 86_400.0)


def index_of(*paths: DealPath) -> MoneyIndex:
    """Index each deal as the worker does: a copy for its rep and one for its team."""
    index = MoneyIndex(STAGES, BOUNDS)
    for n, path in enumerate(paths):
        summary = summarise(path, STAGES)
        assert summary is not None
        index.set(f"rep|d{n}", summary)
        index.set(f"team|d{n}", summary.for_team())
    return index


def figures(*paths: DealPath, stale_days: int = 14, retention_days: int = 400) -> MoneyFigures:
    return index_of(*paths).figures(
        NOW, rates=RATES, currency_of=lambda team: "EUR", retention_days=retention_days, stale_days=stale_days
    )


def test_a_deal_won_then_lost_later_stays_won_and_its_cycle_ends_at_the_first_decision() -> None:
    path = deal((20, "lead", "ann", 1000, "EUR"), (10, "won", "ann"), (5, "lost", "ann"))
    assert path.decision == ((NOW - 10 * DAY).timestamp(), "e2", "won", "nl", "ann")
    cell = figures(path).decided[("nl", "ann", "rolling_30d")]
    assert (cell.won, cell.lost, cell.won_value, cell.cycle_seconds) == (1, 0, 1000.0, 10 * 86_400.0)


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
    assert path.amount(path.decision) == (12_000, "EUR")
    assert figures(path).decided[("nl", "ann", "rolling_30d")].won_value == 12_000.0


def test_an_amount_without_a_rate_counts_the_deal_without_a_value() -> None:
    sek = deal((20, "lead", "bob", 50_000, "SEK"), (3, "won", "bob"))
    eur = deal((20, "lead", "bob", 2_000, "EUR"), (2, "won", "bob"))
    result = figures(sek, eur)
    cell = result.decided[("nl", "bob", "rolling_30d")]
    # Two wins, one of them valued: the average won value is 2,000, not 1,000.
    assert (cell.won, cell.won_valued, cell.won_value_avg) == (2, 1, 2_000.0)
    assert result.without_rate == {"nl": 1}


def test_each_decision_takes_the_rate_in_force_on_its_date() -> None:
    # 0.9 until 19 November 2026, 0.8 from 20 November: won on 18 and on 27 November.
    before = deal((40, "lead", "cy", 1_000, "USD"), (19, "won", "cy"))
    after = deal((40, "lead", "cy", 1_000, "USD"), (10, "won", "cy"))
    assert figures(before, after).decided[("nl", "cy", "rolling_30d")].won_value == pytest.approx(900.0 + 800.0)
    # An open deal is valued at the latest rate.
    assert RATES.convert(1_000, "USD", "EUR", None) == pytest.approx(800.0)


def test_win_rate_average_value_cycle_and_sales_velocity() -> None:
    won_a = deal((50, "lead", "ann", 10_000, "EUR"), (20, "won", "ann"))  # 30 days
    won_b = deal((40, "lead", "ann", 20_000, "EUR"), (30, "won", "ann"))  # 10 days
    lost = deal((60, "lead", "ann"), (25, "lost", "ann"))
    open_1 = deal((5, "lead", "ann", 5_000, "EUR"))
    open_2 = deal((4, "qualified", "ann"))
    result = figures(won_a, won_b, lost, open_1, open_2)
    cell = result.decided[("nl", "ann", "rolling_90d")]
    # 2 won of 3 decided; (10,000 + 20,000) / 2 = 15,000; (30 + 10) / 2 = 20 days.
    assert (cell.win_rate, cell.won_value_avg, cell.cycle_seconds) == (pytest.approx(2 / 3), 15_000.0, 20 * 86_400.0)
    open_deals = result.open_total[("nl", "ann")]
    assert open_deals == 2
    assert (result.open_deals[("nl", "ann", "lead")], result.open_deals[("nl", "ann", "qualified")]) == (1, 1)
    # 2 open × 15,000 × 2/3 ÷ 20 days = 1,000 EUR a day.
    assert sales_velocity(open_deals, cell) == pytest.approx(1_000.0)
    # All three decisions are in the 30 days too: b's was exactly 30 days ago, and a window includes its start.
    thirty = result.decided[("nl", "ann", "rolling_30d")]
    assert (thirty.won, thirty.lost) == (2, 1)
    # The team's figures are the same deals, the rep's only.
    team = result.decided[("nl", "", "rolling_90d")]
    assert (team.won, team.lost, team.won_value) == (2, 1, 30_000.0)
    assert result.open_total[("nl", "")] == 2


def test_a_factor_missing_means_no_velocity() -> None:
    assert sales_velocity(3, RepMoney(won=0, lost=2)) is None  # no win: no value, no cycle
    assert sales_velocity(3, RepMoney(won=1, lost=0, won_seconds=86_400.0)) is None  # no valued win


def test_time_in_stage_is_from_entering_a_stage_to_the_next_change() -> None:
    path = deal((10, "lead", "ann"), (8, "lead", "ann"), (8 - 0.5, "qualified", "ann"), (5, "proposal", "ann"),
                (4, "won", "ann"))
    # lead from 10 days ago to 7.5 (a repeated lead changes nothing), qualified 2.5 days, proposal 1 day.
    assert [(stage, seconds / 86_400) for stage, seconds, _ in stage_exits(path.stages, STAGES)] == [
        ("lead", 2.5), ("qualified", 2.5), ("proposal", 1.0)]
    cell = figures(path).stage_time[("nl", "qualified", "rolling_30d")]
    assert (cell.exits, cell.seconds, cell.seconds_avg) == (1, 2.5 * 86_400, 2.5 * 86_400)
    # 2.5 days: over the 1-day bound, within the 7-day one.
    assert cell.buckets == [0, 1, 0]


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
    held = {key: n for key, n in result.open_deals.items() if n}
    assert held == {("nl", "bob", "qualified"): 1, ("nl", "ann", "lead"): 1, ("nl", "", "qualified"): 1, ("nl", "", "lead"): 1}
    stale = {key: n for key, n in result.stale_deals.items() if n}
    assert stale == {("nl", "bob", "qualified"): 1, ("nl", "", "qualified"): 1}
    # Every rep holding a deal has a series for every open stage.
    assert result.open_deals[("nl", "ann", "proposal")] == 0


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


def test_a_decided_deal_stays_with_the_rep_who_decided_it_and_an_open_one_moves_with_its_latest_event() -> None:
    decided = deal((20, "lead", "ann"), (10, "won", "ann", 4_000, "EUR"), (5, "won", "bob"))
    assert figures(decided).decided[("nl", "ann", "rolling_30d")].won == 1
    assert ("nl", "bob", "rolling_30d") not in figures(decided).decided


def test_an_amount_without_a_currency_is_in_the_teams_currency() -> None:
    path = deal((20, "lead", "ann", 3_000, None), (10, "won", "ann"))
    assert figures(path).decided[("nl", "ann", "rolling_30d")].won_value == 3_000.0


def test_a_deal_won_after_it_was_lost_is_lost_in_the_funnel_and_the_rate() -> None:
    path = deal((20, "lead", "ann"), (10, "lost", "ann"), (5, "won", "ann"))
    result = figures(path)
    assert (result.decided[("nl", "ann", "rolling_30d")].won, result.decided[("nl", "ann", "rolling_30d")].lost) == (0, 1)
    assert result.reached[("nl", "won", "rolling_30d")] == 0
    assert result.reached[("nl", "lead", "rolling_30d")] == 1
    assert result.decided[("nl", "ann", "rolling_30d")].win_rate == 0.0


def test_windows_include_their_first_instant_and_leave_out_what_is_older() -> None:
    on_edge = deal((60, "lead", "ann"), (30, "lost", "ann"))
    older = deal((60, "lead", "ann"), (30.001, "lost", "ann"))
    result = figures(on_edge, older)
    assert result.decided[("nl", "ann", "rolling_30d")].lost == 1
    assert result.decided[("nl", "ann", "rolling_90d")].lost == 2
    # Created 60 days ago: in the 90-day funnel, not in the 30-day one.
    assert (result.created[("nl", "rolling_30d")], result.created[("nl", "rolling_90d")]) == (0, 2)


def test_an_open_deal_quiet_beyond_the_retention_is_no_longer_counted() -> None:
    quiet = deal((401, "lead", "ann"))
    kept = deal((399, "lead", "ann"))
    result = figures(quiet, kept, retention_days=400)
    assert result.open_deals[("nl", "ann", "lead")] == 1
    assert result.stale_deals[("nl", "ann", "lead")] == 1


def test_open_deals_in_a_currency_without_a_rate_are_counted_for_the_team() -> None:
    sek_open = deal((3, "lead", "ann", 9_000, "SEK"))
    usd_open = deal((3, "lead", "ann", 9_000, "USD"))  # USD has a rate
    old_sek = deal((200, "lead", "ann", 1_000, "SEK"), (100, "won", "ann"))  # decided before the 90 days
    assert figures(sek_open, usd_open, old_sek).without_rate == {"nl": 1}


def test_a_time_in_stage_on_a_bucket_bound_is_counted_in_that_bucket() -> None:
    path = deal((10, "lead", "ann"), (9, "qualified", "ann"), (2, "proposal", "ann"))
    # lead: exactly 1 day (le 86,400); qualified: exactly 7 days (le 604,800)
    result = figures(path)
    assert result.stage_time[("nl", "lead", "rolling_30d")].buckets == [1, 0, 0]
    assert result.stage_time[("nl", "qualified", "rolling_30d")].buckets == [0, 1, 0]
    assert result.stage_time[("nl", "proposal", "rolling_30d")].exits == 0


def test_replacing_and_forgetting_summaries_leaves_the_index_as_if_only_the_last_were_set() -> None:
    first = summarise(deal((20, "lead", "ann", 100, "EUR"), (10, "qualified", "ann")), STAGES)
    second = summarise(deal((20, "lead", "ann", 100, "EUR"), (10, "qualified", "ann"), (5, "won", "ann")), STAGES)
    assert first is not None and second is not None
    index = MoneyIndex(STAGES, BOUNDS)
    index.set("d", first.for_team())
    index.set("d", second.for_team())
    fresh = MoneyIndex(STAGES, BOUNDS)
    fresh.set("d", second.for_team())
    kwargs = dict(rates=RATES, currency_of=lambda team: "EUR", retention_days=400, stale_days=14)
    assert index.figures(NOW, **kwargs) == fresh.figures(NOW, **kwargs)
    index.set("d", None)
    assert len(index) == 0
    held = [*index.decided.values(), *index.open.values(), *index.exits.values(), *index.created.values(),
            *index.reached.values(), *index.open_amounts.values()]
    assert all(not entries for entries in held)


def test_a_summary_survives_its_record() -> None:
    import orjson

    summary = summarise(deal((20, "lead", "ann", 1_000, "USD"), (9, "qualified", "ann"), (2, "won", "ann")), STAGES)
    assert summary is not None
    assert DealSummary.from_json(orjson.loads(orjson.dumps(summary.to_json()))) == summary
    assert summary.reached == ("lead", "qualified", "won")
    assert (summary.stage, summary.won, summary.amount, summary.currency) == ("won", True, 1_000, "USD")
