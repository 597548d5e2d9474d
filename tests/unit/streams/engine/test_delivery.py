"""The fetcher's hand-over of records: at once when it need not wait, Faust's way when it must."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.utils import DefaultSchedulingStrategy
from faust.types import TP
from mode import Service

from salespulse.streams.engine.delivery import EagerDelivery, resume


class Fetcher(Service):
    """The parts of Faust's consumer `_deliver` uses: `wait_first` and the flow's suspension."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()

    async def deliver(self, delivery: Coroutine[Any, Any, Any]) -> None:
        await EagerDelivery._deliver(self, delivery)  # type: ignore[arg-type]


def run_counting_tasks(test: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[Any, int]:
    """Run `test` in a new loop; return its result and how many tasks it created."""
    created = 0

    async def main() -> Any:
        loop = asyncio.get_running_loop()

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            nonlocal created
            created += 1
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        return await test()

    return asyncio.run(main()), created


def test_a_hand_over_that_need_not_wait_runs_at_once_without_a_task() -> None:
    delivered: list[int] = []

    async def hand_over(offset: int) -> None:
        delivered.append(offset)

    async def test() -> list[int]:
        fetcher = Fetcher()
        for offset in range(5):
            await fetcher.deliver(hand_over(offset))
        return list(delivered)

    async def baseline() -> None:
        Fetcher()

    seen, tasks = run_counting_tasks(test)
    _, setting_up = run_counting_tasks(baseline)
    assert seen == [0, 1, 2, 3, 4]
    assert tasks - setting_up == 0  # Faust's wait_first creates four per record


def test_a_hand_over_that_waits_is_finished_before_the_next_record() -> None:
    delivered: list[str] = []

    async def hand_over(room: asyncio.Future[str]) -> None:
        delivered.append("waiting")
        delivered.append(await room)

    async def test() -> list[str]:
        fetcher = Fetcher()
        room: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, room.set_result, "put")
        await fetcher.deliver(hand_over(room))
        delivered.append("next")
        return delivered

    seen, _ = run_counting_tasks(test)
    assert seen == ["waiting", "put", "next"]


def test_a_hand_over_still_waiting_when_the_flow_is_suspended_is_abandoned() -> None:
    outcome: list[str] = []

    async def hand_over(never: asyncio.Future[None]) -> None:
        try:
            await never
            outcome.append("delivered")
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    async def test() -> tuple[list[str], bool]:
        fetcher = Fetcher()
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, fetcher.suspend_flow.set)
        await fetcher.deliver(hand_over(never))
        await asyncio.sleep(0)  # the cancellation reaches the coroutine
        return outcome, never.cancelled()

    (seen, future_cancelled), _ = run_counting_tasks(test)
    assert seen == ["cancelled"]
    assert future_cancelled  # what it waited on is cancelled too, as a task's would be


def test_with_the_flow_suspended_nothing_is_handed_on_at_once() -> None:
    delivered: list[int] = []

    async def hand_over(flow: asyncio.Event) -> None:
        await flow.wait()  # Faust's flow control: closed while the flow is suspended
        delivered.append(1)

    async def test() -> list[int]:
        fetcher = Fetcher()
        fetcher.suspend_flow.set()
        await fetcher.deliver(hand_over(asyncio.Event()))
        await asyncio.sleep(0.01)
        return delivered

    seen, _ = run_counting_tasks(test)
    assert seen == []


def test_an_error_in_the_hand_over_reaches_the_fetcher() -> None:
    async def hand_over() -> None:
        raise ValueError("cannot decode")

    async def test() -> None:
        await Fetcher().deliver(hand_over())

    with pytest.raises(ValueError, match="cannot decode"):
        run_counting_tasks(test)


def test_resume_passes_each_outcome_into_the_coroutine_as_a_task_would() -> None:
    async def steps(first: asyncio.Future[int], second: asyncio.Future[int]) -> list[Any]:
        seen: list[Any] = [await first]
        try:
            await second
        except KeyError as exc:
            seen.append(f"raised {exc.args[0]}")
        await asyncio.sleep(0)  # a bare yield to the loop
        seen.append("done")
        return seen

    async def test() -> list[Any]:
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()
        coroutine = steps(first, second)
        waiting_on = coroutine.send(None)
        assert waiting_on is first
        loop.call_soon(first.set_result, 7)
        loop.call_later(0.01, second.set_exception, KeyError("late"))
        return await resume(coroutine, waiting_on)

    seen, _ = run_counting_tasks(test)
    assert seen == [7, "raised late", "done"]


class Fetched:
    """The parts of Faust's consumer `getmany` uses, with two partitions' records fetched."""

    def __init__(self, records: dict[str, list[int]]) -> None:
        self.records = records
        self.app = SimpleNamespace(consumer_generation_id=1, monitor=SimpleNamespace(tp_end_offsets={}))
        self.app.monitor.track_tp_end_offset = self.app.monitor.tp_end_offsets.__setitem__
        self.flow_active, self.should_stop = True, False
        self.scheduler = DefaultSchedulingStrategy()
        self._buffered_partitions: set[Any] = set()
        self.highwaters_asked: list[str] = []

    async def _wait_next_records(self, timeout: float) -> tuple[dict[Any, list[int]], None]:
        return {TP(topic, 0): offsets for topic, offsets in self.records.items()}, None

    def highwater(self, tp: Any) -> int:
        self.highwaters_asked.append(tp.topic)
        return len(self.records[tp.topic])

    def _to_message(self, tp: Any, record: int) -> tuple[str, int]:
        return tp.topic, record


def test_a_fetch_hands_on_every_record_and_reads_each_partitions_end_once() -> None:
    fetched = Fetched({"a": [0, 1, 2], "b": [0]})

    async def take() -> list[Any]:
        return [message async for _, message in EagerDelivery.getmany(fetched, timeout=1.0)]  # type: ignore[arg-type]

    assert sorted(asyncio.run(take())) == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]
    assert sorted(fetched.highwaters_asked) == ["a", "b"]
    assert fetched.app.monitor.tp_end_offsets == {TP("a", 0): 3, TP("b", 0): 1}


def test_a_fetch_stops_handing_on_once_a_rebalance_began() -> None:
    fetched = Fetched({"a": [0, 1, 2, 3]})

    async def take() -> list[Any]:
        taken = []
        async for _, message in EagerDelivery.getmany(fetched, timeout=1.0):  # type: ignore[arg-type]
            taken.append(message)
            fetched.app.consumer_generation_id = 2  # a new generation while the records are handed on
        return taken

    assert asyncio.run(take()) == [("a", 0)]
