"""Whatever a sender puts in a well-formed body, an adapter answers with a result or Refused.

Every value of every fixture, one at a time, is replaced by values of other JSON types; mapping
the result must never raise anything but Refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from salespulse.web.gateway.adapters import ADAPTERS
from salespulse.web.gateway.adapters.common import Mapped, Refused
from tests.unit.web.gateway.adapters.support import body, request, settings

FIXTURES = [
    ("hubspot", "deal_batch.json"),
    ("pipedrive", "deal_stage_change.json"),
    ("pipedrive", "deal_won.json"),
    ("pipedrive", "activity_done.json"),
    ("aircall", "call_ended_outbound_unanswered.json"),
    ("aircall", "call_ended_inbound_answered.json"),
    ("generic", "batch.json"),
]
REPLACEMENTS: list[Any] = [None, True, 0, -1, 1e308, "", "x", "²", "2026-11-27", [], {}, [1], {"id": 1}]


def variants(value: Any) -> Iterator[Any]:
    """Yield copies of `value` with one node replaced, for every node and replacement."""
    yield from REPLACEMENTS
    if isinstance(value, dict):
        for key, child in value.items():
            for variant in variants(child):
                yield {**value, key: variant}
    elif isinstance(value, list):
        for n, child in enumerate(value):
            for variant in variants(child):
                yield [*value[:n], variant, *value[n + 1 :]]


@pytest.mark.parametrize(("source", "name"), FIXTURES)
def test_only_refused_escapes(source: str, name: str) -> None:
    s = settings()
    mapping = s.sources.configured()[source]
    adapter = ADAPTERS[source]
    tried = 0
    for variant in variants(json.loads(body(source, name))):
        try:
            assert isinstance(adapter.map(request(json.dumps(variant).encode()), mapping, s), Mapped)
        except Refused as refused:
            assert refused.status == 400
        tried += 1
    assert tried > 100
