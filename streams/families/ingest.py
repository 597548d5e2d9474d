"""Ingest: validate what producers publish and re-key it for the KPI agents."""

from __future__ import annotations

from datetime import datetime

from faust.types import Message

from salespulse.models.events import parse_event
from salespulse.models.errors import RejectedEvent
from salespulse.streams.families.actions import ActionCounts
from salespulse.streams.families.deal_events import DealEvents
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.writes import Outbox, Write
from salespulse.models.routes import ROUTES, route_of
from salespulse.streams.topics import partition_of
from salespulse.streams.family import KpiFamily, Wiring
from salespulse.streams.engine.tables import SeenIds


class Ingest(KpiFamily):
    """Owns the producer-facing topics and the agent that validates them.

    An activity whose producer keyed it by rep, onto the partition the worker would choose,
    is already where its counts live: it is folded into the action counts here, and the re-keying
    hop (a send, a second read and a second parse) is skipped. So is a deal's stage change keyed
    by its deal: it is folded into the deal families (`deal_events.DealEvents`) here. Everything
    else is re-keyed onto its family's topic, or set aside for the dead-letter topic.
    """

    reads = tuple(route.topic for route in ROUTES)  # the producers' topics, TopicNames.ingest()
    agent = "validate_events"

    def __init__(self, wiring: Wiring, *, actions: ActionCounts, deals: DealEvents) -> None:
        self.actions = actions
        self.deals = deals
        super().__init__(wiring)
        topics = wiring.topics
        # The families a record is folded into here when it was read where they would read it.
        self.activities_by_rep = topics.activities_by_rep
        self.deal_stages_by_deal = topics.deal_stages_by_deal
        self.names = {attribute: topics.of(attribute) for route in ROUTES for attribute in route.topics()}

    def seen_tables(self) -> list[SeenIds | None]:
        return [self.actions.seen, *self.deals.seen_tables()]

    def forward(self, batch: Batch, outbox: Outbox) -> None:
        self.deals.forward(batch, outbox)

    def fold_batch(self, records: list[Message]) -> Write:
        """Validate one batch; return the write of what it changed and routed."""
        partitions = self.settings.kafka.partitions
        now = self.clock()
        seen_at = now.timestamp()
        batch = Batch()
        outbox = Outbox()
        batch.fold_each(
            records, "validate_events", lambda record: self.take(record, now, seen_at, batch, outbox, partitions)
        )
        return self.write(batch, outbox)

    def take(
        self, message: Message, now: datetime, seen_at: float, batch: Batch, outbox: Outbox, partitions: int
    ) -> None:
        """Validate one record; fold it here, queue it for its families, or set it aside for the dead-letter topic."""
        try:
            parsed = parse_event(message.value or b"", self.settings, now)
        except RejectedEvent as rejection:
            batch.reject(message, rejection)
            return
        value = None
        for attribute, key in route_of(parsed).targets(parsed):
            topic = self.names[attribute]
            if message.key == key.encode() and partition_of(key, partitions) == message.partition:
                # Read on the partition the worker would have re-keyed it to: folded here.
                if topic == self.activities_by_rep:
                    self.actions.fold_event(parsed, batch, seen_at)
                    continue
                if topic == self.deal_stages_by_deal:
                    self.deals.fold_read(message, parsed, batch, seen_at)
                    continue
            value = value or parsed.model_dump_json().encode()
            outbox.put(topic, partition_of(key, partitions), key.encode(), value)
