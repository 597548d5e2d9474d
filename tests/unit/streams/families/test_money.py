"""Money figures forwarded to the rep and the team credited, and what the holder's index makes of them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest

from salespulse.models.config import Settings
from salespulse.models.rates import Rate, RateBook
from salespulse.streams.engine import Engine
from salespulse.streams.families.deal_figures import DealFigures
from salespulse.streams.families.money import DealMoney
from salespulse.streams.family import Wiring
from salespulse.streams.topics import TopicNames, partition_of
from tests.unit.streams.families import forwarding

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = Settings.model_validate({"kafka": {"partitions": 8}, "stages": ["lead", "proposal"]})
RATES = RateBook([Rate(currency="USD", to="EUR", rate=0.5, effective_from=date(2026, 1, 1))])


def stage(event_id: str, deal: str, stage: str, at: str, rep: str, amount: float | None = None,
          currency: str | None = None) -> bytes:
    return orjson.dumps({"type": "deal_stage", "event_id": event_id, "occurred_at": at, "team_id": "nl",
                         "rep_id": rep, "source": "test", "deal_id": deal, "stage": stage,
                         "amount": amount, "currency": currency})


@pytest.fixture
def families() -> tuple[DealMoney, DealFigures]:
    engine = Engine.create(f"t{id(object())}", store="memory://")
    wiring = Wiring(engine, SETTINGS, TopicNames("sp"), lambda: NOW)
    figures = DealFigures(wiring)
    return DealMoney(wiring, figures=figures), figures


def run_batch(family: DealMoney, rows: list[tuple[int, bytes]]) -> forwarding.Forwarded:
    return forwarding.run_batch(family, rows, NOW)


def apply(figures: DealFigures, forwarded: forwarding.Forwarded, first_offset: int) -> None:
    forwarding.apply(figures, forwarded, first_offset, NOW)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_an_open_deal_goes_to_its_rep_and_to_its_team(families) -> None:
    money, figures = families
    sent = run_batch(money, [(0, stage("e1", "d1", "lead", "2026-11-01T09:00:00Z", "ann", 1000, "USD"))])
    summary = ["nl", "ann", ts("2026-11-01T09:00:00+00:00"), ts("2026-11-01T09:00:00+00:00"), "lead", None, None,
               1000, "USD", ["lead"], []]
    assert sent == sorted([
        (partition_of("nl|ann", 8), "nl|ann", {"key": "money|nl|ann|d1", "value": summary}),
        (partition_of("nl|", 8), "nl|", {"key": "money|nl||d1", "value": ["nl", "", *summary[2:]]}),
    ])
    apply(figures, sent, 0)
    result = figures.money_figures(NOW, RATES)
    assert (result.open_deals[("nl", "ann", "lead")], result.open_deals[("nl", "", "lead")]) == (1, 1)
    assert result.open_deals[("nl", "ann", "proposal")] == 0


def test_a_deal_handed_over_is_withdrawn_from_its_first_rep_and_its_win_valued_at_the_rate(families) -> None:
    money, figures = families
    first = run_batch(money, [(0, stage("e1", "d1", "lead", "2026-11-01T09:00:00Z", "ann", 1000, "USD"))])
    second = run_batch(money, [(1, stage("e2", "d1", "won", "2026-11-11T09:00:00Z", "bob"))])
    assert sorted((key, record["key"], record["value"] and record["value"][1]) for _, key, record in second) == [
        ("nl|", "money|nl||d1", ""),
        ("nl|ann", "money|nl|ann|d1", None),
        ("nl|bob", "money|nl|bob|d1", "bob"),
    ]
    apply(figures, first, 0)
    figures.money_figures(NOW, RATES)  # the index follows from here on
    apply(figures, second, 10)
    result = figures.money_figures(NOW, RATES)
    assert result.open_total == {("nl", ""): 0, ("nl", "bob"): 0}
    bob = result.decided[("nl", "bob", "rolling_30d")]
    # 1,000 USD at 0.5; won 10 days after the first event.
    assert (bob.won, bob.won_value, bob.cycle_seconds) == (1, 500.0, 10 * 86_400.0)
    # lead held from 1 to 11 November, then left for won.
    cell = result.stage_time[("nl", "lead", "rolling_30d")]
    assert (cell.exits, cell.seconds) == (1, 10 * 86_400.0)
    assert result.reached[("nl", "won", "rolling_30d")] == 1


def test_an_event_folded_twice_forwards_the_same_summary(families) -> None:
    money, figures = families
    rows = [(0, stage("e1", "d1", "lead", "2026-11-01T09:00:00Z", "ann", 1000, "USD"))]
    first = run_batch(money, rows)
    assert run_batch(money, rows) == first
    apply(figures, first, 0)
    apply(figures, first, 5)
    figures.sync()
    assert len(figures.money) == 2  # the rep's copy and the team's


def test_the_holder_prunes_summaries_past_the_retention(families) -> None:
    import asyncio

    money, figures = families
    old = run_batch(money, [(0, stage("e1", "d1", "lead", "2025-01-01T09:00:00Z", "ann"))])
    new = run_batch(money, [(1, stage("e2", "d2", "lead", "2026-11-01T09:00:00Z", "ann"))])
    apply(figures, old + new, 0)
    assert len(figures.money_figures(NOW, RATES).open_deals) == 4  # 2 groups x 2 stages
    asyncio.run(figures.prune())
    asyncio.run(money.prune())
    figures.sync()
    assert len(figures.money) == 2
    assert list(money.deals_to_path.data) == ["d2"]


def test_a_batch_read_again_after_a_crash_withdraws_moved_credit_again(families) -> None:
    """The first time, the withdrawal from ann may not have reached Kafka before the kill."""
    money, _ = families
    run_batch(money, [(0, stage("e1", "d1", "lead", "2026-11-01T09:00:00Z", "ann"))])
    handed_over = [(1, stage("e2", "d1", "proposal", "2026-11-05T09:00:00Z", "bob"))]
    first = run_batch(money, handed_over)
    again = run_batch(money, handed_over)  # its offset already reflected: a replay, not a new fold
    assert again == first
    assert ("nl|ann", {"key": "money|nl|ann|d1", "value": None}) in [(key, record) for _, key, record in again]
