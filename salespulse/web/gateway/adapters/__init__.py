"""One adapter per vendor, keyed by source name, and the CSV exports each source reads.

Each vendor module holds its adapter (`verify`, `map`), its `csv_events` row mapper and its
`CSV_FORMATS` (export name -> required columns); see `common` for the interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from salespulse.web.gateway.adapters import aircall, generic, hubspot, pipedrive, salesforce
from salespulse.web.gateway.adapters.common import Adapter, Mapped
from salespulse.web.gateway.adapters.exports import header_problem

if TYPE_CHECKING:
    from salespulse.models.config import Settings
    from salespulse.models.gateway import SourceMapping


class CsvMapper(Protocol):
    def __call__(self, row: Mapping[str, str], line: int, mapping: "SourceMapping", settings: "Settings") -> Mapped:
        ...


ADAPTERS: dict[str, Adapter] = {
    "hubspot": hubspot.HubSpot(),
    "pipedrive": pipedrive.Pipedrive(),
    "aircall": aircall.Aircall(),
    "salesforce": salesforce.Salesforce(),
    "generic": generic.Generic(),
}
CSV_FORMATS: dict[str, dict[str, tuple[str, ...]]] = {
    "hubspot": hubspot.CSV_FORMATS,
    "pipedrive": pipedrive.CSV_FORMATS,
    "aircall": aircall.CSV_FORMATS,
    "generic": generic.CSV_FORMATS,
}
CSV_MAPPERS: dict[str, CsvMapper] = {
    "hubspot": hubspot.csv_events,
    "pipedrive": pipedrive.csv_events,
    "aircall": aircall.csv_events,
    "generic": generic.csv_events,
}


def csv_header_problem(source: str, header: Iterable[str]) -> str | None:
    """Return why a file's header fits none of the source's exports, or None when one fits."""
    return header_problem(source, CSV_FORMATS[source], header)
