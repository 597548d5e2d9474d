"""The action index: loaded a slice at a time beside live changes, equal to a count of every bucket."""

from __future__ import annotations

import asyncio
import random

import pytest

import salespulse.exporters.action_index as action_index
from salespulse.exporters.action_index import ActionIndex
from salespulse.streams.kpi.actions import ActionWindow, SlotKey
from tests.unit.streams.kpi.windows_reference import count_windows

BOUNDS: dict[ActionWindow, tuple[int, int]] = {"today": (1_000, 1_096), "week": (900, 1_572), "last_week": (228, 900), "rolling_7d": (425, 1_097)}


class Buckets(dict[str, int]):
    """A bucket table that keeps its changed keys once asked for them, as the worker's table does."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: set[str] | None = None

    def put(self, key: str, count: int) -> None:
        if count:
            self[key] = count
        else:
            self.pop(key, None)
        if self.changed is not None:
            self.changed.add(key)

    def take_changed(self) -> set[str]:
        taken, self.changed = self.changed or set(), set()
        return taken


def expected(buckets: dict[str, int], team: str, rep: str, action: str) -> dict[ActionWindow, int]:
    mine = [(SlotKey.decode(key).slot, n) for key, n in buckets.items() if key.startswith(f"{team}|{rep}|{action}|")]
    return count_windows(mine, BOUNDS)


def random_key(rng: random.Random) -> str:
    return SlotKey("nl", f"rep{rng.randrange(6)}", rng.choice(("call", "meeting")), rng.randrange(200, 1_700)).encode()


def floor(rng: random.Random, buckets: int) -> tuple[Buckets, ActionIndex]:
    table = Buckets()
    for _ in range(buckets):
        table.put(random_key(rng), rng.randrange(1, 9))
    return table, ActionIndex(table, table.take_changed)


def assert_equal_to_a_full_count(index: ActionIndex, buckets: Buckets) -> None:
    index.refresh()
    for rep in range(6):
        for action in ("call", "meeting"):
            assert index.windows(("nl", f"rep{rep}", action), BOUNDS) == expected(buckets, "nl", f"rep{rep}", action)


def test_a_load_in_slices_with_changes_between_them_equals_a_full_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(action_index, "LOAD_SLICE", 50)
    rng = random.Random(5)
    buckets, index = floor(rng, 600)

    async def live_changes() -> None:
        for _ in range(200):
            buckets.put(random_key(rng), rng.randrange(0, 9))  # 0 removes a bucket
            await asyncio.sleep(0)

    async def run() -> int:
        changer = asyncio.ensure_future(live_changes())
        turns = 0
        loading = asyncio.ensure_future(index.load())
        while not loading.done():
            turns += 1
            await asyncio.sleep(0)
        await changer
        return turns

    at_start = len(buckets)
    turns = asyncio.run(run())
    assert index.loaded
    assert turns >= at_start // 50  # it gave the loop a turn after every slice
    assert_equal_to_a_full_count(index, buckets)


def test_a_scrape_that_indexes_first_wins_over_a_load_under_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(action_index, "LOAD_SLICE", 10)
    rng = random.Random(6)
    buckets, index = floor(rng, 100)

    async def run() -> None:
        loading = asyncio.ensure_future(index.load())
        await asyncio.sleep(0)
        index.refresh()  # a scrape: everything at once
        scraped = index.by_rep_action
        buckets.put(random_key(rng), 5)
        await loading
        assert index.by_rep_action is scraped  # the load gave up

    asyncio.run(run())
    assert_equal_to_a_full_count(index, buckets)
