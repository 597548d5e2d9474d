"""Self-reported weeks: each rep's own figures and lessons learned, per ISO week."""

from __future__ import annotations

from datetime import timedelta


from salespulse.models.events import SelfReportEvent
from salespulse.models.targets import week_start
from salespulse.streams.kpi.self_reports import report_key, split_report_key, supersedes
from salespulse.streams.engine.batch import Batch
from salespulse.streams.family import KpiFamily

REPORTS_TABLE = "rep_weeks_to_self_reports"


class SelfReports(KpiFamily):
    """Owns the re-keyed self-report topic, the report table and the `file_self_reports` agent."""

    kind = "self_report"
    reads = ("self_reports_by_rep",)
    agent = "file_self_reports"
    seen_table = "self_report_ids_to_seen_at"
    prune_every_s, prune_timer = 3600.0, "prune_self_reports"

    def declare(self) -> None:
        # Read by `salespulse report weekly` from its changelog, for the lessons learned.
        self.rep_weeks_to_reports = self.table(REPORTS_TABLE, days=self.settings.retention.action_counts_days)

    def decode(self, raw: bytes) -> SelfReportEvent:
        return SelfReportEvent.model_validate_json(raw)

    def fold(self, event: SelfReportEvent, batch: Batch) -> None:
        """Keep each rep's latest report per week, by occurred_at (a rep may correct their report)."""
        at = event.occurred_at.timestamp()
        report = {"at": at, "event_id": event.event_id, "figures": dict(event.figures), "lessons": event.lessons}
        batch.update(
            self.rep_weeks_to_reports,
            report_key(event.team_id, event.rep_id, event.week),
            lambda stored: report if supersedes(stored, at, event.event_id) else stored,
        )

    async def prune(self) -> None:
        """Forget reports on weeks older than the retention (memory only)."""
        oldest = (self.clock() - timedelta(days=self.settings.retention.action_counts_days)).date()
        table = self.rep_weeks_to_reports
        table.forget([k for k in table.data.keys() if week_start(split_report_key(k)[2]) < oldest - timedelta(days=7)])
        self.forget_old_ids()
