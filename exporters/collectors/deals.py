"""Deals: velocity (deals decided and the time to decision) and stage checklists."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import Metric

from salespulse.exporters.collectors.scrape import Scrape
from salespulse.exporters.metrics import (
    CHECKLIST_MISSING,
    DEALS_DECIDED,
    DECISION_SECONDS_AVG,
    DECISION_SECONDS_COMBINED,
    STAGE_CHANGES,
)
from salespulse.streams.kpi.checklists import StageCheck, checks_in_window
from salespulse.streams.kpi.velocity import DealHistory, velocity_windows


class VelocityCollector:
    """Deals decided per rep, outcome and window, with their seconds to decision."""

    def __init__(self, deals: Callable[[], Iterable[DealHistory]]) -> None:
        self.deals = deals

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        decided = DEALS_DECIDED.family()
        average = DECISION_SECONDS_AVG.family()
        combined = DECISION_SECONDS_COMBINED.family()
        for (team, rep, outcome, window), cell in sorted(velocity_windows(self.deals(), scrape.now).items()):
            labels = [team, rep, outcome, window]
            decided.add_metric(labels, cell.count)
            combined.add_metric(labels, cell.seconds_sum)
            if cell.seconds_avg is not None:
                average.add_metric(labels, cell.seconds_avg)
        yield decided
        yield average
        yield combined


class ChecklistCollector:
    """Stage changes made with complete or incomplete checklists, and the items missed."""

    def __init__(self, stage_checks: Callable[[], Iterable[StageCheck]]) -> None:
        self.stage_checks = stage_checks

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        changes = STAGE_CHANGES.family()
        missing = CHECKLIST_MISSING.family()
        for (team, rep, stage), cell in sorted(checks_in_window(self.stage_checks(), scrape.now).items()):
            changes.add_metric([team, rep, stage, "complete"], cell.complete)
            changes.add_metric([team, rep, stage, "incomplete"], cell.incomplete)
            for (kind, item), count in sorted((cell.missing or {}).items()):
                missing.add_metric([team, rep, stage, kind, item], count)
        yield changes
        yield missing
