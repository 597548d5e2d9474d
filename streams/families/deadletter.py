"""The dead-letter topic: where every rejected event goes, with its reason, and is counted.

Records keep the producer's original bytes as value; the reason is the record key (so that all
rejections of one reason meet one partition of the counting table) and, with a human-readable
detail and where the record came from, in headers.

A record the gateway wrote names the vendor item it stands for (`ITEM_HEADER`). A vendor may
deliver an item again after the gateway restarted and forgot it, so the worker counts the
rejection of an item once per reason: counts are of items, not of deliveries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from faust.types import Message

from salespulse.models.errors import RejectedEvent
from salespulse.streams.engine.batch import Batch
from salespulse.streams.retention import expiring_changelog
from salespulse.streams.family import KpiFamily
from salespulse.streams.engine.tables import SeenIds

log = logging.getLogger(__name__)

REASON_HEADER = "salespulse.reason"
DETAIL_HEADER = "salespulse.detail"
ORIGIN_HEADER = "salespulse.origin"
TRUNCATED_HEADER = "salespulse.truncated"
ITEM_HEADER = "salespulse.item_id"
# How long an item's counted rejection is remembered: longer than vendors retry (HubSpot and
# Salesforce for a day), so that a retry after a gateway restart is not counted again.
ITEM_HORIZON_DAYS = 3


def dead_letter_headers(rejection: RejectedEvent, origin: str, item: str | None = None) -> list[tuple[str, bytes]]:
    """Return the headers of a dead-letter record; `item` names the vendor item it stands for."""
    headers = [
        (REASON_HEADER, rejection.reason.encode()),
        (DETAIL_HEADER, rejection.detail.encode()),
        (ORIGIN_HEADER, origin.encode()),
    ]
    if item is not None:
        headers.append((ITEM_HEADER, item.encode()))
    return headers


def dead_letter_record(
    value: bytes, rejection: RejectedEvent, origin: str, max_bytes: int
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Return the value and headers of a dead-letter record; a value over `max_bytes` is cut.

    A record too large for the topic would make the send fail, and the event would be lost; its
    first `max_bytes` are kept and its original size goes in a header.
    """
    headers = dead_letter_headers(rejection, origin)
    if len(value) > max_bytes:
        headers.append((TRUNCATED_HEADER, str(len(value)).encode()))
        value = value[:max_bytes]
    return value, headers


def reason_of(record: Message) -> str:
    """Return the reason a dead-letter record was rejected for: its key."""
    return record.key.decode(errors="replace") if record.key else "unknown"


def item_of(record: Message) -> str | None:
    """Return the vendor item a dead-letter record stands for, or None when it names none."""
    headers = record.headers or ()
    # Faust gives the headers as aiokafka's list of pairs, or as a mapping when a sender did.
    for key, value in headers.items() if isinstance(headers, Mapping) else headers:
        if key == ITEM_HEADER and value:
            return value.decode(errors="replace")
    return None


class DeadLetter(KpiFamily):
    """Routes rejected events and counts rejections by reason in a changelog-backed table.

    Its agent counts dead-letter records by reason, whoever put them there, each vendor item once.
    """

    reads = ("dead_letter",)
    agent = "count_rejections"
    prune_every_s, prune_timer = 300.0, "prune_rejected_items"

    def declare(self) -> None:
        self.max_bytes = self.settings.limits.max_event_bytes
        self.reasons_to_rejected = self.table("reasons_to_rejected", default=int)
        self.items_to_seen_at = self.engine.seen_ids(
            "rejected_items_to_seen_at", extra_topic_configs=expiring_changelog(ITEM_HORIZON_DAYS)
        )

    async def route(self, message: Message, rejection: RejectedEvent) -> None:
        """Send a rejected event to the dead-letter topic; the one place that does so."""
        origin = f"{message.topic}[{message.partition}] offset {message.offset}"
        log.warning("rejected %s: %s", origin, rejection)
        value, headers = dead_letter_record(message.value or b"", rejection, origin, self.max_bytes)
        await self.topic.send(key=rejection.reason, value=value, headers=headers)

    def seen_tables(self) -> list[SeenIds | None]:
        return [self.items_to_seen_at]

    def fold_events(self, records: list[Message], batch: Batch) -> None:
        seen_at = self.clock().timestamp()
        batch.fold_each(records, "count_rejections", lambda record: self.count(record, batch, seen_at))

    def count(self, record: Message, batch: Batch, seen_at: float) -> None:
        """Count one rejection, unless it is of a vendor item already counted for that reason."""
        reason, item = reason_of(record), item_of(record)
        # The reason is the record key, so one item's markers of a reason stay on one partition.
        if item is not None and not self.items_to_seen_at.first_time(f"{reason} {item}", batch.origin, seen_at):
            return
        batch.add(self.reasons_to_rejected, reason)

    async def prune(self) -> None:
        """Forget the items counted before the horizon (memory only; their changelog records expire)."""
        self.items_to_seen_at.forget_older_than((self.clock() - timedelta(days=ITEM_HORIZON_DAYS)).timestamp())
