"""Deal velocity in money and stages: a deal's path, its summary, and the figures of the windows.

A deal's path keeps every stage change and every amount its events carried, so that what is
derived from it does not depend on the order events arrive in:

- created: its earliest event; decided: its earliest event in a terminal stage (won or lost), ties
  broken by event id, as deal velocity decides (`kpi.velocity`); a later decision changes nothing;
- credited: an open deal to the team and rep of its latest event (whoever holds it now), a
  decided deal to those of the deciding event (as `salespulse_deals_decided`);
- its amount: that of its latest event carrying one at or before the decision (open: its latest),
  in the event's currency, or the team's where the event names none;
- time in an open stage: from the change into it to the deal's next change to another stage;
- reached: the open stages it ever entered, and `won` when its decision is won.

The deal-keyed family folds events into the path and forwards its `DealSummary` to the rep
credited and to the team; `MoneyIndex` keeps the summaries a worker holds in sorted lists, so a
scrape reads each window with a few bisections instead of walking every deal.

Windows are by event time: a figure of `rolling_90d` holds the deals decided (the funnel: created;
time in stage: leaving the stage) in the 90 days up to now, both ends included.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from salespulse.models.config import TERMINAL_STAGES
from salespulse.models.rates import RateBook

DAY_S = 86_400.0
MONEY_WINDOWS: dict[str, int] = {"rolling_30d": 30, "rolling_90d": 90}
# The bounds of the time-in-stage histogram: an hour to 180 days.
STAGE_SECONDS_BUCKETS: tuple[float, ...] = tuple(
    hours * 3600.0 for hours in (1, 6, 24, 48, 96, 168, 336, 720, 1440, 2160, 4320)
)
# After every other key of the same time, so that a bisection at (t, LAST) takes all of t.
_LAST = "\U0010ffff"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

# (occurred_at, event_id, stage, team, rep) and (occurred_at, event_id, amount, currency or None)
StageMark = tuple[float, str, str, str, str]
AmountMark = tuple[float, str, float, "str | None"]


@dataclass(frozen=True)
class DealPath:
    """What is kept of a deal for money and stages: its stage changes and its amounts, in time order."""

    stages: tuple[StageMark, ...] = ()
    amounts: tuple[AmountMark, ...] = ()

    @property
    def decision(self) -> StageMark | None:
        """The earliest stage change to a terminal stage, or None while the deal is open."""
        return next((mark for mark in self.stages if mark[2] in TERMINAL_STAGES), None)

    def credited(self) -> tuple[str, str] | None:
        """The (team, rep) the deal is credited to: its decision's, else its latest event's."""
        if not self.stages:
            return None
        mark = self.decision or self.stages[-1]
        return mark[3], mark[4]

    def amount(self, decision: StageMark | None) -> tuple[float, str | None] | None:
        """The amount and currency of its latest event carrying one, at or before the decision."""
        until = (decision[0], decision[1]) if decision else None
        found = None
        for at, event_id, amount, currency in self.amounts:
            if until is not None and (at, event_id) > until:
                break
            found = (amount, currency)
        return found

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-able dict for the table's changelog."""
        return {"stages": self.stages, "amounts": self.amounts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DealPath":
        """Rebuild from `to_json` output (lists back to tuples)."""
        return cls(
            tuple(tuple(mark) for mark in data["stages"]),  # type: ignore[misc]
            tuple(tuple(mark) for mark in data["amounts"]),  # type: ignore[misc]
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
    mark: StageMark = (at, event_id, stage, team, rep)
    stages = path.stages if mark in path.stages else tuple(sorted((*path.stages, mark)))
    amounts = path.amounts
    if amount is not None:
        money: AmountMark = (at, event_id, amount, currency)
        if money not in amounts:
            amounts = tuple(sorted((*amounts, money), key=lambda held: (held[0], held[1])))
    return DealPath(stages, amounts)


def stage_exits(stages: Sequence[StageMark], open_stages: Sequence[str]) -> list[tuple[str, float, float]]:
    """Return (stage, seconds in it, left at) for each time the deal left an open stage."""
    exits = []
    entered: tuple[str, float] | None = None
    for at, _, stage, _, _ in stages:
        if entered is not None and stage != entered[0]:
            if entered[0] in open_stages:
                exits.append((entered[0], at - entered[1], at))
            entered = None
        if entered is None:
            entered = (stage, at)
    return exits


@dataclass(frozen=True, slots=True)
class DealSummary:
    """What a deal's credited rep and its team need of it: the path read once, as plain values."""

    team: str
    rep: str  # "" in the copy the team's figures are made from
    created_at: float
    last_at: float
    stage: str  # the stage it is in: its latest stage change's, or its decision's
    decided_at: float | None
    won: bool | None
    amount: float | None
    currency: str | None  # None: the team's own
    reached: tuple[str, ...]
    exits: tuple[tuple[str, float, float], ...]

    @property
    def is_open(self) -> bool:
        return self.decided_at is None

    def for_team(self) -> "DealSummary":
        """Return the copy the team's figures are made from."""
        return replace(self, rep="")

    def to_json(self) -> list[Any]:
        """Return the summary as a flat JSON list (the record forwarded and kept in the changelog)."""
        return [
            self.team, self.rep, self.created_at, self.last_at, self.stage, self.decided_at, self.won,
            self.amount, self.currency, self.reached, self.exits,
        ]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> "DealSummary":
        """Rebuild from `to_json` output."""
        team, rep, created, last, stage, decided, won, amount, currency, reached, exits = data
        return cls(
            team, rep, created, last, stage, decided, won, amount, currency,
            tuple(reached), tuple((s, seconds, left) for s, seconds, left in exits),
        )


def summarise(path: DealPath, open_stages: Sequence[str]) -> DealSummary | None:
    """Return the deal's summary, credited as the module says; None for a path without a stage change."""
    if not path.stages:
        return None
    decision = path.decision
    credited = decision or path.stages[-1]
    amount = path.amount(decision)
    entered = {mark[2] for mark in path.stages}
    reached = [stage for stage in open_stages if stage in entered]
    if decision is not None and decision[2] == "won":
        reached.append("won")
    return DealSummary(
        team=credited[3],
        rep=credited[4],
        created_at=path.stages[0][0],
        last_at=path.stages[-1][0],
        stage=credited[2],
        decided_at=decision[0] if decision else None,
        won=(decision[2] == "won") if decision else None,
        amount=amount[0] if amount else None,
        currency=amount[1] if amount else None,
        reached=tuple(reached),
        exits=tuple(stage_exits(path.stages, open_stages)),
    )


@dataclass
class RepMoney:
    """One (team, rep)'s deals decided in a window, and the value of those won."""

    won: int = 0
    lost: int = 0
    won_valued: int = 0
    won_value: float = 0.0
    won_seconds: float = 0.0

    def copy(self) -> "RepMoney":
        return RepMoney(self.won, self.lost, self.won_valued, self.won_value, self.won_seconds)

    @property
    def win_rate(self) -> float | None:
        decided = self.won + self.lost
        return self.won / decided if decided else None

    @property
    def won_value_avg(self) -> float | None:
        return self.won_value / self.won_valued if self.won_valued else None

    @property
    def cycle_seconds(self) -> float | None:
        return self.won_seconds / self.won if self.won else None


def sales_velocity(open_deals: int, money: RepMoney) -> float | None:
    """Open deals × average won value × win rate ÷ cycle in days: value per day; None with a factor missing."""
    value, rate, cycle = money.won_value_avg, money.win_rate, money.cycle_seconds
    if value is None or rate is None or not cycle:
        return None
    return open_deals * value * rate / (cycle / DAY_S)


@dataclass
class StageTime:
    """The exits from one open stage in a window: how many, their seconds, and a histogram of them."""

    exits: int = 0
    seconds: float = 0.0
    buckets: list[int] = field(default_factory=list)  # exits per bucket of the bounds, then over the last

    @property
    def seconds_avg(self) -> float | None:
        return self.seconds / self.exits if self.exits else None


Group = tuple[str, str]  # (team, rep); rep "" for the team


@dataclass
class MoneyFigures:
    """Everything the money and stage series of one scrape are made of."""

    # (team, rep, window) -> that rep's decided deals; rep "" for the team
    decided: dict[tuple[str, str, str], RepMoney] = field(default_factory=dict)
    # (team, rep) -> open deals in any stage
    open_total: dict[Group, int] = field(default_factory=dict)
    # (team, rep, stage) -> open deals, and those of them with no event for the stale days
    open_deals: dict[tuple[str, str, str], int] = field(default_factory=dict)
    stale_deals: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # (team, stage, window) -> the exits from the stage
    stage_time: dict[tuple[str, str, str], StageTime] = field(default_factory=dict)
    # (team, window) -> deals created in the window; (team, stage, window) -> those of them that reached the stage
    created: dict[tuple[str, str], int] = field(default_factory=dict)
    reached: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # team -> deals counted (open, or decided in the longest window) whose amount has no rate
    without_rate: dict[str, int] = field(default_factory=dict)


class MoneyIndex:
    """The deal summaries a worker holds, kept in time-sorted lists per group for the scrape.

    `set` replaces a summary (None removes it); `figures` reads every window as of a time. Each
    list holds (time, key, ...) tuples, so a window is the slice between two bisections and a
    summary's entries can be found again to remove them.
    """

    def __init__(self, open_stages: Sequence[str], buckets: Sequence[float]) -> None:
        self.open_stages = tuple(open_stages)
        self.bounds = tuple(buckets)
        self.items: dict[str, DealSummary] = {}
        self.decided: dict[Group, list[tuple[float, str, DealSummary]]] = defaultdict(list)
        self.open: dict[tuple[str, str, str], list[tuple[float, str]]] = defaultdict(list)
        # (team, currency) -> the team's open deals with an amount in that currency ("" the team's own)
        self.open_amounts: dict[Group, list[tuple[float, str]]] = defaultdict(list)
        # (team, stage) -> (left at, key, exit number, seconds in the stage, histogram bucket)
        self.exits: dict[Group, list[tuple[float, str, int, float, int]]] = defaultdict(list)
        self.created: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.reached: dict[Group, list[tuple[float, str]]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self.items)

    def set(self, key: str, summary: DealSummary | None) -> None:
        """Replace the summary held under `key`; None forgets it."""
        old = self.items.pop(key, None)
        if old is not None:
            for held, entry in self._entries(key, old):
                index = bisect_left(held, entry)
                if index < len(held) and held[index] == entry:
                    del held[index]
        if summary is not None:
            self.items[key] = summary
            for held, entry in self._entries(key, summary):
                insort(held, entry)

    def _entries(self, key: str, deal: DealSummary) -> Iterator[tuple[list[Any], tuple[Any, ...]]]:
        team = deal.team
        if deal.decided_at is not None:
            yield self.decided[(team, deal.rep)], (deal.decided_at, key, deal)
        else:
            yield self.open[(team, deal.rep, deal.stage)], (deal.last_at, key)
        if deal.rep:
            return
        # The team's copy alone carries what only the team's figures show.
        if deal.decided_at is None and deal.amount is not None:
            yield self.open_amounts[(team, deal.currency or "")], (deal.last_at, key)
        for number, (stage, seconds, left_at) in enumerate(deal.exits):
            yield self.exits[(team, stage)], (left_at, key, number, seconds, bisect_left(self.bounds, seconds))
        yield self.created[team], (deal.created_at, key)
        for stage in deal.reached:
            yield self.reached[(team, stage)], (deal.created_at, key)

    def figures(
        self,
        now: datetime,
        *,
        rates: RateBook,
        currency_of: Callable[[str], str],
        retention_days: int,
        stale_days: int,
    ) -> MoneyFigures:
        """Read every window as of `now`.

        Open deals count while their latest event is within `retention_days`; stale ones when it
        is more than `stale_days` old. Every group held gets its open and stale counts for each open
        stage (zero where none) and its decided counts for each window; every team its stage exits
        and funnel base; ratios only where they are defined.
        """
        end = now.timestamp()
        figures = MoneyFigures()
        # Narrowest first: each wider window adds what lies before the narrower one's start.
        windows = sorted(((window, end - days * DAY_S) for window, days in MONEY_WINDOWS.items()), key=lambda w: -w[1])
        kept_from = end - retention_days * DAY_S
        stale_before = end - stale_days * DAY_S
        groups = {group for group in self.decided if self.decided[group]}
        groups |= {(team, rep) for (team, rep, _), held in self.open.items() if held}

        for team, rep in sorted(groups):
            currency = currency_of(team)
            total = 0
            for stage in self.open_stages:
                held = self.open.get((team, rep, stage), ())
                first = bisect_left(held, (kept_from,))
                stale = bisect_left(held, (stale_before,)) - first if stale_before > kept_from else 0
                figures.open_deals[(team, rep, stage)] = len(held) - first
                figures.stale_deals[(team, rep, stage)] = max(stale, 0)
                total += len(held) - first
            figures.open_total[(team, rep)] = total
            decided = self.decided.get((team, rep), [])
            until = bisect_right(decided, (end, _LAST))
            narrower = RepMoney()  # each window: the narrower one's deals and those decided before its start
            without_rate = 0
            for window, start in windows:
                first = bisect_left(decided, (start,))
                cell = figures.decided[(team, rep, window)] = narrower.copy()
                without_rate += self._decided(cell, decided[first:until], rates, currency, counting=rep == "")
                narrower, until = cell, first
            if rep == "":
                for (held_team, held_currency), held_open in self.open_amounts.items():
                    if held_team == team and held_currency and rates.rate(held_currency, currency, None) is None:
                        without_rate += len(held_open) - bisect_left(held_open, (kept_from,))
                figures.without_rate[team] = without_rate

        for team in sorted({team for team, rep in groups if rep == ""}):
            created = self.created.get(team, [])
            for window, start in windows:
                figures.created[(team, window)] = bisect_right(created, (end, _LAST)) - bisect_left(created, (start,))
                for stage in (*self.open_stages, "won"):
                    held_reached = self.reached.get((team, stage), [])
                    figures.reached[(team, stage, window)] = (
                        bisect_right(held_reached, (end, _LAST)) - bisect_left(held_reached, (start,))
                    )
            for stage in self.open_stages:
                exits = self.exits.get((team, stage), [])
                until = bisect_right(exits, (end, _LAST))
                inner = StageTime(buckets=[0] * (len(self.bounds) + 1))
                for window, start in windows:
                    first = bisect_left(exits, (start,))
                    time_cell = StageTime(inner.exits, inner.seconds, list(inner.buckets))
                    buckets = time_cell.buckets
                    for entry in exits[first:until]:
                        time_cell.seconds += entry[3]
                        buckets[entry[4]] += 1
                    time_cell.exits += until - first
                    figures.stage_time[(team, stage, window)] = inner = time_cell
                    until = first
        return figures

    @staticmethod
    def _decided(
        cell: RepMoney, held: Sequence[tuple[float, str, DealSummary]], rates: RateBook, currency: str, counting: bool
    ) -> int:
        """Add deals decided to `cell`; return how many of those with an amount have no rate (when `counting`)."""
        without_rate = 0
        days: dict[int, date] = {}
        for decided_at, _, deal in held:
            if deal.won:
                cell.won += 1
                cell.won_seconds += decided_at - deal.created_at
            else:
                cell.lost += 1
            if deal.amount is None or not (deal.won or counting):
                continue
            day = int(decided_at // DAY_S)
            on = days.get(day) or days.setdefault(day, date.fromordinal(_EPOCH_ORDINAL + day))
            value = rates.convert(deal.amount, deal.currency or currency, currency, on)
            if value is None:
                without_rate += 1
            elif deal.won:
                cell.won_valued += 1
                cell.won_value += value
        return without_rate
