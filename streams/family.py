"""The base every KPI family folds through: de-duplicated by event id, into its tables.

A family reads its topic in batches (`engine.inbox`), folds each event into its tables in
memory (`engine.batch.Batch`), and at the end of the batch writes one changelog record per
changed key and one record of de-duplication markers per input partition (`engine.writes`).
That is the fast path, and it exists once, in the engine; how each record is counted exactly
once across crashes is told in `engine.tables`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import faust
from faust.types import Message

from salespulse.streams.engine import Engine
from salespulse.streams.engine.batch import Batch, RejectSink
from salespulse.streams.engine.writes import Outbox, Write, route_failed
from salespulse.streams.retention import expiring_changelog


class KpiFold:
    """How one KPI family folds its events: de-duplicated by event id, into its tables.

    A family says how an event changes its tables (`fold`) and, for de-duplication, what an
    event's id is (`event_id`). `DealEvents` feeds the families that judge deals; a `KpiFamily`
    feeds itself from its own topic.
    """

    kind: str = ""  # the event type, as counted in salespulse_events_duplicate_total

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime],
        seen_table: str | None = None,
        dedup_days: int = 0,
        duplicates: Counter[str] | None = None,
    ) -> None:
        """Without `seen_table` a family does not de-duplicate (its fold is idempotent anyway)."""
        self.engine = engine
        self.seen = (
            engine.seen_ids(seen_table, extra_topic_configs=expiring_changelog(dedup_days)) if seen_table else None
        )
        self.duplicates = Counter() if duplicates is None else duplicates
        self.clock = clock
        self.dedup_days = dedup_days

    def event_id(self, event: Any) -> str:
        return str(event.event_id)

    def fold(self, event: Any, batch: Batch) -> None:
        """Apply one new event to the family's tables through `batch`."""
        raise NotImplementedError

    def forward(self, batch: Batch, outbox: Outbox) -> None:
        """Queue records for other families, sent with the batch's changelog records.

        Called when the batch is written, under the write lock, so that what it reads from
        memory is as new as the changelog records beside it: two agents can change the same key,
        and a figure read when a batch was folded could reach Kafka after a newer one.
        """

    def fold_event(self, event: Any, batch: Batch, seen_at: float) -> None:
        """Fold one decoded event read at `batch.origin`, unless it was counted already."""
        if self.seen is not None and not self.seen.first_time(self.event_id(event), batch.origin, seen_at):
            self.duplicates[self.kind] += 1
            return
        self.fold(event, batch)

    def forget_old_ids(self) -> int:
        """Drop de-duplication ids older than the horizon (memory only)."""
        if self.seen is None:
            return 0
        return self.seen.forget_older_than((self.clock() - timedelta(days=self.dedup_days)).timestamp())


class KpiFamily(KpiFold):
    """A KPI family with an agent of its own: reads its topic in batches, folds, writes back.

    Beside the fold, a family says how it decodes a record (`decode`); this class does the rest.
    """

    def __init__(self, engine: Engine, **options: Any) -> None:
        """Takes `KpiFold`'s options."""
        super().__init__(engine, **options)
        self.rejects: RejectSink | None = None

    def reject_to(self, sink: RejectSink) -> None:
        """Send the records this family fails on to `sink` (the dead-letter topic)."""
        self.rejects = sink

    def decode(self, raw: bytes) -> Any:
        """Return the event a record holds."""
        raise NotImplementedError

    def read(self, topic: faust.TopicT, name: str) -> None:
        """Start the family's agent, `name`, on `topic`."""
        self.engine.agent(topic, name, self.fold_batch)

    def fold_batch(self, records: list[Message]) -> Write:
        """Fold one batch; return the write of what it changed and forwards."""
        batch = Batch()
        self.fold_events(records, batch)
        return self.write(batch)

    async def write(self, batch: Batch) -> None:
        await self.engine.write(batch, self.seen, forward=lambda outbox: self.forward(batch, outbox))
        await route_failed(batch, self.rejects)

    def fold_events(self, records: list[Message], batch: Batch) -> None:
        """Fold the events of one batch, each once; set aside those that raise."""
        seen_at = self.clock().timestamp()
        batch.fold_each(records, type(self).__name__, lambda record: self.fold_record(record.value or b"", batch, seen_at))

    def fold_record(self, raw: bytes, batch: Batch, seen_at: float) -> None:
        """Fold one record read at `batch.origin`, unless its event was counted already."""
        self.fold_event(self.decode(raw), batch, seen_at)
