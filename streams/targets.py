"""Targets in Kafka: a compacted topic every worker reads whole, and follows, outside the group.

Targets are few and every worker needs all of them (a worker owns only some reps' partitions,
but any team's pace may be asked of it), so they are not split across the consumer group: each
worker reads the single partition from the beginning with a consumer of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.structs import TopicPartition
from pydantic import ValidationError

from salespulse.models.config import KafkaSettings
from salespulse.models.targets import TargetSet
from salespulse.streams.topics import kafka_client_options

log = logging.getLogger(__name__)


@asynccontextmanager
async def _from_beginning(kafka: KafkaSettings, topic: str) -> AsyncIterator[tuple[AIOKafkaConsumer, TopicPartition]]:
    """Yield a group-less consumer positioned at the start of the topic's single partition."""
    consumer = AIOKafkaConsumer(
        **kafka_client_options(kafka),  # type: ignore[arg-type]
        group_id=None,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        yield consumer, partition
    finally:
        await consumer.stop()


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
        async with _from_beginning(kafka, topic) as (consumer, partition):
            end = (await consumer.end_offsets([partition]))[partition]
            while stop is None or not stop.is_set():
                if await consumer.position(partition) >= end:
                    self.caught_up.set()
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        self.apply(record)


async def read_targets(kafka: KafkaSettings, topic: str) -> TargetBook:
    """Read the targets topic up to its current end."""
    book = TargetBook()
    async with _from_beginning(kafka, topic) as (consumer, partition):
        end = (await consumer.end_offsets([partition]))[partition]
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=1000)
            for record in batch.get(partition, []):
                book.apply(record)
    return book


async def publish_targets(kafka: KafkaSettings, topic: str, sets: Iterable[TargetSet]) -> None:
    """Write target sets, each under its team-and-week key, and wait for every acknowledgement."""
    producer = AIOKafkaProducer(**kafka_client_options(kafka), acks="all", enable_idempotence=True)  # type: ignore[arg-type]
    await producer.start()
    try:
        for target_set in sets:
            await producer.send_and_wait(
                topic, key=target_set.key.encode(), value=target_set.model_dump_json().encode()
            )
    finally:
        await producer.stop()
