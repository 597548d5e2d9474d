"""The rates topic folded into a live rate book: new, replaced and withdrawn rates, foreign records."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import cast

import pytest
from aiokafka import ConsumerRecord

from salespulse.models.config import KafkaSettings
from salespulse.models.rates import Rate
from salespulse.streams.engine import Engine
from salespulse.streams.rates import RateFollower, Rates
from salespulse.streams.topics import TopicNames

JAN = Rate(currency="USD", to="EUR", rate=0.92, effective_from=date(2026, 1, 1))
JUL = Rate(currency="USD", to="EUR", rate=0.95, effective_from=date(2026, 7, 1))
GBP = Rate(currency="GBP", to="EUR", rate=1.17, effective_from=date(2026, 1, 1))


def record(key: str, value: bytes | None, offset: int = 0) -> ConsumerRecord:
    return ConsumerRecord("sp-rates", 0, offset, 0, 0, key.encode(), value, None, len(key), len(value or b""), [])


def applied(follower: RateFollower, *rates: Rate) -> None:
    for rate in rates:
        follower.apply(record(rate.key, rate.model_dump_json().encode()))


def test_records_are_keyed_by_pair_and_day_and_hold_the_rates_json() -> None:
    assert JUL.key == "USD|EUR|2026-07-01"
    assert Rate.model_validate_json(JUL.model_dump_json()) == JUL


def test_applied_rates_are_in_the_book_by_date() -> None:
    follower = RateFollower()
    applied(follower, JAN, JUL, GBP)
    assert follower.rates == {JAN.key: JAN, JUL.key: JUL, GBP.key: GBP}
    assert follower.book.rate("USD", "EUR", date(2026, 6, 30)) == 0.92
    assert follower.book.rate("USD", "EUR", date(2026, 7, 1)) == 0.95
    # 1000 USD on 1 July 2026 at 0.95: 950 EUR.
    assert follower.book.convert(1000, "USD", "EUR", date(2026, 7, 1)) == pytest.approx(950.0)


def test_a_later_record_of_the_key_replaces_the_rate() -> None:
    follower = RateFollower()
    applied(follower, JAN, JUL)
    corrected = JUL.model_copy(update={"rate": 0.94})
    applied(follower, corrected)
    assert follower.rates[JUL.key].rate == 0.94
    assert follower.book.pairs[("USD", "EUR")] == [(date(2026, 1, 1), 0.92), (date(2026, 7, 1), 0.94)]


def test_a_tombstone_withdraws_the_rate_and_the_earlier_one_is_in_force_again() -> None:
    follower = RateFollower()
    applied(follower, JAN, JUL, GBP)
    follower.apply(record(JUL.key, None))
    assert JUL.key not in follower.rates
    assert follower.book.rate("USD", "EUR", date(2026, 8, 1)) == 0.92
    follower.apply(record(GBP.key, None))
    assert follower.book.rate("GBP", "EUR", date(2026, 8, 1)) is None
    follower.apply(record("JPY|EUR|2026-01-01", None))  # a tombstone of a rate never seen
    assert set(follower.rates) == {JAN.key}


def test_a_foreign_record_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    follower = RateFollower()
    applied(follower, JAN)
    with caplog.at_level(logging.ERROR):
        follower.apply(record("USD|EUR|2026-07-01", b'{"currency": "USD"}', offset=7))
        # A record whose key is not its rate's: a tombstone of the key could not withdraw it.
        follower.apply(record("USD|EUR|2026-09-01", JUL.model_dump_json().encode(), offset=8))
    assert "ignoring invalid rates record USD|EUR|2026-07-01 at offset 7" in caplog.text
    assert "ignoring rates record USD|EUR|2026-09-01 at offset 8: it holds the rate of USD|EUR|2026-07-01" in caplog.text
    assert follower.rates == {JAN.key: JAN}
    assert follower.book.rate("USD", "EUR", date(2026, 12, 1)) == 0.92


class FakeEngine:
    def __init__(self) -> None:
        self.tasks: list[Callable[[], Awaitable[None]]] = []

    def task(self, run: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(run)


def test_rates_follows_the_topic_as_an_engine_task_and_shows_the_live_book() -> None:
    engine = FakeEngine()
    rates = Rates(cast(Engine, engine), KafkaSettings(), TopicNames("sp"))
    assert rates.topic == "sp-rates"
    assert engine.tasks == [rates.follow_rates]
    applied(rates.follower, GBP)
    assert rates.book().rate("GBP", "EUR", date(2026, 3, 1)) == 1.17


def test_targets_and_rates_are_the_compacted_topics() -> None:
    names = TopicNames("sp")
    assert names.compacted() == ("sp-targets", "sp-rates")
    assert not set(names.compacted()) & set(names.all())
