"""Mystery checks: the months each deal was active in (for the draw) and each month's checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import faust

from salespulse.models.config import Settings
from salespulse.models.events import EVENT_ADAPTER, MysteryCheckEvent
from salespulse.streams.kpi.mystery import month_key, month_of, note_activity, record_check, split_month_key
from salespulse.streams.retention import SeenIds, expiring_changelog
from salespulse.streams.topics import TopicNames, internal_topic

DEALS_TABLE = "deals_to_active_months"


class MysteryChecks:
    """Owns the team-keyed check topic, the deal-months and check tables, and their agents."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topics: TopicNames,
        deal_events: faust.TopicT,
        duplicates: Counter[str],
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.duplicates = duplicates
        self.clock = clock
        self.topic = internal_topic(app, topics.mystery_checks_by_team)
        days = settings.retention.mystery_days
        # Read by `salespulse mystery sample` from its changelog, hence the module-level name.
        self.deals_to_active_months = app.Table(DEALS_TABLE, extra_topic_configs=expiring_changelog(days))
        self.months_to_checks = app.Table("months_to_mystery_checks", extra_topic_configs=expiring_changelog(days))
        self.seen = SeenIds(app, "mystery_check_ids_to_seen_at", settings.retention.dedup_days, clock)
        app.agent(deal_events, name="note_deal_months")(self.note_deal_months)
        app.agent(self.topic, name="score_mystery_checks")(self.score_mystery_checks)
        app.timer(3600.0, name="prune_mystery")(self.prune)

    async def note_deal_months(self, stream: faust.StreamT[bytes]) -> None:
        """Record, per deal, the team-local months it had an event in and its rep then."""
        async for raw in stream:
            event = EVENT_ADAPTER.validate_json(raw)
            deal_id = getattr(event, "deal_id", None)
            if deal_id is None:
                continue
            month = month_of(event.occurred_at, self.settings.timezone_of(event.team_id))
            changed = note_activity(
                self.deals_to_active_months.get(deal_id), event.team_id, month, event.occurred_at.timestamp(), event.rep_id
            )
            if changed is not None:
                self.deals_to_active_months[deal_id] = changed

    async def score_mystery_checks(self, stream: faust.StreamT[bytes]) -> None:
        """Add each check once to its team's month; a later check of the same deal replaces it."""
        async for raw in stream:
            event = MysteryCheckEvent.model_validate_json(raw)
            if not self.seen.first_time(event.event_id):
                self.duplicates["mystery_check"] += 1
                continue
            key = month_key(event.team_id, event.month)
            changed = record_check(
                self.months_to_checks.get(key),
                event.rep_id,
                event.deal_id,
                event.occurred_at.timestamp(),
                event.event_id,
                sum(event.points.values()),
            )
            if changed is not None:
                self.months_to_checks[key] = changed

    async def prune(self) -> None:
        """Forget deals and months older than the retention (memory only)."""
        limit = self.clock() - timedelta(days=self.settings.retention.mystery_days)
        oldest = limit.strftime("%Y-%m")
        deals = self.deals_to_active_months.data
        for key in [k for k, v in deals.items() if max(v["months"]) < oldest]:
            del deals[key]
        checks = self.months_to_checks.data
        for key in [k for k in checks.keys() if split_month_key(k)[1] < oldest]:
            del checks[key]
        self.seen.forget_old()
