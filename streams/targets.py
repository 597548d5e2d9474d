"""Targets in Kafka: a compacted topic every worker reads whole, and follows, outside the group.

Targets are few and every worker needs all of them (a worker owns only some reps' partitions,
but any team's pace may be asked of it), so they are not split across the consumer group: each
worker reads the single partition from the beginning with a consumer of its own
(`salespulse.streams.topics.follow_compacted`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from salespulse.models.config import KafkaSettings
from salespulse.models.targets import TargetSet
from salespulse.streams.topics import follow_compacted, publish_keyed, read_compacted

log = logging.getLogger(__name__)


class TargetBook:
    """The target sets a worker knows, by topic key; kept current by `follow`."""

    def __init__(self) -> None:
        self.sets: dict[str, TargetSet] = {}
        # Set once the topic has been read to the end it had when following began.
        self.caught_up = asyncio.Event()

    def apply(self, record: ConsumerRecord) -> None:
        """Fold one record of the targets topic; a tombstone removes its set."""
        key = record.key.decode() if record.key else ""
        if record.value is None:
            self.sets.pop(key, None)
            return
        try:
            self.sets[key] = TargetSet.model_validate_json(record.value)
        except ValidationError as exc:
            # Only `targets apply` writes here, after validation; a foreign record is reported, not fatal.
            log.error("ignoring invalid targets record %s at offset %s: %s", key, record.offset, exc)

    async def follow(self, kafka: KafkaSettings, topic: str, stop: asyncio.Event | None = None) -> None:
        """Read the topic from the beginning and keep applying new records until stopped."""
        await follow_compacted(kafka, topic, self.apply, self.caught_up, stop)


async def read_targets(kafka: KafkaSettings, topic: str) -> TargetBook:
    """Read the targets topic up to its current end."""
    book = TargetBook()
    await read_compacted(kafka, topic, book.apply)
    return book


async def publish_targets(kafka: KafkaSettings, topic: str, sets: Iterable[TargetSet]) -> None:
    """Write target sets, each under its team-and-week key, and wait for every acknowledgement."""
    await publish_keyed(kafka, topic, ((s.key, s.model_dump_json().encode()) for s in sets))
