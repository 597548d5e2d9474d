"""Review-score maths: per-day sums and counts, and the rolling 30-day window built from them.

Scores are kept per (team, rep, subject, theme, UTC day of `occurred_at`) as a sum and a count.
Next to the themes, the key with the empty theme `REVIEWS` counts the reviews themselves (its
sum stays 0): identifiers are never empty, so it cannot clash with a configured theme, and the
number of reviews stays right even when the configured themes of a subject change.

The rolling 30-day window at instant `now` holds the UTC days `d` with

    now − 30 days < start of d ≤ now

where the start of a day is its 00:00 UTC. That is always exactly 30 days: today (in UTC) and
the 29 days before it. A day leaves the window when its start is 30 days old, so the oldest day
of the window is complete until the window moves past it, and future days (reviews dated
ahead, within the future tolerance) enter only when they begin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

ROLLING_DAYS = 30
REVIEWS = ""  # the pseudo-theme whose count is the number of reviews
_SEP = "|"

DayCell = Mapping[str, int]  # {"sum": int, "count": int}, as stored in the table


@dataclass(frozen=True)
class ReviewDayKey:
    """Key of one cell: a rep's scores of one theme of one subject on one UTC day."""

    team: str
    rep: str
    subject: str
    theme: str
    day: date

    def encode(self) -> str:
        """Return the table key; identifiers cannot contain the separator."""
        return _SEP.join((self.team, self.rep, self.subject, self.theme, self.day.isoformat()))

    @classmethod
    def decode(cls, key: str) -> "ReviewDayKey":
        """Parse a key made by `encode`."""
        team, rep, subject, theme, day = key.split(_SEP)
        return cls(team, rep, subject, theme, date.fromisoformat(day))


@dataclass(frozen=True)
class ScoreSum:
    """Sum and count of scores (or, for the `REVIEWS` theme, of reviews) in a window."""

    sum: int = 0
    count: int = 0

    @property
    def average(self) -> float | None:
        """Return the mean score, or None when nothing was scored."""
        return self.sum / self.count if self.count else None


def day_of(instant: datetime) -> date:
    """Return the UTC day that holds `instant`."""
    return instant.astimezone(UTC).date()


def review_increments(
    team: str, rep: str, subject: str, scores: Mapping[str, int], day: date
) -> list[tuple[str, int]]:
    """Return (table key, score) for each theme of one review, and (reviews key, 0) to count it."""
    increments = [(ReviewDayKey(team, rep, subject, theme, day).encode(), score) for theme, score in scores.items()]
    increments.append((ReviewDayKey(team, rep, subject, REVIEWS, day).encode(), 0))
    return increments


def add_score(cell: DayCell | None, score: int) -> dict[str, int]:
    """Return a new cell with one more score; a table value is replaced, never changed in place."""
    if cell is None:
        return {"sum": score, "count": 1}
    return {"sum": cell["sum"] + score, "count": cell["count"] + 1}


def day_start(day: date) -> datetime:
    """Return 00:00 UTC of `day`."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def in_rolling_window(day: date, now: datetime) -> bool:
    """Tell whether `day` is in the rolling 30-day window at `now` (see the module docstring)."""
    return now - timedelta(days=ROLLING_DAYS) < day_start(day) <= now


def rolling_sums(
    cells: Iterable[tuple[str, DayCell]], now: datetime
) -> dict[tuple[str, str, str, str], ScoreSum]:
    """Sum the cells of the rolling 30-day window per (team, rep, subject, theme)."""
    totals: dict[tuple[str, str, str, str], ScoreSum] = {}
    for key, cell in cells:
        parsed = ReviewDayKey.decode(key)
        if not in_rolling_window(parsed.day, now):
            continue
        group = (parsed.team, parsed.rep, parsed.subject, parsed.theme)
        old = totals.get(group, ScoreSum())
        totals[group] = ScoreSum(old.sum + cell["sum"], old.count + cell["count"])
    return totals


def review_day_expired(day: date, now: datetime, retention_days: int) -> bool:
    """Tell whether a day's cells may be dropped: its start is `retention_days` or more ago."""
    return day_start(day) <= now - timedelta(days=retention_days)
