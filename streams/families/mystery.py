"""Mystery checks: the months each deal was active in (for the draw) and each month's checks."""

from __future__ import annotations

from datetime import timedelta


from salespulse.models.events import AnyEvent, MysteryCheckEvent
from salespulse.streams.kpi.mystery import month_key, month_of, note_activity, record_check, split_month_key
from salespulse.streams.engine.batch import Batch
from salespulse.streams.family import KpiFamily, KpiFold

DEALS_TABLE = "deals_to_active_months"


class DealMonths(KpiFold):
    """Owns the deal-months table, for the mystery draw; `deal_events.DealEvents` feeds it."""

    def declare(self) -> None:
        # Noting a month twice changes nothing: no de-duplication needed.
        # Read by `salespulse mystery sample` from its changelog, hence the module-level name.
        self.deals_to_active_months = self.table(DEALS_TABLE, days=self.settings.retention.mystery_days)

    def fold(self, event: AnyEvent, batch: Batch) -> None:
        """Record, per deal, the team-local months it had an event in and its rep then."""
        deal_id = getattr(event, "deal_id", None)
        if deal_id is None:
            return
        month = month_of(event.occurred_at, self.settings.timezone_of(event.team_id))
        changed = note_activity(
            self.deals_to_active_months.memory.get(deal_id),
            event.team_id,
            month,
            event.occurred_at.timestamp(),
            event.rep_id,
        )
        if changed is not None:
            batch.update(self.deals_to_active_months, deal_id, lambda _: changed)

    def forget_before(self, oldest_month: str) -> None:
        """Forget deals with no month from `oldest_month` on (memory only)."""
        deals = self.deals_to_active_months
        deals.forget([k for k, v in deals.data.items() if max(v["months"]) < oldest_month])


class MysteryChecks(KpiFamily):
    """Owns the team-keyed check topic, the check table and the `score_mystery_checks` agent."""

    kind = "mystery_check"
    reads = ("mystery_checks_by_team",)
    agent = "score_mystery_checks"
    seen_table = "mystery_check_ids_to_seen_at"
    prune_every_s, prune_timer = 3600.0, "prune_mystery"

    def declare(self) -> None:
        self.deal_months = DealMonths(self.wiring)
        self.months_to_checks = self.table("months_to_mystery_checks", days=self.settings.retention.mystery_days)

    def decode(self, raw: bytes) -> MysteryCheckEvent:
        return MysteryCheckEvent.model_validate_json(raw)

    def fold(self, event: MysteryCheckEvent, batch: Batch) -> None:
        """Add the check to its team's month; a later check of the same deal replaces it."""
        key = month_key(event.team_id, event.month)
        changed = record_check(
            self.months_to_checks.memory.get(key),
            event.rep_id,
            event.deal_id,
            event.occurred_at.timestamp(),
            event.event_id,
            sum(event.points.values()),
        )
        if changed is not None:
            batch.update(self.months_to_checks, key, lambda _: changed)

    async def prune(self) -> None:
        """Forget deals and months older than the retention (memory only)."""
        limit = self.clock() - timedelta(days=self.settings.retention.mystery_days)
        oldest = limit.strftime("%Y-%m")
        self.deal_months.forget_before(oldest)
        checks = self.months_to_checks
        checks.forget([k for k in checks.data.keys() if split_month_key(k)[1] < oldest])
        self.forget_old_ids()
