"""Stage checklists (level 1 of execution quality): is every step of the funnel complete?

Every stage change is judged against the stage's two checklists:

- content: each listed CRM field is present in the event's `fields` snapshot with a value other
  than null or an empty string;
- process: each listed action happened for the deal (an activity event with its `deal_id`) at
  or before the stage change's `occurred_at`.

The process verdict is on event time, so it does not depend on arrival order: an activity that
arrives after the stage change but happened before it completes the check then. A stage
without a checklist is complete. Windows count stage changes by their `occurred_at`:
`rolling_30d` holds those with now − 30 days ≤ occurred_at ≤ now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

CHECK_WINDOW_DAYS = 30


def missing_content(required: Iterable[str], fields: Mapping[str, object]) -> list[str]:
    """Return the required fields that are absent, null or empty, in checklist order."""
    return [name for name in required if fields.get(name) in (None, "")]


def missing_process(required: Iterable[str], first_actions: Mapping[str, float], at: float) -> list[str]:
    """Return the required actions the deal had not seen by `at`, in checklist order.

    `first_actions` maps each action to the earliest `occurred_at` (epoch seconds) seen for the deal.
    """
    return [action for action in required if first_actions.get(action, float("inf")) > at]


def earlier(first_actions: Mapping[str, float], action: str, at: float) -> dict[str, float] | None:
    """Return the deal's first actions with `action` at `at`, or None when that changes nothing."""
    if first_actions.get(action, float("inf")) <= at:
        return None
    return {**first_actions, action: at}


@dataclass(frozen=True)
class StageCheck:
    """The verdict on one stage change, credited to the rep on its event."""

    occurred_at: float
    team: str
    rep: str
    stage: str
    missing: tuple[str, ...]
    missing_process: tuple[str, ...] = ()

    def to_json(self) -> list[object]:
        """Return a JSON-able list for the table's changelog."""
        return [self.occurred_at, self.team, self.rep, self.stage, list(self.missing), list(self.missing_process)]

    @classmethod
    def from_json(cls, data: list) -> "StageCheck":  # type: ignore[type-arg]
        """Rebuild from `to_json` output."""
        at, team, rep, stage, missing = data[:5]
        # Checks stored before process checklists existed have no sixth element.
        process = data[5] if len(data) > 5 else ()
        return cls(float(at), team, rep, stage, tuple(missing), tuple(process))

    @staticmethod
    def credited_in(data: list) -> tuple[str, str]:  # type: ignore[type-arg]
        """Return the (team, rep) of a check's `to_json` output, without rebuilding the check."""
        return data[1], data[2]

    @staticmethod
    def awaits(data: list, action: str, at: float) -> bool:  # type: ignore[type-arg]
        """Tell whether `with_action(action, at)` changes the check whose `to_json` output is `data`."""
        return len(data) > 5 and action in data[5] and at <= data[0]

    def with_action(self, action: str, at: float) -> "StageCheck":
        """Return the check as it stands once the deal had `action` at `at`."""
        if action not in self.missing_process or at > self.occurred_at:
            return self
        return replace(self, missing_process=tuple(a for a in self.missing_process if a != action))


ItemKind = Literal["content", "process"]


@dataclass
class CheckFigures:
    """Stage changes of one (team, rep, stage) in the window, and the items they missed."""

    complete: int = 0
    incomplete: int = 0
    missing: dict[tuple[ItemKind, str], int] | None = None


def checks_in_window(checks: Iterable[StageCheck], now: datetime) -> dict[tuple[str, str, str], CheckFigures]:
    """Aggregate stage checks of the rolling 30 days per (team, rep, stage)."""
    start = (now - timedelta(days=CHECK_WINDOW_DAYS)).timestamp()
    end = now.timestamp()
    figures: dict[tuple[str, str, str], CheckFigures] = defaultdict(CheckFigures)
    for check in checks:
        if not start <= check.occurred_at <= end:
            continue
        cell = figures[(check.team, check.rep, check.stage)]
        items: list[tuple[ItemKind, str]] = [("content", i) for i in check.missing] + [("process", i) for i in check.missing_process]
        if items:
            cell.incomplete += 1
            cell.missing = cell.missing or {}
            for item in items:
                cell.missing[item] = cell.missing.get(item, 0) + 1
        else:
            cell.complete += 1
    return dict(figures)
