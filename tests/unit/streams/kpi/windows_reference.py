"""The plain definition of the action windows' counts: what the kept-current sums must equal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from salespulse.streams.kpi.actions import ActionWindow


def count_windows(
    slot_counts: Iterable[tuple[int, int]], bounds: Mapping[ActionWindow, tuple[int, int]]
) -> dict[ActionWindow, int]:
    """Sum (slot, count) pairs into each window."""
    totals: dict[ActionWindow, int] = {w: 0 for w in bounds}
    for slot, count in slot_counts:
        for window, (first, end) in bounds.items():
            if first <= slot < end:
                totals[window] += count
    return totals
