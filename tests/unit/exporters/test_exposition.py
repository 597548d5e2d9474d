"""The exposition writer gives what prometheus_client's generate_latest gives, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from salespulse.exporters.collector import PipelineCollector, PipelineState
from salespulse.exporters.exposition import render
from salespulse.exporters.metrics import ACTIONS, ACTIONS_TOTAL, REP_INFO
from salespulse.models.config import Settings
from salespulse.streams.kpi.actions import SlotKey, slot_of

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


class Awkward:
    """Families with label values that need escaping, rows and plain prometheus_client ones."""

    def collect(self):  # type: ignore[no-untyped-def]
        info = REP_INFO.family()
        info.add_metric(["nl", "ann", 'Ann "the closer" de Vries'], 1)
        info.add_metric(["nl", "bob", "Bob\\Jansen\nsecond line"], 1)
        info.add_metric(["be", "bob", "Bob\\Jansen\nsecond line"], 1)  # a value escaped before
        yield info
        windows = ACTIONS.family()
        windows.add_metric(["nl", "ann", "call", "today"], 3)
        windows.add_metric(["nl", "ann", "call", "week"], 1e21)
        # Values seen before, and the ones a cache keyed by value would confuse or misprint.
        windows.add_metric(["nl", "bob", "call", "today"], 3)
        windows.add_metric(["nl", "bob", "call", "week"], 0)
        windows.add_metric(["nl", "cas", "call", "today"], -0.0)
        windows.add_metric(["nl", "cas", "call", "week"], 0.0)
        windows.add_metric(["nl", "dan", "call", "today"], 1_234_567.0)
        windows.add_metric(["nl", "dan", "call", "week"], float("nan"))
        windows.add_metric(["nl", "eve", "call", "today"], float("nan"))
        windows.add_metric(["nl", "eve", "call", "week"], True)
        yield windows
        totals = ACTIONS_TOTAL.family()
        totals.add_metric(["nl", "ann", "call"], 958)
        yield totals
        plain = GaugeMetricFamily("plain_gauge", "A gauge\\with a backslash", labels=["z", "a"])
        plain.add_metric(["last", "first"], float("inf"))
        yield plain
        counter = CounterMetricFamily("plain_things", "Counted", labels=["kind"], created=1.0)
        counter.add_metric(["x"], 2, created=1_700_000_000.0)
        yield counter
        yield GaugeMetricFamily("no_labels", "Single", value=0.5)


def test_rows_and_plain_families_render_as_generate_latest() -> None:
    registry = CollectorRegistry()
    registry.register(Awkward())  # type: ignore[arg-type]
    assert render(registry) == generate_latest(registry)


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "two\nlines", 'all \\ of "them"\n'])
def test_a_single_value_to_escape_is_escaped_among_many_that_need_none(value: str) -> None:
    class Floor:
        def collect(self):  # type: ignore[no-untyped-def]
            info = REP_INFO.family()
            for n in range(50):
                info.add_metric(["nl", f"rep{n:02d}", value if n == 37 else f"Rep {n}"], 1)
            yield info

    registry = CollectorRegistry()
    registry.register(Floor())  # type: ignore[arg-type]
    text = render(registry)
    assert text == generate_latest(registry)
    assert text.count(b"\n") == 52  # HELP, TYPE and one line per rep: every newline in a value escaped


def test_client_metrics_render_as_generate_latest() -> None:
    registry = CollectorRegistry()
    Counter("jobs", "Jobs done", ["queue"], registry=registry).labels("a").inc(3)
    Gauge("temperature_celsius", "Now", registry=registry).set(-4.5)
    assert render(registry) == generate_latest(registry)


def test_a_whole_collector_renders_as_generate_latest() -> None:
    settings = Settings.model_validate(
        {"actions": ["call"], "teams": {"nl": {"timezone": "Europe/Amsterdam", "reps": {"ann": {"name": "Ann"}}}}}
    )
    slots = {SlotKey("nl", "ann", "call", slot_of(NOW)).encode(): 4}
    registry = CollectorRegistry()
    PipelineCollector(PipelineState(slots, {"nl|ann|call": 9}, list, {"invalid": 2}, {}), settings, lambda: NOW, registry)
    text = render(registry)
    assert text == generate_latest(registry)
    assert b'salespulse_actions{action="call",rep="ann",team="nl",window="today"} 4.0\n' in text
