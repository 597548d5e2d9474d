"""What the engine assumes of Faust's tables, recovery, producer and assignor, and of aiokafka.

Each test runs the library's own code in memory (no broker) and names the module of ours that
relies on what it pins, and what breaks there if the library changes it. The consumer's side
(fetcher, acknowledgements, gaps, seeks) is in `test_faust_consumer.py`.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import textwrap
import tomllib
import zlib
from itertools import count
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiokafka
import faust
import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import IllegalStateError
from aiokafka.producer.message_accumulator import MessageBatch
from aiokafka.structs import TopicPartition
from faust.assignor.client_assignment import ClientAssignment, ClientMetadata
from faust.exceptions import NotReady
from faust.stores.memory import Store as MemoryStore
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP
from mode.utils.times import Seconds

from salespulse.streams.engine.recovery import TablesDefinedAtStart, tables_remaining
from tests.unit.streams.engine.test_faust_consumer import attributes_named

ROOT = Path(__file__).resolve().parents[4]
CHANGELOG = TP("t-counts-changelog", 0)
# The versions every test of this folder named test_faust_* was checked against.
CHECKED_AGAINST = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}
_apps = count()


def new_app(**options: Any) -> faust.App:
    return faust.App(f"faust-assumptions-{next(_apps)}", store="memory://", **options)


def assumption_tests() -> list[str]:
    """The tests of this folder that pin an assumption about Faust or aiokafka."""
    return [
        f"{path.name}::{node.name}"
        for path in sorted(Path(__file__).parent.glob("test_faust_*.py"))
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]


def test_the_assumptions_were_checked_against_the_pinned_versions() -> None:
    dependencies = "\n".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    pins = dict(re.findall(r"^(faust-streaming|aiokafka)==(\S+)$", dependencies, re.MULTILINE))
    installed = {"faust-streaming": faust.__version__, "aiokafka": aiokafka.__version__}
    reread = "\n  ".join(assumption_tests())
    assert pins == CHECKED_AGAINST, (
        f"pyproject.toml pins {pins}; the engine's assumptions were checked against {CHECKED_AGAINST}. "
        f"Re-read each of these against the new versions' source, then update CHECKED_AGAINST:\n  {reread}"
    )
    assert installed == CHECKED_AGAINST, (
        f"installed {installed}; the engine's assumptions were checked against {CHECKED_AGAINST}, "
        f"which pyproject.toml pins. Install those, or re-read each of these:\n  {reread}"
    )


# --- tables and recovery ----------------------------------------------------------------------


class Calls:
    """Records the calls of the parts of a TableManager that its `on_start` runs."""

    def __init__(self) -> None:
        self.made: list[Any] = []

    async def sleep(self, n: Seconds) -> None:
        self.made.append(("sleep", n))

    async def update_channels(self, *args: Any) -> None:
        self.made.append(("_update_channels", args))

    async def start(self) -> None:
        self.made.append("recovery.start")


def started(manager_class: type[TableManager]) -> list[Any]:
    manager = manager_class(new_app())
    calls = Calls()
    manager.sleep = calls.sleep  # type: ignore[method-assign]
    manager._update_channels = calls.update_channels  # type: ignore[method-assign]
    manager._recovery = SimpleNamespace(start=calls.start)  # type: ignore[assignment]
    asyncio.run(manager.on_start())
    return calls.made


def test_faust_table_manager_start_is_a_sleep_then_update_channels_then_recovery() -> None:
    assert started(TableManager) == [("sleep", 1.0), ("_update_channels", ()), "recovery.start"], (
        "Faust's TableManager.on_start no longer sleeps 1 s, then calls _update_channels(), then "
        "recovery.start(); streams/engine/recovery.py's TablesDefinedAtStart repeats it without the sleep "
        "and would now skip or misorder what Faust does at start"
    )
    assert started(TablesDefinedAtStart) == [("_update_channels", ()), "recovery.start"]
    assert list(inspect.signature(TableManager._update_channels).parameters) == ["self"]


def test_faust_refuses_a_table_defined_after_the_channels_are_updated() -> None:
    app = new_app(TableManager=TablesDefinedAtStart)
    assert type(app.tables) is TablesDefinedAtStart, (
        "Faust no longer builds app.tables from the TableManager option; salespulse/worker/pipeline.py passes "
        "streams/engine/recovery.py's TablesDefinedAtStart that way"
    )
    app.consumer.assignment = lambda: set()  # type: ignore[method-assign]  # no broker
    asyncio.run(app.tables._update_channels())  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="Too late"):
        app.Table("late")
    # TablesDefinedAtStart drops Faust's wait for tables defined late: one defined so would fail
    # loudly, as here, not be missed silently.


def test_faust_recovery_exposes_what_tables_remaining_reads() -> None:
    app = new_app()
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    remaining = tables_remaining(app)
    assert remaining() == 0 and not recovery.in_recovery and not recovery.completed.is_set()
    recovery.active_highwaters[CHANGELOG] = 100
    recovery.active_offsets[CHANGELOG] = 40
    recovery.in_recovery = True
    assert remaining() == 60, (
        "Faust's Recovery.active_remaining_total() is no longer highwater minus offset of the active "
        "changelog partitions; streams/engine/recovery.py's tables_remaining reports it while recovering"
    )
    recovery.in_recovery = False
    recovery.completed.set()
    assert remaining() is None


class PersistedAt(faust.Table):
    """A table whose own `persisted_offset` answers, as streams/engine/local_copy.py's LocallyCopied does."""

    offset: int | None = 41

    def persisted_offset(self, tp: TP) -> int | None:
        return self.offset


class SeekRecorder:
    """The part of the consumer Faust's recovery reads offsets from and seeks with."""

    def __init__(self, earliest: int) -> None:
        self.earliest = earliest
        self.sought: dict[TP, int] = {}

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return dict.fromkeys(tps, self.earliest)

    async def seek_wait(self, offsets: dict[TP, int]) -> None:
        self.sought.update(offsets)


def recovered_from(persisted: int | None, earliest: int) -> int:
    """Return the offset Faust's recovery seeks a changelog partition to."""
    app = new_app()
    table = PersistedAt(app, name="counts")
    table.offset = persisted
    recovery: Recovery = app.tables.recovery  # type: ignore[attr-defined]
    recovery.add_active(table, CHANGELOG)
    consumer = SeekRecorder(earliest)

    async def seek() -> None:
        await recovery._build_offsets(consumer, {CHANGELOG}, recovery.active_offsets, "active")  # type: ignore[arg-type]
        await recovery._seek_offsets(consumer, {CHANGELOG}, recovery.active_offsets, "active")  # type: ignore[arg-type]

    asyncio.run(seek())
    return consumer.sought[CHANGELOG]


def test_faust_recovery_reads_a_changelog_from_the_table_persisted_offset() -> None:
    assert recovered_from(41, earliest=10) == 41, (
        "Faust's recovery no longer starts a changelog partition at the table's own persisted_offset(tp); "
        "streams/engine/local_copy.py hands it the offset of the last record its local copy holds, so that a "
        "restart reads only the changelog's tail"
    )
    assert recovered_from(None, earliest=0) == 0, "with no persisted offset Faust reads a changelog from its start"
    assert recovered_from(3, earliest=10) == 9, (
        "Faust no longer starts a changelog partition whose persisted offset is older than its earliest record "
        "(removed by retention) at that record"
    )
    slurp_changelogs = Recovery._slurp_changelogs.fun  # type: ignore[attr-defined]
    slurp = ast.unparse(ast.parse(textwrap.dedent(inspect.getsource(slurp_changelogs))))
    assert "seen_offset is None or offset > seen_offset" in slurp, (
        "Faust's recovery no longer skips changelog records at or below the offset it started from; "
        "it seeks to the persisted offset itself, so streams/engine/local_copy.py's last record would be "
        "applied twice"
    )


def test_faust_recovery_hands_a_table_its_own_buffer_and_clears_it_after() -> None:
    app = new_app()
    recovery: Recovery = app.tables.recovery  # type: ignore[attr-defined]
    seen: list[list[Any]] = []

    class Applied:
        def apply_changelog_batch(self, batch: list[Any]) -> None:
            seen.append(list(batch))

    events = ["event-1", "event-2"]
    recovery.buffers = {Applied(): events}  # type: ignore[dict-item]
    recovery.flush_buffers()
    assert seen == [["event-1", "event-2"]] and events == [], (
        "Faust's recovery no longer passes its buffer to table.apply_changelog_batch and clears it after; "
        "streams/engine/tables.py's tables copy the batch (list(batch)) before using it for that reason"
    )
    assert "table.on_recovery_completed" in attributes_named(Recovery.on_recovery_completed), (
        "Faust's Recovery no longer calls table.on_recovery_completed; streams/engine/local_copy.py's "
        "LocallyCopied forgets what it loaded for partitions it no longer holds there"
    )


def test_faust_table_hooks_the_engine_overrides_keep_their_parameters() -> None:
    expected = {
        "persisted_offset": ["self", "tp"],  # local_copy.py
        "on_rebalance": ["self", "assigned", "revoked", "newly_assigned", "generation_id"],  # local_copy.py
        "on_recovery_completed": ["self", "active_tps", "standby_tps"],  # local_copy.py
        "apply_changelog_batch": ["self", "batch"],  # tables.py
        "__post_init__": ["self"],  # tables.py, local_copy.py
    }
    found = {name: list(inspect.signature(getattr(faust.Table, name)).parameters) for name in expected}
    assert found == expected, (
        "Faust's Table hooks that streams/engine/local_copy.py and tables.py override (and call through "
        "super()) changed their parameters: see each comment"
    )


def test_faust_table_turns_json_lists_back_into_tuple_keys() -> None:
    table = new_app().Table("counts")
    assert table._to_key(["team", ["rep", 3]]) == ("team", ("rep", 3)), (  # type: ignore[attr-defined]
        "Faust's Table._to_key no longer turns JSON lists into tuples; streams/engine/tables.py recovers "
        "tuple keys with it, and they would come back as lists (unhashable)"
    )


def test_faust_memory_store_keeps_plain_dicts_and_drops_keys_of_partitions_not_held_after_recovery() -> None:
    table = new_app().Table("counts")
    store = table.data
    assert isinstance(store, MemoryStore)
    assert type(store.data) is dict and type(store._key_partition) is dict, (  # type: ignore[attr-defined]
        "Faust's memory store no longer keeps its values in Store.data and each key's partition in "
        "Store._key_partition, both dicts; streams/engine/tables.py reads and writes both directly"
    )
    store.data.update({"kept": 1, "moved": 2, "unplaced": 3})
    store._key_partition.update({"kept": 0, "moved": 1})  # type: ignore[attr-defined]
    asyncio.run(table.on_recovery_completed({TP(table.changelog_topic.get_topic_name(), 0)}, set()))
    assert (store.data, store._key_partition) == ({"kept": 1, "unplaced": 3}, {"kept": 0}), (  # type: ignore[attr-defined]
        "Faust's memory store no longer drops, after recovery, exactly the keys Store._key_partition places "
        "in partitions the worker does not hold; streams/engine/tables.py notes live writes there so that a "
        "worker forgets the keys of revoked partitions"
    )


# --- producer ---------------------------------------------------------------------------------


def test_faust_producer_wraps_an_aiokafka_producer_reached_by_ensure_producer() -> None:
    producer = new_app().producer
    assert list(inspect.signature(producer._ensure_producer).parameters) == []  # type: ignore[attr-defined]
    with pytest.raises(NotReady):
        producer._ensure_producer()  # type: ignore[attr-defined]
    wrapped = object()
    producer._producer = wrapped  # type: ignore[attr-defined]
    assert producer._ensure_producer() is wrapped, (  # type: ignore[attr-defined]
        "Faust's Producer._ensure_producer() no longer returns the aiokafka producer it started; "
        "streams/engine/writes.py's Outbox sends batches through it"
    )


def test_aiokafka_batches_as_the_outbox_fills_and_sends_them() -> None:
    async def scenario() -> None:
        producer = new_app(producer_max_batch_size=1_024).producer._new_producer()  # type: ignore[attr-defined]
        assert isinstance(producer, aiokafka.AIOKafkaProducer)
        try:
            batch = producer.create_batch()
            relative = [batch.append(key=b"k", value=b"v" * 100, timestamp=None).offset for _ in range(3)]
            assert relative == [0, 1, 2], "aiokafka's BatchBuilder.append no longer numbers records 0, 1, 2, ..."
            while batch.append(key=b"k", value=b"v" * 100, timestamp=None) is not None:
                pass  # until full: Faust's producer_max_batch_size bounds it
            assert batch.size() <= 1_024, "aiokafka's batch no longer bounded by Faust's producer_max_batch_size"
            fresh = producer.create_batch()
            assert fresh.append(key=b"k", value=b"v" * 5_000, timestamp=None) is not None, (
                "a fresh aiokafka batch no longer takes one record larger than the batch size; "
                "streams/engine/writes.py's Outbox appends a record that did not fit to a fresh batch unchecked, "
                "and would drop it"
            )
            sent = MessageBatch(TopicPartition("t", 0), fresh, ttl=40, linger_time=0)
            sent.done(base_offset=1_000)
            assert sent.future.result().offset == 1_000, (
                "aiokafka's batch future no longer resolves to the base offset; streams/engine/writes.py puts "
                "record i of a batch in the local copy at metadata.offset + i"
            )
            assert list(inspect.signature(producer.send_batch).parameters) == ["batch", "topic", "partition"]
        finally:
            await producer.stop()

    asyncio.run(scenario())


# --- assignor and aiokafka's consumer -------------------------------------------------------------


def test_faust_assignor_replaces_its_assignment_at_each_rebalance() -> None:
    assignor = new_app().assignor
    before = assignor._assignment  # type: ignore[attr-defined]
    actives = ClientAssignment(actives={"t": [0, 2]}, standbys={})
    url = str(assignor._url)  # type: ignore[attr-defined]
    metadata = ClientMetadata(assignment=actives, url=url, changelog_distribution={}, topic_groups={})
    assignor.on_assignment(ConsumerProtocolMemberAssignment(  # type: ignore[attr-defined]
        assignor.version,  # type: ignore[attr-defined]
        sorted(actives.kafka_protocol_assignment(assignor._table_manager)),  # type: ignore[attr-defined]
        zlib.compress(metadata.dumps()),
    ))
    assert assignor._assignment is not before, (  # type: ignore[attr-defined]
        "Faust's assignor no longer replaces PartitionAssignor._assignment at an assignment (it changes it in "
        "place); the engine's assigned_partitions caches by its identity and would serve stale partitions"
    )
    assert assignor.assigned_actives() == {TP("t", 0), TP("t", 2)}


def test_aiokafka_consumer_raises_what_lag_catches_for_a_partition_not_assigned() -> None:
    async def scenario() -> tuple[type[BaseException] | None, type[BaseException] | None]:
        consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers="localhost:1")
        partition = TopicPartition("t", 0)
        raised: list[type[BaseException] | None] = []
        try:
            try:
                consumer.highwater(partition)
                raised.append(None)
            except Exception as exc:
                raised.append(type(exc))
            try:
                await consumer.position(partition)
                raised.append(None)
            except Exception as exc:
                raised.append(type(exc))
        finally:
            await consumer.stop()
        return raised[0], raised[1]

    assert asyncio.run(scenario()) == (AssertionError, IllegalStateError), (
        "aiokafka's consumer no longer raises AssertionError (highwater) and IllegalStateError (position) for "
        "a partition not assigned; streams/engine/lag.py catches exactly those for a partition revoked while "
        "it samples, and another error raised out of its timer ends the worker"
    )
