"""A worker's local copy of its tables' changelogs, so that a restart reads only their tail.

Every changelog record a worker sends, and every one it recovers, is also written to a RocksDB
database in its data directory, together with the changelog offset it has reached per partition.
A restarted worker loads a partition's records from disk and hands Faust that offset as the
partition's persisted offset: Faust's recovery then reads the changelog from there on, not from its
start. The changelog stays the state's durable copy; the local one is only ever a prefix of it.

- A record enters the copy only once Kafka has it (its offset is known), so the copy never holds
  a change the changelog lacks; it may lag behind, and the tail read makes up for that.
- Writes of one partition reach Kafka in the order they were handed to the producer, but their
  acknowledgements may resume their writers in another order: tickets taken when records are
  handed over put them in the copy in that order, or a later value could be overwritten by an
  earlier one under a higher offset.
- A record goes in only when its offset is past the partition's: the copy moves forward only,
  also when recovery reads again records the worker wrote itself.
- A copy whose offset is past the changelog's end belongs to another log (the broker's data was
  reset, the topic recreated): that partition's copy is dropped and read again from Kafka.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import faust
from faust.types import TP, EventT
from rocksdict import Options, Rdict, WriteBatch

from salespulse.models.errors import ConfigError
from salespulse.streams.engine.app import engine_of

log = logging.getLogger(__name__)

# Records for the copy, per changelog partition: (topic, partition, [(offset, key, value)]).
Rows = list[tuple[str, int, list[tuple[int, bytes, bytes | None]]]]

_RECORD = b"r"
_OFFSET = b"o"

# Records loaded between two yields to the event loop: loading a large partition must not starve
# the consumer's heartbeats.
LOAD_SLICE = 20_000


def _prefix(kind: bytes, topic: str, partition: int) -> bytes:
    # Topic names never hold a NUL byte; the partition's fixed width keeps one partition's keys
    # together and apart from the next's.
    return kind + topic.encode() + b"\0" + partition.to_bytes(4, "big")


class LocalCopy:
    """The copy: changelog records by (topic, partition, key), and the offset each partition reached."""

    def __init__(self, path: Path, topics: set[str]) -> None:
        """Open the copy at `path`, for the changelog `topics` of the tables that keep one."""
        path.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        # A batch writes a few thousand small records: RocksDB's 64 MB memtables only add memory.
        options.set_write_buffer_size(4 * 2**20)
        options.set_max_write_buffer_number(2)
        try:
            self.db = Rdict(str(path), options)
        except Exception as exc:
            if "lock" in str(exc).lower():
                raise ConfigError(f"{path} is in use by another worker: give each worker its own --data-dir") from None
            raise
        self.path = path
        self.topics = topics
        self.next_ticket = 0
        self.applied = 0  # tickets below this are in the copy
        self.done: dict[int, Rows] = {}
        self.failed = False

    def close(self) -> None:
        self.db.close()

    def offset(self, topic: str, partition: int) -> int | None:
        """Return the changelog offset the copy of a partition reflects, None when it has none."""
        raw = self.db.get(_prefix(_OFFSET, topic, partition))
        return None if raw is None else int(raw)

    def records(self, topic: str, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """Yield the (key, value) records the copy holds for a partition."""
        prefix = _prefix(_RECORD, topic, partition) + b"\0"
        cut = len(prefix)
        for key, value in self.db.items(from_key=prefix):
            if not cast(bytes, key).startswith(prefix):
                return
            yield cast(bytes, key)[cut:], cast(bytes, value)

    def drop(self, topic: str, partition: int) -> None:
        """Forget a partition's copy: records and offset."""
        prefix = _prefix(_RECORD, topic, partition)
        self.db.delete_range(prefix + b"\0", prefix + b"\1")
        self.db.delete(_prefix(_OFFSET, topic, partition))

    def delete(self, topic: str, partition: int, keys: Iterable[bytes]) -> None:
        """Drop keys the worker forgot (their changelog records expire by retention)."""
        prefix = _prefix(_RECORD, topic, partition) + b"\0"
        batch = WriteBatch(raw_mode=True)
        for key in keys:
            batch.delete(prefix + key)
        self._write(batch)

    def put(self, rows: Rows) -> None:
        """Write changelog records, with their offsets, that are past what the copy holds."""
        batch = WriteBatch(raw_mode=True)
        for topic, partition, records in rows:
            held = self.offset(topic, partition)
            last = -1 if held is None else held
            prefix = _prefix(_RECORD, topic, partition) + b"\0"
            for offset, key, value in records:
                if offset <= last:
                    continue
                last = offset
                if value is None:
                    batch.delete(prefix + key)
                else:
                    batch.put(prefix + key, value)
            if held is None or last > held:
                batch.put(_prefix(_OFFSET, topic, partition), str(last).encode())
        self._write(batch)

    def _write(self, batch: WriteBatch) -> None:
        # A copy that cannot be written (a full disk) stays the prefix it was: restarts read more
        # of the changelogs, and the worker goes on.
        if self.failed:
            return
        try:
            self.db.write(batch)
        except Exception:
            log.exception("the local copy at %s cannot be written: it stops here, and a restart reads "
                          "the changelogs from where it stopped", self.path)
            self.failed = True

    def ticket(self) -> int:
        """Take the next place in the order records are handed to the producer."""
        self.next_ticket += 1
        return self.next_ticket - 1

    def complete(self, ticket: int, rows: Rows) -> None:
        """Put a ticket's records in the copy once those of every earlier ticket are in it."""
        if self.failed:
            return
        self.done[ticket] = rows
        while self.applied in self.done:
            self.put(self.done.pop(self.applied))
            self.applied += 1

    def fail(self, ticket: int) -> None:
        """Stop copying: a ticket's records may be in Kafka in part, and later ones must not pass it."""
        log.error("changelog records of write %s may not all be in Kafka: the local copy stops here", ticket)
        self.failed = True
        self.done.clear()


def changelog_rows(events: Iterable[Any]) -> Rows:
    """Return the copy's rows for a batch of changelog events read from Kafka."""
    by_partition: dict[tuple[str, int], list[tuple[int, bytes, bytes | None]]] = {}
    for event in events:
        message = event.message
        if message.key is not None:
            by_partition.setdefault((message.topic, message.partition), []).append(
                (message.offset, message.key, message.value)
            )
    return [(topic, partition, records) for (topic, partition), records in by_partition.items()]


class LocallyCopied(faust.Table):
    """A table whose changelog the worker keeps a local copy of: a restart loads it and reads the tail."""

    def __post_init__(self) -> None:
        super().__post_init__()
        # Partitions whose copy is in memory (or that had none): Faust may start their recovery
        # at the copy's offset. Memory drops the others' keys after each rebalance.
        self.loaded: set[int] = set()

    def load_record(self, key: bytes, value: bytes, partition: int) -> None:
        """Put one record of the copy in memory, as recovery would."""
        raise NotImplementedError

    def persisted_offset(self, tp: TP) -> int | None:
        copy = engine_of(self.app).local_copy
        if copy is None or tp.partition not in self.loaded:
            return None
        return copy.offset(tp.topic, tp.partition)

    async def on_rebalance(self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP], generation_id: int = 0) -> None:
        copy = engine_of(self.app).local_copy
        if copy is not None:
            topic = self.changelog_topic.get_topic_name()
            wanted = sorted(tp for tp in assigned if tp.topic == topic and tp.partition not in self.loaded)
            if wanted:
                await self._load(copy, wanted)
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)

    async def _load(self, copy: LocalCopy, tps: list[TP]) -> None:
        ends = await self.app.consumer.highwaters(*tps)
        for tp in tps:
            offset = copy.offset(tp.topic, tp.partition)
            end = ends.get(tp)
            if offset is not None and end is not None and offset >= end:
                log.warning("local copy of %s[%s] is at offset %s, past the changelog's end %s: "
                            "reading the partition from Kafka instead", tp.topic, tp.partition, offset, end)
                copy.drop(tp.topic, tp.partition)
            elif offset is not None:
                loaded = 0
                for key, value in copy.records(tp.topic, tp.partition):
                    self.load_record(key, value, tp.partition)
                    loaded += 1
                    if loaded % LOAD_SLICE == 0:
                        await asyncio.sleep(0)
                log.info("loaded %s records of %s[%s] from the local copy (offset %s)", loaded, tp.topic, tp.partition, offset)
            self.loaded.add(tp.partition)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        self.loaded &= {partition for _, partition in active_tps}

    def copy_recovered(self, batch: Iterable[EventT]) -> None:
        """Put changelog records read by recovery in the copy."""
        copy = engine_of(self.app).local_copy
        if copy is not None:
            copy.put(changelog_rows(batch))

    def uncopy(self, partition: int, keys: Iterable[bytes]) -> None:
        """Drop forgotten keys from the copy."""
        copy = engine_of(self.app).local_copy
        if copy is not None:
            copy.delete(self.changelog_topic.get_topic_name(), partition, keys)
