"""An agent's input: the records of its topics, handed over by the consumer's fetcher a fetch at a time.

Faust hands each record to each stream on its own: a lock, a flow-control check, an Event, a
queue put that wakes the stream, the stream's own per-event bookkeeping, and an acknowledgement
per record (28 % of the main thread on the mixed backlog, py-spy). The batched agents take
records by the thousand and fold them themselves, so their records skip all that: the fetcher
appends each to the agent's inbox, and the agent takes what has come, as Faust's Kafka messages.

What Faust's stream guarantees is kept here:
- a record is tracked as unfinished when the agent takes it, so a rebalance waits for the
  agent's write of it, and it is acknowledged (its offset may be committed) only after that write.
  The consumer's set of unfinished messages holds one `Unfinished` per batch rather than each
  record: a rebalance waits for it all the same, and adding and removing each record of a
  backlog cost 2 % of a worker's time;
- records not taken yet are dropped at a rebalance (Faust's flow control clears the inbox as it
  clears its streams' queues), and so are records of an older consumer generation or taken
  while the flow is stopped: their partitions are read again from the committed offset;
- the fetcher waits while an inbox is full (`stream_buffer_maxsize`), as it does for a stream;
- Faust's warning about a partition whose records are fetched but not processed still works:
  taking a partition's records marks it as processed now, as a stream's event does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from time import monotonic
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import faust
from faust.types import Message

from salespulse.streams.engine.app import engine_of


class Unfinished:
    """A batch an agent took and has not written yet, in the consumer's set of unfinished messages.

    Faust's consumer waits at a rebalance until that set is empty, dropping entries that are
    `acked`, and logs each remaining entry's `refcount` while it waits.
    """

    __slots__ = ("acked", "refcount", "__weakref__")

    def __init__(self, records: int) -> None:
        self.acked = False
        self.refcount = records

    def __repr__(self) -> str:
        return f"<{self.refcount} records taken by an agent, not written yet>"


class Inbox:
    """The records the fetcher handed on for one agent's topics, not taken yet."""

    def __init__(self, app: faust.App, topic: faust.TopicT, name: str) -> None:
        self.app = app
        self.name = name
        self.maxsize = app.conf.stream_buffer_maxsize
        self.batch_size = self.maxsize  # set by `batches`
        self.messages: list[Message] = []
        # The batches taken and not acknowledged yet, in the order taken: an agent writes and
        # acknowledges its batches one at a time, in that order (`writes.Writes`).
        self.unfinished: deque[Unfinished] = deque()
        self.arrived = asyncio.Event()  # set while records wait
        self.enough = asyncio.Event()  # set while a whole batch waits
        self.room = asyncio.Event()  # set while the inbox is not full
        self.room.set()
        engine_of(app).inboxes.update(dict.fromkeys(topic.topics, self))
        # Subscribes the consumer to the topics, as an agent's stream would.
        app.topics.add(topic)
        # Cleared with the streams' queues when a rebalance starts.
        app.flow_control.manage_queue(cast(Any, self))

    def full(self) -> bool:
        return len(self.messages) >= self.maxsize

    def put(self, message: Message) -> None:
        """Hand on a record; the fetcher checks `full()` and the flow first (see `put_when_ready`)."""
        messages = self.messages
        messages.append(message)
        waiting = len(messages)
        if waiting == 1:
            self.arrived.set()
        if waiting >= self.batch_size:
            self.enough.set()
            if waiting >= self.maxsize:
                self.room.clear()

    async def put_when_ready(self, message: Message) -> None:
        """Hand on a record once the flow runs and the inbox has room."""
        while not self.app.flow_control.is_active() or self.full():
            await self.app.flow_control.acquire()
            if self.full():
                await self.room.wait()
        self.put(message)

    def clear(self) -> None:
        """Drop the records not taken yet (a rebalance): they are read again from the committed offset."""
        self.messages = []
        self._waiting_changed()

    async def batches(self, max_records: int, within_s: float) -> AsyncIterator[list[Message]]:
        """Yield up to `max_records` records at a time: what came within `within_s` of the first one."""
        self.batch_size = max_records
        self._waiting_changed()
        while True:
            await self.arrived.wait()
            if not self.enough.is_set():
                try:
                    await asyncio.wait_for(self.enough.wait(), within_s)
                except asyncio.TimeoutError:
                    pass
            taken = self.take(max_records)
            if taken:
                yield taken

    def take(self, max_records: int) -> list[Message]:
        """Take up to `max_records` records, each tracked as unfinished; drop stale ones."""
        messages = self.messages
        taken, self.messages = messages[:max_records], messages[max_records:]
        self._waiting_changed()
        app = self.app
        if not app.flow_control.is_active():
            return []
        generation = app.consumer_generation_id
        if any(message.generation_id != generation for message in taken):
            taken = [message for message in taken if message.generation_id == generation]
        if taken:
            batch = Unfinished(len(taken))
            self.unfinished.append(batch)
            app.consumer._unacked_messages.add(batch)  # type: ignore[attr-defined]
        # What Faust's stall check reads (Consumer.verify_event_path); a stream sets it per event.
        now = monotonic()
        inbound = app.monitor.stream_inbound_time
        for tp in {message.tp for message in taken}:
            inbound[tp] = now
        return taken

    def _waiting_changed(self) -> None:
        waiting = len(self.messages)
        for event, on in ((self.arrived, waiting > 0), (self.enough, waiting >= self.batch_size),
                          (self.room, waiting < self.maxsize)):
            if on:
                event.set()
            else:
                event.clear()

    def ack(self, messages: Sequence[Message]) -> None:
        """Let the consumer commit past the oldest batch's records whose changes are all in Kafka.

        `messages` are those the agent folded: what it took, less what `InOrder` set aside.
        """
        consumer = self.app.consumer
        ack = consumer.ack
        for message in messages:
            ack(message)
        batch = self.unfinished.popleft()
        batch.acked = True
        consumer._unacked_messages.discard(batch)  # type: ignore[attr-defined]
