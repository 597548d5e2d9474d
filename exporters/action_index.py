"""The collector's view of the action buckets: per rep and action, windows kept current."""

from __future__ import annotations

import asyncio
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


LOAD_SLICE = 50_000  # buckets indexed between two turns of the event loop


class ActionIndex:
    """Buckets grouped by (team, rep, action), updated from the keys that changed.

    With `changes` (the table's changed keys), each scrape decodes only what changed since the
    last one; without it (plain dicts in tests) every scrape reads every bucket afresh. The first
    reading of every bucket is `load`, which a worker runs once its tables are recovered; a
    scrape that comes first reads them all at once.
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

    async def load(self) -> None:
        """Index every bucket, a slice at a time between turns of the event loop.

        All at once, a floor of 10,000 reps (5.3 M buckets) held the event loop for 8 s. Buckets
        changed meanwhile are among the changes the next refresh applies.
        """
        if self.loaded or self.changes is None:
            return
        self.changes()  # from here on, changes are kept for the next refresh
        keys = list(self.slot_counts)
        counts = self.slot_counts
        grouped: dict[str, dict[int, int]] = {}
        for start in range(0, len(keys), LOAD_SLICE):
            present = [(key, count) for key in keys[start:start + LOAD_SLICE] if (count := counts.get(key))]
            for rep_action, slots in bucket_groups(present).items():
                grouped.setdefault(rep_action, {}).update(slots)
            await asyncio.sleep(0)
            if self.loaded:
                return  # a scrape indexed every bucket meanwhile, and took the changes since
        self.by_rep_action = self._indexed(grouped)
        self.answered_for.clear()
        self.loaded = True

    def _load_all(self) -> dict[RepAction, WindowedSlots]:
        return self._indexed(bucket_groups(self.slot_counts.items()))

    @staticmethod
    def _indexed(grouped: dict[str, dict[int, int]]) -> dict[RepAction, WindowedSlots]:
        return {split_rep_action_key(rep_action): WindowedSlots(slots) for rep_action, slots in grouped.items()}

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
