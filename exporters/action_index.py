"""The collector's view of the action buckets: per rep and action, windows kept current."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from salespulse.streams.kpi.actions import (
    ActionWindow,
    WindowedSlots,
    bucket_groups,
    split_rep_action_key,
    split_slot_key,
)

RepAction = tuple[str, str, str]
Bounds = Mapping[ActionWindow, tuple[int, int]]


class ActionIndex:
    """Buckets grouped by (team, rep, action), updated from the keys that changed.

    With `changes` (the table's changed keys), each scrape decodes only what changed since the
    last one; without it (plain dicts in tests) every scrape reads every bucket afresh.
    """

    def __init__(self, slot_counts: Mapping[str, int], changes: Callable[[], Iterable[str]] | None) -> None:
        self.slot_counts = slot_counts
        self.changes = changes
        self.by_rep_action: dict[RepAction, WindowedSlots] = {}
        # The bounds each rep action's windows were last computed for. Between two scrapes few
        # rep actions see a bucket change, and the bounds move once a quarter hour: the rest
        # are answered with what they answered last.
        self.answered_for: dict[RepAction, Bounds] = {}
        # Zeros for rep actions without a bucket, one mapping per set of windows asked for.
        self.zeros: dict[tuple[ActionWindow, ...], Mapping[ActionWindow, int]] = {}
        self.loaded = False

    def refresh(self) -> None:
        """Bring the index up to date with the table."""
        if self.changes is None or not self.loaded:
            if self.changes is not None:
                self.changes()  # everything is read below
            self.by_rep_action = self._load_all()
            self.answered_for.clear()
            self.loaded = True
            return
        counts = self.slot_counts
        index = self.by_rep_action
        for key in self.changes():
            team, rep, action, slot = split_slot_key(key)
            rep_action = (team, rep, action)
            slots = index.get(rep_action)
            if slots is None:
                slots = index[rep_action] = WindowedSlots()
            slots.set(slot, counts.get(key, 0))
            self.answered_for.pop(rep_action, None)  # its answer is stale

    def _load_all(self) -> dict[RepAction, WindowedSlots]:
        return {
            split_rep_action_key(rep_action): WindowedSlots(slots)
            for rep_action, slots in bucket_groups(self.slot_counts.items()).items()
        }

    def windows(self, rep_action: RepAction, bounds: Bounds) -> Mapping[ActionWindow, int]:
        """Return each window's count for a rep's action (zeros when it has no bucket)."""
        slots = self.by_rep_action.get(rep_action)
        if slots is None:
            windows = tuple(bounds)
            zeros = self.zeros.get(windows)
            if zeros is None:
                zeros = self.zeros[windows] = MappingProxyType(dict.fromkeys(windows, 0))
            return zeros
        if self.answered_for.get(rep_action) == bounds:
            return slots.answer
        self.answered_for[rep_action] = bounds
        return slots.windows(bounds)
