"""What one scrape works out once, for the collectors that need it: the time, the target sets,
the reps this worker answers for and their action windows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from salespulse.models.targets import TargetSet
from salespulse.streams.kpi.actions import ActionWindow


@dataclass(frozen=True)
class Scrape:
    """One scrape's shared reading of the state."""

    now: datetime
    target_sets: list[TargetSet]
    # The (team, rep)s this worker exports, sorted.
    reps: list[tuple[str, str]]
    # (team, rep, action) -> its windows, in the order of `reps`, then of the configured actions.
    counts: Mapping[tuple[str, str, str], Mapping[ActionWindow, int]]
