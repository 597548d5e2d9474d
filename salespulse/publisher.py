"""`salespulse publish`: validate a JSONL file and produce its events to Kafka."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.events import parse_event
from salespulse.models.errors import ConfigError, RejectedEvent
from salespulse.streams.families.deadletter import dead_letter_record
from salespulse.streams.topics import TopicNames, ensure_topics, event_key, kafka_client_options


@dataclass(frozen=True)
class RejectedLine:
    """A line that did not pass validation."""

    line: int
    reason: str
    detail: str


@dataclass
class PublishReport:
    """What happened to each line of a file."""

    accepted: int = 0
    blank: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)


def make_producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    """Return an idempotent producer that waits for every in-sync replica."""
    return AIOKafkaProducer(
        **kafka_client_options(kafka),  # type: ignore[arg-type]
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )


async def publish_file(
    path: Path,
    settings: Settings,
    kafka: KafkaSettings,
    clock: Callable[[], datetime],
    show_progress: bool = True,
) -> PublishReport:
    """Send every valid line to its topic and every invalid one to the dead-letter topic."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    await ensure_topics(kafka, settings.kafka)
    topics = TopicNames(settings.kafka.app_id)
    report = PublishReport()
    producer = make_producer(kafka)
    await producer.start()
    try:
        pending = []
        for number, raw in enumerate(tqdm(lines, unit="event", disable=not show_progress), start=1):
            if not raw.strip():
                report.blank += 1
                continue
            try:
                event = parse_event(raw, settings, clock())
            except RejectedEvent as rejection:
                report.rejected.append(RejectedLine(number, rejection.reason, rejection.detail))
                value, headers = dead_letter_record(
                    raw, rejection, f"{path.name}:{number}", settings.limits.max_event_bytes
                )
                pending.append(
                    await producer.send(topics.dead_letter, key=rejection.reason.encode(), value=value, headers=headers)
                )
                continue
            pending.append(
                await producer.send(topics.ingest_topic(event), key=event_key(event).encode(), value=raw)
            )
            report.accepted += 1
        for delivery in pending:
            await delivery
    finally:
        await producer.stop()
    return report
