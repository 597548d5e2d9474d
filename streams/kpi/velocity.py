"""Deal-velocity maths: a deal's history and the rolling windows of decided deals.

A deal is created at the earliest `occurred_at` of any of its events and decided at the earliest
event whose stage is terminal (won or lost). Both are minima, so the result does not depend on
the order in which events arrive. Ties on time are broken by event id, for the same reason.
The decision is credited to the team and rep named on the deciding event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from salespulse.models.config import TERMINAL_STAGES

Outcome = Literal["won", "lost"]
OUTCOMES: tuple[Outcome, ...] = ("won", "lost")
VelocityWindow = Literal["rolling_30d", "rolling_90d"]
VELOCITY_WINDOWS: dict[VelocityWindow, int] = {"rolling_30d": 30, "rolling_90d": 90}


@dataclass(frozen=True)
class DealHistory:
    """What is kept of one deal: enough to answer velocity questions exactly."""

    created_at: float
    last_at: float
    decided_at: float | None = None
    decision_event_id: str | None = None
    outcome: Outcome | None = None
    team: str | None = None
    rep: str | None = None

    @property
    def decision_seconds(self) -> float | None:
        """Time from creation to decision, or None while the deal is open."""
        return None if self.decided_at is None else self.decided_at - self.created_at

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-able dict for the table's changelog."""
        # Its fields are flat: asdict's deep copy of each cost more than the rest of the fold.
        return dict(vars(self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DealHistory":
        """Rebuild from `to_json` output."""
        return cls(**data)


def apply_deal_event(
    history: DealHistory | None,
    *,
    occurred_at: datetime,
    stage: str,
    event_id: str,
    team: str,
    rep: str,
) -> DealHistory:
    """Fold one deal-stage event into the deal's history."""
    ts = occurred_at.timestamp()
    if history is None:
        history = DealHistory(created_at=ts, last_at=ts)
    else:
        history = replace(history, created_at=min(history.created_at, ts), last_at=max(history.last_at, ts))
    if stage in TERMINAL_STAGES:
        candidate = (ts, event_id)
        current = (
            None
            if history.decided_at is None
            else (history.decided_at, history.decision_event_id or "")
        )
        if current is None or candidate < current:
            history = replace(
                history,
                decided_at=ts,
                decision_event_id=event_id,
                outcome="won" if stage == "won" else "lost",
                team=team,
                rep=rep,
            )
    return history


@dataclass
class VelocityFigures:
    """Decided deals in one window for one (team, rep, outcome)."""

    count: int = 0
    seconds_sum: float = 0.0

    @property
    def seconds_avg(self) -> float | None:
        """Average time to decision; undefined for an empty window."""
        return self.seconds_sum / self.count if self.count else None


VelocityKey = tuple[str, str, Outcome, VelocityWindow]


def velocity_windows(deals: Iterable[DealHistory], now: datetime) -> dict[VelocityKey, VelocityFigures]:
    """Aggregate decided deals into (team, rep, outcome, window) figures.

    A deal is in a window when now − days ≤ decided_at ≤ now. Every (team, rep) with a decided
    deal gets all outcome × window combinations, zero where empty, so series do not vanish.
    """
    figures: dict[VelocityKey, VelocityFigures] = defaultdict(VelocityFigures)
    end = now.timestamp()
    for deal in deals:
        if deal.decided_at is None or deal.team is None or deal.rep is None or deal.outcome is None:
            continue
        for outcome in OUTCOMES:
            for window in VELOCITY_WINDOWS:
                figures[(deal.team, deal.rep, outcome, window)]
        for window, days in VELOCITY_WINDOWS.items():
            start = (now - timedelta(days=days)).timestamp()
            if start <= deal.decided_at <= end:
                cell = figures[(deal.team, deal.rep, deal.outcome, window)]
                cell.count += 1
                cell.seconds_sum += deal.decided_at - deal.created_at
    return dict(figures)


def deal_expired_at(now: datetime, retention_days: int) -> float:
    """Return the time before which a deal's latest event must lie for the deal to be dropped."""
    return (now - timedelta(days=retention_days)).timestamp()


def deal_expired(deal: DealHistory, now: datetime, retention_days: int) -> bool:
    """Tell whether a deal has had no event within the retention and can be dropped."""
    return deal.last_at < deal_expired_at(now, retention_days)
