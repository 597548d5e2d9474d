"""Deal velocity in money and stages: a deal's path, and the figures of a window of deals.

A deal's path keeps every stage change and every amount its events carried, so that what is
derived from it does not depend on the order events arrive in:

- created: its earliest event; decided: its earliest event in a terminal stage (won or lost), ties
  broken by event id, as deal velocity decides (`kpi.velocity`); a later decision changes nothing;
- its amount: that of its latest event carrying one at or before the decision (open: its latest),
  in the team's currency at the rate in force on the decision's UTC date (open: the latest rate);
- its rep: the rep of its latest event (open deals are credited to whoever holds them now);
- time in an open stage: from the change into it to the deal's next change to another stage.

Windows are by event time: a figure of `rolling_90d` holds the deals decided (or, for the
funnel, created; for time in stage, leaving the stage) in the 90 days up to now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from salespulse.models.config import TERMINAL_STAGES
from salespulse.models.rates import RateBook

DAY_S = 86_400.0
MONEY_WINDOWS: dict[str, int] = {"rolling_30d": 30, "rolling_90d": 90}

# (occurred_at, event_id, stage) and (occurred_at, event_id, amount, currency), in that order.
StageMark = tuple[float, str, str]
AmountMark = tuple[float, str, float, str]


@dataclass(frozen=True)
class DealPath:
    """What is kept of a deal for money and stages: its stage changes, amounts and latest owner."""

    stages: tuple[StageMark, ...] = ()
    amounts: tuple[AmountMark, ...] = ()
    # (occurred_at, event_id, team, rep) of its latest event
    latest: tuple[float, str, str, str] | None = None

    @property
    def created_at(self) -> float:
        return self.stages[0][0]

    @property
    def last_at(self) -> float:
        return self.stages[-1][0]

    @property
    def decision(self) -> StageMark | None:
        """The earliest stage change to a terminal stage, or None while the deal is open."""
        return next((mark for mark in self.stages if mark[2] in TERMINAL_STAGES), None)

    @property
    def stage(self) -> str:
        """The stage the deal is in now: that of its latest stage change."""
        return self.stages[-1][2]

    def amount(self) -> tuple[float, str] | None:
        """The amount and currency of its latest event carrying one, at or before the decision."""
        decision = self.decision
        until = (decision[0], decision[1]) if decision else None
        found = None
        for at, event_id, amount, currency in self.amounts:
            if until is not None and (at, event_id) > until:
                break
            found = (amount, currency)
        return found

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-able dict for the table's changelog."""
        return {"stages": self.stages, "amounts": self.amounts, "latest": self.latest}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DealPath":
        """Rebuild from `to_json` output (lists back to tuples)."""
        latest = data.get("latest")
        return cls(
            tuple(tuple(mark) for mark in data.get("stages", ())),  # type: ignore[misc]
            tuple(tuple(mark) for mark in data.get("amounts", ())),  # type: ignore[misc]
            tuple(latest) if latest else None,  # type: ignore[arg-type]
        )


def add_event(
    path: DealPath | None,
    *,
    occurred_at: datetime,
    event_id: str,
    stage: str,
    team: str,
    rep: str,
    amount: float | None = None,
    currency: str | None = None,
) -> DealPath:
    """Fold one deal-stage event into the deal's path; folding it twice changes nothing."""
    path = path or DealPath()
    at = occurred_at.timestamp()
    stages = tuple(sorted({*path.stages, (at, event_id, stage)}))
    amounts = path.amounts
    if amount is not None and currency is not None:
        amounts = tuple(sorted({*amounts, (at, event_id, amount, currency)}))
    latest = path.latest
    if latest is None or (at, event_id) > (latest[0], latest[1]):
        latest = (at, event_id, team, rep)
    return DealPath(stages, amounts, latest)


def stage_exits(path: DealPath, open_stages: Sequence[str]) -> list[tuple[str, float, float]]:
    """Return (stage, seconds in it, left at) for each time the deal left an open stage."""
    exits = []
    entered: tuple[str, float] | None = None
    for at, _, stage in path.stages:
        if entered is not None and stage != entered[0]:
            if entered[0] in open_stages:
                exits.append((entered[0], at - entered[1], at))
            entered = None
        if entered is None:
            entered = (stage, at)
    return exits


@dataclass
class RepMoney:
    """One (team, rep)'s deals decided in a window, and the value of those won."""

    won: int = 0
    lost: int = 0
    won_valued: int = 0
    won_value: float = 0.0
    won_seconds: float = 0.0

    @property
    def win_rate(self) -> float | None:
        decided = self.won + self.lost
        return self.won / decided if decided else None

    @property
    def won_value_avg(self) -> float | None:
        return self.won_value / self.won_valued if self.won_valued else None

    @property
    def cycle_days(self) -> float | None:
        return self.won_seconds / self.won / DAY_S if self.won else None


def sales_velocity(open_deals: int, money: RepMoney) -> float | None:
    """Open deals × average won value × win rate ÷ cycle days: value per day; None with a factor missing."""
    value, rate, cycle = money.won_value_avg, money.win_rate, money.cycle_days
    if value is None or rate is None or not cycle:
        return None
    return open_deals * value * rate / cycle


@dataclass
class MoneyFigures:
    """Everything the money and stage series of one scrape are made of."""

    # (team, rep, window) -> that rep's decided deals
    reps: dict[tuple[str, str, str], RepMoney] = field(default_factory=lambda: defaultdict(RepMoney))
    # (team, rep, stage) -> open deals, and those of them with no event for the stale days
    open_deals: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    stale_deals: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    # (team, stage, window) -> (exits, seconds summed)
    stage_time: dict[tuple[str, str, str], list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0]))
    # (team, window) -> deals created in the window; (team, stage, window) -> those of them that reached the stage
    created: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    reached: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    # team -> deals whose amount has no rate into the team's currency
    without_rate: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def money_figures(
    paths: Iterable[DealPath],
    now: datetime,
    *,
    currency_of: Any,
    rates: RateBook,
    open_stages: Sequence[str],
    stale_days: int,
) -> MoneyFigures:
    """Aggregate the deals' paths into the figures of every window, as of `now`.

    `currency_of(team)` is the team's currency. A deal's team is that of its latest event.
    """
    figures = MoneyFigures()
    end = now.timestamp()
    starts = {window: end - days * DAY_S for window, days in MONEY_WINDOWS.items()}
    stale_before = end - stale_days * DAY_S
    stages_in_order = (*open_stages, "won")
    for path in paths:
        if not path.stages or path.latest is None:
            continue
        _, _, team, rep = path.latest
        decision = path.decision
        valued = _valued(path, decision, currency_of(team), rates)
        if valued == "no rate":
            figures.without_rate[team] += 1
        if decision is None:
            figures.open_deals[(team, rep, path.stage)] += 1
            if path.last_at < stale_before:
                figures.stale_deals[(team, rep, path.stage)] += 1
        exits = stage_exits(path, open_stages)
        reached = {mark[2] for mark in path.stages}
        for window, start in starts.items():
            if decision is not None and start <= decision[0] <= end:
                cell = figures.reps[(team, rep, window)]
                if decision[2] == "won":
                    cell.won += 1
                    cell.won_seconds += decision[0] - path.created_at
                    if isinstance(valued, float):
                        cell.won_valued += 1
                        cell.won_value += valued
                else:
                    cell.lost += 1
            for stage, seconds, left_at in exits:
                if start <= left_at <= end:
                    held = figures.stage_time[(team, stage, window)]
                    held[0] += 1
                    held[1] += seconds
            if start <= path.created_at <= end:
                figures.created[(team, window)] += 1
                for stage in stages_in_order:
                    if stage in reached:
                        figures.reached[(team, stage, window)] += 1
    return figures


def _valued(path: DealPath, decision: StageMark | None, currency: str, rates: RateBook) -> float | str | None:
    """Return the deal's amount in `currency`, "no rate" when its currency has none, None without an amount."""
    amount = path.amount()
    if amount is None:
        return None
    on = datetime.fromtimestamp(decision[0], UTC).date() if decision else None
    converted = rates.convert(amount[0], amount[1], currency, on)
    return "no rate" if converted is None else converted


def window_start(now: datetime, window: str) -> datetime:
    """Return the first instant of a money window."""
    return now - timedelta(days=MONEY_WINDOWS[window])
