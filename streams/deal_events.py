"""The one agent that reads a deal's stage changes and activities for every family that judges deals.

Deal velocity, stage checklists and the mystery draw's deal months all read the deal-keyed
topics. An agent each meant that every stage change was handed over and parsed three times and
every activity of a deal twice; Faust's hand-over of a record costs more than any family's fold.
Here each record is handed over and parsed once and folded into each family in turn. The families
keep their own tables, de-duplication markers and stamps, so each still counts an event once, and
a family that raises on a record sends it to the dead-letter topic without holding back the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import faust
from faust.types import Message

from salespulse.models.events import EVENT_ADAPTER, AnyEvent
from salespulse.streams.engine import Engine
from salespulse.streams.engine.batch import Batch, RejectSink
from salespulse.streams.engine.tables import SeenIds
from salespulse.streams.engine.writes import Outbox, route_failed, Write
from salespulse.streams.family import KpiFold


class DealEvents:
    """Owns the `judge_deals` agent over the deal-keyed topics, folding for each family given."""

    def __init__(
        self, engine: Engine, deal_events: faust.TopicT, families: Sequence[KpiFold], clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.families = families
        self.clock = clock
        self.rejects: RejectSink | None = None
        engine.agent(deal_events, "judge_deals", self.fold_batch)

    def reject_to(self, sink: RejectSink) -> None:
        """Send records that cannot be parsed, or that a family fails on, to `sink`."""
        self.rejects = sink

    def fold_batch(self, records: list[Message]) -> Write:
        """Fold one batch into every family; return the write of what changed."""
        batch = Batch()
        seen_at = self.clock().timestamp()
        # A record that does not parse here was not written by ingest, which validated it.
        batch.fold_each(
            records,
            "judge_deals",
            lambda record: self.fold_event(record, EVENT_ADAPTER.validate_json(record.value or b""), batch, seen_at),
        )
        return self.write(batch)

    def fold_event(self, record: Message, event: AnyEvent, batch: Batch, seen_at: float) -> None:
        """Fold a deal's event, read at `batch.origin` from `record`, into each family.

        Also the ingest agent's way for a stage change its producer keyed by deal: read on the
        partition its deal's tables are on, it is folded where it was read.
        """
        for family in self.families:
            try:
                family.fold_event(event, batch, seen_at)
            except Exception as exc:  # one family's failure must not stop the others or be lost
                batch.fail(record, type(family).__name__, exc)

    def forward(self, batch: Batch, outbox: Outbox) -> None:
        """Queue the figures each family forwards for what `batch` changed (when it is written)."""
        for family in self.families:
            family.forward(batch, outbox)

    def seen_tables(self) -> list[SeenIds | None]:
        """Return the families' de-duplication tables, whose markers a batch writes."""
        return [family.seen for family in self.families]

    async def write(self, batch: Batch) -> None:
        await self.engine.write(batch, *self.seen_tables(), forward=lambda outbox: self.forward(batch, outbox))
        await route_failed(batch, self.rejects)
