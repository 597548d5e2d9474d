"""The one agent that reads a deal's stage changes and activities for every family that judges deals.

Deal velocity, stage checklists and the mystery draw's deal months all read the deal-keyed
topics. An agent each meant that every stage change was handed over and parsed three times and
every activity of a deal twice; Faust's hand-over of a record costs more than any family's fold.
Here each record is handed over and parsed once and folded into each family in turn. The families
keep their own tables, de-duplication markers and stamps, so each still counts an event once, and
a family that raises on a record sends it to the dead-letter topic without holding back the others.
"""

from __future__ import annotations

from collections.abc import Sequence

from faust.types import Message

from salespulse.models.events import EVENT_ADAPTER, AnyEvent
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.tables import SeenIds
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.family import KpiFamily, KpiFold, Wiring


class DealEvents(KpiFamily):
    """Owns the `judge_deals` agent over the deal-keyed topics, folding for each family given.

    A composite family: a deal's stage changes and activities, read together, parsed once and
    folded into each of `families` in turn; a batch writes their markers and forwards theirs.
    """

    reads = ("deal_stages_by_deal", "deal_activities_by_deal")
    agent = "judge_deals"

    def __init__(self, wiring: Wiring, *, families: Sequence[KpiFold]) -> None:
        self.families = families
        super().__init__(wiring)

    def fold_events(self, records: list[Message], batch: Batch) -> None:
        """Fold one batch into every family."""
        seen_at = self.clock().timestamp()
        # A record that does not parse here was not written by ingest, which validated it.
        batch.fold_each(
            records,
            "judge_deals",
            lambda record: self.fold_read(record, EVENT_ADAPTER.validate_json(record.value or b""), batch, seen_at),
        )

    def fold_read(self, record: Message, event: AnyEvent, batch: Batch, seen_at: float) -> None:
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
