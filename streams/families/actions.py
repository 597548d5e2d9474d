"""Action KPIs: per team, rep and action, all-time counts, quarter-hour buckets and weekly totals.

The buckets serve the live windows for `retention.action_counts_days`; the weekly totals (one
per rep, action and team-local ISO week) serve the weekly review's history and trends for
`retention.weekly_days`, read from their changelog by `salespulse.weekly.history`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import orjson

from salespulse.models.events import ActivityEvent
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.family import KpiFamily
from salespulse.streams.kpi.actions import (
    WEEKS_TABLE,
    SlotKey,
    expired_slot_limit,
    rep_action_key,
    slot_key,
    slot_of,
    split_rep_action_key,
    split_week_key,
    week_expired,
    week_key,
    week_of_slot,
)
from salespulse.streams.topics import partition_of, rep_key


class ActionCounts(KpiFamily):
    """Owns the re-keyed activity topic, the action tables and the `count_actions` agent.

    Activities a producer already keyed by rep reach this family straight from the ingest agent
    (`fold_record` with the ingest topic as origin); others come through the re-keyed topic.
    """

    kind = "activity"
    reads = ("activities_by_rep",)
    agent = "count_actions"
    seen_table = "activity_ids_to_seen_at"
    prune_every_s, prune_timer = 300.0, "prune_actions"

    def declare(self) -> None:
        retention = self.settings.retention
        self.zones: dict[str, ZoneInfo] = {}  # team -> its time zone, looked up once
        self.slots_to_count = self.table("slots_to_count", default=int, days=retention.action_counts_days)
        self.rep_actions_to_total = self.table("rep_actions_to_total", default=int)
        # A week is written while it fills (late events too), then its record expires by age.
        self.rep_weeks_to_count = self.table(WEEKS_TABLE, default=int, days=retention.weekly_days + 7)

    def decode(self, raw: bytes) -> ActivityEvent:
        return ActivityEvent.model_validate_json(raw)

    def fold(self, event: ActivityEvent, batch: Batch) -> None:
        """Count the activity in its all-time total and its quarter-hour bucket."""
        team, rep, action = event.team_id, event.rep_id, event.action
        slot = slot_of(event.occurred_at)
        batch.add(self.rep_actions_to_total, rep_action_key(team, rep, action))
        batch.add(self.slots_to_count, slot_key(team, rep, action, slot))
        zone = self.zones.get(team) or self.zones.setdefault(team, self.settings.timezone_of(team))
        batch.add(self.rep_weeks_to_count, week_key(team, rep, action, week_of_slot(slot, zone)))

    async def prune(self) -> None:
        """Forget buckets, weekly totals and event ids older than their retention (memory only),
        and retire the all-time totals of reps that are gone."""
        now, retention = self.clock(), self.settings.retention
        first_kept = expired_slot_limit(now, retention.action_counts_days)
        self.slots_to_count.forget([k for k in self.slots_to_count.data.keys() if SlotKey.decode(k).slot < first_kept])
        weeks = self.rep_weeks_to_count
        weeks.forget([k for k in weeks.data.keys() if week_expired(split_week_key(k)[3], now, retention.weekly_days)])
        self.forget_old_ids()
        await self.retire_totals()

    async def retire_totals(self) -> None:
        """Delete the totals of reps the configuration does not name and who have no bucket left.

        A rep's totals last as long as the rep: named in the configuration, or active within the
        action-count retention. Otherwise renamed or departed reps (and strangers, where unknown
        reps are accepted) would keep series forever. Totals are deleted with tombstones, so a
        restart does not bring them back.
        """
        table = self.rep_actions_to_total
        outbox = Outbox()
        remaining = self.engine.tables_remaining()

        def tombstones() -> None:
            # Decided under the write lock: no batch can add to a total between this choice and
            # its tombstone reaching the changelog. Never while tables recover: totals recovered
            # before their rep's buckets would look like a rep with no bucket left.
            if remaining() is not None:
                return
            named = {(team, rep) for team, cfg in self.settings.teams.items() for rep in cfg.reps}
            active = {(slot.team, slot.rep) for slot in map(SlotKey.decode, self.slots_to_count.data.keys())}
            kept = named | active
            retired = [key for key in table.data.keys() if split_rep_action_key(key)[:2] not in kept]
            topic = table.changelog_topic.get_topic_name()
            for key in retired:
                team, rep, _ = split_rep_action_key(key)
                outbox.put(topic, partition_of(rep_key(team, rep), self.settings.kafka.partitions), orjson.dumps(key), None)
            table.forget(retired)

        await self.engine.send(outbox, tombstones)
