"""The dead-letter topic: where every rejected event goes, with its reason, and is counted.

Records keep the producer's original bytes as value; the reason is the record key (so that all
rejections of one reason meet one partition of the counting table) and, with a human-readable
detail and where the record came from, in headers.
"""

from __future__ import annotations

import logging

import faust
from faust.types import Message

from salespulse.models.errors import RejectedEvent
from salespulse.streams.family import Batch, Write, batch_agent, stamped_table, write_batch
from salespulse.streams.topics import TopicNames, internal_topic

log = logging.getLogger(__name__)

REASON_HEADER = "salespulse.reason"
DETAIL_HEADER = "salespulse.detail"
ORIGIN_HEADER = "salespulse.origin"
TRUNCATED_HEADER = "salespulse.truncated"


def dead_letter_headers(rejection: RejectedEvent, origin: str) -> list[tuple[str, bytes]]:
    """Return the headers of a dead-letter record."""
    return [
        (REASON_HEADER, rejection.reason.encode()),
        (DETAIL_HEADER, rejection.detail.encode()),
        (ORIGIN_HEADER, origin.encode()),
    ]


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


class DeadLetter:
    """Routes rejected events and counts rejections by reason in a changelog-backed table."""

    def __init__(self, app: faust.App, topics: TopicNames, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.topic = internal_topic(app, topics.dead_letter)
        self.reasons_to_rejected = stamped_table(app, "reasons_to_rejected", default=int)
        # Counts dead-letter records by reason, whoever put them there.
        batch_agent(app, self.topic, "count_rejections", self.fold_batch)

    async def route(self, message: Message, rejection: RejectedEvent) -> None:
        """Send a rejected event to the dead-letter topic; the one place that does so."""
        origin = f"{message.topic}[{message.partition}] offset {message.offset}"
        log.warning("rejected %s: %s", origin, rejection)
        value, headers = dead_letter_record(message.value or b"", rejection, origin, self.max_bytes)
        await self.topic.send(key=rejection.reason, value=value, headers=headers)

    def fold_batch(self, records: list[Message]) -> Write:
        batch = Batch()
        batch.fold_each(records, "count_rejections", lambda record: batch.add(self.reasons_to_rejected, reason_of(record)))
        return write_batch(self.app, batch)
