"""Stage checklists: each deal's judged stage changes, read as rolling windows at scrape time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import faust

from models.config import Settings
from models.events import DealStageEvent
from streams.kpi.checklists import CHECK_WINDOW_DAYS, StageCheck, missing_content
from streams.retention import SeenIds, expiring_changelog


class StageChecklists:
    """Owns the stage-check table and the `check_stages` agent on the re-keyed deal topic."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        deal_stages_by_deal: faust.TopicT,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.clock = clock
        # A deal quiet for longer than the window has no check left to export.
        retention_days = CHECK_WINDOW_DAYS + 5
        self.deals_to_stage_checks = app.Table(
            "deals_to_stage_checks", default=list, extra_topic_configs=expiring_changelog(retention_days)
        )
        self.seen = SeenIds(app, "stage_check_ids_to_seen_at", settings.retention.dedup_days, clock)
        app.agent(deal_stages_by_deal, name="check_stages")(self.check_stages)
        app.timer(300.0, name="prune_stage_checks")(self.prune)

    def checks(self) -> list[StageCheck]:
        """Return every stage check this worker holds."""
        return [StageCheck.from_json(item) for value in self.deals_to_stage_checks.values() for item in value]

    async def check_stages(self, stream: faust.StreamT[bytes]) -> None:
        """Judge each stage change, once, against its stage's content checklist."""
        async for raw in stream:
            event = DealStageEvent.model_validate_json(raw)
            if not self.seen.first_time(event.event_id):
                continue  # counted as a duplicate by the velocity agent on the same topic
            checklist = self.settings.checklists.get(event.stage)
            check = StageCheck(
                event.occurred_at.timestamp(),
                event.team_id,
                event.rep_id,
                event.stage,
                tuple(missing_content(checklist.content if checklist else (), event.fields)),
            )
            self.deals_to_stage_checks[event.deal_id] = [*self.deals_to_stage_checks[event.deal_id], check.to_json()]

    async def prune(self) -> None:
        """Forget deals whose every check is older than the window (memory only)."""
        limit = (self.clock() - timedelta(days=CHECK_WINDOW_DAYS + 1)).timestamp()
        store = self.deals_to_stage_checks.data
        for key in [k for k, v in store.items() if all(StageCheck.from_json(c).occurred_at < limit for c in v)]:
            del store[key]
