"""Consumer lag: how many records of each input partition this worker has yet to fetch.

Sampled every few seconds rather than at scrape time, because the consumer's position is an
asynchronous call and a collector runs synchronously. After a rebalance it is sampled as soon as
the partitions the worker holds change, so that /metrics shows the new ones within a second.
"""

from __future__ import annotations

import faust
from aiokafka.errors import IllegalStateError

from salespulse.streams.topics import TopicNames


class ConsumerLag:
    """Keeps, per assigned input partition, highwater minus the consumer's position."""

    def __init__(self, app: faust.App, topics: TopicNames, interval_s: float = 5.0, check_s: float = 0.5) -> None:
        self.app = app
        self.inputs = set(topics.all())
        self.partitions_to_lag: dict[tuple[str, int], int] = {}
        app.timer(interval_s, name="sample_lag")(self.sample)
        app.timer(check_s, name="sample_lag_when_partitions_move")(self.sample_if_moved)

    async def sample(self) -> None:
        """Refresh the lag of every input partition this worker holds now."""
        consumer = self.app.consumer
        fresh: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            if tp.topic not in self.inputs:
                continue
            try:
                highwater = consumer.highwater(tp)
                if highwater is None:
                    continue  # not fetched yet (recovering): unknown, not zero
                position = await consumer.position(tp)
            except (AssertionError, IllegalStateError):
                # Revoked by a rebalance while the positions before it were awaited: its new
                # holder reports it. Raised out of a timer, this ended the worker.
                continue
            if position is None:
                continue
            fresh[(tp.topic, tp.partition)] = max(0, highwater - position)
        self.partitions_to_lag = fresh

    async def sample_if_moved(self) -> None:
        """Sample now if a partition was revoked, or one newly held can be measured."""
        consumer = self.app.consumer
        measurable = {
            (tp.topic, tp.partition)
            for tp in consumer.assignment()
            if tp.topic in self.inputs and consumer.highwater(tp) is not None
        }
        if measurable != self.partitions_to_lag.keys():
            await self.sample()
