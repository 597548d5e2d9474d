"""Tables held in memory whose changelog records carry the input offsets they reflect.

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

from collections.abc import Iterable, Iterator
from functools import cached_property
from itertools import chain
from typing import Any, NamedTuple, cast

import faust
import orjson
from faust.types import EventT, Message

from salespulse.streams.changelogs import STAMPS, VALUE
from salespulse.streams.engine.local_copy import LocallyCopied


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


class Changes:
    """The keys a table changed since its reader last took them; the reader's, not the table's.

    Kept only from the reader's first `take` on: a feed nobody reads would otherwise hold every
    key the table ever had, forgotten ones included.
    """

    def __init__(self) -> None:
        self.keys: set[Any] | None = None

    def take(self) -> set[Any]:
        """Return the keys changed since the last call (none at the first), and start afresh."""
        keys, self.keys = self.keys or set(), set()
        return keys


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
        # The reader that follows the table's changes (the exporter's bucket index), if any.
        self.changes: Changes | None = None

    def follow(self) -> "Changes":
        """Return the feed of the keys this table sets, recovers or forgets, for one reader."""
        if self.changes is None:
            self.changes = Changes()
        return self.changes

    def _note_change(self, key: Any) -> None:
        changes = self.changes
        if changes is not None and changes.keys is not None:
            changes.keys.add(key)

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

    async def on_recovery_completed(self, active_tps: set[Any], standby_tps: set[Any]) -> None:
        """After a rebalance the store drops the keys of partitions no longer held: note them too."""
        changes = self.changes
        if changes is not None and changes.keys is not None:
            held = {partition for _, partition in active_tps}
            changes.keys.update(key for key, partition in self.key_partitions.items() if partition not in held)
        await super().on_recovery_completed(active_tps, standby_tps)

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
