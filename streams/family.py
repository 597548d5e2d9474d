"""The batched fold every KPI family shares, and its exactly-once effect per event.

A family reads its topic in batches (`inbox.Inbox`), folds each event into its tables in
memory, and at the end of the batch writes one changelog record per changed key and one record of
de-duplication markers per input partition. That is the fast path, and it exists here once.

Exactly once, across crashes, without Kafka transactions:

- every changelog record of a table carries, beside the value, the input offset it reflects
  (per input topic: a key belongs to one input partition); a replayed event whose offset a key
  already reflects leaves that key alone, so a batch whose records reached Kafka only in part is
  completed, never counted twice, when its events are read again after a crash;
- a de-duplication marker names the record that set it (topic, partition, offset): the same
  record read again is a replay, not a duplicate, and goes on to the keys it has not changed yet;
  another record with the same `event_id` is a duplicate.

Faust commits an input offset only after the producer has flushed, so every event is read again
until all its records are in Kafka.

Stamps hold the highest offset folded, so a partition must be folded in offset order, and its
offsets committed no further than folded: `in_order.InOrder` sees to both.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, cast

import faust
import orjson
from faust.types import EventT, Message

from salespulse.models.errors import RejectedEvent
from salespulse.streams.changelogs import STAMPS, VALUE
from salespulse.streams.engine.in_order import InOrder
from salespulse.streams.engine.inbox import Inbox
from salespulse.streams.engine.local_copy import LocallyCopied, local_copy
from salespulse.streams.retention import expiring_changelog
from salespulse.streams.engine.settled import Settled, settled

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


class Origin(NamedTuple):
    """Where an event was read: its input topic, partition and offset.

    A named tuple, made for each record folded: a frozen dataclass took three times as long.
    """

    topic: str
    partition: int
    offset: int

    @classmethod
    def of(cls, message: Message) -> "Origin":
        return cls(message.topic, message.partition, message.offset)

    def token(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


class InMemory(LocallyCopied):
    """A table in Faust's in-memory store, whose dicts the fold uses directly.

    The store's Mapping methods raise and catch a KeyError for each key they miss, and the fold
    misses for nearly every event: each new event id, each new bucket.
    """

    # Faust's collections hash by identity through a method of their own: a Python call for
    # each (table, key) a batch notes. object's own slot does the same in C.
    __hash__ = object.__hash__

    @cached_property
    def memory(self) -> dict[Any, Any]:
        """The store's dict of values."""
        return cast(dict[Any, Any], self.data.data)  # type: ignore[attr-defined]

    @cached_property
    def key_partitions(self) -> dict[Any, int]:
        """The store's dict of each key's partition, from which it drops keys after a rebalance.

        The store learns a key's partition only from recovery: live writes are noted here too.
        """
        return cast(dict[Any, int], self.data._key_partition)  # type: ignore[attr-defined]


class StampedTable(InMemory):
    """A table whose changelog records carry the input offsets each value reflects.

    In memory the values are plain (readers such as the collector see no difference); the stamps
    are kept beside them and come back from the changelog on recovery.

    A key's stamps are a flat tuple, (topic, offset, topic, offset, ...), not the {topic: offset}
    of its record: nearly every key is read from one topic, and a pair takes a third of a dict's
    memory (16 MB less with 10,000 reps).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.stamps: dict[Any, Stamps] = {}
        # Keys changed since the last take_changed(), kept only once a reader has asked: a table
        # nobody follows would otherwise hold every key it ever had, forgotten ones included.
        self.changed: set[Any] | None = None

    def take_changed(self) -> set[Any]:
        """Return the keys set, recovered or forgotten since the last call (none at the first)."""
        changed, self.changed = self.changed or set(), set()
        return changed

    def _note_change(self, key: Any) -> None:
        if self.changed is not None:
            self.changed.add(key)

    def reflects(self, key: Any, origin: Origin) -> bool:
        """Tell whether the key's value already includes the event read at `origin`."""
        stamps = self.stamps.get(key)
        if not stamps:
            return False
        if stamps[0] == origin.topic:
            return bool(stamps[1] >= origin.offset)
        return _offset_in(stamps, origin.topic) >= origin.offset

    def put(self, key: Any, value: Any, origin: Origin) -> None:
        """Set the value in memory and stamp it; the changelog record goes with the batch."""
        self.memory[key] = value
        self._note_change(key)
        stamps = self.stamps.get(key)
        if stamps is None or (len(stamps) == 2 and stamps[0] == origin.topic):
            self.stamps[key] = (origin.topic, origin.offset)
        else:
            self.stamps[key] = _restamped(stamps, origin.topic, origin.offset)
        self.key_partitions[key] = origin.partition

    def stamps_of(self, key: Any) -> dict[str, int]:
        """Return the input offset the key's value reflects, per input topic."""
        stamps = self.stamps.get(key, ())
        if len(stamps) == 2:
            return {stamps[0]: stamps[1]}
        return dict(zip(stamps[::2], stamps[1::2]))

    def record(self, key: Any) -> bytes:
        """Return the changelog record value of a key: its value and its stamps."""
        return orjson.dumps({VALUE: self.memory[key], STAMPS: self.stamps_of(key)})

    def forget(self, keys: Iterable[Any]) -> None:
        """Drop keys from memory and the local copy (their changelog records expire by retention)."""
        partitions = self.key_partitions
        by_partition: dict[int, list[bytes]] = {}
        for key in keys:
            self.memory.pop(key, None)
            self.stamps.pop(key, None)
            self._note_change(key)
            partition = partitions.pop(key, None)
            if partition is not None:
                by_partition.setdefault(partition, []).append(orjson.dumps(key))
        for partition, raw_keys in by_partition.items():
            self.uncopy(partition, raw_keys)

    def apply_changelog_batch(self, batch: Iterable[EventT]) -> None:
        """Recover values and stamps; records written before stamps existed hold the bare value.

        At every rebalance Faust reads again, for the partitions a worker keeps, the changelog
        records written since its last recovery: its own. A batch may have changed memory since
        and not be written yet; such a record is older than memory and must not replace it, or
        the batch's changes are lost while its input offsets are committed.
        """
        events = list(batch)
        for event in events:
            self._recover(self._to_key(event.key), event.value, event.message.partition)
        self.copy_recovered(events)

    def load_record(self, key: bytes, value: bytes, partition: int) -> None:
        self._recover(self._to_key(orjson.loads(key)), orjson.loads(value), partition)

    def _recover(self, key: Any, record: Any, partition: int) -> None:
        data = self.memory
        self.key_partitions[key] = partition
        self._note_change(key)
        if record is None:
            data.pop(key, None)
            self.stamps.pop(key, None)
        elif isinstance(record, dict) and VALUE in record:
            stamps = record.get(STAMPS) or {}
            if key in data and _covers(self.stamps.get(key), stamps):
                return
            data[key] = record[VALUE]
            self.stamps[key] = tuple(chain.from_iterable(stamps.items()))
        else:
            data[key] = record


# A key's stamps: (topic, offset, topic, offset, ...).
Stamps = tuple[Any, ...]


def _offset_in(stamps: Stamps, topic: str) -> int:
    """Return the offset stamped for `topic`, -1 when none is."""
    for i in range(0, len(stamps), 2):
        if stamps[i] == topic:
            return int(stamps[i + 1])
    return -1


def _restamped(stamps: Stamps, topic: str, offset: int) -> Stamps:
    for i in range(0, len(stamps), 2):
        if stamps[i] == topic:
            return stamps[:i + 1] + (offset,) + stamps[i + 2:]
    return stamps + (topic, offset)


def _covers(held: Stamps | None, stamps: dict[str, int]) -> bool:
    """Tell whether a value stamped `held` already includes everything one stamped `stamps` does."""
    return held is not None and all(_offset_in(held, topic) >= offset for topic, offset in stamps.items())


class SeenIds(InMemory):
    """The event ids a KPI family has counted, with the record that first carried each.

    Markers are written as one changelog record per input partition and batch, not one per
    event; in memory each id maps to (first seen (epoch s), origin token).

    A tuple, not the list JSON gives: a tuple of a number and a string leaves the garbage
    collector's view at its first pass, a list never does. With a list per id, full collections
    went through every id in the horizon, 10 % of a worker's time on a backlog.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        # partition -> (origin of the first new id, {event id: marker})
        self.pending: dict[int, tuple[str, dict[str, tuple[float, str]]]] = {}
        # (partition, record key) -> when the newest marker of that record was set: a record whose
        # markers are all past the horizon leaves the local copy.
        self.record_times: dict[tuple[int, bytes], float] = {}

    def first_time(self, event_id: str, origin: Origin, seen_at: float) -> bool:
        """Tell whether the event is new (or a replay of the record that was new); mark it."""
        marker = self.memory.get(event_id)
        token = origin.token()
        if marker is not None:
            return bool(marker[1] == token)
        marker = (seen_at, token)
        self.memory[event_id] = marker
        partition = origin.partition
        self.key_partitions[event_id] = partition
        pending = self.pending.get(partition)
        if pending is None:  # not setdefault: its default, a tuple and a dict, would be made per event
            pending = self.pending[partition] = (token, {})
        pending[1][event_id] = marker
        return True

    def take_pending(self) -> Iterator[tuple[int, bytes, bytes]]:
        """Yield (partition, record key, record value) for the markers set since the last call.

        The key names the first record of the batch, so batches never overwrite each other.
        """
        pending, self.pending = self.pending, {}
        for partition, (first, markers) in pending.items():
            key = orjson.dumps(first)
            self.record_times[(partition, key)] = max(marker[0] for marker in markers.values())
            yield partition, key, orjson.dumps(markers)

    def apply_changelog_batch(self, batch: Iterable[EventT]) -> None:
        """Recover markers from batch records; a record of the per-event era holds one time."""
        events = list(batch)
        for event in events:
            message = event.message
            if isinstance(event.value, dict):
                self._recover(message.key, event.value, message.partition)
            elif event.value is not None:
                key = self._to_key(event.key)
                self.memory[key] = (event.value, "")
                self.key_partitions[key] = message.partition
        self.copy_recovered(events)

    def load_record(self, key: bytes, value: bytes, partition: int) -> None:
        record = orjson.loads(value)
        if isinstance(record, dict):
            self._recover(key, record, partition)
        else:
            event_id = self._to_key(orjson.loads(key))
            self.memory[event_id] = (record, "")
            self.key_partitions[event_id] = partition

    def _recover(self, record_key: bytes | None, markers: dict[str, list[Any]], partition: int) -> None:
        data, partitions = self.memory, self.key_partitions
        newest = 0.0
        for event_id, (seen_at, token) in markers.items():
            data[event_id] = (seen_at, token)
            partitions[event_id] = partition
            newest = max(newest, seen_at)
        if record_key is not None:
            self.record_times[(partition, record_key)] = newest

    def forget_older_than(self, limit: float) -> int:
        """Drop ids first seen before `limit` from memory, and records holding only such ids from the copy."""
        store, partitions = self.memory, self.key_partitions
        stale = [key for key, marker in store.items() if marker[0] < limit]
        for key in stale:
            del store[key]
            partitions.pop(key, None)
        old = [record for record, newest in self.record_times.items() if newest < limit]
        by_partition: dict[int, list[bytes]] = {}
        for partition, record_key in old:
            del self.record_times[(partition, record_key)]
            by_partition.setdefault(partition, []).append(record_key)
        for partition, keys in by_partition.items():
            self.uncopy(partition, keys)
        return len(stale)


def stamped_table(app: faust.App, name: str, **options: Any) -> StampedTable:
    """Create and register a stamped table."""
    table = StampedTable(app, name=name, beacon=app.tables.beacon, **options)
    app.tables.add(table)
    return table


def seen_ids(app: faust.App, name: str, **options: Any) -> SeenIds:
    """Create and register a table of de-duplication markers."""
    table = SeenIds(app, name=name, beacon=app.tables.beacon, **options)
    app.tables.add(table)
    return table


class RejectSink(Protocol):
    """Where records an agent cannot process go: the dead-letter topic."""

    async def route(self, record: Message, rejection: RejectedEvent) -> None: ...


@dataclass
class Batch:
    """The changes one batch makes, written to the changelogs together at its end."""

    origin: Origin = Origin("", 0, -1)
    changed: dict[tuple[StampedTable, Any], int] = field(default_factory=dict)
    # Keys a record reached that already reflected it (a replay after a crash): what the first
    # reading forwarded may not have reached Kafka, so all of it is forwarded again.
    replayed: set[tuple[StampedTable, Any]] = field(default_factory=set)
    # Records the fold raised on, with why: they go to the dead-letter topic, the batch goes on.
    failed: list[tuple[Message, RejectedEvent]] = field(default_factory=list)
    # (table, key) -> the (team, rep)s whose forwarded figures of that key this batch must send
    # again: kept with the batch, not the family, as two agents' batches can reach the same key.
    reps: dict[tuple[StampedTable, Any], set[tuple[str, str]]] = field(default_factory=dict)

    def fold_each(self, records: Iterable[Message], where: str, fold: Callable[[Message], None]) -> None:
        """Fold each record with `origin` set to where it was read; one that raises is set aside, the rest go on."""
        for record in records:
            self.origin = Origin.of(record)
            try:
                fold(record)
            except Exception as exc:  # one bad record must not stop the agent or be lost
                self.fail(record, where, exc)

    def fail(self, record: Message, where: str, exc: Exception) -> None:
        """Set a record aside that could not be processed."""
        log.exception("%s cannot process %s[%s] offset %s", where, *Origin.of(record))
        self.reject(record, RejectedEvent("unprocessable", f"{where}: {type(exc).__name__}: {exc}"))

    def reject(self, record: Message, rejection: RejectedEvent) -> None:
        """Set a record aside for the dead-letter topic, sent with the batch's write."""
        self.failed.append((record, rejection))

    def update(self, table: StampedTable, key: Any, change: Callable[[Any], Any]) -> None:
        """Apply `change` to the key's value (None when absent), unless the key already has it."""
        if self.fresh(table, key):
            self.put(table, key, change(table.memory.get(key)))

    def add(self, table: StampedTable, key: Any, amount: int = 1) -> None:
        """Add to a count (`update`, without a function made and called per event)."""
        if self.fresh(table, key):
            self.put(table, key, (table.memory.get(key) or 0) + amount)

    def fresh(self, table: StampedTable, key: Any) -> bool:
        """Tell whether the key's value does not include the record at `origin` yet; note it replayed if it does."""
        if table.reflects(key, self.origin):
            self.replayed.add((table, key))
            return False
        return True

    def put(self, table: StampedTable, key: Any, value: Any) -> None:
        """Set a key that is `fresh`, stamped with `origin`; its changelog record goes with the batch."""
        origin = self.origin
        table.put(key, value, origin)
        self.changed[(table, key)] = origin.partition

    def replay(self, table: StampedTable, key: Any) -> None:
        """Note a key whose forwarded figures are to be sent again, as a replayed record reached it."""
        self.replayed.add((table, key))

    def note_reps(self, table: StampedTable, key: Any, reps: Iterable[tuple[str, str]]) -> None:
        """Note (team, rep)s whose figures of a key `forward` must send for this batch."""
        noted = self.reps.get((table, key))
        if noted is None:
            noted = self.reps[(table, key)] = set()
        noted.update(reps)

    def noted_reps(self, table: StampedTable, key: Any) -> set[tuple[str, str]]:
        """Return the (team, rep)s noted for a key (`note_reps`)."""
        return self.reps.get((table, key), set())

    def reached(self, table: StampedTable) -> set[Any]:
        """Return the table's keys this batch changed or found reflecting a record already (`replayed`)."""
        return {key for held, key in chain(self.changed, self.replayed) if held is table}


class KpiFold:
    """How one KPI family folds its events: de-duplicated by event id, into its tables.

    A family says how an event changes its tables (`fold`) and, for de-duplication, what an
    event's id is (`event_id`). `DealEvents` feeds the families that judge deals; a `KpiFamily`
    feeds itself from its own topic.
    """

    kind: str = ""  # the event type, as counted in salespulse_events_duplicate_total

    def __init__(
        self,
        app: faust.App,
        *,
        clock: Callable[[], datetime],
        seen_table: str | None = None,
        dedup_days: int = 0,
        duplicates: Counter[str] | None = None,
    ) -> None:
        """Without `seen_table` a family does not de-duplicate (its fold is idempotent anyway)."""
        self.app = app
        self.seen = (
            seen_ids(app, seen_table, extra_topic_configs=expiring_changelog(dedup_days)) if seen_table else None
        )
        self.duplicates = Counter() if duplicates is None else duplicates
        self.clock = clock
        self.dedup_days = dedup_days

    def event_id(self, event: Any) -> str:
        return str(event.event_id)

    def fold(self, event: Any, batch: Batch) -> None:
        """Apply one new event to the family's tables through `batch`."""
        raise NotImplementedError

    def forward(self, batch: Batch, outbox: Outbox) -> None:
        """Queue records for other families, sent with the batch's changelog records.

        Called when the batch is written, under the write lock, so that what it reads from
        memory is as new as the changelog records beside it: two agents can change the same key,
        and a figure read when a batch was folded could reach Kafka after a newer one.
        """

    def fold_event(self, event: Any, batch: Batch, seen_at: float) -> None:
        """Fold one decoded event read at `batch.origin`, unless it was counted already."""
        if self.seen is not None and not self.seen.first_time(self.event_id(event), batch.origin, seen_at):
            self.duplicates[self.kind] += 1
            return
        self.fold(event, batch)

    def forget_old_ids(self) -> int:
        """Drop de-duplication ids older than the horizon (memory only)."""
        if self.seen is None:
            return 0
        return self.seen.forget_older_than((self.clock() - timedelta(days=self.dedup_days)).timestamp())


class KpiFamily(KpiFold):
    """A KPI family with an agent of its own: reads its topic in batches, folds, writes back.

    Beside the fold, a family says how it decodes a record (`decode`); this class does the rest.
    """

    def __init__(self, app: faust.App, **options: Any) -> None:
        """Takes `KpiFold`'s options."""
        super().__init__(app, **options)
        self.rejects: RejectSink | None = None

    def reject_to(self, sink: RejectSink) -> None:
        """Send the records this family fails on to `sink` (the dead-letter topic)."""
        self.rejects = sink

    def decode(self, raw: bytes) -> Any:
        """Return the event a record holds."""
        raise NotImplementedError

    def read(self, topic: faust.TopicT, name: str) -> None:
        """Start the family's agent, `name`, on `topic`."""
        batch_agent(self.app, topic, name, self.fold_batch)

    def fold_batch(self, records: list[Message]) -> Write:
        """Fold one batch; return the write of what it changed and forwards."""
        batch = Batch()
        self.fold_events(records, batch)
        return self.write(batch)

    async def write(self, batch: Batch) -> None:
        await write_batch(self.app, batch, self.seen, forward=lambda outbox: self.forward(batch, outbox))
        await route_failed(batch, self.rejects)

    def fold_events(self, records: list[Message], batch: Batch) -> None:
        """Fold the events of one batch, each once; set aside those that raise."""
        seen_at = self.clock().timestamp()
        batch.fold_each(records, type(self).__name__, lambda record: self.fold_record(record.value or b"", batch, seen_at))

    def fold_record(self, raw: bytes, batch: Batch, seen_at: float) -> None:
        """Fold one record read at `batch.origin`, unless its event was counted already."""
        self.fold_event(self.decode(raw), batch, seen_at)


def batch_agent(app: faust.App, topic: faust.TopicT, name: str, fold: Fold) -> Inbox:
    """Start an agent, `name`, that folds the topic's records in batches with `fold` and writes each."""
    inbox = Inbox(app, topic, name)
    order = InOrder(app)

    async def agent() -> None:
        await Writes(settled(app)).each_batch(inbox, order.arrange, fold)

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
        copy = local_copy(app)
        sent: list[tuple[str, int, list[tuple[bytes, bytes | None]], asyncio.Future[Any]]] = []
        async with _write_lock(app):
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


def _write_lock(app: faust.App) -> asyncio.Lock:
    # Two agents can change the same key (the ingest agent folds rep-keyed activities, count_actions
    # the re-keyed ones). Each record holds the key's whole value, so a record read from memory
    # earlier must never reach Kafka after one read later: it would hide the later change from
    # recovery while the input offsets behind it are already committed.
    lock = getattr(app, "_salespulse_write_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        app._salespulse_write_lock = lock  # type: ignore[attr-defined]
    return lock


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
