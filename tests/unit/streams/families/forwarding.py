"""Folding deal records into a deal family and applying what it forwards, as two agents would."""

from __future__ import annotations

from datetime import datetime

import orjson

from salespulse.models.events import EVENT_ADAPTER
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.tables import Origin
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.families.deal_figures import CreditsDeals, DealFigures

Forwarded = list[tuple[int, str, dict]]  # (partition, record key, record)


def run_batch(family: CreditsDeals, rows: list[tuple[int, bytes]], now: datetime) -> Forwarded:
    """Fold a batch of deal-stage records (offset, JSON); return what it forwards, sorted."""
    batch = Batch()
    for offset, raw in rows:
        batch.origin = Origin("sp-deal-stages-by-deal", 0, offset)
        family.fold_event(EVENT_ADAPTER.validate_json(raw), batch, now.timestamp())
    outbox = Outbox()
    family.forward(batch, outbox)
    return sorted(
        (partition, key.decode(), orjson.loads(value))
        for (topic, partition), rows_out in outbox.records.items()
        for key, value in rows_out
        if topic == "sp-deal-figures-by-rep"
    )


def apply(figures: DealFigures, forwarded: Forwarded, first_offset: int, now: datetime) -> None:
    """Fold forwarded records into the figures' table, from `first_offset` on."""
    batch = Batch()
    for offset, (partition, _, record) in enumerate(forwarded, start=first_offset):
        batch.origin = Origin("sp-deal-figures-by-rep", partition, offset)
        figures.fold_record(orjson.dumps(record), batch, now.timestamp())
