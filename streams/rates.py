"""Exchange rates in Kafka: a compacted topic every worker reads whole, and follows, outside the group.

As with targets (`salespulse.streams.targets`), rates are few and every worker needs all of them
(a deal of any team may be valued by any worker), so each worker reads the single partition from
the beginning with a consumer of its own. One record per rate, keyed by pair and day
(`USD|EUR|2026-07-01`, `Rate.key`), its value the rate's JSON; a later record of the key replaces
the rate, a tombstone withdraws it. Only `salespulse rates apply` writes here, after validation (tombstones with `--prune`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from salespulse.models.config import KafkaSettings
from salespulse.models.rates import Rate, RateBook
from salespulse.streams.topics import TopicNames, follow_compacted, publish_keyed, read_compacted

if TYPE_CHECKING:
    # Only the worker builds `Rates`; the command line reads rates without loading the engine.
    from salespulse.streams.engine import Engine

log = logging.getLogger(__name__)


class RateFollower:
    """The rates a worker knows, by topic key, and the live `RateBook` they make; kept current by `follow`."""

    def __init__(self) -> None:
        self.rates: dict[str, Rate] = {}
        self.book = RateBook()
        # Set once the topic has been read to the end it had when following began.
        self.caught_up = asyncio.Event()

    def apply(self, record: ConsumerRecord) -> None:
        """Fold one record of the rates topic; a tombstone withdraws its rate."""
        key = record.key.decode() if record.key else ""
        if record.value is None:
            withdrawn = self.rates.pop(key, None)
            if withdrawn is not None:
                self.book.remove(withdrawn.currency, withdrawn.to, withdrawn.effective_from)
            return
        try:
            rate = Rate.model_validate_json(record.value)
        except ValidationError as exc:
            # A foreign record is reported, not fatal.
            log.error("ignoring invalid rates record %s at offset %s: %s", key, record.offset, exc)
            return
        if rate.key != key:
            # A tombstone of this key could not withdraw the rate the book would hold.
            log.error("ignoring rates record %s at offset %s: it holds the rate of %s", key, record.offset, rate.key)
            return
        self.rates[key] = rate
        self.book.add(rate)

    async def follow(self, kafka: KafkaSettings, topic: str, stop: asyncio.Event | None = None) -> None:
        """Read the topic from the beginning and keep applying new records until stopped."""
        await follow_compacted(kafka, topic, self.apply, self.caught_up, stop)


async def read_rates(kafka: KafkaSettings, topic: str) -> RateFollower:
    """Read the rates topic up to its current end."""
    follower = RateFollower()
    await read_compacted(kafka, topic, follower.apply)
    return follower


async def publish_rates(kafka: KafkaSettings, topic: str, rates: Iterable[Rate]) -> None:
    """Write rates, each under its pair-and-day key, and wait for every acknowledgement."""
    await publish_keyed(kafka, topic, ((rate.key, rate.model_dump_json().encode()) for rate in rates))


async def withdraw_rates(kafka: KafkaSettings, topic: str, rates: Iterable[Rate]) -> None:
    """Write a tombstone under each rate's key: every worker's book drops it, and compaction the record."""
    rates = list(rates)
    if rates:
        await publish_keyed(kafka, topic, [(rate.key, None) for rate in rates])


class Rates:
    """Owns the worker's rate book and the task that keeps it current."""

    def __init__(self, engine: Engine, kafka: KafkaSettings, topics: TopicNames) -> None:
        self.follower = RateFollower()
        self.kafka = kafka
        self.topic = topics.rates
        engine.task(self.follow_rates)

    async def follow_rates(self) -> None:
        """Apply every change to the rates topic while the worker runs."""
        await self.follower.follow(self.kafka, self.topic)

    def book(self) -> RateBook:
        """Return the rate book as it is now; it changes in place as rates are applied."""
        return self.follower.book
