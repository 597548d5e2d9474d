"""The consumer's hand-over of fetched records to the streams and inboxes, without four tasks per record.

Faust's fetcher hands each record on inside `wait_first(callback(record), suspend_flow.wait())`,
so that a hand-over blocked when a rebalance suspends the flow is abandoned, not delivered late.
That creates four tasks per record and cancels three: about a third of a worker's main thread on
a backlog of activities (py-spy), a cost Faust's own no-op agent pays too. Nearly every hand-over finishes without waiting (the stream's
buffer has room, the flow is on), so `EagerDelivery` runs it at once, in the fetcher's task, and
falls back to Faust's way only for one that has to wait or when the flow is suspended.

Records of a topic an `Inbox` reads are appended to it instead (see `inbox`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any, cast

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import Message
from mode import Service, ServiceT

from salespulse.streams.engine.app import engine_of

YIELD_EVERY = 100  # records handed on between two turns given to the event loop, as Faust does


async def resume(coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """Run the rest of a coroutine that yielded `waiting_on` (a future, or None to let the loop turn).

    It goes on exactly as if it had run as a task from the start: the future's outcome, a
    cancellation included, is passed into the coroutine where it waits.
    """
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False
                await waiting_on
        except BaseException as exc:  # noqa: B036 - passed on to the coroutine, as a task does
            try:
                waiting_on = coroutine.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            waiting_on = coroutine.send(None)
        except StopIteration as stop:
            return stop.value


class EagerDelivery(AIOKafkaConsumer):
    """A consumer whose fetcher hands records on directly when that does not have to wait."""

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Message]]:
        """Faust's `getmany`, except that a partition's end offset is read once per fetch, not per record.

        Faust asks the consumer thread for the end offset (and hands it to the monitor) before
        each record; it is the same for every record of a fetch.
        """
        records, active_partitions = await self._wait_next_records(timeout)
        generation_id = self.app.consumer_generation_id
        if records is None or self.should_stop:
            return
        if not self.flow_active:
            self.log.dev("getmany called while flow not active. Seek back to committed offsets.")
            try:
                await self.perform_seek()
            except Exception as ex:
                self.log.warning(f"exception performing seek when flow not active {ex}")
            return
        to_message = self._to_message
        app = self.app
        tracked: set[Any] = set()
        for tp, record in self.scheduler.iterate(records):
            # The loop that takes these records may let others run between two of them.
            if not self.flow_active or app.consumer_generation_id != generation_id:
                break
            if active_partitions is None or tp in active_partitions or tp in self._buffered_partitions:
                if tp not in tracked:
                    tracked.add(tp)
                    app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                yield tp, to_message(tp, record)

    async def _deliver(self, delivery: Coroutine[Any, Any, Any]) -> None:
        if self.suspend_flow.is_set():
            await self.wait_first(delivery, self.suspend_flow.wait())
            return
        try:
            waiting_on = delivery.send(None)
        except StopIteration:
            return
        # It has to wait: from here on as Faust does, abandoned if the flow is suspended meanwhile.
        await self.wait_first(resume(delivery, waiting_on), self.suspend_flow.wait())

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        # Faust's loop (faust/transport/consumer.py), with `_deliver` where it calls `wait_first`.
        callback = self.callback
        consumer_stopped = cast(Service, self)._stopped.is_set
        fetcher_stopped = cast(Service, fetcher)._stopped.is_set
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        inboxes = engine_of(self.app).inboxes
        flow_active = self.app.flow_control.is_active
        since_yield = 0
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                records = cast(AsyncIterator[tuple[Any, Message]], self.getmany(timeout=1.0))
                # getmany can return at once many times over: let the loop turn between fetches.
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in records:
                        since_yield += 1
                        if since_yield > YIELD_EVERY:
                            await asyncio.sleep(0)
                            since_yield = 0
                        offset = message.offset
                        last = read_offset[tp]
                        if last is not None and offset < last:
                            continue  # Faust drops a record older than the last one read, too
                        if offset - (last or 0) > 1 and last and acks_enabled_for(message.topic):
                            await self._add_gap(tp, last + 1, offset)
                        if self._commit_every is not None and self._n_acked >= self._commit_every:
                            self._n_acked = 0
                            await self.commit()
                        inbox = inboxes.get(tp.topic)
                        if inbox is None:
                            await self._deliver(cast(Coroutine[Any, Any, Any], callback(message)))
                        elif inbox.full() or not flow_active():
                            await self._deliver(inbox.put_when_ready(message))
                        else:
                            inbox.put(message)
                        read_offset[tp] = offset
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)
