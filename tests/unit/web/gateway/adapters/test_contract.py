"""Every event an adapter builds from the fixtures passes the contract's own gate."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from salespulse.web.gateway.adapters import ADAPTERS, CSV_MAPPERS
from salespulse.models.events import parse_event
from tests.unit.web.gateway.adapters.support import FIXTURES, NOW, body, request, rows, settings

WEBHOOKS = [
    ("hubspot", "deal_batch.json", "application/json"),
    ("pipedrive", "deal_stage_change.json", "application/json"),
    ("pipedrive", "deal_won.json", "application/json"),
    ("pipedrive", "activity_done.json", "application/json"),
    ("aircall", "call_ended_outbound_unanswered.json", "application/json"),
    ("aircall", "call_ended_inbound_answered.json", "application/json"),
    ("salesforce", "two_opportunities.xml", "text/xml"),
    ("generic", "batch.json", "application/json"),
]


def passes_the_contract(events: list[dict[str, object]]) -> None:
    s = settings()
    assert events
    for event in events:
        parse_event(json.dumps(event).encode(), s, NOW + timedelta(hours=1))


@pytest.mark.parametrize(("source", "name", "content_type"), WEBHOOKS)
def test_webhook_events_pass_the_contract(source: str, name: str, content_type: str) -> None:
    s = settings()
    mapping = s.sources.configured()[source]
    mapped = ADAPTERS[source].map(request(body(source, name), content_type=content_type), mapping, s)
    passes_the_contract(list(mapped.events))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/*.csv")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_export_events_pass_the_contract(path: Path) -> None:
    s = settings()
    source = path.parent.name
    mapping = s.sources.configured()[source]
    mapper = CSV_MAPPERS[source]
    passes_the_contract([e for n, row in enumerate(rows(source, path.name)) for e in mapper(row, n + 2, mapping, s).events])
