"""A small floor for the web tests: one team with three reps, a manager and a mystery rotation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from salespulse.models.config import Settings, parse_settings

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)  # a Wednesday; 2026-W50 in Amsterdam
SECRET = "a-test-secret-that-is-long-enough-0123456789"


def floor() -> Settings:
    """Return the settings every web unit test uses."""
    return parse_settings({
        "actions": ["call", "cold_call", "outbound_email"],
        "teams": {
            "amsterdam": {
                "timezone": "Europe/Amsterdam",
                "reps": {"anna": {"name": "Anna", "email": "Anna@Example.com"}, "bram": {"name": "Bram"},
                         "sara": {"name": "Sara"}},
                "managers": {"mia": {"name": "Mia", "email": "mia@example.com"}},
                "mystery_rotation": ["anna", "bram", "sara"],
            },
            "utrecht": {"reps": {"umar": {"name": "Umar"}}, "managers": {"uma": {"name": "Uma"}}},
        },
        "mystery": {"rotation_start": "2026-12"},
    })


Record = tuple[int, bytes | None]  # (record timestamp in ms, value)


class FakeConsumer:
    """The part of aiokafka's AIOKafkaConsumer the history reader uses, over records held in memory.

    Each topic has one partition holding `records[topic]` at offsets 0, 1, 2, ...; `reads` lists
    the offsets handed out by getmany, so that a test sees where the reader began.
    """

    def __init__(self, records: dict[str, list[Record]], **options: object) -> None:
        self.records = records
        self.options = options
        self.positions: dict[object, int] = {}
        self.reads: list[tuple[str, int]] = []
        self.stopped = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    async def topics(self) -> set[str]:
        return set(self.records)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0} if topic in self.records else None

    def assign(self, tps: list[object]) -> None:
        self.positions = {tp: 0 for tp in tps}

    def subscribe(self, topics: list[str]) -> None:
        from aiokafka import TopicPartition

        # As aiokafka without a group: every partition of the topics, at once here.
        self.positions = {TopicPartition(topic, 0): 0 for topic in topics}

    def assignment(self) -> set[object]:
        return set(self.positions)

    async def offsets_for_times(self, query: dict[object, int]) -> dict[object, object]:
        from aiokafka.structs import OffsetAndTimestamp

        found: dict[object, object] = {}
        for tp, at_ms in query.items():
            stamps = [ms for ms, _ in self.records[tp.topic]]  # type: ignore[attr-defined]
            first = next((i for i, ms in enumerate(stamps) if ms >= at_ms), None)
            found[tp] = None if first is None else OffsetAndTimestamp(first, stamps[first])
        return found

    async def seek_to_end(self, *tps: object) -> None:
        for tp in tps:
            self.positions[tp] = len(self.records[tp.topic])  # type: ignore[attr-defined]

    def seek(self, tp: object, offset: int) -> None:
        self.positions[tp] = offset

    async def end_offsets(self, tps: list[object]) -> dict[object, int]:
        return {tp: len(self.records[tp.topic]) for tp in tps}  # type: ignore[attr-defined]

    async def position(self, tp: object) -> int:
        return self.positions[tp]

    async def getmany(self, *tps: object, timeout_ms: int = 0) -> dict[object, list[object]]:
        from aiokafka.structs import ConsumerRecord

        batch: dict[object, list[object]] = {}
        for tp in tps:
            topic = tp.topic  # type: ignore[attr-defined]
            start = self.positions[tp]
            held = self.records[topic][start:]
            if held:
                batch[tp] = [ConsumerRecord(topic, 0, start + i, ms, 0, None, value, None, 0, 0, [])
                             for i, (ms, value) in enumerate(held)]
                self.reads += [(topic, start + i) for i in range(len(held))]
                self.positions[tp] = start + len(held)
        if not batch:
            await asyncio.sleep(timeout_ms / 1000)
        return batch
