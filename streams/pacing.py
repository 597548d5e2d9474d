"""Pacing: the weekly targets every worker follows, read live from the compacted targets topic.

Pace itself is computed at scrape time from the week's action counts and the target in force
(see `salespulse.streams.kpi.pacing` for the maths), so no agent is needed here.
"""

from __future__ import annotations


from salespulse.models.config import KafkaSettings
from salespulse.models.targets import TargetSet
from salespulse.streams.engine import Engine
from salespulse.streams.targets import TargetBook
from salespulse.streams.topics import TopicNames


class Pacing:
    """Owns the worker's target book and the task that keeps it current."""

    def __init__(self, engine: Engine, kafka: KafkaSettings, topics: TopicNames) -> None:
        self.book = TargetBook()
        self.kafka = kafka
        self.topic = topics.targets
        engine.task(self.follow_targets)

    async def follow_targets(self) -> None:
        """Apply every change to the targets topic while the worker runs."""
        await self.book.follow(self.kafka, self.topic)

    def target_sets(self) -> list[TargetSet]:
        """Return every target set known now."""
        return list(self.book.sets.values())
