"""Stage checklists: each deal's judged stage changes, read as rolling windows at scrape time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import faust

from salespulse.models.config import Settings
from salespulse.models.events import EVENT_ADAPTER, ActivityEvent, DealStageEvent
from salespulse.streams.kpi.checklists import CHECK_WINDOW_DAYS, StageCheck, earlier, missing_content, missing_process
from salespulse.streams.retention import SeenIds, expiring_changelog


class StageChecklists:
    """Owns the stage-check and deal-action tables and the `check_stages` agent.

    The agent reads a deal's stage changes and its activities, both keyed by deal, so one
    worker holds everything a deal's checks depend on.
    """

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        deal_events: faust.TopicT,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.clock = clock
        # A deal quiet for longer than the window has no check left to export.
        retention_days = CHECK_WINDOW_DAYS + 5
        self.deals_to_stage_checks = app.Table(
            "deals_to_stage_checks", default=list, extra_topic_configs=expiring_changelog(retention_days)
        )
        # Deals live for months: their first actions are kept as long as their history.
        self.deals_to_first_actions = app.Table(
            "deals_to_first_actions",
            extra_topic_configs=expiring_changelog(settings.retention.deal_history_days),
        )
        self.seen = SeenIds(app, "stage_check_ids_to_seen_at", settings.retention.dedup_days, clock)
        app.agent(deal_events, name="check_stages")(self.check_stages)
        app.timer(300.0, name="prune_stage_checks")(self.prune)

    def checks(self) -> list[StageCheck]:
        """Return every stage check this worker holds."""
        return [StageCheck.from_json(item) for value in self.deals_to_stage_checks.values() for item in value]

    async def check_stages(self, stream: faust.StreamT[bytes]) -> None:
        """Judge each stage change once; let a deal's activities complete its process checklists."""
        async for raw in stream:
            event = EVENT_ADAPTER.validate_json(raw)
            if isinstance(event, DealStageEvent):
                self.judge(event)
            elif isinstance(event, ActivityEvent) and event.deal_id is not None:
                self.note_action(event.deal_id, event.action, event.occurred_at.timestamp())

    def judge(self, event: DealStageEvent) -> None:
        """Record the verdict on one stage change against both of its stage's checklists."""
        if not self.seen.first_time(event.event_id):
            return  # counted as a duplicate by the velocity agent on the same topic
        checklist = self.settings.checklists.get(event.stage)
        at = event.occurred_at.timestamp()
        check = StageCheck(
            at,
            event.team_id,
            event.rep_id,
            event.stage,
            tuple(missing_content(checklist.content if checklist else (), event.fields)),
            tuple(missing_process(checklist.process if checklist else (), self.first_actions(event.deal_id), at)),
        )
        self.deals_to_stage_checks[event.deal_id] = [*self.deals_to_stage_checks[event.deal_id], check.to_json()]

    def first_actions(self, deal_id: str) -> dict[str, float]:
        """Return the earliest time of each action seen for the deal."""
        return dict(self.deals_to_first_actions.get(deal_id) or {})

    def note_action(self, deal_id: str, action: str, at: float) -> None:
        """Remember the deal's earliest `action`; an earlier one re-judges the checks it completes."""
        changed = earlier(self.first_actions(deal_id), action, at)
        if changed is None:
            return  # a retried or later activity changes no verdict
        self.deals_to_first_actions[deal_id] = changed
        stored = self.deals_to_stage_checks.get(deal_id)
        if not stored:
            return
        checks = [StageCheck.from_json(item) for item in stored]
        updated = [check.with_action(action, at) for check in checks]
        if updated != checks:
            self.deals_to_stage_checks[deal_id] = [check.to_json() for check in updated]

    async def prune(self) -> None:
        """Forget deals whose every check is older than the window (memory only)."""
        limit = (self.clock() - timedelta(days=CHECK_WINDOW_DAYS + 1)).timestamp()
        store = self.deals_to_stage_checks.data
        for key in [k for k, v in store.items() if all(StageCheck.from_json(c).occurred_at < limit for c in v)]:
            del store[key]
        first = self.deals_to_first_actions.data
        oldest = (self.clock() - timedelta(days=self.settings.retention.deal_history_days)).timestamp()
        for key in [k for k, v in first.items() if max(v.values()) < oldest]:
            del first[key]
