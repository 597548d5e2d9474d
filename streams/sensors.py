"""Faust's sensor calls per record, cut down to the one figure Faust itself reads.

Faust calls its sensors for every record (message in, event in, event out, message out) and
every table read, and its Monitor counts and times each for a stats page the worker does not
serve. Faust reads one thing back: when each partition's stream last took an event, to log a
stream that stopped. That is all these calls keep while the Monitor is the only sensor; with
any other sensor added (statsd, Datadog, Prometheus), every call goes through as Faust makes it.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

import faust
from faust.sensors.base import SensorDelegate
from faust.types import TP, EventT, Message, StreamT
from faust.types.sensors import SensorT
from faust.types.tables import CollectionT


class RecordSensors(SensorDelegate):
    """The app's sensors, skipping the Monitor's per-record bookkeeping."""

    def __init__(self, app: faust.App) -> None:
        super().__init__(app)
        self.lean = True

    def add(self, sensor: SensorT) -> None:
        super().add(sensor)
        self.lean = all(each is self.app.monitor for each in self._sensors)

    def remove(self, sensor: SensorT) -> None:
        super().remove(sensor)
        self.lean = all(each is self.app.monitor for each in self._sensors)

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        if not self.lean:
            super().on_message_in(tp, offset, message)

    def on_stream_event_in(self, tp: TP, offset: int, stream: StreamT, event: EventT) -> dict[Any, Any] | None:
        if not self.lean:
            return super().on_stream_event_in(tp, offset, stream, event)
        # What Consumer.verify_event_path reads to tell a stalled stream.
        self.app.monitor.stream_inbound_time[tp] = monotonic()
        return None

    def on_stream_event_out(
        self, tp: TP, offset: int, stream: StreamT, event: EventT, state: dict[Any, Any] | None = None
    ) -> None:
        if not self.lean:
            super().on_stream_event_out(tp, offset, stream, event, state)

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        if not self.lean:
            super().on_message_out(tp, offset, message)

    def on_table_get(self, table: CollectionT, key: Any) -> None:
        if not self.lean:
            super().on_table_get(table, key)

    def on_table_set(self, table: CollectionT, key: Any, value: Any) -> None:
        if not self.lean:
            super().on_table_set(table, key, value)


def use_record_sensors(app: faust.App) -> None:
    """Give the app these sensors; before anything takes a reference to Faust's."""
    app.sensors = RecordSensors(app)
