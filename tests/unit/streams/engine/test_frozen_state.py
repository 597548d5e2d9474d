"""Long-lived state frozen out of full collections, and taken back at each new epoch."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from salespulse.streams.engine.frozen_state import FrozenState


class Node:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # the freeze is process-wide


def test_nothing_is_frozen_until_ready_and_once_per_epoch() -> None:
    ready, epoch = [False], [1]
    heap = FrozenState(lambda: ready[0], lambda: epoch[0])
    assert heap.maybe_freeze() is False
    assert gc.get_freeze_count() == 0
    ready[0] = True
    state = {f"team|rep|call|{slot}": slot for slot in range(1_000)}
    assert heap.maybe_freeze() is True
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert all(tracked is not state for tracked in gc.get_objects())  # out of every generation collected
    assert heap.maybe_freeze() is False
    epoch[0] = 2
    assert heap.maybe_freeze() is True


def test_a_cycle_caught_by_one_freeze_is_freed_by_the_next() -> None:
    epoch = [1]
    heap = FrozenState(lambda: True, lambda: epoch[0])
    node = Node()
    gone = weakref.ref(node)
    heap.maybe_freeze()
    del node
    gc.collect()
    assert gone() is not None  # frozen: a full collection does not look at it
    epoch[0] = 2
    heap.maybe_freeze()
    assert gone() is None
