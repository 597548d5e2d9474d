"""The per-record sensor calls: only what Faust reads back, unless another sensor listens."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from faust.sensors.base import Sensor
from faust.types import TP

from salespulse.models.config import KafkaSettings, Settings
from salespulse.pipeline import build_pipeline
from salespulse.streams.sensors import RecordSensors

TP0 = TP("salespulse-activities", 0)


class Listening(Sensor):
    """Another sensor (statsd, Datadog...), which must get every call."""

    def __init__(self) -> None:
        super().__init__()
        self.events_in = 0

    def on_stream_event_in(self, tp, offset, stream, event):  # type: ignore[no-untyped-def]
        self.events_in += 1
        return None


class Stream:
    """What the Monitor reads of a stream (it keeps streams and their tasks in weak dicts)."""

    def __init__(self) -> None:
        self.task_owner = Stream.__new__(Stream)


def one_record(sensors: RecordSensors) -> None:
    message = SimpleNamespace(time_in=None)
    stream = Stream()
    sensors.on_message_in(TP0, 7, message)  # type: ignore[arg-type]
    state = sensors.on_stream_event_in(TP0, 7, stream, None)  # type: ignore[arg-type]
    sensors.on_stream_event_out(TP0, 7, stream, None, state)  # type: ignore[arg-type]
    sensors.on_message_out(TP0, 7, message)  # type: ignore[arg-type]


def test_with_the_monitor_alone_a_record_only_marks_its_streams_last_event(tmp_path: Path) -> None:
    app = build_pipeline(Settings(), KafkaSettings(), data_dir=str(tmp_path)).app
    assert isinstance(app.sensors, RecordSensors)
    app.sensors.add(app.monitor)  # as Faust does when the app starts
    one_record(app.sensors)
    monitor = app.monitor
    assert TP0 in monitor.stream_inbound_time  # what Faust's stall warning reads
    assert (monitor.messages_received_total, monitor.events_total, monitor.tp_read_offsets) == (0, 0, {})


def test_another_sensor_gets_every_call_and_so_does_the_monitor(tmp_path: Path) -> None:
    app = build_pipeline(Settings(), KafkaSettings(), data_dir=str(tmp_path)).app
    app.sensors.add(app.monitor)
    listening = Listening()
    app.sensors.add(listening)
    one_record(app.sensors)
    assert listening.events_in == 1
    assert (app.monitor.messages_received_total, app.monitor.events_total, app.monitor.tp_read_offsets) == (1, 1, {TP0: 7})
    app.sensors.remove(listening)
    one_record(app.sensors)
    assert (listening.events_in, app.monitor.events_total) == (1, 1)
