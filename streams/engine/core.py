"""`Engine`: what the KPI families may ask of the stream engine, in one object.

The composition root (`salespulse.worker.pipeline`) makes one engine; every family declares its tables,
topics, agents and timers through it and writes its batches through it, and nothing outside
`streams/engine/` touches Faust's app for those. The engine also holds what the worker shares
across agents: the write lock, the inboxes the fetcher hands records to, the local copy of the
changelogs and the gate /metrics waits on.

    engine = Engine.create("salespulse", broker="kafka://localhost:9092", store="memory://")
    counts = engine.table("slots_to_count", default=int)
    topic = engine.topic("salespulse-activities-by-rep")
    engine.agent(topic, "count_actions", fold_batch)       # fold_batch(records) -> the write
    await engine.write(batch, seen_ids, forward=...)        # inside the write: changelogs, forwards
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import faust

from salespulse.streams.engine.app import EngineApp
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.inbox import Inbox
from salespulse.streams.engine.local_copy import LocalCopy, LocallyCopied
from salespulse.streams.engine.recovery import tables_remaining
from salespulse.streams.engine.settled import Settled
from salespulse.streams.engine.tables import SeenIds, StampedTable, seen_ids, stamped_table
from salespulse.streams.engine.writes import Fold, Outbox, batch_agent, write_batch


class Engine:
    """The stream engine under the KPI families: Faust's app and what the worker shares."""

    def __init__(self, app: EngineApp) -> None:
        self.app = app
        app.engine = self
        # Two agents can change the same key, and each changelog record holds the key's whole
        # value: under this lock records reach the producer in the order they were read from memory.
        self.write_lock = asyncio.Lock()
        # The inboxes by topic name: the fetcher hands their records on to them (`delivery`).
        self.inboxes: dict[str, Inbox] = {}
        # The changelogs' copy on disk; None when the worker keeps none (tests need not).
        self.local_copy: LocalCopy | None = None
        # Every agent that folds into tables /metrics reads counts its unwritten batches here.
        self.gate = Settled()

    @classmethod
    def create(cls, app_id: str, **options: Any) -> "Engine":
        """Make the Faust app, with Faust's `options`, and its engine."""
        return cls(EngineApp(app_id, **options))

    # --- what a family declares ------------------------------------------------------------

    def table(self, name: str, **options: Any) -> StampedTable:
        """Declare a table held in memory whose changelog records carry their input offsets."""
        return stamped_table(self.app, name, **options)

    def seen_ids(self, name: str, **options: Any) -> SeenIds:
        """Declare a table of the event ids a family has counted, for de-duplication."""
        return seen_ids(self.app, name, **options)

    def topic(self, *names: str) -> faust.TopicT:
        """Return the topics an agent reads, keys and values as bytes (the families parse them)."""
        return self.app.topic(*names, schema=faust.Schema(key_serializer="raw", value_serializer="raw"))

    def agent(self, topic: faust.TopicT, name: str, fold: Fold) -> Inbox:
        """Start an agent, `name`, that folds the topic's records in batches with `fold` and writes each."""
        return batch_agent(self.app, topic, name, fold)

    def timer(self, interval_s: float, name: str) -> Callable[[Callable[[], Awaitable[None]]], Any]:
        """Return a decorator that runs a coroutine function every `interval_s` on a started worker."""
        return cast(Callable[[Callable[[], Awaitable[None]]], Any], self.app.timer(interval_s, name=name))

    def task(self, run: Callable[[], Awaitable[None]]) -> None:
        """Run a coroutine function once the worker has started."""
        self.app.task(run)

    # --- what a family does ------------------------------------------------------------------

    async def write(
        self,
        batch: Batch,
        *seen: SeenIds | None,
        outbox: Outbox | None = None,
        forward: Callable[[Outbox], None] | None = None,
    ) -> None:
        """Write the batch's changelog records, de-duplication markers and forwards (`write_batch`)."""
        await write_batch(self.app, batch, *seen, outbox=outbox, forward=forward)

    async def send(self, outbox: Outbox, serialized: Callable[[], None] = lambda: None) -> None:
        """Send the outbox's records; `serialized` runs under the write lock first (`Outbox.send`)."""
        await outbox.send(self.app, serialized)

    def tables_remaining(self) -> Callable[[], int | None]:
        """Return a reader of the changelog records left to recover: None once the tables are complete."""
        return tables_remaining(self.app)

    def assigned_partitions(self, topic: str) -> Callable[[], frozenset[int]]:
        """Return a reader of the partitions of `topic` this worker is assigned now."""
        app = self.app
        held: list[Any] = [None, frozenset()]

        def partitions() -> frozenset[int]:
            # The assignor replaces its assignment at each rebalance; building the set of every
            # assigned partition at each call, per rep, cost 2 % of a backlog's time.
            assignment = app.assignor._assignment  # type: ignore[attr-defined]
            if held[0] is not assignment:
                held[:] = [assignment, frozenset(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)]
            return cast(frozenset[int], held[1])

        return partitions

    # --- the worker's --------------------------------------------------------------------------

    def use_local_copy(self, path: Path) -> LocalCopy:
        """Open a local copy at `path` of the changelogs of the tables that keep one."""
        topics = {
            table.changelog_topic.get_topic_name() for table in self.app.tables.values() if isinstance(table, LocallyCopied)
        }
        self.local_copy = LocalCopy(path, topics)
        return self.local_copy
