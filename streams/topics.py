"""Topic names and the one place that creates them.

Producers write to the five ingest topics (one per event type) with any key; the
worker validates each event and re-keys it onto an internal topic, so that a rep's (or a deal's)
events always meet the same table partition whatever key the producer chose.

The settings every worker needs whole (targets, exchange rates) are compacted topics of one
partition, read here from the beginning by a consumer outside the group and written under a key
per record: a later record replaces an earlier one of its key, a tombstone removes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import murmur2
from aiokafka.helpers import create_ssl_context
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

from salespulse.models.config import KafkaSettings, KafkaTopology
from salespulse.models.events import AnyEvent
from salespulse.models.routes import ROUTES, event_key, rep_key, route_of

__all__ = [
    "TopicNames",
    "ensure_topics",
    "event_key",
    "follow_compacted",
    "kafka_client_options",
    "partition_of",
    "publish_keyed",
    "read_compacted",
    "rep_key",
]


@dataclass(frozen=True)
class TopicNames:
    """The pipeline's topics, all prefixed with its app id (`kafka.app_id`).

    A topic is named by an identifier (`deal_stages_by_deal`), the route table's and the
    families' way to name it; its Kafka name is the app id and the identifier with dashes
    (`salespulse-deal-stages-by-deal`). The topics everything uses have a property.
    """

    app_id: str

    def of(self, name: str) -> str:
        """Return the Kafka name of the topic an identifier names."""
        return f"{self.app_id}-{name.replace('_', '-')}"

    @property
    def activities(self) -> str:
        return self.of("activities")

    @property
    def deal_stages(self) -> str:
        return self.of("deal_stages")

    @property
    def reviews(self) -> str:
        return self.of("reviews")

    @property
    def mystery_checks(self) -> str:
        return self.of("mystery_checks")

    @property
    def self_reports(self) -> str:
        return self.of("self_reports")

    @property
    def dead_letter(self) -> str:
        return self.of("dead_letter")

    @property
    def activities_by_rep(self) -> str:
        return self.of("activities_by_rep")

    @property
    def deal_stages_by_deal(self) -> str:
        return self.of("deal_stages_by_deal")

    @property
    def deal_activities_by_deal(self) -> str:
        return self.of("deal_activities_by_deal")

    @property
    def reviews_by_rep(self) -> str:
        return self.of("reviews_by_rep")

    @property
    def mystery_checks_by_team(self) -> str:
        return self.of("mystery_checks_by_team")

    @property
    def self_reports_by_rep(self) -> str:
        return self.of("self_reports_by_rep")

    @property
    def deal_figures_by_rep(self) -> str:
        return self.of("deal_figures_by_rep")

    @property
    def week_closings(self) -> str:
        return self.of("week_closings")

    @property
    def targets(self) -> str:
        return self.of("targets")

    @property
    def rates(self) -> str:
        return self.of("rates")

    def compacted(self) -> tuple[str, ...]:
        """Return the compacted single-partition topics every worker reads whole: targets, rates."""
        return (self.targets, self.rates)

    def all(self) -> tuple[str, ...]:
        """Return every topic the pipeline reads or writes, changelogs, targets and rates aside."""
        rekeyed = (name for route in ROUTES for name in route.topics())
        return (*self.ingest(), self.dead_letter, *map(self.of, rekeyed), self.deal_figures_by_rep, self.week_closings)

    def ingest(self) -> tuple[str, ...]:
        """Return the producer-facing topics, in the route table's order."""
        return tuple(self.of(route.topic) for route in ROUTES)

    def ingest_topic(self, event: AnyEvent) -> str:
        """Return the producer-facing topic an event belongs to."""
        return self.of(route_of(event).topic)


@lru_cache(maxsize=65_536)
def partition_of(key: str, partitions: int) -> int:
    """Return the partition the producers' default partitioner gives a record key."""
    # murmur2 is pure Python and keys (reps, deals) recur: the cache takes it off the hot path.
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def kafka_client_options(kafka: KafkaSettings) -> dict[str, object]:
    """Return aiokafka keyword arguments for the connection settings."""
    options: dict[str, object] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=kafka.ssl_cafile)
    if kafka.sasl_mechanism:
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    return options


# The topics people's acts are published to (reviews, mystery checks, self-reports) are few records
# a day, and `salespulse web` reads them back (a rep's review notes are nowhere else): they are
# kept a year and more, not the broker's default week.
PEOPLE_TOPICS_RETENTION_MS = str(400 * 86_400_000)


async def ensure_topics(
    kafka: KafkaSettings, topology: KafkaTopology, changelogs: Mapping[str, Mapping[str, str]] | None = None
) -> list[str]:
    """Create any missing Salespulse topic, and the given changelog topics; return the names created.

    Changelogs are created before the worker starts because a table written before its changelog
    topic shows up in the worker's metadata makes Faust raise PartitionsMismatch and crash the agent.
    """
    changelogs = changelogs or {}
    admin = AIOKafkaAdminClient(**kafka_client_options(kafka))  # type: ignore[arg-type]
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = TopicNames(topology.app_id)
        missing = [name for name in (*names.all(), *names.compacted(), *changelogs) if name not in existing]
        kept = {names.reviews, names.mystery_checks, names.self_reports}
        if missing:
            try:
                await admin.create_topics(
                    [
                        # Targets and rates are few and read whole by every worker: one compacted partition.
                        NewTopic(name, 1, topology.replication_factor, topic_configs={"cleanup.policy": "compact"})
                        if name in names.compacted()
                        else NewTopic(
                            name,
                            topology.partitions,
                            topology.replication_factor,
                            topic_configs=(
                                {"retention.ms": PEOPLE_TOPICS_RETENTION_MS} if name in kept else dict(changelogs.get(name, {}))
                            ),
                        )
                        for name in missing
                    ]
                )
            except TopicAlreadyExistsError:
                pass  # another worker or publisher won the race; the topic is there
        return missing
    finally:
        await admin.close()


@asynccontextmanager
async def from_beginning(kafka: KafkaSettings, topic: str) -> AsyncIterator[tuple[AIOKafkaConsumer, TopicPartition]]:
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


async def read_compacted(kafka: KafkaSettings, topic: str, apply: Callable[[ConsumerRecord], None]) -> None:
    """Apply every record of a compacted single-partition topic, up to the end it has now."""
    async with from_beginning(kafka, topic) as (consumer, partition):
        end = (await consumer.end_offsets([partition]))[partition]
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=1000)
            for record in batch.get(partition, []):
                apply(record)


async def follow_compacted(
    kafka: KafkaSettings,
    topic: str,
    apply: Callable[[ConsumerRecord], None],
    caught_up: asyncio.Event,
    stop: asyncio.Event | None = None,
) -> None:
    """Apply a compacted topic from the beginning, then each new record, until stopped.

    `caught_up` is set once the records the topic held when following began are applied.
    """
    async with from_beginning(kafka, topic) as (consumer, partition):
        end = (await consumer.end_offsets([partition]))[partition]
        while stop is None or not stop.is_set():
            if await consumer.position(partition) >= end:
                caught_up.set()
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    apply(record)


async def publish_keyed(kafka: KafkaSettings, topic: str, records: Iterable[tuple[str, bytes | None]]) -> None:
    """Write (key, value) records, a None value as a tombstone, and wait for every acknowledgement."""
    producer = AIOKafkaProducer(**kafka_client_options(kafka), acks="all", enable_idempotence=True)  # type: ignore[arg-type]
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, key=key.encode(), value=value)
    finally:
        await producer.stop()
