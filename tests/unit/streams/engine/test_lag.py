"""Consumer lag per held input partition, and when it is sampled again."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka.errors import IllegalStateError
from faust.types import TP

from salespulse.streams.engine.lag import ConsumerLag
from salespulse.streams.topics import TopicNames

TOPICS = TopicNames("sp")


class FakeConsumer:
    def __init__(self) -> None:
        self.held: dict[TP, tuple[int | None, int | None]] = {}  # tp -> (highwater, position)
        self.position_calls = 0
        self.revoke_on_position: dict = {}  # tp -> what a rebalance does while its position is awaited

    def assignment(self) -> list[TP]:
        return sorted(self.held)  # a snapshot, in a fixed order

    def highwater(self, tp: TP) -> int | None:
        # aiokafka asserts that the partition is assigned, and position() raises if it is not.
        assert tp in self.held, "Partition is not assigned"
        return self.held[tp][0]

    async def position(self, tp: TP) -> int | None:
        self.position_calls += 1
        if tp not in self.held:
            raise IllegalStateError(f"No current assignment for partition {tp}")
        position = self.held[tp][1]
        self.revoke_on_position.pop(tp, lambda: None)()
        return position


def lag_of(consumer: FakeConsumer) -> ConsumerLag:
    app = SimpleNamespace(consumer=consumer, timer=lambda *args, **kwargs: (lambda function: function))
    return ConsumerLag(app, TOPICS)  # type: ignore[arg-type]


def test_lag_is_highwater_minus_position_for_input_partitions_only() -> None:
    consumer = FakeConsumer()
    consumer.held = {
        TP(TOPICS.activities, 0): (120, 100),
        TP(TOPICS.activities, 1): (50, 50),
        TP("sp-reps_to_ticks-changelog", 0): (900, 10),
    }
    lag = lag_of(consumer)
    asyncio.run(lag.sample())
    assert lag.partitions_to_lag == {(TOPICS.activities, 0): 20, (TOPICS.activities, 1): 0}


def test_a_partition_not_fetched_yet_has_no_lag_rather_than_zero() -> None:
    consumer = FakeConsumer()
    consumer.held = {TP(TOPICS.activities, 0): (None, 40)}
    lag = lag_of(consumer)
    asyncio.run(lag.sample())
    assert lag.partitions_to_lag == {}
    assert consumer.position_calls == 0


def test_partitions_that_move_are_sampled_at_the_next_check_not_the_next_interval() -> None:
    consumer = FakeConsumer()
    consumer.held = {TP(TOPICS.activities, 0): (10, 5)}
    lag = lag_of(consumer)
    asyncio.run(lag.sample_if_moved())
    assert lag.partitions_to_lag == {(TOPICS.activities, 0): 5}
    calls = consumer.position_calls
    asyncio.run(lag.sample_if_moved())  # nothing moved: no position call
    assert consumer.position_calls == calls
    # A rebalance: partition 0 goes, partition 1 comes and is recovering (not fetched yet).
    consumer.held = {TP(TOPICS.activities, 1): (None, None)}
    asyncio.run(lag.sample_if_moved())
    assert lag.partitions_to_lag == {}
    # Recovered and fetched: measured at the next check.
    consumer.held = {TP(TOPICS.activities, 1): (70, 30)}
    asyncio.run(lag.sample_if_moved())
    assert lag.partitions_to_lag == {(TOPICS.activities, 1): 40}


def test_partitions_revoked_while_sampling_are_left_out_and_the_worker_goes_on() -> None:
    """A rebalance revokes partitions while the position of an earlier one is awaited."""
    consumer = FakeConsumer()
    first, second, third = (TP(TOPICS.activities, p) for p in (0, 1, 2))
    consumer.held = {first: (50, 20), second: (70, 65), third: (9, 9)}

    def rebalance() -> None:
        del consumer.held[second]
        del consumer.held[third]

    consumer.revoke_on_position = {first: rebalance}
    lag = lag_of(consumer)
    asyncio.run(lag.sample())
    assert lag.partitions_to_lag == {(TOPICS.activities, 0): 30}
