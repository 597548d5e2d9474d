"""The local copy of the changelogs, without a broker: order, offsets, loading and forgetting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from faust.types import TP

from salespulse.models.errors import ConfigError
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.tables import Origin
from salespulse.streams.engine import Engine
from salespulse.streams.engine.local_copy import LocalCopy
from tests.unit.streams.test_family import NOW, Counting, fold, record

TOPIC = "app-table-changelog"


def stored(copy: LocalCopy, partition: int = 0, topic: str = TOPIC) -> dict[bytes, bytes]:
    return dict(copy.records(topic, partition))


@pytest.fixture
def copy(tmp_path: Path) -> LocalCopy:
    return LocalCopy(tmp_path / "copy", {TOPIC})


def test_records_go_in_in_the_order_they_were_handed_to_the_producer(copy: LocalCopy) -> None:
    """The later write's acknowledgement resumes its writer first: it waits for the earlier one."""
    earlier, later = copy.ticket(), copy.ticket()
    copy.complete(later, [(TOPIC, 0, [(11, b'"k"', b"2")])])
    assert stored(copy) == {} and copy.offset(TOPIC, 0) is None
    copy.complete(earlier, [(TOPIC, 0, [(10, b'"k"', b"1")])])
    assert stored(copy) == {b'"k"': b"2"}
    assert copy.offset(TOPIC, 0) == 11


def test_a_record_at_or_below_the_copys_offset_does_not_go_back(copy: LocalCopy) -> None:
    """Recovery reads again, at a rebalance, records the worker wrote itself."""
    copy.put([(TOPIC, 0, [(4, b'"k"', b"1"), (5, b'"k"', b"2")])])
    copy.put([(TOPIC, 0, [(4, b'"k"', b"1"), (5, b'"k"', b"2"), (6, b'"j"', b"7")])])
    copy.put([(TOPIC, 0, [(3, b'"k"', b"0")])])
    assert stored(copy) == {b'"k"': b"2", b'"j"': b"7"}
    assert copy.offset(TOPIC, 0) == 6


def test_a_tombstone_removes_the_key_and_partitions_stay_apart(copy: LocalCopy) -> None:
    copy.put([(TOPIC, 0, [(0, b'"a"', b"1"), (1, b'"b"', b"1")]), (TOPIC, 1, [(0, b'"a"', b"9")])])
    copy.put([(TOPIC, 0, [(2, b'"a"', None)])])
    assert stored(copy, 0) == {b'"b"': b"1"}
    assert stored(copy, 1) == {b'"a"': b"9"}
    assert (copy.offset(TOPIC, 0), copy.offset(TOPIC, 1)) == (2, 0)


def test_dropping_a_partition_leaves_the_others(copy: LocalCopy) -> None:
    copy.put([(TOPIC, 0, [(0, b'"a"', b"1")]), (TOPIC, 1, [(0, b'"b"', b"2")]), ("other", 0, [(0, b'"c"', b"3")])])
    copy.drop(TOPIC, 0)
    assert stored(copy, 0) == {} and copy.offset(TOPIC, 0) is None
    assert stored(copy, 1) == {b'"b"': b"2"} and copy.offset(TOPIC, 1) == 0
    assert stored(copy, 0, "other") == {b'"c"': b"3"}


def test_after_a_failed_write_nothing_more_goes_in(copy: LocalCopy) -> None:
    """A write that reached Kafka in part: a later one must not carry the offset past it."""
    first, second = copy.ticket(), copy.ticket()
    copy.fail(first)
    copy.complete(second, [(TOPIC, 0, [(8, b'"k"', b"1")])])
    assert stored(copy) == {} and copy.offset(TOPIC, 0) is None


def test_the_copy_survives_closing_and_opening_again(tmp_path: Path) -> None:
    first = LocalCopy(tmp_path / "copy", {TOPIC})
    first.put([(TOPIC, 2, [(41, b'"k"', b"5")])])
    first.close()
    again = LocalCopy(tmp_path / "copy", {TOPIC})
    assert stored(again, 2) == {b'"k"': b"5"} and again.offset(TOPIC, 2) == 41


def test_a_second_worker_on_the_same_directory_is_told_what_to_change(copy: LocalCopy) -> None:
    with pytest.raises(ConfigError) as refused:
        LocalCopy(copy.path, {TOPIC})
    assert str(copy.path) in str(refused.value)
    assert "--data-dir" in str(refused.value)


# Tables that keep a copy: what a worker writes is what a restarted worker loads.


def new_family(tmp_path: Path, ends: dict[int, int] | None = None) -> Counting:
    engine = Engine.create("sales", store="memory://")  # the same id, so the same changelog topics
    family = Counting(engine)
    engine.use_local_copy(tmp_path / "copy")

    async def highwaters(*tps: TP) -> dict[TP, int]:
        return {tp: (ends or {}).get(tp.partition, 10**9) for tp in tps}

    engine.app._consumer = SimpleNamespace(highwaters=highwaters)  # type: ignore[assignment]
    return family


def written(table: Any, batch: Batch, offsets: dict[int, int]) -> list[Any]:
    """The batch's changelog records of `table`, as recovery reads them, at the next offsets."""
    events = []
    for (t, key), partition in batch.changed.items():
        if t is table:
            offsets[partition] = offsets.get(partition, -1) + 1
            raw = t.record(key)
            message = SimpleNamespace(topic=t.changelog_topic.get_topic_name(), partition=partition,
                                      offset=offsets[partition], key=orjson.dumps(key), value=raw)
            events.append(SimpleNamespace(key=key, value=orjson.loads(raw), message=message))
    return events


def markers(family: Counting, offsets: dict[int, int]) -> list[Any]:
    seen = family.seen
    assert seen is not None
    events = []
    for partition, key, value in seen.take_pending():
        offsets[partition] = offsets.get(partition, -1) + 1
        message = SimpleNamespace(topic=seen.changelog_topic.get_topic_name(), partition=partition,
                                  offset=offsets[partition], key=key, value=value)
        events.append(SimpleNamespace(key=orjson.loads(key), value=orjson.loads(value), message=message))
    return events


def tp_of(table: Any, partition: int) -> TP:
    return TP(table.changelog_topic.get_topic_name(), partition)


def load(family: Counting, partitions: set[int]) -> None:
    """Run the rebalance hook of every table for the partitions, as Faust does before recovery."""
    async def rebalance() -> None:
        for table in (family.per_rep, family.everything, family.seen):
            assigned = {tp_of(table, p) for p in partitions}
            await table.on_rebalance(assigned, set(), assigned)

    asyncio.run(rebalance())


def test_a_restart_loads_values_stamps_and_markers_and_counts_no_replay_twice(tmp_path: Path) -> None:
    worker = new_family(tmp_path)
    rows = [(0, record("a", "ann")), (1, record("b", "bob")), (2, record("c", "ann"))]
    batch = fold(worker, rows, partition=1)
    offsets: dict[int, int] = {}
    changelog = written(worker.per_rep, batch, offsets)
    counts = written(worker.everything, batch, {})
    ids = markers(worker, {})
    # Recovery of another worker put these in the copy; the copy is the worker's directory's.
    for table, events in ((worker.per_rep, changelog), (worker.everything, counts), (worker.seen, ids)):
        table.apply_changelog_batch(events)  # type: ignore[union-attr]
    worker.engine.local_copy.close()

    restarted = new_family(tmp_path)
    load(restarted, {1})
    assert dict(restarted.per_rep.data) == {"ann": 2, "bob": 1}
    assert {key: restarted.per_rep.stamps_of(key) for key in restarted.per_rep.stamps} == {"ann": {"in": 2}, "bob": {"in": 1}}
    assert restarted.everything.data["all"] == 3
    # The partition's recovery starts at the copy's offset: the last record it holds.
    assert restarted.per_rep.persisted_offset(tp_of(restarted.per_rep, 1)) == offsets[1] == 1
    assert restarted.per_rep.persisted_offset(tp_of(restarted.per_rep, 0)) is None
    # The input records read again after the restart: already counted, and not duplicates.
    fold(restarted, rows + [(3, record("a", "ann"))], partition=1)
    assert dict(restarted.per_rep.data) == {"ann": 2, "bob": 1}
    assert restarted.duplicates["tick"] == 1


def test_a_copy_past_the_changelogs_end_is_dropped_and_the_partition_read_whole(tmp_path: Path) -> None:
    """The broker's data was reset under a worker that kept its directory."""
    worker = new_family(tmp_path)
    batch = fold(worker, [(0, record("a", "ann"))])
    worker.per_rep.apply_changelog_batch(written(worker.per_rep, batch, {0: 40}))
    worker.engine.local_copy.close()

    restarted = new_family(tmp_path, ends={0: 5})
    load(restarted, {0})
    assert dict(restarted.per_rep.data) == {}
    assert restarted.per_rep.persisted_offset(tp_of(restarted.per_rep, 0)) is None
    copy = restarted.engine.local_copy
    assert stored(copy, 0, restarted.per_rep.changelog_topic.get_topic_name()) == {}


def test_partitions_given_up_are_loaded_again_when_they_come_back(tmp_path: Path) -> None:
    family = new_family(tmp_path)
    load(family, {0, 1})
    assert family.per_rep.loaded == {0, 1}
    asyncio.run(family.per_rep.on_recovery_completed({tp_of(family.per_rep, 1)}, set()))
    assert family.per_rep.loaded == {1}
    assert family.per_rep.persisted_offset(tp_of(family.per_rep, 0)) is None


def test_forgotten_keys_leave_the_copy(tmp_path: Path) -> None:
    family = new_family(tmp_path)
    batch = fold(family, [(0, record("a", "ann")), (1, record("b", "bob"))])
    family.per_rep.apply_changelog_batch(written(family.per_rep, batch, {}))
    family.per_rep.forget(["ann"])
    copy = family.engine.local_copy
    assert stored(copy, 0, family.per_rep.changelog_topic.get_topic_name()) == {b'"bob"': family.per_rep.record("bob")}


def test_marker_records_past_the_horizon_leave_the_copy_and_younger_ones_stay(tmp_path: Path) -> None:
    family = new_family(tmp_path)
    seen = family.seen
    assert seen is not None
    old, young = NOW.timestamp() - 20 * 86400, NOW.timestamp()
    seen.first_time("a", Origin("in", 0, 0), old)
    seen.first_time("b", Origin("in", 0, 1), old)
    old_record = markers(family, {})
    seen.first_time("c", Origin("in", 0, 2), old)
    seen.first_time("d", Origin("in", 0, 3), young)
    mixed_record = markers(family, {0: 0})
    seen.apply_changelog_batch(old_record + mixed_record)
    assert seen.forget_older_than(NOW.timestamp() - 14 * 86400) == 3
    copy = family.engine.local_copy
    assert list(stored(copy, 0, seen.changelog_topic.get_topic_name())) == [b'"in/0/2"']


def test_a_copy_that_cannot_be_written_stays_the_prefix_it_was(copy: LocalCopy) -> None:
    """A full disk: the worker goes on, and a restart reads the changelogs from the copy's offset."""
    copy.put([(TOPIC, 0, [(0, b'"k"', b"1")])])

    class FullDisk:
        def __init__(self, db: Any) -> None:
            self.db = db

        def write(self, batch: Any) -> None:
            raise OSError("No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.db, name)

    copy.db = FullDisk(copy.db)  # type: ignore[assignment]
    copy.complete(copy.ticket(), [(TOPIC, 0, [(1, b'"k"', b"2")])])
    assert copy.failed
    copy.db = copy.db.db  # type: ignore[attr-defined]
    copy.put([(TOPIC, 0, [(2, b'"k"', b"3")])])
    assert stored(copy) == {b'"k"': b"1"} and copy.offset(TOPIC, 0) == 0


def test_a_marker_record_of_the_per_event_era_loads_as_one_time(tmp_path: Path) -> None:
    """Changelogs written before markers were batched hold one id per record, its time the value."""
    family = new_family(tmp_path)
    seen = family.seen
    assert seen is not None
    topic = seen.changelog_topic.get_topic_name()
    family.engine.local_copy.put([(topic, 0, [(0, b'"old-id"', b"1795608000.0")])])
    load(family, {0})
    assert seen.data["old-id"] == (1795608000.0, "")
    assert not seen.first_time("old-id", Origin("in", 0, 9), NOW.timestamp())
