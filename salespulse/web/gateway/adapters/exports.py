"""Reading rows of vendors' CSV exports: which columns each export needs, and typed cells.

A source may accept several exports (HubSpot calls and deals); a row is read as the first
export whose required columns it has. The import command calls `header_problem` once per file,
so that a wrong file is refused before its first row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from salespulse.web.gateway.adapters.canonical import VENDOR_NAMES, parse_moment
from salespulse.web.gateway.adapters.common import Refused, with_article

Formats = Mapping[str, tuple[str, ...]]


def header_problem(source: str, formats: Formats, header: Iterable[str]) -> str | None:
    """Return why a CSV header fits none of the source's exports, or None when one fits."""
    present = set(header)
    missing = {kind: [c for c in columns if c not in present] for kind, columns in formats.items()}
    if any(not columns for columns in missing.values()):
        return None
    closest = min(missing, key=lambda kind: len(missing[kind]))
    others = ", ".join(f"{kind} ({', '.join(columns)})" for kind, columns in formats.items())
    return (
        f"not {with_article(VENDOR_NAMES[source])} export this import reads: the {closest} export lacks "
        f"{', '.join(repr(c) for c in missing[closest])}; required columns: {others}"
    )


def kind_of(source: str, formats: Formats, row: Mapping[str, str], line: int) -> str:
    """Return the export a row belongs to, or raise Refused(400)."""
    for kind, columns in formats.items():
        if all(column in row for column in columns):
            return kind
    raise Refused(400, "not_vendor_format", f"line {line}: {header_problem(source, formats, row)}")


def cell(row: Mapping[str, str], column: str) -> str:
    """Return a cell stripped of surrounding blanks; an absent column reads as empty."""
    return (row.get(column) or "").strip()


def moment(row: Mapping[str, str], column: str, zone: ZoneInfo | timezone, line: int) -> datetime:
    """Return a cell as an aware time (offset-less ones read in `zone`), or raise Refused(400)."""
    try:
        return parse_moment(cell(row, column), zone, repr(column))
    except ValueError as exc:
        raise Refused(400, "not_vendor_format", f"line {line}: {exc}") from None


def required(row: Mapping[str, str], column: str, line: int) -> str:
    value = cell(row, column)
    if not value:
        raise Refused(400, "not_vendor_format", f"line {line}: {column!r} is empty")
    return value


def yes(value: str) -> bool:
    """Read the yes/no cells of exports (Yes, Done, true, 1)."""
    return value.strip().lower() in {"yes", "y", "true", "1", "done"}
