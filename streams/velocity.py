"""Deal velocity: each deal's history, from which decided-deal windows are read at scrape time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import faust

from salespulse.models.config import Settings
from salespulse.models.events import DealStageEvent
from salespulse.streams.kpi.velocity import DealHistory, apply_deal_event, deal_expired
from salespulse.streams.family import Batch, KpiFamily, stamped_table
from salespulse.streams.retention import expiring_changelog
from salespulse.streams.topics import TopicNames, internal_topic


class DealVelocity(KpiFamily):
    """Owns the re-keyed deal-stage topic, the deal tables and the `track_deals` agent."""

    kind = "deal_stage"

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topics: TopicNames,
        duplicates: Counter[str],
        clock: Callable[[], datetime],
    ) -> None:
        retention = settings.retention
        super().__init__(
            app, clock=clock, seen_table="deal_event_ids_to_seen_at", dedup_days=retention.dedup_days, duplicates=duplicates
        )
        self.settings = settings
        self.topic = internal_topic(app, topics.deal_stages_by_deal)
        self.deals_to_history = stamped_table(
            app, "deals_to_history", extra_topic_configs=expiring_changelog(retention.deal_history_days)
        )
        app.agent(self.topic, name="track_deals")(self.run)
        app.timer(300.0, name="prune_deals")(self.prune)

    def histories(self) -> list[DealHistory]:
        """Return the history of every deal this worker holds."""
        return [DealHistory.from_json(value) for value in self.deals_to_history.values()]

    def decode(self, raw: bytes) -> DealStageEvent:
        return DealStageEvent.model_validate_json(raw)

    def fold(self, event: DealStageEvent, batch: Batch) -> None:
        """Fold the deal-stage event into its deal's history."""

        def apply(stored: dict[str, Any] | None) -> dict[str, Any]:
            return apply_deal_event(
                DealHistory.from_json(stored) if stored else None,
                occurred_at=event.occurred_at,
                stage=event.stage,
                event_id=event.event_id,
                team=event.team_id,
                rep=event.rep_id,
            ).to_json()

        batch.update(self.deals_to_history, event.deal_id, apply)

    async def prune(self) -> None:
        """Forget deals quiet for longer than their retention, and old event ids (memory only)."""
        now = self.clock()
        days = self.settings.retention.deal_history_days
        deals = self.deals_to_history
        deals.forget([k for k, v in deals.data.items() if deal_expired(DealHistory.from_json(v), now, days)])
        self.forget_old_ids()
