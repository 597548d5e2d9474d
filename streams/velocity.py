"""Deal velocity: each deal's history, from which decided-deal windows are read at scrape time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

import faust

from salespulse.models.config import Settings
from salespulse.models.events import DealStageEvent
from salespulse.streams.kpi.velocity import DealHistory, apply_deal_event, deal_expired
from salespulse.streams.retention import SeenIds, expiring_changelog
from salespulse.streams.topics import TopicNames, internal_topic


class DealVelocity:
    """Owns the re-keyed deal-stage topic, the deal tables and the `track_deals` agent."""

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
        self.topic = internal_topic(app, topics.deal_stages_by_deal)
        retention = settings.retention
        self.deals_to_history = app.Table(
            "deals_to_history",
            extra_topic_configs=expiring_changelog(retention.deal_history_days),
        )
        self.seen = SeenIds(app, "deal_event_ids_to_seen_at", retention.dedup_days, clock)
        app.agent(self.topic, name="track_deals")(self.track_deals)
        app.timer(300.0, name="prune_deals")(self.prune)

    def histories(self) -> list[DealHistory]:
        """Return the history of every deal this worker holds."""
        return [DealHistory.from_json(value) for value in self.deals_to_history.values()]

    async def track_deals(self, stream: faust.StreamT[bytes]) -> None:
        """Fold each deal-stage event, once, into its deal's history."""
        async for raw in stream:
            event = DealStageEvent.model_validate_json(raw)
            if not self.seen.first_time(event.event_id):
                self.duplicates["deal_stage"] += 1
                continue
            stored = self.deals_to_history.get(event.deal_id)
            history = apply_deal_event(
                DealHistory.from_json(stored) if stored else None,
                occurred_at=event.occurred_at,
                stage=event.stage,
                event_id=event.event_id,
                team=event.team_id,
                rep=event.rep_id,
            )
            self.deals_to_history[event.deal_id] = history.to_json()

    async def prune(self) -> None:
        """Forget deals quiet for longer than their retention, and old event ids (memory only)."""
        now = self.clock()
        days = self.settings.retention.deal_history_days
        deals = self.deals_to_history.data
        for key in [k for k, v in deals.items() if deal_expired(DealHistory.from_json(v), now, days)]:
            del deals[key]
        self.seen.forget_old()
