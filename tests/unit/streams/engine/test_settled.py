"""The gate that lets /metrics read memory only when every folded batch is in Kafka."""

from __future__ import annotations

import asyncio

import pytest

from salespulse.streams.engine.writes import Writes
from salespulse.streams.engine.settled import NotSettled, Settled


class Agent:
    """Folds batches of counts into `memory`; each write copies memory to `kafka` once released."""

    def __init__(self, gate: Settled) -> None:
        self.gate = gate
        self.memory = {"calls": 0}
        self.kafka = {"calls": 0}
        self.release = asyncio.Event()
        self.writes = Writes(gate, exit=lambda code: pytest.fail(f"exit {code}"))

    async def batch(self, calls: int) -> None:
        await self.gate.folding()
        self.memory["calls"] += calls
        await self.writes.submit([], self.write(dict(self.memory)), lambda records: None)

    async def write(self, values: dict[str, int]) -> None:
        await self.release.wait()
        self.kafka.update(values)


async def spin(times: int = 5) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


def test_a_reader_waits_for_the_folded_batch_to_be_written_and_sees_only_what_kafka_has() -> None:
    async def scenario() -> list[tuple[str, int, int]]:
        gate = Settled()
        agent = Agent(gate)
        seen: list[tuple[str, int, int]] = []

        async def scrape() -> None:
            async with gate.reading():
                seen.append(("scrape", agent.memory["calls"], agent.kafka["calls"]))

        await agent.batch(3)
        reader = asyncio.ensure_future(scrape())
        await spin()
        seen.append(("before the write", agent.memory["calls"], agent.kafka["calls"]))
        agent.release.set()
        await reader
        return seen

    # Served between fold and write, the page would have shown 3 with nothing in Kafka.
    assert asyncio.run(scenario()) == [("before the write", 3, 0), ("scrape", 3, 3)]


def test_a_batch_taken_while_a_reader_waits_is_folded_after_the_reader_is_done() -> None:
    async def scenario() -> list[tuple[str, int]]:
        gate = Settled()
        agent = Agent(gate)
        seen: list[tuple[str, int]] = []

        async def scrape() -> None:
            async with gate.reading():
                seen.append(("scrape", agent.memory["calls"]))

        await agent.batch(2)
        reader = asyncio.ensure_future(scrape())
        await spin()
        second = asyncio.ensure_future(agent.batch(5))
        await spin()
        seen.append(("second batch held", agent.memory["calls"]))
        agent.release.set()
        await reader
        await second
        await agent.writes.writing  # type: ignore[misc]
        seen.append(("after", agent.memory["calls"]))
        return seen

    # Without the hold, the second batch would fold while the reader waits for the first write,
    # and the reader would never find memory and Kafka equal under a steady stream.
    assert asyncio.run(scenario()) == [("second batch held", 2), ("scrape", 2), ("after", 7)]


def test_a_write_that_takes_too_long_fails_the_reader_and_lets_batches_go_on() -> None:
    async def scenario() -> tuple[str, int, int]:
        gate = Settled()
        agent = Agent(gate)
        await agent.batch(1)
        with pytest.raises(NotSettled) as late:
            async with gate.reading(timeout_s=0.05):
                pass
        second = asyncio.ensure_future(agent.batch(4))
        await spin()
        folded = agent.memory["calls"]
        agent.release.set()
        await second
        await agent.writes.writing  # type: ignore[misc]
        return str(late.value), folded, gate.unwritten

    message, folded, unwritten = asyncio.run(scenario())
    assert message == "1 folded batches not in Kafka after 0.05 s"
    assert (folded, unwritten) == (5, 0)


def test_two_readers_both_read_settled_memory() -> None:
    async def scenario() -> list[tuple[int, int]]:
        gate = Settled()
        agent = Agent(gate)
        seen: list[tuple[int, int]] = []

        async def scrape() -> None:
            async with gate.reading():
                seen.append((agent.memory["calls"], agent.kafka["calls"]))

        await agent.batch(1)
        readers = [asyncio.ensure_future(scrape()) for _ in range(2)]
        await spin()
        later = asyncio.ensure_future(agent.batch(10))  # held until both readers are done
        agent.release.set()
        await asyncio.gather(*readers)
        await later
        await agent.writes.writing  # type: ignore[misc]
        seen.append((agent.memory["calls"], agent.kafka["calls"]))
        return seen

    assert asyncio.run(scenario()) == [(1, 1), (1, 1), (11, 11)]
