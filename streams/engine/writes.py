"""Agents that fold their records in batches, and the writes that put each batch into Kafka.

    inbox ── batches of up to BATCH_SIZE ── in_order.arrange ── fold (memory) ── write ──┐
      ▲                                                                                  │
      └────────────── ack once every record of the write is in Kafka ◄──────────────────┘

One lock orders every agent's writes: a changelog record read from memory earlier never reaches
Kafka after one read later.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import faust
import orjson
from faust.types import Message

from salespulse.streams.engine.app import engine_of
from salespulse.streams.engine.batch import Batch, RejectSink
from salespulse.streams.engine.in_order import InOrder
from salespulse.streams.engine.inbox import Inbox
from salespulse.streams.engine.settled import Settled
from salespulse.streams.engine.tables import SeenIds, StampedTable

log = logging.getLogger(__name__)

BATCH_SIZE = 2_000
BATCH_WITHIN_S = 0.25
# Longer than the producer's own retries (aiokafka's request timeout is 40 s), and than a broker
# restart: a write still pending after this waits on a producer that will not recover.
WRITE_TIMEOUT_S = 120.0
EXIT_WRITE_FAILED = 75  # EX_TEMPFAIL: restart the worker
EXIT_FOLD_FAILED = 70  # EX_SOFTWARE: a bug; a restart recovers, and meets it again on the same records

# The write of what folding a batch changed, started once the batch before it is written.
Write = Coroutine[Any, Any, None]
# How an agent folds a batch of its records, in offset order per partition: in memory, returning the write.
Fold = Callable[[list[Message]], Write]


def batch_agent(app: faust.App, topic: faust.TopicT, name: str, fold: Fold) -> Inbox:
    """Start an agent, `name`, that folds the topic's records in batches with `fold` and writes each."""
    inbox = Inbox(app, topic, name)
    order = InOrder(app)

    async def agent() -> None:
        await Writes(engine_of(app).gate).each_batch(inbox, order.arrange, fold)

    agent.__name__ = agent.__qualname__ = name
    app.task(agent)
    return inbox


class Writes:
    """An agent's batches: taken from its inbox, and written each while the next one is folded.

    A batch's records are acknowledged once every record its batch sends is in Kafka, so Faust
    commits no input offset whose changes are not there yet, and a rebalance waits for them.

    A write that fails or does not finish within `timeout_s` ends the worker (exit code
    `EXIT_WRITE_FAILED`): its records are not acknowledged, and a restarted worker reads them
    again onto state recovered from Kafka, which the stamps keep exact. Going on instead would
    leave memory ahead of the changelog, and waiting would stall the group's next rebalance.

    Every batch taken counts as unwritten in `gate` until its write ends, so that /metrics
    shows memory only when it is all in Kafka.
    """

    def __init__(
        self, gate: Settled, timeout_s: float = WRITE_TIMEOUT_S, exit: Callable[[int], Any] = os._exit
    ) -> None:
        self.gate = gate
        self.timeout_s = timeout_s
        self.exit = exit
        self.writing: asyncio.Future[None] | None = None

    async def each_batch(self, inbox: Inbox, arrange: Callable[[list[Message]], list[Message]], fold: Fold) -> None:
        """Fold the inbox's records in batches of up to BATCH_SIZE, or what came within BATCH_WITHIN_S, and write each.

        `arrange` returns the records to fold now (`InOrder.arrange`); `fold` changes memory and
        returns the write of its changes, and the records are acknowledged once it is done. A fold that raises (its records' own errors are caught inside it: this is a bug)
        may have left memory ahead of Kafka: the worker exits with `EXIT_FOLD_FAILED`, and a
        restarted one recovers from Kafka, rather than serve counts it cannot write or hold
        /metrics shut for ever. So does anything else that raises here: an agent that stopped
        would leave its partitions unread while the worker looked alive.
        """
        try:
            async for messages in inbox.batches(BATCH_SIZE, BATCH_WITHIN_S):
                await self.gate.folding()
                try:
                    records = arrange(messages)
                    write = fold(records)
                except BaseException:
                    self.gate.written()
                    raise
                await self.submit(records, write, inbox.ack)
        except Exception:
            log.critical("agent %s raised; memory may be ahead of Kafka, so the worker exits with code %s "
                         "and reads its records again when restarted", inbox.name, EXIT_FOLD_FAILED, exc_info=True)
            self.exit(EXIT_FOLD_FAILED)

    async def submit(self, records: Sequence[Message], write: Write, ack: Callable[[Sequence[Message]], None]) -> None:
        """Start writing one batch, once the batch before it is written; `ack` its records once written."""
        previous, self.writing = self.writing, None
        if previous is not None:
            await previous
        self.writing = asyncio.ensure_future(self._write(records, write, ack))

    async def _write(self, records: Sequence[Message], write: Write, ack: Callable[[Sequence[Message]], None]) -> None:
        try:
            await asyncio.wait_for(write, self.timeout_s)
        except asyncio.CancelledError:
            raise  # the worker stops: its records stay unacknowledged and are read again
        except Exception as exc:
            log.critical("a batch's records did not reach Kafka within %.0f s (%r); the worker exits with code %s "
                         "and reads them again when restarted", self.timeout_s, exc, EXIT_WRITE_FAILED)
            self.exit(EXIT_WRITE_FAILED)
            return
        finally:
            self.gate.written()
        ack(records)


async def route_failed(batch: Batch, sink: RejectSink | None) -> None:
    """Send the batch's failed records to the dead-letter topic (logged already, either way)."""
    if sink is None:
        return
    for record, rejection in batch.failed:
        await sink.route(record, rejection)


class Outbox:
    """Records bound for Kafka, grouped by topic and partition, sent as whole producer batches.

    Sending one record at a time costs a future, a log call and an accumulator look-up per
    record; a batch per partition costs that once.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, int], list[tuple[bytes, bytes | None]]] = {}

    def put(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        """Queue a record; a value of None is a tombstone."""
        self.rows(topic, partition).append((key, value))

    def rows(self, topic: str, partition: int) -> list[tuple[bytes, bytes | None]]:
        """Return the list of records queued for a partition, to append (key, value) to."""
        rows = self.records.get((topic, partition))
        if rows is None:
            rows = self.records[(topic, partition)] = []
        return rows

    async def send(self, app: faust.App, serialized: Callable[[], None] = lambda: None) -> None:
        """Send every record and wait until Kafka has them all.

        `serialized` adds the batch's changelog records; it runs under the write lock, so that
        records are handed to the producer in the order their values were read from memory.
        """
        # Faust's producer wraps aiokafka's; its batch API is not exposed by Faust itself.
        producer = app.producer._ensure_producer()  # type: ignore[attr-defined]
        copy = engine_of(app).local_copy
        sent: list[tuple[str, int, list[tuple[bytes, bytes | None]], asyncio.Future[Any]]] = []
        async with engine_of(app).write_lock:
            serialized()
            for (topic, partition), rows in self.records.items():
                batch, first = producer.create_batch(), 0
                for index, (key, value) in enumerate(rows):
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        sent.append((topic, partition, rows[first:index], await producer.send_batch(batch, topic, partition=partition)))
                        batch, first = producer.create_batch(), index
                        batch.append(key=key, value=value, timestamp=None)
                sent.append((topic, partition, rows[first:], await producer.send_batch(batch, topic, partition=partition)))
            self.records = {}
            ticket = copy.ticket() if copy is not None else 0
        try:
            written = await asyncio.gather(*(future for *_, future in sent))
        except BaseException:
            if copy is not None:
                copy.fail(ticket)
            raise
        if copy is not None:
            copy.complete(ticket, [
                (topic, partition, [(metadata.offset + i, key, value) for i, (key, value) in enumerate(rows)])
                for (topic, partition, rows, _), metadata in zip(sent, written)
                if topic in copy.topics
            ])


async def write_batch(
    app: faust.App,
    batch: Batch,
    *seen: SeenIds | None,
    outbox: Outbox | None = None,
    forward: Callable[[Outbox], None] | None = None,
) -> None:
    """Write one changelog record per changed key, the batch's de-duplication markers and forwards.

    Records are serialized here and sent with whatever else is in `outbox`, all awaited together:
    Faust's table write sends and awaits one record per event. `forward` queues the figures the
    batch forwards to other families; like the changelog records, they are read from memory under
    the write lock, so that a figure read earlier never reaches Kafka after one read later.
    """
    outbox = outbox or Outbox()

    def serialize() -> None:
        if forward is not None:
            forward(outbox)
        # The list of each table's partition is looked up once per batch, not once per key.
        lists: dict[tuple[StampedTable, int], list[tuple[bytes, bytes | None]]] = {}
        for (table, key), partition in batch.changed.items():
            if key not in table.memory:
                continue  # dropped by a prune while the batch waited for the lock
            rows = lists.get((table, partition))
            if rows is None:
                rows = lists[(table, partition)] = outbox.rows(table.changelog_topic.get_topic_name(), partition)
            rows.append((orjson.dumps(key), table.record(key)))
        for ids in seen:
            if ids is None:
                continue
            topic = ids.changelog_topic.get_topic_name()
            for partition, key, value in ids.take_pending():
                outbox.put(topic, partition, key, value)

    await outbox.send(app, serialize)
