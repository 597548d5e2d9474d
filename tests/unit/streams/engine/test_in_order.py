"""Offset order per partition: what is folded, what is set aside unacknowledged, when a partition is read again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from faust.types import TP
from intervaltree import IntervalTree

from salespulse.streams.engine import Engine
from salespulse.streams.engine.batch import Batch

from salespulse.streams.family import KpiFamily, Wiring
from salespulse.streams.engine.in_order import CONFIRM_S, CONFIRM_SEEKS, Consumer, InOrder
from salespulse.models.config import Settings
from salespulse.streams.topics import TopicNames

PART = TP("in", 0)


class Message:
    """The part of a Faust message InOrder touches: its place."""

    def __init__(self, offset: int, partition: int = 0, value: bytes = b"") -> None:
        self.topic, self.partition, self.offset, self.value = "in", partition, offset, value


class FakeConsumer:
    def __init__(self, committed: dict[TP, int] | None = None) -> None:
        self._committed_offset = committed or {}
        self.seeks: list[dict[TP, int]] = []
        self.skipped: list[tuple[TP, int, int]] = []

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        self.seeks.append(dict(partitions))

    async def skip(self, tp: TP, offset_from: int, offset_to: int) -> None:
        self.skipped.append((tp, offset_from, offset_to))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def in_order(consumer: FakeConsumer, clock: Clock | None = None) -> InOrder:
    app = SimpleNamespace(consumer=consumer, on_partitions_revoked=SimpleNamespace(connect=lambda receiver: None))
    return InOrder(app, clock or Clock())  # type: ignore[arg-type]


def events(consumer: FakeConsumer, offsets: list[int], partition: int = 0) -> list[Any]:
    """Records as an inbox hands them to an agent."""
    return [Message(offset, partition) for offset in offsets]


def offsets(records: list[Any]) -> list[int]:
    return [record.offset for record in records]


async def settle() -> None:
    """Let the seek tasks a batch started run."""
    for _ in range(5):
        await asyncio.sleep(0)


def arrange_once(
    committed: dict[TP, int], *partitions: tuple[int, list[int]]
) -> tuple[list[int], list[Any], FakeConsumer, InOrder]:
    """Arrange one batch of (partition, offsets) and let the seeks it starts run.

    Return the offsets to fold, the records, the consumer and the InOrder.
    """

    async def scenario() -> tuple[list[int], list[Any], FakeConsumer, InOrder]:
        consumer = FakeConsumer(committed)
        order = in_order(consumer)
        records = [record for partition, offsets_in in partitions for record in events(consumer, offsets_in, partition)]
        ready = order.arrange(records)
        await settle()
        return offsets(ready), records, consumer, order

    return asyncio.run(scenario())


def test_records_in_offset_order_are_all_folded_and_the_next_offset_expected() -> None:
    consumer = FakeConsumer({PART: 10})
    order = in_order(consumer)
    assert offsets(order.arrange(events(consumer, [10, 11, 12]))) == [10, 11, 12]
    assert order.expected == {PART: 13}


def test_a_record_past_the_expected_offset_is_set_aside_unacknowledged_and_read_again() -> None:
    ready, _, consumer, _ = arrange_once({PART: 10}, (0, [10, 11, 15, 16]))
    # Only the records returned are acknowledged once written (Writes): 15 and 16 are not, so
    # Faust commits no further than 12.
    assert ready == [10, 11]
    assert consumer.seeks == [{PART: 12}]


def test_a_hole_filled_within_the_batch_needs_no_seek() -> None:
    # 11 handed on from a fetch before a seek, then 10 and 11 fetched again.
    ready, _, consumer, order = arrange_once({PART: 10}, (0, [11, 10, 11, 12]))
    assert ready == [10, 11, 12]
    assert consumer.seeks == []
    assert order.holes == {}


def test_a_record_set_aside_that_did_not_come_again_in_the_batch_is_read_again() -> None:
    # 11 and 14 handed on early; 10 and 11 come again, 12..14 do not.
    ready, _, consumer, _ = arrange_once({PART: 10}, (0, [11, 14, 10, 11]))
    assert ready == [10, 11]
    assert consumer.seeks == [{PART: 12}]


def test_replays_of_earlier_offsets_are_folded_without_moving_the_expected_offset_back() -> None:
    consumer = FakeConsumer({PART: 10})
    order = in_order(consumer)
    order.arrange(events(consumer, [10, 11, 12]))
    assert offsets(order.arrange(events(consumer, [11, 12, 13]))) == [11, 12, 13]
    assert order.expected == {PART: 14}


def test_a_partition_never_committed_is_read_from_the_log_start() -> None:
    """Records handed on first from far into a partition nobody committed: the ones before come first."""
    ready, _, consumer, order = arrange_once({}, (0, [1730, 1731]))
    assert ready == []
    assert consumer.seeks == [{PART: 0}]
    assert order.expected == {PART: 0}


def test_a_partition_never_committed_whose_records_start_at_zero_is_folded_at_once() -> None:
    consumer = FakeConsumer()
    order = in_order(consumer)
    assert offsets(order.arrange(events(consumer, [0, 1, 2]))) == [0, 1, 2]
    assert order.expected == {PART: 3}


def test_partitions_are_ordered_independently() -> None:
    ready, _, consumer, _ = arrange_once({PART: 0, TP("in", 1): 0}, (1, [0, 1]), (0, [3]))
    assert ready == [0, 1]
    assert consumer.seeks == [{PART: 0}]


def test_a_hole_that_stays_after_every_seek_is_skipped_and_faust_may_commit_past_it() -> None:
    """Records removed by retention before the worker read them never come, however often it asks."""

    async def scenario() -> tuple[list[list[int]], FakeConsumer]:
        consumer = FakeConsumer({PART: 100})
        clock = Clock()
        order = in_order(consumer, clock)
        folded = []
        rounds = 0
        while not folded or not folded[-1]:
            folded.append(offsets(order.arrange(events(consumer, [140, 141]))))
            clock.now += 1.0
            await settle()
            rounds += 1
            assert rounds < 20
        return folded, consumer

    folded, consumer = asyncio.run(scenario())
    assert folded[-1] == [140, 141]
    assert all(batch == [] for batch in folded[:-1])
    assert len(consumer.seeks) >= CONFIRM_SEEKS
    assert len(folded) - 1 >= CONFIRM_S  # one batch a (fake) second before it gave up waiting
    assert consumer.skipped == [(PART, 100, 139)]


def test_revoked_partitions_are_forgotten() -> None:
    consumer = FakeConsumer({PART: 10})
    order = in_order(consumer)
    order.arrange(events(consumer, [10]))
    order.holes[PART] = object()  # type: ignore[assignment]
    order._revoked(None, {PART}, signal=None)  # type: ignore[arg-type]
    assert (order.expected, order.holes) == ({}, {})


def test_the_consumer_commits_past_only_the_offsets_reported_absent() -> None:
    consumer = SimpleNamespace(_committed_offset={PART: 100}, _gap={PART: IntervalTree()})
    # A jump the fetcher saw is not recorded: it may be records handed on from before a seek.
    asyncio.run(Consumer._add_gap(consumer, PART, 101, 139))  # type: ignore[arg-type]
    assert not consumer._gap[PART]
    asyncio.run(Consumer.skip(consumer, PART, 100, 139))  # type: ignore[arg-type]
    # Faust's committed offset is the next to read; it counts the one after it as its own.
    assert sorted((i.begin, i.end) for i in consumer._gap[PART]) == [(101, 140)]


class Ticks(KpiFamily):
    reads = ("activities",)
    agent = "ticks"

    def __init__(self, engine: Engine) -> None:
        self.seen_offsets: list[int] = []
        super().__init__(Wiring(engine, Settings(), TopicNames("t"), lambda: datetime(2026, 11, 25, tzinfo=UTC)))

    def decode(self, raw: bytes) -> Any:
        return orjson.loads(raw)

    def fold(self, event: Any, batch: Batch) -> None:
        self.seen_offsets.append(batch.origin.offset)


def test_a_family_folds_what_comes_after_a_hole_only_once_the_hole_is_read_again() -> None:
    """After a rebalance Faust can deliver offsets 5, 6 before 2..4: folded out of order, the stamp of 6
    would make 2..4 look counted already."""

    async def scenario() -> list[int]:
        family = Ticks(Engine.create(f"t{id(object())}", store="memory://"))
        consumer = FakeConsumer({PART: 0})
        order = in_order(consumer)

        def batch(offsets: list[int]) -> list[Any]:
            records = events(consumer, offsets)
            for record in records:
                record.value = b"{}"
            return records

        family.fold_events(order.arrange(batch([0, 1, 5, 6])), Batch())
        await settle()
        assert consumer.seeks == [{PART: 2}]
        family.fold_events(order.arrange(batch([2, 3, 4, 5, 6, 7])), Batch())
        return family.seen_offsets

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4, 5, 6, 7]
