"""The text exposition format 0.0.4, written for the families this exporter builds.

`prometheus_client.generate_latest` checks and escapes every label name of every sample; with
tens of thousands of per-rep series that is most of a scrape. Our label names are fixed in
`metrics.py`, so this writer formats each family's label names once and escapes only the label
values that need it. The output is byte for byte what `generate_latest` gives (a unit test
holds it to that).
"""

from __future__ import annotations

from collections.abc import Iterable
from math import copysign

from prometheus_client.core import Metric

from salespulse.exporters.metrics import RowFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

_NEEDS_ESCAPE = ("\\", '"', "\n")


def _escape_value(value: str) -> str:
    if any(char in value for char in _NEEDS_ESCAPE):
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _family_lines(metric: Metric) -> Iterable[str]:
    name, kind = metric.name, metric.type
    if kind == "counter":
        name += "_total"
    elif kind == "info":
        name, kind = name + "_info", "gauge"
    elif kind == "unknown":
        kind = "untyped"
    help_text = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
    yield f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n"
    if isinstance(metric, RowFamily):
        yield from _row_lines(metric)
        return
    created = []
    for sample in metric.samples:
        labels = sample.labels
        if labels:
            pairs = ",".join(f'{key}="{_escape_value(labels[key])}"' for key in sorted(labels))
            line = f"{sample.name}{{{pairs}}} {floatToGoString(sample.value)}\n"
        else:
            line = f"{sample.name} {floatToGoString(sample.value)}\n"
        if sample.name == metric.name + "_created":
            created.append(line)
        else:
            yield line
    if created:
        yield f"# HELP {metric.name}_created {help_text}\n# TYPE {metric.name}_created gauge\n"
        yield from created


def _row_lines(family: RowFamily) -> Iterable[str]:
    names = family.labelnames
    if not names:
        for _, value in family.rows:
            yield f"{family.row_name} {floatToGoString(value)}\n"
        return
    order = sorted(range(len(names)), key=names.__getitem__)
    pairs = ",".join(f'{names[i]}="%s"' for i in order)
    template = f"{family.row_name}{{{pairs}}} %s\n"
    # Label values (teams, reps, actions, windows) and values (small counts) repeat across tens of
    # thousands of rows: each is escaped or formatted once per family.
    escaped: dict[str, str] = {}
    formatted: dict[float, str] = {}
    for labels, value in family.rows:
        values = []
        for i in order:
            text = labels[i]
            done = escaped.get(text)
            if done is None:
                done = escaped[text] = _escape_value(text)
            values.append(done)
        if value:
            number = formatted.get(value)
            if number is None:
                number = formatted[value] = floatToGoString(value)
        else:  # 0.0 and -0.0 are equal keys but print differently
            number = "0.0" if copysign(1.0, value) > 0 else "-0.0"
        values.append(number)
        yield template % tuple(values)


def render(registry: Collector) -> bytes:
    """Return every family of the registry in the text format 0.0.4."""
    return "".join(line for metric in registry.collect() for line in _family_lines(metric)).encode()
