"""The batched fold's exactly-once rules, without a broker: stamps, markers and recovery."""

from __future__ import annotations

import asyncio

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from faust.types import TP

from salespulse.streams.engine import Engine
from salespulse.streams.engine.batch import Batch

from salespulse.streams.engine.tables import Origin

from salespulse.streams.family import KpiFamily, Wiring
from salespulse.streams.engine.settled import Settled
from salespulse.models.config import Settings
from salespulse.streams.topics import TopicNames

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Tick:
    event_id: str
    rep: str


class Counting(KpiFamily):
    """A family that counts ticks per rep and in all."""

    kind = "tick"
    reads = ("activities",)
    agent = "count_ticks"
    seen_table = "tick_ids"  # for retention.dedup_days, 14 by default

    def __init__(self, engine: Engine) -> None:
        super().__init__(Wiring(engine, Settings(), TopicNames("t"), lambda: NOW))

    def declare(self) -> None:
        self.per_rep = self.table("reps_to_ticks", default=int)
        self.everything = self.table("all_ticks", default=int)

    def decode(self, raw: bytes) -> Tick:
        return Tick(**orjson.loads(raw))

    def fold(self, event: Tick, batch: Batch) -> None:
        batch.add(self.per_rep, event.rep)
        batch.add(self.everything, "all")


def record(event_id: str, rep: str) -> bytes:
    return orjson.dumps({"event_id": event_id, "rep": rep})


def fold(family: Counting, rows: list[tuple[int, bytes]], topic: str = "in", partition: int = 0) -> Batch:
    batch = Batch()
    for offset, raw in rows:
        batch.origin = Origin(topic, partition, offset)
        family.fold_record(raw, batch, NOW.timestamp())
    return batch


def changelog_events(batch: Batch, table: Any) -> list[Any]:
    """The changelog records a batch writes for one table, as Faust hands them to recovery."""
    return [
        SimpleNamespace(key=key, value=orjson.loads(t.record(key)), message=SimpleNamespace(partition=partition))
        for (t, key), partition in batch.changed.items()
        if t is table
    ]


@pytest.fixture
def family() -> Counting:
    return Counting(Engine.create(f"t{id(object())}", store="memory://"))


def test_a_duplicate_event_id_on_another_record_counts_once(family: Counting) -> None:
    fold(family, [(0, record("a", "ann")), (1, record("b", "bob")), (2, record("a", "ann"))])
    assert dict(family.per_rep.data) == {"ann": 1, "bob": 1}
    assert family.everything.data["all"] == 2
    assert family.duplicates["tick"] == 1


def test_a_replayed_batch_changes_nothing_it_already_changed(family: Counting) -> None:
    rows = [(10, record("a", "ann")), (11, record("b", "ann")), (12, record("c", "bob"))]
    fold(family, rows)
    fold(family, rows)  # read again after a crash, every record already reflected
    assert dict(family.per_rep.data) == {"ann": 2, "bob": 1}
    assert family.everything.data["all"] == 3
    assert family.duplicates["tick"] == 0


def test_a_batch_that_reached_kafka_in_part_is_completed_on_replay(family: Counting) -> None:
    """The markers and one table's records landed, the other table's did not; then a restart."""
    rows = [(10, record("a", "ann")), (11, record("b", "bob"))]
    batch = fold(family, rows)
    landed = changelog_events(batch, family.per_rep)
    markers = [
        SimpleNamespace(key=orjson.loads(key), value=orjson.loads(value), message=SimpleNamespace(partition=partition, key=key))
        for partition, key, value in family.seen.take_pending()  # type: ignore[union-attr]
    ]

    restarted = Counting(Engine.create(f"t{id(object())}", store="memory://"))
    restarted.per_rep.apply_changelog_batch(landed)
    restarted.seen.apply_changelog_batch(markers)  # type: ignore[union-attr]
    fold(restarted, rows)
    assert dict(restarted.per_rep.data) == {"ann": 1, "bob": 1}
    assert restarted.everything.data["all"] == 2
    assert restarted.duplicates["tick"] == 0


def test_markers_landed_without_the_counts_still_count_on_replay(family: Counting) -> None:
    rows = [(5, record("a", "ann"))]
    fold(family, rows)
    markers = [
        SimpleNamespace(key=orjson.loads(key), value=orjson.loads(value), message=SimpleNamespace(partition=partition, key=key))
        for partition, key, value in family.seen.take_pending()  # type: ignore[union-attr]
    ]
    restarted = Counting(Engine.create(f"t{id(object())}", store="memory://"))
    restarted.seen.apply_changelog_batch(markers)  # type: ignore[union-attr]
    fold(restarted, rows + [(6, record("a", "ann"))])
    assert dict(restarted.per_rep.data) == {"ann": 1}
    assert restarted.duplicates["tick"] == 1


def test_stamps_are_per_input_topic(family: Counting) -> None:
    """A key fed by the ingest topic and by the re-keyed topic keeps an offset for each."""
    fold(family, [(100, record("a", "ann"))], topic="ingest")
    fold(family, [(3, record("b", "ann"))], topic="by-rep")
    assert family.per_rep.data["ann"] == 2
    assert family.per_rep.stamps_of("ann") == {"ingest": 100, "by-rep": 3}


def test_a_key_fed_by_two_topics_counts_a_replay_from_either_once(family: Counting) -> None:
    fold(family, [(100, record("a", "ann"))], topic="ingest")
    fold(family, [(3, record("b", "ann"))], topic="by-rep")
    last = fold(family, [(101, record("c", "ann"))], topic="ingest")
    # After a crash both topics are read again from before these offsets.
    fold(family, [(100, record("a", "ann")), (101, record("c", "ann"))], topic="ingest")
    fold(family, [(3, record("b", "ann"))], topic="by-rep")
    assert family.per_rep.data["ann"] == 3
    assert family.per_rep.stamps_of("ann") == {"ingest": 101, "by-rep": 3}
    # The record of the last change carries both stamps; recovered, they keep a replay out.
    restarted = Counting(Engine.create("restarted-two-topics", store="memory://"))
    restarted.per_rep.apply_changelog_batch(changelog_events(last, family.per_rep))
    assert restarted.per_rep.stamps_of("ann") == {"ingest": 101, "by-rep": 3}
    assert restarted.per_rep.reflects("ann", Origin("by-rep", 0, 3))
    assert not restarted.per_rep.reflects("ann", Origin("by-rep", 0, 4))


def test_a_rebalance_reading_the_workers_own_older_records_keeps_memory(family: Counting) -> None:
    """Faust reads again, for partitions a worker keeps, what it wrote since its last recovery.

    Batch 1 is written; batch 2 is folded into memory and not written yet when the rebalance
    replays batch 1's records: memory must keep batch 2, which is then written as it is.
    """
    first = fold(family, [(0, record("a", "ann")), (1, record("b", "bob"))])
    written = changelog_events(first, family.per_rep) + changelog_events(first, family.everything)
    second = fold(family, [(2, record("c", "ann"))])
    family.per_rep.apply_changelog_batch(written[:2])
    family.everything.apply_changelog_batch(written[2:])
    assert dict(family.per_rep.data) == {"ann": 2, "bob": 1}
    assert family.everything.data["all"] == 3
    assert [(e.key, e.value["~v"]) for e in changelog_events(second, family.per_rep)] == [("ann", 2)]


def test_recovery_takes_a_record_newer_than_memory(family: Counting) -> None:
    """Another worker counted further while this one did not hold the partition."""
    fold(family, [(0, record("a", "ann"))])
    newer = [SimpleNamespace(key="ann", value={"~v": 5, "~s": {"in": 9}}, message=SimpleNamespace(partition=0))]
    family.per_rep.apply_changelog_batch(newer)
    assert family.per_rep.data["ann"] == 5
    fold(family, [(9, record("j", "ann")), (10, record("k", "ann"))])
    assert family.per_rep.data["ann"] == 6


def test_recovery_reads_records_written_before_stamps(family: Counting) -> None:
    legacy = [SimpleNamespace(key="ann", value=7, message=SimpleNamespace(partition=0))]
    family.per_rep.apply_changelog_batch(legacy)
    assert family.per_rep.data["ann"] == 7
    fold(family, [(0, record("z", "ann"))])
    assert family.per_rep.data["ann"] == 8


def test_markers_from_several_partitions_are_one_record_each(family: Counting) -> None:
    fold(family, [(0, record("a", "ann")), (1, record("b", "ann"))], partition=0)
    fold(family, [(0, record("c", "bob"))], partition=3)
    pending = {partition: orjson.loads(value) for partition, _, value in family.seen.take_pending()}  # type: ignore[union-attr]
    assert set(pending) == {0, 3}
    assert set(pending[0]) == {"a", "b"} and set(pending[3]) == {"c"}
    assert list(family.seen.take_pending()) == []  # type: ignore[union-attr]


def test_old_ids_are_forgotten_after_the_horizon(family: Counting) -> None:
    fold(family, [(0, record("a", "ann"))])
    family.seen.data["old"] = (NOW.timestamp() - 15 * 86_400, "in/0/0")  # type: ignore[union-attr]
    assert family.forget_old_ids() == 1
    assert set(family.seen.data) == {"a"}  # type: ignore[union-attr]


def test_forgotten_keys_leave_nothing_behind_in_memory(family: Counting) -> None:
    seen = family.seen
    assert seen is not None
    fold(family, [(0, record("a", "ann")), (1, record("b", "bob"))], partition=2)
    assert seen.data._key_partition == {"a": 2, "b": 2}  # type: ignore[attr-defined]
    assert family.per_rep.data._key_partition == {"ann": 2, "bob": 2}  # type: ignore[attr-defined]
    seen.memory["a"] = (NOW.timestamp() - 15 * 86_400, seen.memory["a"][1])
    family.forget_old_ids()
    family.per_rep.forget(["ann"])
    # The store keeps each key's partition to drop it at a rebalance: a forgotten key's entry
    # would stay until then, one per event id ever seen.
    assert seen.data._key_partition == {"b": 2}  # type: ignore[attr-defined]
    assert family.per_rep.data._key_partition == {"bob": 2}  # type: ignore[attr-defined]
    assert dict(family.per_rep.data) == {"bob": 1}


def test_a_record_the_fold_fails_on_is_set_aside_and_the_batch_goes_on(family: Counting) -> None:
    records = [
        SimpleNamespace(topic="in", partition=0, offset=offset, value=value)
        for offset, value in enumerate([record("a", "ann"), b"not json", record("b", "bob")])
    ]
    batch = Batch()
    family.fold_events(records, batch)  # type: ignore[arg-type]
    assert dict(family.per_rep.data) == {"ann": 1, "bob": 1}
    ((failed, rejection),) = batch.failed
    assert failed is records[1]
    assert rejection.reason == "unprocessable"
    assert rejection.detail.startswith("Counting: JSONDecodeError: ")


def test_failed_records_go_to_the_sink() -> None:
    import asyncio

    from salespulse.streams.engine.writes import route_failed

    routed = []

    class Sink:
        async def route(self, event: Any, rejection: Any) -> None:
            routed.append((event, rejection.reason))

    batch = Batch()
    try:
        raise OverflowError("date value out of range")
    except OverflowError as exc:
        batch.fail(SimpleNamespace(topic="t", partition=1, offset=9), "score_reviews", exc)  # type: ignore[arg-type]
    asyncio.run(route_failed(batch, Sink()))
    assert [reason for _, reason in routed] == ["unprocessable"]
    assert batch.failed[0][1].detail == "score_reviews: OverflowError: date value out of range"


def test_changed_keys_are_kept_only_once_a_reader_follows_them(family: Counting) -> None:
    changes = family.per_rep.follow()  # the reader's own feed: taking from it leaves the table as it is
    fold(family, [(0, record("a", "ann"))])
    assert changes.keys is None  # nobody asked yet: nothing is held
    assert changes.take() == set()
    fold(family, [(1, record("b", "bob")), (2, record("c", "ann"))])
    assert changes.take() == {"bob", "ann"}
    assert changes.take() == set()


def test_keys_the_store_drops_after_a_rebalance_reach_the_feed(family: Counting) -> None:
    """Faust's store drops the keys of partitions handed to another worker without a word."""
    table = family.per_rep
    changes = table.follow()
    changes.take()
    table.put("ann", 1, Origin("in", 0, 0))
    table.put("bob", 2, Origin("in", 1, 0))
    changes.take()
    asyncio.run(table.on_recovery_completed({TP(table.changelog_topic.get_topic_name(), 0)}, set()))
    assert "bob" not in table.memory and table.memory["ann"] == 1
    assert changes.take() == {"bob"}


class Held:
    """A record as an agent holds it, counting its acknowledgements."""

    def __init__(self) -> None:
        self.acks = 0


def acknowledge(records: Any) -> None:
    for record in records:
        record.acks += 1


def test_a_batch_is_acknowledged_only_once_its_write_is_done_and_writes_go_one_after_another() -> None:
    import asyncio

    from salespulse.streams.engine.writes import Writes

    async def scenario() -> list[str]:
        steps: list[str] = []
        first, second = [Held(), Held()], [Held()]
        release = asyncio.Event()

        async def write(name: str, wait: bool) -> None:
            steps.append(f"{name} starts")
            if wait:
                await release.wait()
            steps.append(f"{name} written")

        gate = Settled()
        for _ in range(2):
            await gate.folding()  # Writes.each_batch counts each batch it takes
        writes = Writes(gate, exit=lambda code: steps.append(f"exit {code}"))
        await writes.submit(first, write("first", wait=True), acknowledge)  # type: ignore[arg-type]
        for _ in range(3):
            await asyncio.sleep(0)
        steps.append(f"first acknowledged: {sum(r.acks for r in first)}")
        submitting = asyncio.ensure_future(writes.submit(second, write("second", wait=False), acknowledge))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        steps.append(f"second waits: {not submitting.done()}")
        release.set()
        await submitting
        await writes.writing  # type: ignore[misc]
        steps.append(f"acknowledged: {[r.acks for r in first + second]}")
        steps.append(f"unwritten: {gate.unwritten}")
        return steps

    assert asyncio.run(scenario()) == [
        "first starts",
        "first acknowledged: 0",
        "second waits: True",
        "first written",
        "second starts",
        "second written",
        "acknowledged: [1, 1, 1]",
        "unwritten: 0",
    ]


@pytest.mark.parametrize("failure", ["raises", "hangs"])
def test_a_write_that_fails_or_hangs_ends_the_worker_and_acknowledges_nothing(failure: str) -> None:
    import asyncio

    from salespulse.streams.engine.writes import EXIT_WRITE_FAILED, Writes

    async def scenario() -> tuple[list[int], Held, int]:
        exits: list[int] = []
        record = Held()

        async def write() -> None:
            if failure == "raises":
                raise OSError("producer closed")
            await asyncio.sleep(60)

        gate = Settled()
        await gate.folding()
        writes = Writes(gate, timeout_s=0.05, exit=exits.append)
        await writes.submit([record], write(), acknowledge)  # type: ignore[list-item]
        await writes.writing  # type: ignore[misc]
        return exits, record, gate.unwritten

    exits, record, unwritten = asyncio.run(scenario())
    assert exits == [EXIT_WRITE_FAILED]
    assert record.acks == 0
    # A scrape waiting for the batch is not held until the worker has exited.
    assert unwritten == 0


class Batches:
    """An inbox as `Writes.each_batch` reads it: `batches` yields the batches given, then ends."""

    name = "test_agent"

    def __init__(self, *batches: list[Held]) -> None:
        self.given = batches

    async def batches(self, max_records: int, within_s: float) -> Any:
        for records in self.given:
            yield records

    def ack(self, records: Any) -> None:
        acknowledge(records)


def test_each_batch_folds_then_writes_every_batch_and_acknowledges_it_once_written() -> None:
    import asyncio

    from salespulse.streams.engine.writes import Writes

    async def scenario() -> tuple[list[str], int, list[int]]:
        steps: list[str] = []
        batches = [Held(), Held()], [Held()]

        async def write(size: int) -> None:
            steps.append(f"write {size}")

        def fold(records: Any) -> Any:
            steps.append(f"fold {len(records)}")
            return write(len(records))

        gate = Settled()
        writes = Writes(gate, exit=lambda code: steps.append(f"exit {code}"))
        await writes.each_batch(Batches(*batches), list, fold)  # type: ignore[arg-type]
        await writes.writing  # type: ignore[misc]
        return steps, gate.unwritten, [record.acks for records in batches for record in records]

    assert asyncio.run(scenario()) == (["fold 2", "fold 1", "write 2", "write 1"], 0, [1, 1, 1])


def test_a_fold_that_raises_ends_the_worker_and_does_not_hold_metrics_shut() -> None:
    import asyncio

    from salespulse.streams.engine.writes import EXIT_FOLD_FAILED, Writes

    async def scenario() -> tuple[list[int], list[str], int]:
        exits: list[int] = []
        record, later = Held(), Held()
        folded: list[str] = []

        def fold(records: Any) -> Any:
            folded.append("fold")
            raise KeyError("a bug outside the per-record handling")

        gate = Settled()
        writes = Writes(gate, exit=exits.append)
        await writes.each_batch(Batches([record], [later]), list, fold)  # type: ignore[arg-type]
        async with gate.reading(timeout_s=0.05):
            pass  # would raise NotSettled if the batch still counted as unwritten
        return exits, folded, record.acks + later.acks

    exits, folded, acknowledged = asyncio.run(scenario())
    # One fold only: the worker exits there (os._exit in production), nothing is acknowledged.
    assert (exits, folded, acknowledged) == ([EXIT_FOLD_FAILED], ["fold"], 0)


def test_markers_leave_the_garbage_collectors_view(family: Counting) -> None:
    import gc

    seen = family.seen
    assert seen is not None
    fold(family, [(0, record("a", "ann"))])
    restarted = Counting(Engine.create("restarted", store="memory://"))
    assert restarted.seen is not None
    markers = [
        SimpleNamespace(key=key, value=orjson.loads(value), message=SimpleNamespace(key=key, partition=partition))
        for partition, key, value in seen.take_pending()
    ]
    restarted.seen.apply_changelog_batch(markers)  # type: ignore[arg-type]
    gc.collect(0)
    # Every id in the horizon would otherwise be gone through at every full collection.
    assert [gc.is_tracked(seen.memory["a"]), gc.is_tracked(restarted.seen.memory["a"])] == [False, False]


def test_an_agent_that_raises_outside_its_fold_ends_the_worker() -> None:
    """An agent task that stopped would leave its partitions unread while the worker looked alive."""
    import asyncio

    from salespulse.streams.engine.writes import EXIT_FOLD_FAILED, Writes

    class Broken(Batches):
        async def batches(self, max_records: int, within_s: float) -> Any:
            raise RuntimeError("inbox bug")
            yield []

    def fold(records: Any) -> Any:
        raise AssertionError("nothing to fold")

    exits: list[int] = []
    asyncio.run(Writes(Settled(), exit=exits.append).each_batch(Broken(), list, fold))  # type: ignore[arg-type]
    assert exits == [EXIT_FOLD_FAILED]
