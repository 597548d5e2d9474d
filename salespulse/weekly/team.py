"""The team's part of the weekly review: totals against the team's targets, the reps by
attainment, and who is behind on what.

Team figures add counts and targets over the reps and divide sums by sums, never averaging the
reps' percentages. The team's target for an action is the sum of its reps' targets when every
rep has one, else there is none (a total against part of the team's targets would flatter it);
a rep's overall attainment counts only the actions they have a positive target for, as the
dashboards' pace does. Judged with the wallboard's bounds (`salespulse.dashboards.common`): behind
means below PACE_GREEN_FROM, on pace so far in the team's current week, on target in a closed one.
"""

from __future__ import annotations

from dataclasses import dataclass

from salespulse.dashboards.common import PACE_GREEN_FROM
from salespulse.weekly.review import RepReview, WeekCell, WeeklyReview, arrow


@dataclass(frozen=True)
class TeamRow:
    """One action, summed over the team's reps."""

    action: str
    this: int
    previous: int | None
    target: int | None  # the sum of the reps' targets; None unless every rep has one

    @property
    def change(self) -> int | None:
        """This week minus the week before."""
        return None if self.previous is None else self.this - self.previous

    @property
    def trend(self) -> str:
        """▲, ▼, = or – as for a rep's action."""
        return arrow(self.this, self.previous)

    @property
    def attainment(self) -> float | None:
        """The team's count over the team's target."""
        return self.this / self.target if self.target else None


def _sum(values: list[int | None]) -> int | None:
    """Add the known values; None when none is known."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _team_target(targets: list[int | None]) -> int | None:
    return None if any(t is None for t in targets) else sum(t for t in targets if t is not None)


def team_rows(review: WeeklyReview) -> list[TeamRow]:
    """Return the team's totals per action."""
    rows = []
    for index, row in enumerate(review.reps[0].actions if review.reps else []):
        actions = [rep.actions[index] for rep in review.reps]
        rows.append(
            TeamRow(
                row.action,
                sum(a.this for a in actions),
                _sum([a.previous for a in actions]),
                _team_target([a.target for a in actions]),
            )
        )
    return rows


def team_weeks(review: WeeklyReview) -> dict[str, list[WeekCell]]:
    """Return each action's trend summed over the reps: counts and targets added per week."""
    weeks: dict[str, list[WeekCell]] = {}
    for action in review.reps[0].weeks if review.reps else {}:
        weeks[action] = [
            WeekCell(
                week,
                _sum([rep.weeks[action][index].count for rep in review.reps]),
                _team_target([rep.weeks[action][index].target for rep in review.reps]),
            )
            for index, week in enumerate(review.trend_weeks)
        ]
    return weeks


def rep_attainment(rep: RepReview, week: int = -1) -> float | None:
    """Return the rep's count over target in a week of the trend (-1 the reviewed one, -2 the one
    before), over the actions with a target in force then; None when a count is unknown."""
    cells = [cells[week] for cells in rep.weeks.values() if len(cells) >= -week]
    targeted = [c for c in cells if c.target]
    if not targeted or any(c.count is None for c in targeted):
        return None
    return sum(c.count or 0 for c in targeted) / sum(c.target or 0 for c in targeted)


@dataclass(frozen=True)
class Behind:
    """One action a rep is behind on: done against due (by now, or the week's target)."""

    action: str
    done: int
    due: float
    ratio: float


def behind_on(review: WeeklyReview, rep: RepReview) -> list[Behind]:
    """Return the rep's actions below the wallboard's green bound, furthest behind first."""
    found = []
    for row in rep.actions:
        if review.current:
            if row.action in rep.pace:
                ratio, expected = rep.pace[row.action]
                found.append(Behind(row.action, row.this, expected, ratio))
        elif row.attainment is not None and row.target is not None:
            found.append(Behind(row.action, row.this, row.target, row.attainment))
    return sorted((b for b in found if b.ratio < PACE_GREEN_FROM), key=lambda b: (b.ratio, b.action))


def ranked(review: WeeklyReview) -> list[RepReview]:
    """Return the reps by attainment, highest first; reps without targets last, by name."""
    return sorted(review.reps, key=lambda rep: (-(rep_attainment(rep) or -1.0), rep.name, rep.rep))
