"""Stage checklists (level 1 of execution quality): is every required CRM field filled?

Every stage change is judged: complete when each field of the stage's content checklist is
present in the event's `fields` snapshot with a value other than null or an empty string.
A stage without a checklist is complete. Windows count stage changes by their `occurred_at`:
`rolling_30d` holds those with now − 30 days ≤ occurred_at ≤ now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

CHECK_WINDOW_DAYS = 30


def missing_content(required: Iterable[str], fields: Mapping[str, object]) -> list[str]:
    """Return the required fields that are absent, null or empty, in checklist order."""
    return [name for name in required if fields.get(name) in (None, "")]


@dataclass(frozen=True)
class StageCheck:
    """The verdict on one stage change, credited to the rep on its event."""

    occurred_at: float
    team: str
    rep: str
    stage: str
    missing: tuple[str, ...]

    def to_json(self) -> list[object]:
        """Return a JSON-able list for the table's changelog."""
        return [self.occurred_at, self.team, self.rep, self.stage, list(self.missing)]

    @classmethod
    def from_json(cls, data: list) -> "StageCheck":  # type: ignore[type-arg]
        """Rebuild from `to_json` output."""
        at, team, rep, stage, missing = data
        return cls(float(at), team, rep, stage, tuple(missing))


@dataclass
class CheckFigures:
    """Stage changes of one (team, rep, stage) in the window, and the items they missed."""

    complete: int = 0
    incomplete: int = 0
    missing: dict[str, int] | None = None


def checks_in_window(checks: Iterable[StageCheck], now: datetime) -> dict[tuple[str, str, str], CheckFigures]:
    """Aggregate stage checks of the rolling 30 days per (team, rep, stage)."""
    start = (now - timedelta(days=CHECK_WINDOW_DAYS)).timestamp()
    end = now.timestamp()
    figures: dict[tuple[str, str, str], CheckFigures] = defaultdict(CheckFigures)
    for check in checks:
        if not start <= check.occurred_at <= end:
            continue
        cell = figures[(check.team, check.rep, check.stage)]
        if check.missing:
            cell.incomplete += 1
            cell.missing = cell.missing or {}
            for item in check.missing:
                cell.missing[item] = cell.missing.get(item, 0) + 1
        else:
            cell.complete += 1
    return dict(figures)
