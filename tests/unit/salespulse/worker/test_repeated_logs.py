"""RepeatedLines: one warning per kind per interval, then a count of what was held back."""

from __future__ import annotations

import logging

from salespulse.worker.repeated_logs import RepeatedLines


def record(msg: str, *args: object, level: int = logging.WARNING, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_the_same_kind_passes_once_per_interval_and_then_says_how_many_were_held() -> None:
    now = [100.0]
    lines = RepeatedLines(every_s=60, clock=lambda: now[0])
    passed = []
    for second in range(0, 150):
        now[0] = 100.0 + second
        for node in (1, 2):  # two lines a second, different arguments, one kind
            r = record("Unable connect to node with id %s: %s", node, "Connection refused")
            if lines.filter(r):
                passed.append((second, r.getMessage()))
    assert passed == [
        (0, "Unable connect to node with id 1: Connection refused"),
        (60, "Unable connect to node with id 1: Connection refused (and 119 more like this in the last 60 s)"),
        (120, "Unable connect to node with id 1: Connection refused (and 119 more like this in the last 60 s)"),
    ]


def test_kinds_are_counted_apart_and_info_always_passes() -> None:
    lines = RepeatedLines(every_s=60, clock=lambda: 5.0)
    results = [
        lines.filter(record("broker down")),
        lines.filter(record("broker down")),
        lines.filter(record("broker down", level=logging.ERROR)),
        lines.filter(record("broker down", name="faust")),
        lines.filter(record("rejected %s", "x")),
        lines.filter(record("fetched %s", 1, level=logging.INFO)),
        lines.filter(record("fetched %s", 2, level=logging.INFO)),
    ]
    assert results == [True, False, True, True, True, True, True]


def test_a_kind_quiet_for_an_interval_comes_back_without_a_count() -> None:
    now = [0.0]
    lines = RepeatedLines(every_s=10, clock=lambda: now[0])
    first = record("lag %s", 1)
    assert lines.filter(first)
    now[0] = 25.0
    again = record("lag %s", 2)
    assert lines.filter(again)
    assert again.getMessage() == "lag 2"
