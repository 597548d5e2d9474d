"""Ingest: validate what producers publish and re-key it for the KPI agents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

import faust
from faust.types import Message

from salespulse.models.events import (
    ActivityEvent,
    AnyEvent,
    DealStageEvent,
    MysteryCheckEvent,
    ReviewEvent,
    SelfReportEvent,
    parse_event,
)
from salespulse.models.errors import RejectedEvent
from salespulse.streams.actions import ActionCounts
from salespulse.streams.deal_events import DealEvents
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.writes import Outbox, Write
from salespulse.streams.topics import event_key, partition_of
from salespulse.streams.family import KpiFamily, Wiring
from salespulse.streams.engine.tables import SeenIds


@dataclass(frozen=True)
class Routes:
    """The internal topics a valid event is re-keyed onto, one per KPI family that reads it."""

    activities_by_rep: faust.TopicT
    deal_activities_by_deal: faust.TopicT
    deal_stages_by_deal: faust.TopicT
    reviews_by_rep: faust.TopicT
    mystery_checks_by_team: faust.TopicT
    self_reports_by_rep: faust.TopicT

    def of(self, event: AnyEvent) -> list[tuple[faust.TopicT, str]]:
        """Return (topic, key) for each internal topic that takes this event."""
        if isinstance(event, ActivityEvent):
            routes = [(self.activities_by_rep, event_key(event))]
            if event.deal_id is not None:
                # Process checklists judge a deal's stage changes by the deal's own activities.
                routes.append((self.deal_activities_by_deal, event.deal_id))
            return routes
        if isinstance(event, DealStageEvent):
            return [(self.deal_stages_by_deal, event_key(event))]
        if isinstance(event, ReviewEvent):
            return [(self.reviews_by_rep, event_key(event))]
        if isinstance(event, MysteryCheckEvent):
            return [(self.mystery_checks_by_team, event_key(event))]
        if isinstance(event, SelfReportEvent):
            return [(self.self_reports_by_rep, event_key(event))]
        assert_never(event)


class Ingest(KpiFamily):
    """Owns the producer-facing topics and the agent that validates them.

    An activity whose producer keyed it by rep, onto the partition the worker would choose,
    is already where its counts live: it is folded into the action counts here, and the re-keying
    hop (a send, a second read and a second parse) is skipped. So is a deal's stage change keyed
    by its deal: it is folded into the deal families (`deal_events.DealEvents`) here. Everything
    else is re-keyed onto its family's topic, or set aside for the dead-letter topic.
    """

    reads = ("activities", "deal_stages", "reviews", "mystery_checks", "self_reports")  # TopicNames.ingest()
    agent = "validate_events"

    def __init__(self, wiring: Wiring, *, routes: Routes, actions: ActionCounts, deals: DealEvents) -> None:
        self.routes = routes
        self.actions = actions
        self.deals = deals
        super().__init__(wiring)

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
        for topic, key in self.routes.of(parsed):
            if message.key == key.encode() and partition_of(key, partitions) == message.partition:
                # Read on the partition the worker would have re-keyed it to: folded here.
                if topic is self.routes.activities_by_rep:
                    self.actions.fold_event(parsed, batch, seen_at)
                    continue
                if topic is self.routes.deal_stages_by_deal:
                    self.deals.fold_read(message, parsed, batch, seen_at)
                    continue
            value = value or parsed.model_dump_json().encode()
            outbox.put(topic.get_topic_name(), partition_of(key, partitions), key.encode(), value)
