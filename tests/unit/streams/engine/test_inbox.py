"""The inbox: records handed on by the fetcher, taken by an agent in batches, as Faust's stream would."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
from faust.types import TP

from salespulse.streams.engine import Engine
from salespulse.streams.engine.app import EngineApp
from salespulse.streams.engine.inbox import Inbox


class Consumer:
    """The part of Faust's consumer an inbox touches: its unfinished set and its acknowledgements."""

    def __init__(self) -> None:
        self._unacked_messages: set[Any] = set()
        self.acked: list[int] = []

    def ack(self, message: Any) -> bool:
        self.acked.append(message.offset)
        return True


def app_with(maxsize: int = 100) -> tuple[EngineApp, Consumer]:
    app = Engine.create(f"inbox{id(object())}", store="memory://", stream_buffer_maxsize=maxsize).app
    consumer = Consumer()
    app._consumer = consumer  # type: ignore[assignment]
    app.flow_control.resume()  # as after an assignment
    return app, consumer


class Record:
    """The part of a Faust message an inbox touches (hashable, as Faust's messages are)."""

    def __init__(self, offset: int, generation_id: int) -> None:
        self.topic, self.partition, self.offset, self.generation_id, self.tracked = "in", 0, offset, generation_id, False
        self.tp = TP("in", 0)


def messages(app: faust.App, offsets: range, generation: int | None = None) -> list[Any]:
    generation = app.consumer_generation_id if generation is None else generation
    return [Record(offset, generation) for offset in offsets]


async def first_batch(inbox: Inbox, max_records: int, within_s: float = 0.05) -> list[int]:
    async for batch in inbox.batches(max_records, within_s):
        return [message.offset for message in batch]
    raise AssertionError("no batch")


def test_the_fetcher_finds_the_inbox_by_topic_and_the_consumer_subscribes_to_it() -> None:
    app, _ = app_with()
    topic = app.topic("in", "also-in")
    inbox = Inbox(app, topic, "count")
    assert app.engine.inboxes == {"in": inbox, "also-in": inbox}
    assert topic in app.topics


def test_records_are_taken_in_order_in_batches_and_each_batch_is_tracked_as_unfinished() -> None:
    app, consumer = app_with()
    inbox = Inbox(app, app.topic("in"), "count")
    records = messages(app, range(5))
    for record in records:
        inbox.put(record)

    async def scenario() -> tuple[list[int], list[int]]:
        return await first_batch(inbox, 3), await first_batch(inbox, 3)

    assert asyncio.run(scenario()) == ([0, 1, 2], [3, 4])
    # One unfinished entry per batch, which Faust's consumer waits for at a rebalance.
    assert sorted(batch.refcount for batch in consumer._unacked_messages) == [2, 3]
    assert not any(batch.acked for batch in consumer._unacked_messages)
    assert consumer.acked == []  # acknowledged only by the agent's write (Writes)


def test_a_whole_batch_is_taken_at_once_and_a_part_after_the_wait() -> None:
    app, _ = app_with()
    inbox = Inbox(app, app.topic("in"), "count")

    async def scenario() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        for record in messages(app, range(4)):
            inbox.put(record)
        start = loop.time()
        await first_batch(inbox, 4, within_s=5.0)
        whole = loop.time() - start
        inbox.put(messages(app, range(4, 5))[0])
        start = loop.time()
        await first_batch(inbox, 4, within_s=0.2)
        part = loop.time() - start
        return whole, part

    whole, part = asyncio.run(scenario())
    assert whole < 1.0
    assert 0.15 < part < 2.0


def test_a_rebalance_drops_records_not_taken_yet() -> None:
    app, consumer = app_with()
    inbox = Inbox(app, app.topic("in"), "count")
    for record in messages(app, range(3)):
        inbox.put(record)
    app.flow_control.suspend()
    app.flow_control.clear()  # what Faust does when partitions are revoked
    app.flow_control.resume()
    inbox.put(messages(app, range(7, 8))[0])
    assert asyncio.run(first_batch(inbox, 10)) == [7]
    assert [batch.refcount for batch in consumer._unacked_messages] == [1]


def test_records_of_an_older_generation_or_taken_while_the_flow_is_stopped_are_dropped() -> None:
    app, consumer = app_with()
    inbox = Inbox(app, app.topic("in"), "count")
    stale = messages(app, range(2), generation=app.consumer_generation_id - 1)
    fresh = messages(app, range(2, 4))
    for record in stale + fresh:
        inbox.put(record)
    assert [m.offset for m in inbox.take(10)] == [2, 3]
    for record in messages(app, range(4, 6)):
        inbox.put(record)
    app.flow_control.suspend()
    assert inbox.take(10) == []
    # Dropped records are not tracked: a rebalance does not wait for them, and they are read again.
    assert [batch.refcount for batch in consumer._unacked_messages] == [len(fresh)]


def test_an_inbox_that_is_full_makes_the_fetcher_wait_for_room() -> None:
    app, _ = app_with(maxsize=2)
    inbox = Inbox(app, app.topic("in"), "count")

    async def scenario() -> tuple[bool, bool, list[int]]:
        first, second, third = messages(app, range(3))
        inbox.put(first)
        inbox.put(second)
        full = inbox.full()
        waiting = asyncio.ensure_future(inbox.put_when_ready(third))
        await asyncio.sleep(0.01)
        blocked = not waiting.done()
        taken = [m.offset for m in inbox.take(2)]
        await asyncio.wait_for(waiting, 1.0)
        return full, blocked, taken + [m.offset for m in inbox.take(2)]

    assert asyncio.run(scenario()) == (True, True, [0, 1, 2])


def test_acknowledging_a_batch_passes_each_record_to_the_consumer_and_ends_the_oldest_batch() -> None:
    app, consumer = app_with()
    inbox = Inbox(app, app.topic("in"), "count")
    for record in messages(app, range(3, 9)):
        inbox.put(record)
    first, second = inbox.take(3), inbox.take(3)
    unfinished = list(inbox.unfinished)
    inbox.ack(first)
    assert consumer.acked == [3, 4, 5]
    assert unfinished[0].acked and consumer._unacked_messages == {unfinished[1]}
    # Records InOrder set aside are not acknowledged; the batch ends all the same, or a
    # rebalance would wait for it for ever.
    inbox.ack(second[:1])
    assert consumer.acked == [3, 4, 5, 6]
    assert consumer._unacked_messages == set()


def test_taking_a_partitions_records_tells_faust_its_partition_is_being_processed() -> None:
    """Faust logs a partition whose records are fetched but that no stream took for a while."""
    app, _ = app_with()
    inbox = Inbox(app, app.topic("in"), "count")
    assert TP("in", 0) not in app.monitor.stream_inbound_time
    for record in messages(app, range(2)):
        inbox.put(record)
    before = time.monotonic()
    inbox.take(10)
    assert before <= app.monitor.stream_inbound_time[TP("in", 0)] <= time.monotonic()
