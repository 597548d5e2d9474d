"""Deal figures credited to reps: deal-keyed results re-keyed by rep, so one worker exports a rep.

Deal velocity and stage checklists must read a deal's events together, so they run on topics keyed
by deal, and with several workers a rep's deals are spread over all of them. Each of those families
forwards, for every deal a batch touched, the deal's current figures to this family's topic, keyed
by the rep they are credited to; this family keeps them in a table partitioned like the rep's
activities, and the collector reads the rep's deal series from the rep's owner only.

A record holds a figure's whole current value (or null when the credit moved to another rep), so
applying it again changes nothing: a batch forwarded twice after a crash is harmless.

Money figures go to the rep credited and, under rep "", to the team (`families.money`), so each
team's figures are on one worker too. The scrape reads what the table holds through the table's
change feed: each changed figure is parsed once, when it changes, into `by_kind` and the
`MoneyIndex`, not at every scrape.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson

from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.family import KpiFamily, KpiFold, Wiring
from salespulse.models.rates import RateBook
from salespulse.streams.engine.tables import Changes
from salespulse.streams.kpi.checklists import CHECK_WINDOW_DAYS, StageCheck
from salespulse.streams.kpi.money import STAGE_SECONDS_BUCKETS, DealSummary, MoneyFigures, MoneyIndex
from salespulse.streams.kpi.velocity import DealHistory, deal_expired, deal_expired_at
from salespulse.streams.topics import partition_of, rep_key

VELOCITY = "velocity"
CHECKS = "checks"
MONEY = "money"


def figure_key(kind: str, deal_id: str, team: str, rep: str) -> str:
    """Return the table key of one deal's figures of one kind credited to one rep."""
    return f"{kind}|{team}|{rep}|{deal_id}"


class DealFigures(KpiFamily):
    """Owns the rep-keyed deal-figures topic, its table and the `credit_deals` agent."""

    reads = ("deal_figures_by_rep",)
    agent = "credit_deals"
    prune_every_s, prune_timer = 300.0, "prune_deal_figures"

    def declare(self) -> None:
        self.partitions = self.settings.kafka.partitions
        self.reps_to_deal_figures = self.table("reps_to_deal_figures", days=self.settings.retention.deal_history_days)
        # What the scrape reads, parsed once per change (`sync`): key -> figure, per kind.
        self.histories_by_key: dict[str, DealHistory] = {}
        self.checks_by_key: dict[str, list[StageCheck]] = {}
        self.money = MoneyIndex(self.settings.stages, STAGE_SECONDS_BUCKETS)
        self.changes: Changes | None = None

    def send(self, outbox: Outbox, kind: str, deal_id: str, team: str, rep: str, value: Any) -> None:
        """Queue one figure (None: no longer credited to this rep) for the rep's partition."""
        owner = rep_key(team, rep)
        record = orjson.dumps({"key": figure_key(kind, deal_id, team, rep), "value": value})
        outbox.put(self.topic.get_topic_name(), partition_of(owner, self.partitions), owner.encode(), record)

    def decode(self, raw: bytes) -> dict[str, Any]:
        return dict(orjson.loads(raw))

    def fold_event(self, event: dict[str, Any], batch: Batch, seen_at: float) -> None:
        """Keep the figure's latest value; no de-duplication, as a value applied twice is the same."""
        value = event["value"]
        batch.update(self.reps_to_deal_figures, str(event["key"]), lambda _: value)

    def sync(self) -> None:
        """Bring what the scrape reads up to the table: every key, at the first call; then those changed."""
        data = self.reps_to_deal_figures.data
        if self.changes is None:
            self.changes = self.reps_to_deal_figures.follow()
            self.changes.take()  # the feed starts here; what it would have held is read whole
            keys: Any = list(data)
        else:
            keys = self.changes.take()
        for key in keys:
            kind = key.partition("|")[0]
            value = data.get(key)
            if kind == MONEY:
                self.money.set(key, DealSummary.from_json(value) if value is not None else None)
            elif kind == VELOCITY:
                if value is None:
                    self.histories_by_key.pop(key, None)
                else:
                    self.histories_by_key[key] = DealHistory.from_json(value)
            elif kind == CHECKS:
                if value is None:
                    self.checks_by_key.pop(key, None)
                else:
                    self.checks_by_key[key] = [StageCheck.from_json(item) for item in value]

    def histories(self) -> list[DealHistory]:
        """Return the decided deals credited to the reps this worker holds."""
        self.sync()
        return list(self.histories_by_key.values())

    def checks(self) -> list[StageCheck]:
        """Return the stage checks credited to the reps this worker holds."""
        self.sync()
        return [check for checks in self.checks_by_key.values() for check in checks]

    def money_figures(self, now: datetime, rates: RateBook) -> MoneyFigures:
        """Return the money and stage figures of the deals credited to the reps and teams this worker holds."""
        self.sync()
        settings = self.settings
        return self.money.figures(
            now,
            rates=rates,
            currency_of=settings.currency_of,
            retention_days=settings.retention.deal_history_days,
            stale_days=settings.deals.stale_days,
        )

    async def prune(self) -> None:
        """Forget figures no window can show any more (memory only; the changelog expires them)."""
        now = self.clock()
        days = self.settings.retention.deal_history_days
        check_limit = (now - timedelta(days=CHECK_WINDOW_DAYS + 1)).timestamp()
        deal_limit = deal_expired_at(now, days)

        def stale(key: str, value: Any) -> bool:
            if value is None:
                return True
            if key.startswith(VELOCITY + "|"):
                return deal_expired(DealHistory.from_json(value), now, days)
            if key.startswith(MONEY + "|"):
                return bool(value[3] < deal_limit)  # the summary's last_at
            return all(StageCheck.from_json(item).occurred_at < check_limit for item in value)

        figures = self.reps_to_deal_figures
        figures.forget([k for k, v in figures.data.items() if stale(k, v)])


class CreditsDeals(KpiFold):
    """A deal family whose figures reach the reps credited with each deal through `DealFigures`."""

    def __init__(self, wiring: Wiring, *, figures: DealFigures) -> None:
        self.figures = figures
        super().__init__(wiring)
