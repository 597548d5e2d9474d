"""The moments when every batch folded into memory is also in Kafka: the only state /metrics shows.

An agent folds a batch into its tables and then writes the batch's changelog records, a few
hundred milliseconds later. A page served in between would show counts that a worker killed at
that moment cannot recover: restarted, it serves less than it did, and Prometheus reads the
drop as a counter reset. So a scrape closes the gate to new batches, waits until the batches
already folded are written, and renders while nothing is in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


# Below Prometheus' default scrape timeout (10 s), so a worker that cannot write answers
# "not settled" rather than letting the scrape time out.
SETTLE_TIMEOUT_S = 5.0


class NotSettled(Exception):
    """Batches folded into memory did not reach Kafka within the time a scrape waits."""


class Settled:
    """Counts the batches folded but not yet written, and holds new ones back while a reader waits."""

    def __init__(self) -> None:
        self.unwritten = 0
        self.readers = 0
        self.open = asyncio.Event()
        self.open.set()
        self.written_all = asyncio.Event()
        self.written_all.set()

    async def folding(self) -> None:
        """Wait until no reader holds the gate, then count one batch about to be folded."""
        while self.readers:
            await self.open.wait()
        self.unwritten += 1
        self.written_all.clear()

    def written(self) -> None:
        """Count one folded batch as written (or given up: the worker then exits)."""
        self.unwritten -= 1
        if not self.unwritten:
            self.written_all.set()

    @asynccontextmanager
    async def reading(self, timeout_s: float = SETTLE_TIMEOUT_S) -> AsyncIterator[None]:
        """Hold new batches back and wait until every folded one is written; the body must not await.

        Raises NotSettled when the writes take longer than `timeout_s`.
        """
        self.readers += 1
        self.open.clear()
        try:
            try:
                async with asyncio.timeout(timeout_s):
                    while self.unwritten:
                        await self.written_all.wait()
            except TimeoutError:
                raise NotSettled(f"{self.unwritten} folded batches not in Kafka after {timeout_s:g} s") from None
            yield
        finally:
            self.readers -= 1
            if not self.readers:
                self.open.set()
