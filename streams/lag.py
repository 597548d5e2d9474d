"""Consumer lag: how many records of each input partition this worker has yet to fetch.

Sampled every few seconds rather than at scrape time, because the consumer's position is an
asynchronous call and a collector runs synchronously.
"""

from __future__ import annotations

import faust

from salespulse.streams.topics import TopicNames


class ConsumerLag:
    """Keeps, per assigned input partition, highwater minus the consumer's position."""

    def __init__(self, app: faust.App, topics: TopicNames, interval_s: float = 5.0) -> None:
        self.app = app
        self.inputs = set(topics.all())
        self.partitions_to_lag: dict[tuple[str, int], int] = {}
        app.timer(interval_s, name="sample_lag")(self.sample)

    async def sample(self) -> None:
        """Refresh the lag of every input partition this worker holds now."""
        consumer = self.app.consumer
        fresh: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            if tp.topic not in self.inputs:
                continue
            highwater = consumer.highwater(tp)
            position = await consumer.position(tp)
            if highwater is None or position is None:
                continue  # not fetched yet: unknown, not zero
            fresh[(tp.topic, tp.partition)] = max(0, highwater - position)
        self.partitions_to_lag = fresh
