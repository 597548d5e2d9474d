"""The worker's long-lived state, kept out of the garbage collector's full passes.

A full collection goes through every container the interpreter tracks, entry by entry, and the
tables' dicts hold an entry per key: event ids, buckets, stamps. On a backlog of 100,000
activities a worker made 17 full collections, 2.5 s of a 32 s run, the longest a 189 ms pause.
Their entries are numbers, strings and tuples of those, which need no collecting; the dicts
themselves live as long as the worker.

So once the tables are recovered, and again once the collector has indexed the buckets, the
worker moves every object that exists then into the permanent generation (`gc.freeze`). At each
later recovery (after a rebalance) it first takes them back and collects, so garbage cycles that
a freeze caught are freed by the next one rather than kept for good.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class FrozenState:
    """Freezes what exists once `ready()`, and again whenever `epoch()` changes."""

    def __init__(self, ready: Callable[[], bool], epoch: Callable[[], Hashable]) -> None:
        self.ready = ready
        self.epoch = epoch
        self.frozen_for: Hashable | None = None

    def maybe_freeze(self) -> bool:
        """Freeze if ready and not yet frozen for this epoch; return whether it did."""
        epoch = self.epoch()
        if epoch == self.frozen_for or not self.ready():
            return False
        start = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        self.frozen_for = epoch
        log.info("%d objects moved out of the garbage collector's passes (%d freed first) in %.0f ms",
                 gc.get_freeze_count(), freed, (time.perf_counter() - start) * 1e3)
        return True
