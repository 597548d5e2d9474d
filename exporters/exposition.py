"""The text exposition format 0.0.4, written for the families this exporter builds.

`prometheus_client.generate_latest` checks and escapes every label name of every sample; with
tens of thousands of per-rep series that is most of a scrape. Our label names are fixed in
`metrics.py`, so this writer formats each family's label names once and escapes only the label
values that need it. The output is byte for byte what `generate_latest` gives (a unit test
holds it to that).

The page comes out in chunks of at most `ROWS_PER_CHUNK` rows, encoded as they are made: with
10,000 reps a whole page as one string, then as bytes, took three times its 19 MB at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, repeat
from math import copysign
from operator import itemgetter
from typing import Any

from prometheus_client.core import Metric

from salespulse.exporters.metrics import RowFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

_NEEDS_ESCAPE = ("\\", '"', "\n")
ROWS_PER_CHUNK = 10_000


def _escape_value(value: str) -> str:
    if any(char in value for char in _NEEDS_ESCAPE):
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _family_chunks(metric: Metric) -> Iterator[bytes]:
    name, kind = metric.name, metric.type
    if kind == "counter":
        name += "_total"
    elif kind == "info":
        name, kind = name + "_info", "gauge"
    elif kind == "unknown":
        kind = "untyped"
    help_text = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
    header = f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n"
    if isinstance(metric, RowFamily):
        yield header.encode()
        yield from _rows_chunks(metric)
    else:
        yield (header + "".join(_sample_lines(metric, help_text))).encode()


def _sample_lines(metric: Metric, help_text: str) -> Iterable[str]:
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


class _ValueText(dict[float, str]):
    """Each value as the format prints it, formatted once per distinct value of a family.

    Rows are small counts that repeat across tens of thousands of rows, so most look-ups are hits.
    """

    def __missing__(self, value: float) -> str:
        if not value:  # 0.0 and -0.0 are equal keys but print differently: zeros are not kept
            return "0.0" if copysign(1.0, value) > 0 else "-0.0"
        text = self[value] = floatToGoString(value)
        return text


def _rows_chunks(family: RowFamily) -> Iterator[bytes]:
    values = _ValueText()
    names = family.labelnames
    order = sorted(range(len(names)), key=names.__getitem__)
    # The text around the values: 'name{a="', '",b="', ..., '"} ', and '\n' after the number.
    between = [f"{family.row_name}{{{names[order[0]]}=\""] if names else []
    between += [f'",{names[i]}="' for i in order[1:]]
    between += ['"} ', "\n"]
    for start in range(0, len(family.rows), ROWS_PER_CHUNK):
        rows = family.rows[start:start + ROWS_PER_CHUNK]
        yield _rows_text(family.row_name, names, order, between, rows, values).encode()


def _rows_text(
    row_name: str, names: tuple[str, ...], order: list[int], between: list[str], rows: list[tuple[Any, ...]],
    values: _ValueText,
) -> str:
    # Column by column rather than row by row, so that the loops run in C. itemgetter, not
    # zip(*rows): that would make an iterator per row for the garbage collector to count.
    numbers = list(map(values.__getitem__, map(itemgetter(-1), rows)))
    if not names:
        return "".join(f"{row_name} {number}\n" for number in numbers)
    text = _interleave(between, [map(itemgetter(i), rows) for i in order] + [numbers])
    # Only a label value can add a backslash, a quote or a newline to the text; where none did
    # (the usual case) there is nothing to escape.
    if "\\" in text or text.count('"') != 2 * len(names) * len(rows) or text.count("\n") != len(rows):
        escaped = [map(_escape_value, map(itemgetter(i), rows)) for i in order]
        text = _interleave(between, escaped + [numbers])
    return text


def _interleave(between: list[str], columns: list[Iterable[str]]) -> str:
    """Return between[0] + columns[0][0] + between[1] + columns[1][0] + ... + between[-1], row after row."""
    # One join over every piece of every row takes about half the time of a template per row.
    pieces: list[Iterable[str]] = [repeat(between[0])]
    for column, after in zip(columns, between[1:]):
        pieces += (column, repeat(after))
    return "".join(chain.from_iterable(zip(*pieces)))


def chunks(registry: Collector) -> Iterator[bytes]:
    """Yield every family of the registry in the text format 0.0.4, a chunk at a time."""
    for metric in registry.collect():
        yield from _family_chunks(metric)


def render(registry: Collector) -> bytes:
    """Return every family of the registry in the text format 0.0.4."""
    return b"".join(chunks(registry))
