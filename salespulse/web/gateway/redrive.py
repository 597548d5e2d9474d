"""Sending events again: dead-letter records whose mapping is fixed, and vendors' CSV exports.

Both go through the same adapters and the same event ids as the webhooks, so a record sent
twice, or a row imported twice, is a duplicate the worker counts once.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from salespulse.web.gateway.adapters import ADAPTERS, CSV_MAPPERS, csv_header_problem
from salespulse.web.gateway.adapters.common import Mapped, Refused, Request
from salespulse.web.gateway.server import CONTENT_TYPE_HEADER, RECEIVED_HEADER, SOURCE_HEADER, URL_HEADER
from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.errors import ConfigError, RejectedEvent
from salespulse.models.events import parse_event
from salespulse.publisher import make_producer
from salespulse.streams.changelogs import read_to_end
from salespulse.streams.families.deadletter import ITEM_HEADER, REASON_HEADER, TRUNCATED_HEADER, dead_letter_headers
from salespulse.streams.topics import TopicNames, ensure_topics, event_key


@dataclass
class Redrive:
    """What a replay or an import did."""

    sent: int = 0
    ignored: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (where, reason, detail)


class Sender:
    """Validates events and sends them to the ingest topics; rejected ones go to the dead-letter topic."""

    def __init__(self, producer: AIOKafkaProducer, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.producer, self.settings, self.clock = producer, settings, clock
        self.topics = TopicNames(settings.kafka.app_id)
        self.pending: list[Any] = []

    async def send(self, event: dict[str, Any], where: str, report: Redrive) -> None:
        raw = json.dumps(event, separators=(",", ":")).encode()
        await self.send_raw(raw, where, report)

    async def send_raw(self, raw: bytes, where: str, report: Redrive) -> None:
        try:
            parsed = parse_event(raw, self.settings, self.clock())
        except RejectedEvent as rejection:
            report.problems.append((where, rejection.reason, rejection.detail))
            headers = dead_letter_headers(rejection, where)
            value = raw[: self.settings.limits.max_event_bytes]
            self.pending.append(await self.producer.send(self.topics.dead_letter, value, key=rejection.reason.encode(), headers=headers))
            return
        self.pending.append(await self.producer.send(self.topics.ingest_topic(parsed), raw, key=event_key(parsed).encode()))
        report.sent += 1

    async def flush(self) -> None:
        await asyncio.gather(*self.pending)
        self.pending = []


async def _with_sender(kafka: KafkaSettings, settings: Settings, clock: Callable[[], datetime], work: Callable[[Sender], Any]) -> None:
    await ensure_topics(kafka, settings.kafka)
    producer = make_producer(kafka)
    await producer.start()
    try:
        sender = Sender(producer, settings, clock)
        await work(sender)
        await sender.flush()
    finally:
        await producer.stop()


async def replay_dead_letters(
    settings: Settings,
    kafka: KafkaSettings,
    clock: Callable[[], datetime],
    reasons: set[str],
    source: str | None = None,
) -> Redrive:
    """Send again the dead-letter records of the given reasons, as they stand in the topic now.

    A gateway record holds the vendor's whole request body and is mapped again with the current
    mapping (its signature was checked when it came); only the item the record names is sent,
    and an item is replayed once however many records a vendor's retries left. Any other record
    holds one event. Records that still cannot be sent are reported and stay where they are.
    """
    report = Redrive()
    mappings = settings.sources.configured()
    replayed: set[tuple[str | None, str]] = set()  # (source, item) of the records replayed so far

    async def work(sender: Sender) -> None:
        async for record in read_to_end(kafka, TopicNames(settings.kafka.app_id).dead_letter, timeout_s=120):
            headers = {key: value.decode(errors="replace") for key, value in record.headers}
            if headers.get(REASON_HEADER) not in reasons or (source and headers.get(SOURCE_HEADER) != source):
                continue
            item = headers.get(ITEM_HEADER)
            if item is not None:
                if (headers.get(SOURCE_HEADER), item) in replayed:
                    continue
                replayed.add((headers.get(SOURCE_HEADER), item))
            where = f"dead-letter[{record.partition}] offset {record.offset}"
            if TRUNCATED_HEADER in headers:
                report.problems.append((where, "too_large", f"cut to {len(record.value)} of {headers[TRUNCATED_HEADER]} bytes"))
                continue
            vendor = headers.get(SOURCE_HEADER)
            if vendor is None:
                await sender.send_raw(record.value, where, report)
                continue
            if vendor not in mappings:
                report.problems.append((where, "unknown_source", f"sources.{vendor} is not in the configuration"))
                continue
            request = Request(
                "POST",
                headers.get(URL_HEADER, ""),
                {"Content-Type": headers.get(CONTENT_TYPE_HEADER, "")},
                record.value,
                datetime.fromisoformat(headers[RECEIVED_HEADER]),
            )
            mapping = mappings[vendor]
            await _map_and_send(sender, lambda: _item_of(ADAPTERS[vendor].map(request, mapping, settings), item), where, report)

    await _with_sender(kafka, settings, clock, work)
    return report


def _item_of(mapped: Mapped, item: str | None) -> Mapped:
    """Return the outcome of the item a record stands for: its body may hold others, each with its own record."""
    return mapped if item is None else mapped.only(lambda each: each == item)


async def _map_and_send(sender: Sender, map_item: Callable[[], Mapped], where: str, report: Redrive) -> None:
    """Map one record or row and send its events; what cannot be mapped goes in the report."""
    try:
        mapped = map_item()
    except Refused as refused:
        report.problems.append((where, refused.reason, refused.detail))
        return
    for event in mapped.events:
        await sender.send(event, where, report)
    report.problems.extend((where, item.reason, item.detail) for item in mapped.unmapped)
    report.ignored += mapped.ignored


def _rows(path: Path, source: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Read a CSV export, refusing a file whose header fits none of the source's exports."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    problem = csv_header_problem(source, reader.fieldnames or ())
    if problem:
        raise ConfigError(f"{path}:1: {problem}")
    for row in reader:
        yield reader.line_num, row


async def import_csv(
    path: Path,
    source: str,
    settings: Settings,
    kafka: KafkaSettings,
    clock: Callable[[], datetime],
    show_progress: bool = True,
) -> Redrive:
    """Map every row of a vendor's CSV export and send the events."""
    mapping = settings.sources.configured().get(source)
    if mapping is None:
        raise ConfigError(f"sources.{source}: no mapping in the configuration; an import needs its owners and stages")
    rows = list(_rows(path, source))
    report = Redrive()

    async def work(sender: Sender) -> None:
        for line, row in tqdm(rows, unit="row", disable=not show_progress):
            where = f"{path.name}:{line}"
            await _map_and_send(sender, lambda: CSV_MAPPERS[source](row, line, mapping, settings), where, report)

    await _with_sender(kafka, settings, clock, work)
    return report
