"""Deal velocity in money and stages: each deal's path, summarised for the rep and the team credited.

A deal's events are read on the deal-keyed topics (`deal_events.DealEvents`), so with several
workers a rep's deals, and a team's, are spread over all of them. For every deal a batch touched
this family forwards the deal's summary twice through `DealFigures`: keyed by the rep credited,
for the per-rep series, and keyed by the team alone (rep ""), for the team's series, the funnel and
time in stage. Each lands on one worker, which keeps it in a `MoneyIndex` for the scrape.

The fold needs no de-duplication: a path is a set of marks, so an event folded twice changes
nothing, and a summary forwarded twice is the same summary. Where the credit moves (a later
event by another rep, or an earlier decision arriving late), the summary is withdrawn from where
it was; after a crash, from every other team and rep on the path.
"""

from __future__ import annotations

from typing import Any

from salespulse.models.events import AnyEvent, DealStageEvent
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.families.deal_figures import MONEY, CreditsDeals
from salespulse.streams.kpi.money import DealPath, add_event, summarise
from salespulse.streams.kpi.velocity import deal_expired_at


class DealMoney(CreditsDeals):
    """Owns each deal's path; `deal_events.DealEvents` feeds it from the deal-keyed topics."""

    prune_every_s, prune_timer = 300.0, "prune_deal_paths"

    def declare(self) -> None:
        self.open_stages = self.settings.stages
        self.deals_to_path = self.table("deals_to_path", days=self.settings.retention.deal_history_days)

    def fold_event(self, event: AnyEvent, batch: Batch, seen_at: float) -> None:
        """Fold a deal's stage change; its activities say nothing of its money or stages."""
        if isinstance(event, DealStageEvent):
            self.fold(event, batch)

    def fold(self, event: DealStageEvent, batch: Batch) -> None:
        """Add the event's stage change (and amount) to its deal's path."""

        paths = self.deals_to_path

        def apply(stored: dict[str, Any] | None) -> dict[str, Any]:
            before = DealPath.from_json(stored) if stored else None
            if before is not None and (team_rep := before.credited()) is not None:
                # Where its summary went before this batch: withdrawn in `forward` if the credit moves.
                batch.note_reps(paths, event.deal_id, (team_rep, (team_rep[0], "")))
            after = add_event(
                before,
                occurred_at=event.occurred_at,
                event_id=event.event_id,
                stage=event.stage,
                team=event.team_id,
                rep=event.rep_id,
                amount=event.amount,
                currency=event.currency,
            )
            return after.to_json()

        batch.update(paths, event.deal_id, apply)

    def forward(self, batch: Batch, outbox: Outbox) -> None:
        """Send each touched deal's summary to its rep and its team, and withdraw moved credit.

        Credit moves away from where this batch found it (noted when folding). A deal read again
        after a crash was not folded, so nothing was noted: its summary is then withdrawn from
        every other team and rep on its path, the only places credit can ever have been.
        """
        paths = self.deals_to_path
        send = self.figures.send
        replayed = batch.replayed
        for deal_id in batch.reached(paths):
            stored = paths.memory.get(deal_id)
            if not stored:
                continue
            path = DealPath.from_json(stored)
            summary = summarise(path, self.open_stages)
            if summary is None:
                continue
            record = summary.to_json()
            send(outbox, MONEY, deal_id, summary.team, summary.rep, record)
            send(outbox, MONEY, deal_id, summary.team, "", [record[0], "", *record[2:]])
            credited = {(summary.team, summary.rep), (summary.team, "")}
            others = batch.noted_reps(paths, deal_id)
            if (paths, deal_id) in replayed:
                others = others | {(mark[3], mark[4]) for mark in path.stages} | {(mark[3], "") for mark in path.stages}
            for team, rep in others - credited:
                send(outbox, MONEY, deal_id, team, rep, None)

    async def prune(self) -> None:
        """Forget deals quiet for longer than their retention (memory only)."""
        limit = deal_expired_at(self.clock(), self.settings.retention.deal_history_days)
        paths = self.deals_to_path
        paths.forget([key for key, value in paths.data.items() if value["stages"][-1][0] < limit])
