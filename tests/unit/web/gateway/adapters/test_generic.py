"""Generic: our own signature, events passed through, the contract-columns CSV."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from salespulse.web.gateway.adapters import ADAPTERS, csv_header_problem
from salespulse.web.gateway.adapters.common import Mapped, Refused
from salespulse.web.gateway.adapters.generic import csv_events
from salespulse.models.config import Settings
from salespulse.models.gateway import SourceMapping
from tests.unit.web.gateway.adapters.support import NOW, body, request, rows, settings

ADAPTER = ADAPTERS["generic"]
SECRET = "shared-gateway-secret"
TIMESTAMP = str(int((NOW - timedelta(seconds=10)).timestamp()))


def sign(data: bytes, secret: str = SECRET, timestamp: str = TIMESTAMP) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + data, hashlib.sha256).hexdigest()


def headers(data: bytes, timestamp: str = TIMESTAMP) -> dict[str, str]:
    return {"X-Salespulse-Signature": sign(data, timestamp=timestamp), "X-Salespulse-Timestamp": timestamp}


def floor() -> tuple[SourceMapping, Settings]:
    s = settings()
    assert s.sources.generic is not None
    return s.sources.generic, s


def test_valid_signature_gives_the_same_replay_key_twice() -> None:
    data = body("generic", "batch.json")
    keys = {ADAPTER.verify(request(data, headers(data)), SECRET, max_age_s=300) for _ in range(2)}
    assert keys == {f"generic:{sign(data)}"}


@pytest.mark.parametrize(
    ("case", "reason"),
    [("tampered", "bad_signature"), ("wrong_secret", "bad_signature"), ("stale", "stale"), ("future", "stale"), ("missing", "missing_signature")],
)
def test_bad_requests_are_401(case: str, reason: str) -> None:
    data = body("generic", "batch.json")
    given = headers(data)
    if case == "tampered":
        data = data.replace(b"cold_call", b"meeting")
    elif case == "wrong_secret":
        given["X-Salespulse-Signature"] = sign(data, secret="guess")
    elif case in ("stale", "future"):
        moved = NOW + timedelta(minutes=-6 if case == "stale" else 6)
        given = headers(data, timestamp=str(int(moved.timestamp())))
    else:
        del given["X-Salespulse-Signature"]
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data, given), SECRET, max_age_s=300)
    assert (excinfo.value.status, excinfo.value.reason) == (401, reason)


def test_wrong_content_type_is_415() -> None:
    data = body("generic", "batch.json")
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data, headers(data), content_type="text/csv"), SECRET, max_age_s=300)
    assert excinfo.value.status == 415


def test_events_pass_through_one_or_many() -> None:
    mapping, s = floor()
    batch = ADAPTER.map(request(body("generic", "batch.json")), mapping, s)
    assert [e["event_id"] for e in batch.events] == ["aircall-call-88123407", "hubspot-dealstage-4471-3"]
    assert batch.events[1]["fields"] == {"budget": "12500", "decision_maker": "J. Smit", "timeline": ""}
    one = ADAPTER.map(request(b'{"type": "activity", "event_id": "x"}'), mapping, s)
    assert one == Mapped(({"type": "activity", "event_id": "x"},), (), 0)


@pytest.mark.parametrize("data", [b"nope", b"42", b'["a"]', b'[{"a": 1}, 2]'])
def test_anything_but_objects_is_400(data: bytes) -> None:
    mapping, s = floor()
    with pytest.raises(Refused) as excinfo:
        ADAPTER.map(request(data), mapping, s)
    assert excinfo.value.status == 400


def test_csv_of_contract_columns() -> None:
    mapping, s = floor()
    events = [e for n, row in enumerate(rows("generic", "events.csv")) for e in csv_events(row, n + 2, mapping, s).events]
    assert events == [
        {
            "type": "activity",
            "event_id": "crm-call-1",
            "occurred_at": "2026-11-27T09:15:00+01:00",
            "team_id": "amsterdam",
            "rep_id": "anna",
            "source": "crm",
            "action": "cold_call",
            "deal_id": "hs-deal-4471",
            "duration_s": 312.5,
            "outcome": "connected",
        },
        {
            "type": "deal_stage",
            "event_id": "crm-stage-1",
            "occurred_at": "2026-11-27T14:02:11Z",
            "team_id": "amsterdam",
            "rep_id": "anna",
            "source": "generic",
            "deal_id": "hs-deal-4471",
            "stage": "proposal",
            "amount": 12500.0,
            "currency": "EUR",
            "fields": {"budget": "12500"},
        },
    ]


def test_csv_header_and_bad_cells() -> None:
    mapping, s = floor()
    assert csv_header_problem("generic", ["type", "event_id", "occurred_at", "team_id"]) is not None
    row = {**rows("generic", "events.csv")[1], "fields": "{not json"}
    with pytest.raises(Refused) as excinfo:
        csv_events(row, 3, mapping, s)
    assert excinfo.value.detail.startswith("line 3: fields is not a JSON object")
