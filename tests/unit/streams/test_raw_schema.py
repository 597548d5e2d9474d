"""The worker's topic schema makes the events Faust's own decoding made for the same topics."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.exceptions import KeyDecodeError
from faust.types import Message

from salespulse.streams.raw_schema import RawSchema

RECORDS = [
    (b"nl|ann", b'{"type": "activity"}', [("source", b"dialer")]),
    (None, b'{"type": "review"}', []),
    (b"nl|ann", None, []),
    ("caf\u00e9|b\u00e9a".encode(), b"\xff\xfe not JSON", []),
]


def message(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> Message:
    return Message("t", 0, 7, 0.0, 0, headers, key, value, None)


def decoded(topic: faust.TopicT, record: tuple[Any, ...]) -> tuple[Any, Any, Any]:
    event = asyncio.run(topic.decode(message(*record), propagate=True))  # type: ignore[attr-defined]
    return event.key, event.value, event.headers


@pytest.mark.parametrize("record", RECORDS)
@pytest.mark.parametrize("text_keys", [False, True])
def test_the_same_event_as_fausts_decoding(record: tuple[Any, ...], text_keys: bool) -> None:
    app = faust.App("raw-schema-test")
    if text_keys:  # internal topics
        faust_topic = app.topic("a", key_type=str, value_type=bytes, value_serializer="raw")
    else:  # the producers' topics
        faust_topic = app.topic("b", value_type=bytes, value_serializer="raw")
    ours = app.topic("c", schema=RawSchema(text_keys=text_keys))
    expected = decoded(faust_topic, record)
    assert decoded(ours, record) == expected
    key, value, _ = expected
    assert value == record[1]
    assert key == (record[0].decode() if text_keys and record[0] is not None else record[0])


def test_a_text_key_that_is_not_utf8_is_a_key_decode_error() -> None:
    app = faust.App("raw-schema-test")
    ours = app.topic("c", schema=RawSchema(text_keys=True))
    faust_topic = app.topic("a", key_type=str, value_type=bytes, value_serializer="raw")
    for topic in (faust_topic, ours):
        with pytest.raises(KeyDecodeError):
            decoded(topic, (b"\xff|ann", b"{}", []))
