"""Reading a table from outside the worker: its changelog topic, compacted, read to its end.

The CLI uses this for what is not a metric (the deals to draw from, the lessons learned): the
changelog is the table's own durable copy, so the answer does not depend on which worker holds
which partition, nor on a worker running at all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaTimeoutError

from salespulse.models.config import KafkaSettings
from salespulse.streams.topics import kafka_client_options


def changelog_topic(app_id: str, table: str) -> str:
    """Return the changelog topic Faust gives a table of the app."""
    return f"{app_id}-{table}-changelog"


# A stamped table's record (streams.family) holds its value beside the input offsets it reflects.
VALUE = "~v"
STAMPS = "~s"


def unstamped(record: Any) -> Any:
    """Return the table value a changelog record holds, stamped or not."""
    if isinstance(record, dict) and VALUE in record:
        return record[VALUE]
    return record


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw.decode(errors="replace")


async def read_to_end(kafka: KafkaSettings, topic: str, timeout_s: float = 30.0) -> AsyncIterator[ConsumerRecord]:
    """Yield every record of a topic, from its start to where it ends when reading begins.

    A topic that does not exist yet yields nothing.
    """
    consumer = AIOKafkaConsumer(
        **kafka_client_options(kafka), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"  # type: ignore[arg-type]
    )
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return
        # Without a group, a subscribed consumer is assigned every partition of the topic.
        consumer.subscribe([topic])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not consumer.assignment():
            if loop.time() > deadline:
                raise KafkaTimeoutError(f"no partition of {topic} assigned within {timeout_s:g} s")
            await asyncio.sleep(0.1)
        tps = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            if loop.time() > deadline:
                raise KafkaTimeoutError(f"{topic} not read to its end within {timeout_s:g} s")
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield record
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()


async def read_table(kafka: KafkaSettings, topic: str, timeout_s: float = 30.0) -> dict[Any, Any]:
    """Return the table's current content: the last value of every key, tombstones applied.

    A topic that does not exist yet (no worker ever ran) reads as an empty table.
    """
    table: dict[Any, Any] = {}
    async for record in read_to_end(kafka, topic, timeout_s):
        key = _decode(record.key) if record.key is not None else None
        if record.value is None:
            table.pop(key, None)
        else:
            table[key] = unstamped(_decode(record.value))
    return table
