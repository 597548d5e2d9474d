"""Deal velocity: each deal's history, from which decided-deal windows are read at scrape time."""

from __future__ import annotations

from typing import Any


from salespulse.models.events import AnyEvent, DealStageEvent
from salespulse.streams.kpi.velocity import DealHistory, apply_deal_event, deal_expired
from salespulse.streams.families.deal_figures import VELOCITY, CreditsDeals
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.writes import Outbox


class DealVelocity(CreditsDeals):
    """Owns the deal tables; `deal_events.DealEvents` feeds it from the deal-keyed topics."""

    kind = "deal_stage"
    seen_table = "deal_event_ids_to_seen_at"
    prune_every_s, prune_timer = 300.0, "prune_deals"

    def declare(self) -> None:
        self.deals_to_history = self.table("deals_to_history", days=self.settings.retention.deal_history_days)

    def fold_event(self, event: AnyEvent, batch: Batch, seen_at: float) -> None:
        """Fold a deal's stage change; its activities, read on the same topics, say nothing of its pace."""
        if isinstance(event, DealStageEvent):
            super().fold_event(event, batch, seen_at)

    def fold(self, event: DealStageEvent, batch: Batch) -> None:
        """Fold the deal-stage event into its deal's history."""

        def apply(stored: dict[str, Any] | None) -> dict[str, Any]:
            before = DealHistory.from_json(stored) if stored else None
            after = apply_deal_event(
                before,
                occurred_at=event.occurred_at,
                stage=event.stage,
                event_id=event.event_id,
                team=event.team_id,
                rep=event.rep_id,
            )
            credited = _credited(before)
            if credited is not None and credited != _credited(after):
                # The (team, rep) the decision was credited to before this batch moved it.
                batch.note_reps(self.deals_to_history, event.deal_id, (credited,))
            return after.to_json()

        batch.update(self.deals_to_history, event.deal_id, apply)

    def forward(self, batch: Batch, outbox: Outbox) -> None:
        """Send each touched deal's decision to the rep it is credited to, and withdraw moved credit."""
        deals = self.deals_to_history
        for deal_id in batch.reached(deals):
            stored = deals.memory.get(deal_id)
            history = DealHistory.from_json(stored) if stored else None
            credited = _credited(history)
            if history is not None and credited is not None:
                self.figures.send(outbox, VELOCITY, deal_id, *credited, stored)
            for team, rep in batch.noted_reps(deals, deal_id) - {credited}:
                self.figures.send(outbox, VELOCITY, deal_id, team, rep, None)

    async def prune(self) -> None:
        """Forget deals quiet for longer than their retention, and old event ids (memory only)."""
        now = self.clock()
        days = self.settings.retention.deal_history_days
        deals = self.deals_to_history
        deals.forget([k for k, v in deals.data.items() if deal_expired(DealHistory.from_json(v), now, days)])
        self.forget_old_ids()


def _credited(history: DealHistory | None) -> tuple[str, str] | None:
    """Return the (team, rep) a deal's decision counts for, or None while it is open."""
    if history is None or history.decided_at is None or history.team is None or history.rep is None:
        return None
    return history.team, history.rep
