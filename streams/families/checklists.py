"""Stage checklists: each deal's judged stage changes, read as rolling windows at scrape time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any


from salespulse.models.events import ActivityEvent, AnyEvent, DealStageEvent
from salespulse.streams.kpi.checklists import CHECK_WINDOW_DAYS, StageCheck, earlier, missing_content, missing_process
from salespulse.streams.families.deal_figures import CHECKS, CreditsDeals
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.writes import Outbox


class StageChecklists(CreditsDeals):
    """Owns the stage-check and deal-action tables; `deal_events.DealEvents` feeds it.

    It reads a deal's stage changes and its activities, both keyed by deal, so one worker holds
    everything a deal's checks depend on.
    """

    # Duplicates of stage changes are counted by deal velocity, which reads the same records.
    seen_table = "stage_check_ids_to_seen_at"
    prune_every_s, prune_timer = 300.0, "prune_stage_checks"

    def declare(self) -> None:
        # A deal quiet for longer than the window has no check left to export.
        self.deals_to_stage_checks = self.table("deals_to_stage_checks", days=CHECK_WINDOW_DAYS + 5)
        # Deals live for months: their first actions are kept as long as their history.
        self.deals_to_first_actions = self.table(
            "deals_to_first_actions", days=self.settings.retention.deal_history_days
        )

    def fold_event(self, event: AnyEvent, batch: Batch, seen_at: float) -> None:
        """Judge each stage change once; let a deal's activities complete its process checklists.

        Activities are not de-duplicated here: an action's earliest time is the same however
        often it is seen.
        """
        if isinstance(event, DealStageEvent):
            if self.seen is None or self.seen.first_time(event.event_id, batch.origin, seen_at):
                self.judge(event, batch)
        elif isinstance(event, ActivityEvent) and event.deal_id is not None:
            self.note_action(event.deal_id, event.action, event.occurred_at.timestamp(), batch)

    def judge(self, event: DealStageEvent, batch: Batch) -> None:
        """Record the verdict on one stage change against both of its stage's checklists."""
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

        def add(stored: list[Any] | None) -> list[Any]:
            # Only the reps whose checks a batch changed are forwarded.
            batch.note_reps(self.deals_to_stage_checks, event.deal_id, ((event.team_id, event.rep_id),))
            return [*(stored or []), check.to_json()]

        batch.update(self.deals_to_stage_checks, event.deal_id, add)

    def first_actions(self, deal_id: str) -> Mapping[str, float]:
        """Return the earliest time of each action seen for the deal (the stored value: not to change)."""
        return self.deals_to_first_actions.memory.get(deal_id) or {}

    def note_action(self, deal_id: str, action: str, at: float, batch: Batch) -> None:
        """Remember the deal's earliest `action`; an earlier one re-judges the checks it completes.

        The deal's checks are forwarded when this changes them, and when this record may be the
        replay of a batch whose changelog records reached Kafka and whose forwarded figures did
        not: when a table already reflects it. Forwarding them for every activity of a deal made
        deal figures the most written records of a mixed floor.
        """
        first, checks = self.deals_to_first_actions, self.deals_to_stage_checks
        changed = earlier(self.first_actions(deal_id), action, at)
        if changed is None:
            if deal_id in checks.memory and first.reflects(deal_id, batch.origin):
                batch.replay(checks, deal_id)
            return  # a retried or later activity changes no verdict
        batch.update(first, deal_id, lambda _: changed)
        stored = checks.memory.get(deal_id)
        if not stored:
            return
        updated, reps = list(stored), set()
        for index, item in enumerate(stored):
            if StageCheck.awaits(item, action, at):
                updated[index] = StageCheck.from_json(item).with_action(action, at).to_json()
                reps.add(StageCheck.credited_in(item))
        if reps:

            def rejudge(_: Any) -> list[Any]:
                batch.note_reps(checks, deal_id, reps)
                return updated

            batch.update(checks, deal_id, rejudge)
        elif checks.reflects(deal_id, batch.origin):
            batch.replay(checks, deal_id)

    def forward(self, batch: Batch, outbox: Outbox) -> None:
        """Send each touched deal's checks of the reps this batch changed (of every rep on a replay)."""
        checks = self.deals_to_stage_checks
        for deal_id in batch.reached(checks):
            reps = None if (checks, deal_id) in batch.replayed else batch.noted_reps(checks, deal_id)
            by_rep: dict[tuple[str, str], list[Any]] = {}
            for item in checks.memory.get(deal_id) or ():
                credited = StageCheck.credited_in(item)
                if reps is None or credited in reps:
                    by_rep.setdefault(credited, []).append(item)
            for (team, rep), items in by_rep.items():
                self.figures.send(outbox, CHECKS, deal_id, team, rep, items)

    async def prune(self) -> None:
        """Forget deals whose every check is older than the window (memory only)."""
        limit = (self.clock() - timedelta(days=CHECK_WINDOW_DAYS + 1)).timestamp()
        checks = self.deals_to_stage_checks
        checks.forget(
            [k for k, v in checks.data.items() if all(StageCheck.from_json(c).occurred_at < limit for c in v)]
        )
        first = self.deals_to_first_actions
        oldest = (self.clock() - timedelta(days=self.settings.retention.deal_history_days)).timestamp()
        first.forget([k for k, v in first.data.items() if max(v.values()) < oldest])
        self.forget_old_ids()
