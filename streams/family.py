"""The base every KPI family folds through: de-duplicated by event id, into its tables.

A family reads its topics in batches (`engine.inbox`), folds each event into its tables in
memory (`engine.batch.Batch`), and at the end of the batch writes one changelog record per
changed key and one record of de-duplication markers per input partition (`engine.writes`).
That is the fast path, and it exists once, in the engine; how each record is counted exactly
once across crashes is told in `engine.tables`.

A family is declared, not wired by hand:

    class ReviewScores(KpiFamily):
        kind = "review"                      # its events, as salespulse_events_duplicate_total counts them
        reads = ("reviews_by_rep",)          # the topics its agent reads (`TopicNames` attributes)
        agent = "score_reviews"
        seen_table = "review_ids_to_seen_at" # de-duplication by event id, for retention.dedup_days
        prune_every_s, prune_timer = 300.0, "prune_reviews"

        def declare(self) -> None:           # its tables
            self.review_days_to_scores = self.table("review_days_to_scores", days=self.settings.retention.review_days)

        def decode(self, raw: bytes) -> ReviewEvent: ...
        def fold(self, event: ReviewEvent, batch: Batch) -> None: ...

Every family is built from the same `Wiring`; what one needs beside it (another family) it takes
as a keyword argument.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from faust.types import Message

from salespulse.models.config import Settings
from salespulse.streams.engine import Engine
from salespulse.streams.engine.batch import Batch, RejectSink
from salespulse.streams.engine.tables import SeenIds, StampedTable
from salespulse.streams.engine.writes import Outbox, Write, route_failed
from salespulse.streams.retention import expiring_changelog
from salespulse.streams.topics import TopicNames

if TYPE_CHECKING:  # what a family exports is read by the exporter, which imports the families' maths
    from prometheus_client.core import Metric

    from salespulse.exporters.collectors.scrape import Scrape


class Exports(Protocol):
    """A family's collector: the metric families it exports at each scrape (`exporters.collectors`)."""

    def families(self, scrape: Scrape) -> Iterator[Metric]: ...


@dataclass(frozen=True)
class Wiring:
    """What every family is built with: the engine, the configuration, the topic names, the clock
    and the duplicate counts the families share (`salespulse_events_duplicate_total`)."""

    engine: Engine
    settings: Settings
    topics: TopicNames
    clock: Callable[[], datetime]
    duplicates: Counter[str] = field(default_factory=Counter)


class KpiFold:
    """How one KPI family folds its events: de-duplicated by event id, into its tables.

    A family says which tables it has (`declare`), how an event changes them (`fold`) and, for
    de-duplication, what an event's id is (`event_id`). `DealEvents` feeds the families that
    judge deals; a `KpiFamily` feeds itself from its own topics.
    """

    kind: ClassVar[str] = ""  # the event type, as counted in salespulse_events_duplicate_total
    # The table of event ids counted; None: no de-duplication (the fold is idempotent anyway).
    seen_table: ClassVar[str | None] = None
    # How often `prune` runs, and its timer's name; 0: the family keeps everything it holds.
    prune_every_s: ClassVar[float] = 0.0
    prune_timer: ClassVar[str] = ""

    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring
        self.engine = wiring.engine
        self.settings = wiring.settings
        self.clock = wiring.clock
        # Only a family with a kind counts its duplicates where /metrics reads them.
        self.duplicates: Counter[str] = wiring.duplicates if self.kind else Counter()
        self.dedup_days = self.settings.retention.dedup_days
        self.seen: SeenIds | None = (
            self.engine.seen_ids(self.seen_table, extra_topic_configs=expiring_changelog(self.dedup_days))
            if self.seen_table
            else None
        )
        self.declare()
        if self.prune_every_s:
            self.engine.timer(self.prune_every_s, self.prune_timer)(self.prune)

    def declare(self) -> None:
        """Declare the family's tables (`table`) and the topics it sends to."""

    def table(self, name: str, *, days: int | None = None, **options: Any) -> StampedTable:
        """Declare a table; with `days`, its changelog records may expire after that many days (and one)."""
        if days is not None:
            options["extra_topic_configs"] = expiring_changelog(days)
        return self.engine.table(name, **options)

    async def prune(self) -> None:
        """Forget what is past its retention (memory only; changelog records expire by age)."""

    def exports(self) -> list[Exports]:
        """Return the collectors of what the family exports, beside the exporter's own concerns."""
        return []

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
    """A KPI family with an agent of its own: reads its topics in batches, folds, writes back.

    Beside the fold, a family says which topics its agent reads (`reads`, `agent`) and how it
    decodes a record (`decode`); this class does the rest. A family whose batch is more than
    its events folded one by one (validation, several families over one topic) says so in
    `fold_events`.
    """

    reads: ClassVar[tuple[str, ...]] = ()  # `TopicNames` attributes of the topics the agent reads
    agent: ClassVar[str] = ""

    def __init__(self, wiring: Wiring) -> None:
        self.rejects: RejectSink | None = None
        super().__init__(wiring)
        self.topic = self.engine.topic(*(wiring.topics.of(name) for name in self.reads))
        self.engine.agent(self.topic, self.agent, self.fold_batch)

    def reject_to(self, sink: RejectSink) -> None:
        """Send the records this family fails on to `sink` (the dead-letter topic)."""
        self.rejects = sink

    def decode(self, raw: bytes) -> Any:
        """Return the event a record holds."""
        raise NotImplementedError

    def seen_tables(self) -> list[SeenIds | None]:
        """Return the de-duplication tables whose markers a batch writes."""
        return [self.seen]

    def fold_batch(self, records: list[Message]) -> Write:
        """Fold one batch; return the write of what it changed and forwards."""
        batch = Batch()
        self.fold_events(records, batch)
        return self.write(batch)

    async def write(self, batch: Batch, outbox: Outbox | None = None) -> None:
        """Write the batch's changelog records, markers and forwards (and `outbox`), then route its failures."""
        await self.engine.write(batch, *self.seen_tables(), outbox=outbox, forward=lambda out: self.forward(batch, out))
        await route_failed(batch, self.rejects)

    def fold_events(self, records: list[Message], batch: Batch) -> None:
        """Fold the events of one batch, each once; set aside those that raise."""
        seen_at = self.clock().timestamp()
        batch.fold_each(records, type(self).__name__, lambda record: self.fold_record(record.value or b"", batch, seen_at))

    def fold_record(self, raw: bytes, batch: Batch, seen_at: float) -> None:
        """Fold one record read at `batch.origin`, unless its event was counted already."""
        self.fold_event(self.decode(raw), batch, seen_at)
