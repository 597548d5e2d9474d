"""What the engine assumes of Faust's consumer: its fetcher, its acknowledgements, its gaps and seeks.

Each test runs Faust's own code (an app built in memory, no broker) and names the module of ours
that relies on what it pins, and what breaks there if Faust changes it. They run against the
versions `test_faust_assumptions.test_the_assumptions_were_checked_against_the_pinned_versions`
names.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import textwrap
from collections.abc import AsyncIterator, Callable
from itertools import count
from typing import Any
from weakref import WeakSet

import faust
from aiokafka.structs import ConsumerRecord
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.consumer import Fetcher
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP, Message
from mode import Service

from salespulse.streams.engine import Engine
from salespulse.streams.engine.delivery import EagerDelivery, resume
from salespulse.streams.engine.in_order import Consumer as InOrderConsumer
from salespulse.streams.engine.in_order import InOrder, use_in_order_consumer
from salespulse.streams.engine.inbox import Inbox, Unfinished

PART = TP("in", 0)
_apps = count()


def new_app(consumer: type[FaustConsumer] = AIOKafkaConsumer) -> faust.App:
    """An app in memory, with its engine, whose consumer is `consumer` (Faust's own unless told)."""
    app = Engine.create(f"faust-consumer-{next(_apps)}", store="memory://").app
    app.transport.Consumer = consumer  # type: ignore[misc]
    return app


def record(offset: int, generation_id: int = 0) -> Message:
    return Message("in", 0, offset, 0.0, 0, None, b"k", b"v", None, tp=PART, generation_id=generation_id)


def attributes_named(function: Callable[..., Any]) -> list[str]:
    """The dotted attribute chains a function's source names (`self.flow_control.clear`), in source order."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    nodes = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Attribute)),
                   key=lambda node: (node.lineno, node.col_offset))
    return [ast.unparse(node) for node in nodes]


class SeekingClient:
    """The part of aiokafka's consumer Faust's `_seek_wait` calls."""

    def __init__(self) -> None:
        self.sought: dict[Any, int] = {}

    def seek(self, tp: Any, offset: int) -> None:
        self.sought[tp] = offset

    async def position(self, tp: Any) -> int:
        return self.sought[tp]


async def drain(app: faust.App, fetches: list[list[int] | int]) -> tuple[list[int], list[tuple[int, int]]]:
    """Run the app's consumer's `_drain_messages` over `fetches`; return the offsets handed on and the gaps recorded.

    A list is one fetch's offsets of partition `in`/0; a number between two fetches is a seek
    there, made by Faust's own `seek_wait` (its consumer thread's `_seek_wait`).
    """
    app.topics.add(app.topic("in"))
    await app.topics._update_indices()  # type: ignore[attr-defined]  # as the subscription does: `in` acks
    consumer = app.consumer
    handed_on: list[int] = []

    async def callback(message: Message) -> None:
        handed_on.append(message.offset)

    fetcher = Service()
    pending = list(fetches)

    async def getmany(timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        while pending and isinstance(pending[0], int):
            await consumer._thread._seek_wait(SeekingClient(), {PART: pending.pop(0)})  # type: ignore[attr-defined]
        if not pending:
            fetcher._stopped.set()
            return
        fetch = pending.pop(0)
        assert isinstance(fetch, list)
        for offset in fetch:
            yield PART, record(offset)

    consumer.callback = callback  # type: ignore[attr-defined]
    consumer.getmany = getmany  # type: ignore[method-assign]
    await consumer._drain_messages(fetcher)  # type: ignore[attr-defined]
    gaps = consumer._gap[PART]  # type: ignore[attr-defined]
    return handed_on, sorted((interval.begin, interval.end - 1) for interval in gaps)


# Records 0-2 and 5; a seek back to 3; then a stale 2, the records again from 3, and 7.
FETCHES: list[list[int] | int] = [[0, 1, 2, 5], 3, [2, 3, 4, 5, 7]]


def test_faust_fetcher_drops_records_below_a_seek_and_records_each_jump_as_a_gap() -> None:
    handed_on, gaps = asyncio.run(drain(new_app(), FETCHES))
    assert handed_on == [0, 1, 2, 5, 3, 4, 5, 7], (
        "Faust's fetcher (Consumer._drain_messages after ConsumerThread._seek_wait) no longer hands on "
        "exactly the records at or past the last one read or sought to; streams/engine/in_order.py seeks "
        "a partition back to the expected offset and counts on the records from there coming again, and "
        "streams/engine/delivery.py copies this rule"
    )
    assert gaps == [(3, 5), (6, 7)], (
        "Faust's fetcher no longer records a jump of offsets r+1..offset as a gap (Consumer._add_gap); "
        "streams/engine/in_order.py's Consumer disables exactly that call, so that a jump is not committed past"
    )


def test_our_copy_of_the_fetch_loop_hands_on_what_faust_does() -> None:
    faust_way = asyncio.run(drain(new_app(), FETCHES))
    ours = asyncio.run(drain(new_app(EagerDelivery), FETCHES))
    in_order = asyncio.run(drain(new_app(InOrderConsumer), FETCHES))
    assert ours == faust_way, (
        "streams/engine/delivery.py's EagerDelivery._drain_messages is a copy of Faust's "
        "Consumer._drain_messages; they now differ on the same fetches: carry Faust's change over"
    )
    assert in_order == (faust_way[0], []), (
        "streams/engine/in_order.py's Consumer must hand on what Faust's does and record no gap; "
        "its `_add_gap` override no longer takes effect"
    )


def test_faust_seek_wait_sets_the_read_offset_to_the_offset_sought_and_forgets_it_at_zero() -> None:
    async def scenario() -> tuple[int | None, bool]:
        consumer = new_app().consumer
        thread = consumer._thread  # type: ignore[attr-defined]
        await thread._seek_wait(SeekingClient(), {PART: 42})
        at_42 = consumer._read_offset[PART]  # type: ignore[attr-defined]
        await thread._seek_wait(SeekingClient(), {PART: 0})
        return at_42, PART in consumer._read_offset  # type: ignore[attr-defined]

    at_42, kept_at_0 = asyncio.run(scenario())
    assert (at_42, kept_at_0) == (42, False), (
        "Faust's seek_wait (AIOKafkaConsumerThread._seek_wait) no longer sets Consumer._read_offset to the "
        "offset sought (and drops it for 0); streams/engine/in_order.py's seek back would then have the "
        "fetcher drop the records it asks for again, or take them as a gap"
    )


def test_faust_fetcher_task_runs_the_consumer_drain_messages() -> None:
    called: list[Any] = []

    class Drained:
        async def _drain_messages(self, fetcher: Any) -> None:
            called.append(fetcher)

    class FakeFetcher:
        app = type("App", (), {"consumer": Drained()})()

        def set_shutdown(self) -> None:
            pass

    fetcher = FakeFetcher()
    asyncio.run(Fetcher._fetcher.fun(fetcher))  # type: ignore[attr-defined,arg-type]
    assert called == [fetcher], (
        "Faust's Fetcher no longer reads records through app.consumer._drain_messages(fetcher); "
        "streams/engine/delivery.py overrides that method to hand records to the inboxes, and would be bypassed"
    )
    assert list(inspect.signature(AIOKafkaConsumer._drain_messages).parameters) == ["self", "fetcher"], (
        "Faust's Consumer._drain_messages(fetcher) changed its parameters; streams/engine/delivery.py overrides it"
    )


def test_faust_fetch_loop_and_getmany_name_what_our_copies_use() -> None:
    # delivery.py copies both; these are the consumer's names the copies read.
    drain_names = set(attributes_named(FaustConsumer._drain_messages))
    getmany_names = set(attributes_named(FaustConsumer.getmany))
    expected_drain = {"self._read_offset.__getitem__", "self._read_offset.__setitem__", "self._add_gap",
                      "self._commit_every", "self._n_acked", "self.commit", "self.wait_first",
                      "self.suspend_flow.wait", "self.app.topics.acks_enabled_for", "self.consumer_stopped_errors",
                      "self.diag.set_flag"}
    expected_getmany = {"self._wait_next_records", "self.scheduler.iterate", "self._to_message", "self.flow_active",
                        "self.perform_seek", "self._buffered_partitions", "self.highwater",
                        "self.app.monitor.track_tp_end_offset", "self.app.consumer_generation_id"}
    assert expected_drain <= drain_names, (
        f"Faust's Consumer._drain_messages no longer uses {sorted(expected_drain - drain_names)}; "
        "streams/engine/delivery.py's copy (EagerDelivery._drain_messages) still does: re-read Faust's loop"
    )
    assert expected_getmany <= getmany_names, (
        f"Faust's Consumer.getmany no longer uses {sorted(expected_getmany - getmany_names)}; "
        "streams/engine/delivery.py's copy (EagerDelivery.getmany) still does: re-read Faust's getmany"
    )
    for name in ("_wait_next_records", "_to_message", "perform_seek", "highwater", "wait_first", "commit"):
        assert callable(getattr(AIOKafkaConsumer, name, None)), f"streams/engine/delivery.py calls Consumer.{name}"


def test_faust_consumer_classes_come_from_the_transport() -> None:
    app = faust.App(f"faust-consumer-{next(_apps)}", store="memory://")
    use_in_order_consumer(app)
    assert type(app.consumer) is InOrderConsumer, (
        "Faust no longer builds app.consumer from app.transport.Consumer; streams/engine/in_order.py's "
        "use_in_order_consumer (and with it delivery.py's fetch loop) would not be used"
    )


def test_faust_stamps_each_message_with_the_consumer_generation() -> None:
    app = new_app()
    app.consumer_generation_id = 7
    raw = ConsumerRecord("in", 0, 3, 1_000, 0, b"k", b"v", None, 1, 1, [])
    message = app.consumer._to_message(PART, raw)  # type: ignore[attr-defined]
    assert (message.offset, message.generation_id) == (3, 7), (
        "Faust's Consumer._to_message no longer stamps Message.generation_id with app.consumer_generation_id; "
        "streams/engine/inbox.py drops records of an older generation by comparing the two"
    )


def test_faust_commits_no_further_than_the_first_offset_not_acknowledged() -> None:
    consumer = new_app().consumer
    consumer._acked[PART].extend([5, 6, 7, 9])  # type: ignore[attr-defined]
    assert consumer._new_offset(PART) == 8, (  # type: ignore[attr-defined]
        "Faust's commit (Consumer._new_offset) no longer stops at the first offset not acknowledged; "
        "streams/engine/in_order.py holds a partition's commit by not acknowledging records past a hole"
    )


def test_faust_still_commits_past_the_offset_right_after_its_committed_one() -> None:
    # The hole in_order.py's docstring describes: committed 10 (the next to read), 11 and 12 acked, 10 not.
    consumer = new_app().consumer
    consumer._committed_offset[PART] = 10  # type: ignore[attr-defined]
    consumer._acked[PART].extend([11, 12])  # type: ignore[attr-defined]
    assert consumer._new_offset(PART) == 13, (  # type: ignore[attr-defined]
        "Faust no longer commits past the offset right after its committed one when the next is acknowledged; "
        "streams/engine/in_order.py was written around that (and its skip relies on it): re-read it"
    )


def test_faust_gap_is_inclusive_starts_after_the_committed_offset_and_lets_a_commit_pass() -> None:
    async def scenario() -> tuple[list[tuple[int, int]], int | None, int | None]:
        consumer = new_app(InOrderConsumer).consumer
        held = new_app(InOrderConsumer).consumer
        for each in (consumer, held):
            each._committed_offset[PART] = 10  # type: ignore[attr-defined]
        # InOrder found offsets 10..14 absent from the log, and folded 15 and 16.
        await consumer.skip(PART, 10, 14)  # type: ignore[attr-defined]
        await held._add_gap(PART, 10, 14)  # type: ignore[attr-defined]  # the fetcher's call: ours ignores it
        gaps = sorted((interval.begin, interval.end - 1) for interval in consumer._gap[PART])  # type: ignore[attr-defined]
        for each in (consumer, held):
            each._acked[PART].extend([15, 16])  # type: ignore[attr-defined]
        return gaps, consumer._new_offset(PART), held._new_offset(PART)  # type: ignore[attr-defined]

    gaps, skipped, held = asyncio.run(scenario())
    assert gaps == [(11, 14)], (
        "Faust's Consumer._add_gap(tp, from, to) no longer records from..to inclusive, starting after the "
        "committed offset; streams/engine/in_order.py's Consumer.skip calls it to let commits pass a hole"
    )
    assert (skipped, held) == (17, None), (
        "a gap recorded by Faust's _add_gap no longer lets its commit (_new_offset) pass the hole, or a jump "
        "the fetcher saw is recorded despite streams/engine/in_order.py's no-op _add_gap"
    )


def test_faust_learns_committed_offsets_when_it_seeks_to_them() -> None:
    other = TP("in", 1)

    async def scenario() -> dict[TP, int | None]:
        consumer = new_app().consumer

        async def seek_to_committed() -> dict[TP, int]:
            return {PART: 1_732, other: 0}

        consumer.seek_to_committed = seek_to_committed  # type: ignore[attr-defined]
        unknown = consumer._committed_offset.get(TP("in", 2))  # type: ignore[attr-defined]
        assert unknown is None and TP("in", 2) not in consumer._committed_offset  # type: ignore[attr-defined]
        await consumer.perform_seek()
        return dict(consumer._committed_offset)  # type: ignore[attr-defined]

    assert asyncio.run(scenario()) == {PART: 1_732, other: None}, (
        "Faust's Consumer.perform_seek no longer keeps the committed offsets in Consumer._committed_offset "
        "(0 as None); streams/engine/in_order.py reads it (`.get(tp) or 0`) as where a newly assigned "
        "partition starts, and would fold from the first record that comes, losing the ones before it"
    )


def test_a_rebalance_waits_for_an_inbox_batch_and_goes_on_once_it_is_acknowledged() -> None:
    async def scenario() -> None:
        app = new_app()
        inbox = Inbox(app, app.topic("in"), "count")
        await app.topics._update_indices()  # type: ignore[attr-defined]
        assert app.topics.acks_enabled_for("in"), (
            "Faust no longer acknowledges records of a topic added with app.topics.add (Conductor.acks_enabled_for); "
            "streams/engine/inbox.py subscribes that way and its consumer.ack calls would count for nothing"
        )
        app.flow_control.resume()
        consumer = app.consumer
        commits: list[Any] = []

        async def commit(*args: Any, **kwargs: Any) -> bool:
            commits.append(args)
            return False

        consumer.commit = commit  # type: ignore[method-assign]  # no broker: the wait is what is under test
        for offset in range(3):
            inbox.put(record(offset, app.consumer_generation_id))
        taken = inbox.take(10)
        unacked = consumer._unacked_messages  # type: ignore[attr-defined]
        assert isinstance(unacked, WeakSet), (
            "Faust's Consumer._unacked_messages is no longer a WeakSet; streams/engine/inbox.py's Unfinished "
            "(weak-referenceable, held by the inbox) is built for one"
        )
        gc.collect()
        assert [batch.refcount for batch in unacked] == [3]
        waiting = asyncio.ensure_future(consumer.wait_empty())
        await asyncio.sleep(0.05)
        assert not waiting.done(), (
            "Faust's Consumer.wait_empty (a rebalance) no longer waits while _unacked_messages holds an entry; "
            "streams/engine/inbox.py puts one Unfinished per batch there so that a rebalance waits for its write"
        )
        inbox.ack(taken)
        try:
            await asyncio.wait_for(waiting, 0.5)
        except TimeoutError:
            raise AssertionError(
                "Faust's wait_empty no longer goes on soon after streams/engine/inbox.py's ack (consumer.ack per "
                "record, then the batch discarded): a rebalance would wait out Faust's 1 s timeouts per batch"
            ) from None
        committable = consumer._filter_committable_offsets([PART])  # type: ignore[attr-defined]
        assert committable == {PART: 3}, (
            "Faust's Consumer.ack no longer makes an inbox's records committable; "
            "streams/engine/inbox.py acknowledges through it"
        )

    asyncio.run(scenario())


def test_faust_reads_only_acked_and_refcount_of_unfinished_messages() -> None:
    # Unfinished stands in a set Faust iterates while it waits (wait_empty) and cleans (_clean_unacked_messages).
    read: set[str] = set()
    for method in (FaustConsumer.wait_empty, FaustConsumer._clean_unacked_messages):
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
        for node in ast.walk(tree):
            if isinstance(node, ast.comprehension) and ast.unparse(node.iter) == "self._unacked_messages":
                assert isinstance(node.target, ast.Name)
                target = node.target.id
                for inner in ast.walk(tree):
                    if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id == target:
                        read.add(inner.attr)
    assert read == {"acked", "refcount"}, (
        f"Faust now reads {sorted(read)} of the entries of Consumer._unacked_messages; streams/engine/inbox.py's "
        f"Unfinished has only {Unfinished.__slots__[:2]} and a rebalance would raise on it"
    )
    batch = Unfinished(2)
    batch.acked = True
    consumer = new_app().consumer
    consumer._unacked_messages.add(batch)  # type: ignore[attr-defined]
    consumer._clean_unacked_messages()  # type: ignore[attr-defined]
    assert not consumer._unacked_messages, (  # type: ignore[attr-defined]
        "Faust's Consumer._clean_unacked_messages no longer drops acked entries; streams/engine/inbox.py marks "
        "an Unfinished acked for exactly that"
    )


def test_faust_clears_the_inbox_with_its_queues_at_a_revocation_before_waiting_and_telling() -> None:
    app = new_app()
    inbox = Inbox(app, app.topic("in"), "count")
    app.flow_control.resume()
    inbox.put(record(0, app.consumer_generation_id))
    app.flow_control.clear()
    assert inbox.messages == [], (
        "Faust's flow control (app.flow_control.clear) no longer clears the queues given to manage_queue; "
        "streams/engine/inbox.py registers its inbox so that records not taken are dropped at a rebalance"
    )
    steps = [name for name in attributes_named(faust.App._on_partitions_revoked) if name in (
        "self.flow_control.suspend", "self.flow_control.clear", "self._consumer_wait_empty",
        "self.on_partitions_revoked.send")]
    assert steps == ["self.flow_control.suspend", "self.flow_control.clear", "self._consumer_wait_empty",
                     "self.on_partitions_revoked.send"], (
        f"Faust's App._on_partitions_revoked now runs {steps}; streams/engine/inbox.py counts on the flow "
        "suspended and inboxes cleared, then the wait for unfinished batches, then InOrder told (signal)"
    )
    assert app.conf.stream_wait_empty is True, "Faust no longer waits for unfinished messages at a rebalance by default"


def test_faust_revocation_signal_reaches_in_order() -> None:
    async def scenario() -> dict[TP, int]:
        app = new_app()
        order = InOrder(app)
        order.expected = {PART: 5, TP("in", 1): 9}
        await app.on_partitions_revoked.send({PART})
        return order.expected

    assert asyncio.run(scenario()) == {TP("in", 1): 9}, (
        "Faust's on_partitions_revoked signal no longer calls a receiver with the revoked partitions; "
        "streams/engine/in_order.py would keep expecting offsets of partitions another worker reads now"
    )


def test_faust_monitor_keeps_the_inbound_time_the_stall_check_reads() -> None:
    app = new_app()
    assert isinstance(app.monitor.stream_inbound_time, dict)
    assert "monitor.stream_inbound_time.get" in attributes_named(AIOKafkaConsumerThread.verify_event_path), (
        "Faust's stall check (AIOKafkaConsumerThread.verify_event_path) no longer reads "
        "monitor.stream_inbound_time; streams/engine/inbox.py sets it when an agent takes records, "
        "and Faust would warn of stalled partitions (or miss real stalls)"
    )


def test_asyncio_marks_the_future_a_coroutine_waits_on_as_blocking() -> None:
    async def scenario() -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def waiting() -> int:
            return await future + 1

        coroutine = waiting()
        yielded = coroutine.send(None)
        assert yielded is future and future._asyncio_future_blocking is True, (  # type: ignore[attr-defined]
            "a coroutine awaiting an asyncio future no longer yields it with _asyncio_future_blocking set; "
            "streams/engine/delivery.py's resume() takes over such a coroutine from Faust's hand-over"
        )
        asyncio.get_running_loop().call_soon(future.set_result, 41)
        return int(await resume(coroutine, yielded))

    assert asyncio.run(scenario()) == 42, "streams/engine/delivery.py's resume() no longer finishes a coroutine"


def test_faust_consumer_signatures_the_engine_calls() -> None:
    expected = {
        "ack": ["self", "message"],  # inbox.py
        "seek_wait": ["self", "partitions"],  # in_order.py
        "highwater": ["self", "tp"],  # lag.py
        "highwaters": ["self", "partitions"],  # local_copy.py (*tps)
        "position": ["self", "tp"],  # lag.py
        "assignment": ["self"],  # lag.py
        "_add_gap": ["self", "tp", "offset_from", "offset_to"],  # in_order.py
        "perform_seek": ["self"],  # delivery.py
    }
    found = {name: list(inspect.signature(getattr(AIOKafkaConsumer, name)).parameters) for name in expected}
    assert found == expected, "Faust's Consumer methods the engine calls changed their parameters (see each comment)"
    for name in ("seek_wait", "highwaters", "position", "_add_gap", "perform_seek"):
        assert inspect.iscoroutinefunction(getattr(AIOKafkaConsumer, name)), f"the engine awaits Consumer.{name}"
    stopped = Service()._stopped
    assert not stopped.is_set(), (
        "mode's Service._stopped (an event with is_set) is gone; streams/engine/delivery.py's fetch loop, "
        "as Faust's, runs until the consumer's or the fetcher's is set"
    )
    assert inspect.signature(Service.wait_first).parameters["coros"].kind is inspect.Parameter.VAR_POSITIONAL, (
        "mode's Service.wait_first(*coros) changed; streams/engine/delivery.py's _deliver calls it as Faust does"
    )
