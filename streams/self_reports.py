"""Self-reported weeks: each rep's own figures and lessons learned, per ISO week."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import faust

from salespulse.models.config import Settings
from salespulse.models.events import SelfReportEvent
from salespulse.models.targets import week_start
from salespulse.streams.kpi.self_reports import report_key, split_report_key, supersedes
from salespulse.streams.retention import SeenIds, expiring_changelog
from salespulse.streams.topics import TopicNames, internal_topic

REPORTS_TABLE = "rep_weeks_to_self_reports"


class SelfReports:
    """Owns the re-keyed self-report topic, the report table and the `file_self_reports` agent."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topics: TopicNames,
        duplicates: Counter[str],
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.duplicates = duplicates
        self.clock = clock
        self.topic = internal_topic(app, topics.self_reports_by_rep)
        days = settings.retention.action_counts_days
        # Read by `salespulse report weekly` from its changelog, for the lessons learned.
        self.rep_weeks_to_reports = app.Table(REPORTS_TABLE, extra_topic_configs=expiring_changelog(days))
        self.seen = SeenIds(app, "self_report_ids_to_seen_at", settings.retention.dedup_days, clock)
        app.agent(self.topic, name="file_self_reports")(self.file_self_reports)
        app.timer(3600.0, name="prune_self_reports")(self.prune)

    async def file_self_reports(self, stream: faust.StreamT[bytes]) -> None:
        """Keep each rep's latest report per week, by occurred_at (a rep may correct their report)."""
        async for raw in stream:
            event = SelfReportEvent.model_validate_json(raw)
            if not self.seen.first_time(event.event_id):
                self.duplicates["self_report"] += 1
                continue
            key = report_key(event.team_id, event.rep_id, event.week)
            at = event.occurred_at.timestamp()
            if not supersedes(self.rep_weeks_to_reports.get(key), at, event.event_id):
                continue
            self.rep_weeks_to_reports[key] = {
                "at": at,
                "event_id": event.event_id,
                "figures": dict(event.figures),
                "lessons": event.lessons,
            }

    async def prune(self) -> None:
        """Forget reports on weeks older than the retention (memory only)."""
        oldest = (self.clock() - timedelta(days=self.settings.retention.action_counts_days)).date()
        store = self.rep_weeks_to_reports.data
        for key in [k for k in store.keys() if week_start(split_report_key(k)[2]) < oldest - timedelta(days=7)]:
            del store[key]
        self.seen.forget_old()
