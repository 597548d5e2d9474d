"""How the worker's input topics hand a record on: its value as the bytes that came, its key as is or as text.

Every agent parses values itself (pydantic for producers' events, orjson for internal records),
so Faust's decoding only passes bytes through. It does so through its serializer registry and
codec chain for the key and again for the value, and reads the event class from the settings,
for every record: 5 % of a worker on a backlog. This schema makes the same events directly.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.exceptions import KeyDecodeError
from faust.serializers.schemas import (
    DecodeFunction,
    OnKeyDecodeErrorFun,
    OnValueDecodeErrorFun,
    _noop_decode_error,
)
from faust.types import AppT, EventT, Message


class RawSchema(faust.Schema):
    """Values as bytes; keys as bytes, or as text where `key_type` is str (not UTF-8: KeyDecodeError)."""

    def __init__(self, *, text_keys: bool) -> None:
        super().__init__(
            key_type=str if text_keys else None,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    def compile(
        self,
        app: AppT,
        *,
        on_key_decode_error: OnKeyDecodeErrorFun = _noop_decode_error,
        on_value_decode_error: OnValueDecodeErrorFun = _noop_decode_error,
        default_propagate: bool = False,
    ) -> DecodeFunction:
        event_class: Any = app.conf.Event
        text_keys = self.key_type is str

        async def decode(message: Message, *, propagate: bool = default_propagate) -> Any:
            key: Any = message.key
            if text_keys and key is not None:
                try:
                    key = key.decode()
                except UnicodeDecodeError as exc:
                    error = KeyDecodeError(str(exc))
                    if propagate:
                        raise error from exc
                    await on_key_decode_error(error, message)
                    return None
            event: EventT = event_class(app, key, message.value, message.headers, message)
            return event

        return decode
