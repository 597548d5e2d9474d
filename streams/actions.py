"""Action KPIs: per team, rep and action, all-time counts and quarter-hour buckets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

import faust

from salespulse.models.config import Settings
from salespulse.models.events import ActivityEvent
from salespulse.streams.kpi.actions import SlotKey, expired_slot_limit, rep_action_key, slot_of
from salespulse.streams.retention import SeenIds, expiring_changelog
from salespulse.streams.topics import TopicNames, internal_topic


class ActionCounts:
    """Owns the re-keyed activity topic, the action tables and the `count_actions` agent."""

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
        self.topic = internal_topic(app, topics.activities_by_rep)
        retention = settings.retention
        self.slots_to_count = app.Table(
            "slots_to_count",
            default=int,
            extra_topic_configs=expiring_changelog(retention.action_counts_days),
        )
        self.rep_actions_to_total = app.Table("rep_actions_to_total", default=int)
        self.seen = SeenIds(app, "activity_ids_to_seen_at", retention.dedup_days, clock)
        app.agent(self.topic, name="count_actions")(self.count_actions)
        app.timer(300.0, name="prune_actions")(self.prune)

    async def count_actions(self, stream: faust.StreamT[bytes]) -> None:
        """Count each activity once, in its all-time total and its quarter-hour bucket."""
        async for raw in stream:
            event = ActivityEvent.model_validate_json(raw)
            if not self.seen.first_time(event.event_id):
                self.duplicates["activity"] += 1
                continue
            self.rep_actions_to_total[rep_action_key(event.team_id, event.rep_id, event.action)] += 1
            bucket = SlotKey(event.team_id, event.rep_id, event.action, slot_of(event.occurred_at))
            self.slots_to_count[bucket.encode()] += 1

    async def prune(self) -> None:
        """Forget buckets and event ids older than their retention (memory only)."""
        now = self.clock()
        first_kept = expired_slot_limit(now, self.settings.retention.action_counts_days)
        store = self.slots_to_count.data
        for key in [k for k in store.keys() if SlotKey.decode(k).slot < first_kept]:
            del store[key]
        self.seen.forget_old()
