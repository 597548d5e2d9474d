"""HubSpot: signature v3, deal stage batches, owner attribution, the calls and deals exports."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from salespulse.web.gateway.adapters import ADAPTERS, csv_header_problem
from salespulse.web.gateway.adapters.common import Mapped, Refused, Unmapped
from salespulse.web.gateway.adapters.hubspot import csv_events, signed_uri
from tests.unit.web.gateway.adapters.support import NOW, body, request, rows, settings

ADAPTER = ADAPTERS["hubspot"]
SECRET = "hubspot-client-secret"
# The URL as HubSpot signs it: %3A decoded to ':'.
SIGNED_URL = "https://gateway.example.com/webhooks/hubspot?token=a:b"
TIMESTAMP = str(int((NOW - timedelta(seconds=30)).timestamp() * 1000))


def sign(data: bytes, secret: str = SECRET, timestamp: str = TIMESTAMP, url: str = SIGNED_URL) -> str:
    message = b"POST" + url.encode() + data + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def signed(data: bytes, **headers: str) -> dict[str, str]:
    return {"X-HubSpot-Signature-v3": sign(data), "X-HubSpot-Request-Timestamp": TIMESTAMP, **headers}


def refused(excinfo: pytest.ExceptionInfo[Refused]) -> tuple[int, str]:
    return excinfo.value.status, excinfo.value.reason


# --- signature v3 ----------------------------------------------------------------------------


def test_valid_signature_gives_the_same_replay_key_twice() -> None:
    data = body("hubspot", "deal_batch.json")
    first = ADAPTER.verify(request(data, signed(data)), SECRET, max_age_s=300)
    second = ADAPTER.verify(request(data, signed(data)), SECRET, max_age_s=300)
    assert first == second == f"hubspot:{sign(data)}"


def test_header_names_in_any_case() -> None:
    data = body("hubspot", "deal_batch.json")
    headers = {"x-hubspot-signature-v3": sign(data), "x-hubspot-request-timestamp": TIMESTAMP}
    ADAPTER.verify(request(data, headers, content_type="application/json; charset=utf-8"), SECRET, max_age_s=300)


def test_only_the_listed_escapes_are_decoded() -> None:
    assert signed_uri("https://h/p%3Fa?x=%2c%20y%26z%3D1%40") == "https://h/p?a?x=,%20y%26z%3D1@"


def test_tampered_body_is_refused() -> None:
    data = body("hubspot", "deal_batch.json")
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data.replace(b"closedwon", b"closedlost"), signed(data)), SECRET, max_age_s=300)
    assert refused(excinfo) == (401, "bad_signature")


def test_wrong_secret_is_refused() -> None:
    data = body("hubspot", "deal_batch.json")
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data, signed(data)), "another-secret", max_age_s=300)
    assert refused(excinfo) == (401, "bad_signature")


def test_signature_over_another_url_is_refused() -> None:
    data = body("hubspot", "deal_batch.json")
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data, signed(data), url="https://gateway.example.com/other"), SECRET, max_age_s=300)
    assert refused(excinfo) == (401, "bad_signature")


def test_stale_timestamp_is_refused_even_when_signed() -> None:
    data = body("hubspot", "deal_batch.json")
    old = str(int((NOW - timedelta(minutes=6)).timestamp() * 1000))
    headers = {"X-HubSpot-Signature-v3": sign(data, timestamp=old), "X-HubSpot-Request-Timestamp": old}
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data, headers), SECRET, max_age_s=300)
    assert refused(excinfo) == (401, "stale")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-HubSpot-Request-Timestamp": TIMESTAMP},
        {"X-HubSpot-Signature-v3": "x", "X-HubSpot-Request-Timestamp": "soon"},
        {"X-HubSpot-Signature-v3": "x", "X-HubSpot-Request-Timestamp": "²"},
    ],
)
def test_missing_or_malformed_signature_headers_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(b"[]", headers), SECRET, max_age_s=300)
    assert excinfo.value.status == 401


def test_no_configured_secret_refuses() -> None:
    data = body("hubspot", "deal_batch.json")
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data, signed(data)), None, max_age_s=300)
    assert refused(excinfo) == (401, "no_secret")


def test_wrong_content_type_is_415() -> None:
    data = body("hubspot", "deal_batch.json")
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data, signed(data), content_type="text/plain"), SECRET, max_age_s=300)
    assert refused(excinfo) == (415, "wrong_content_type")


# --- webhook events --------------------------------------------------------------------------


def test_batch_of_deal_changes() -> None:
    s = settings()
    assert s.sources.hubspot is not None
    mapped = ADAPTER.map(request(body("hubspot", "deal_batch.json")), s.sources.hubspot, s)
    assert mapped.events == (
        {
            "type": "deal_stage",
            "event_id": "hubspot:deal:4471:proposal",
            "occurred_at": "2026-11-27T09:20:00+00:00",
            "team_id": "amsterdam",
            "rep_id": "anna",
            "source": "hubspot",
            "deal_id": "hubspot:4471",
            "stage": "proposal",
        },
        {
            "type": "deal_stage",
            "event_id": "hubspot:deal:5520:won",
            "occurred_at": "2026-11-27T10:02:11+00:00",
            "team_id": "amsterdam",
            "rep_id": "bram",
            "source": "hubspot",
            "deal_id": "hubspot:5520",
            "stage": "won",
        },
    )
    assert [(u.reason, u.vendor_id) for u in mapped.unmapped] == [("unmapped_owner", "1004"), ("unmapped_stage", "1005")]
    assert "workflowId:88" in mapped.unmapped[0].detail
    assert mapped.unmapped[1].detail == (
        "HubSpot stage decisionmakerboughtin (item 1005) is not under sources.hubspot.stages"
    )
    assert mapped.ignored == 1  # deal 4471's owner change: it names a rep, it changes no figure


def test_owner_change_in_the_batch_wins_over_the_user_who_moved_the_deal() -> None:
    # Event 1002 was made by userId:45678 (not mapped) but the batch sets the owner to 7301 (anna).
    s = settings()
    assert s.sources.hubspot is not None
    mapped = ADAPTER.map(request(body("hubspot", "deal_batch.json")), s.sources.hubspot, s)
    assert mapped.events[0]["rep_id"] == "anna"


def test_a_retried_batch_maps_to_the_same_event_ids() -> None:
    s = settings()
    assert s.sources.hubspot is not None
    retry = body("hubspot", "deal_batch.json").replace(b'"attemptNumber": 0', b'"attemptNumber": 1')
    first = ADAPTER.map(request(body("hubspot", "deal_batch.json")), s.sources.hubspot, s)
    again = ADAPTER.map(request(retry), s.sources.hubspot, s)
    assert [e["event_id"] for e in first.events] == [e["event_id"] for e in again.events]


def test_unsupported_subscription_is_dead_lettered_unless_ignored() -> None:
    s = settings()
    hubspot = s.sources.hubspot
    assert hubspot is not None
    data = body("hubspot", "contact_creation.json")
    assert ADAPTER.map(request(data), hubspot, s) == Mapped(
        (),
        (
            Unmapped(
                "unsupported_object",
                "HubSpot event contact.creation (item 567890123) is not mapped; list it under "
                "sources.hubspot.ignore to count it as ignored",
                "567890123",
            ),
        ),
        0,
    )
    ignoring = hubspot.model_copy(update={"ignore": ("contact.creation",)})
    assert ADAPTER.map(request(data), ignoring, s) == Mapped((), (), 1)


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"eventId": 1}',
        b"[1, 2]",
        b'[{"subscriptionId": 1, "portalId": 1, "objectId": 1, "occurredAt": 1, "subscriptionType": "deal.creation"}]',
        b'[{"eventId": 1, "portalId": 1, "objectId": 1, "occurredAt": "yesterday", "subscriptionType": "deal.creation"}]',
        b'[{"eventId": 1, "portalId": 1, "objectId": 1, "occurredAt": 1e300, "subscriptionType": "deal.creation"}]',
        b'[{"eventId": 1, "portalId": 1, "objectId": 1, "occurredAt": 1, "subscriptionType": "deal.propertyChange", '
        b'"propertyName": "dealstage", "propertyValue": 5}]',
        b"[" * 100_000,
    ],
)
def test_malformed_bodies_are_400(data: bytes) -> None:
    s = settings()
    assert s.sources.hubspot is not None
    with pytest.raises(Refused) as excinfo:
        ADAPTER.map(request(data), s.sources.hubspot, s)
    assert refused(excinfo) == (400, "not_vendor_format")


# --- exports ---------------------------------------------------------------------------------


def test_calls_export() -> None:
    s = settings()
    assert s.sources.hubspot is not None
    results = [csv_events(row, n + 2, s.sources.hubspot, s) for n, row in enumerate(rows("hubspot", "calls_export.csv"))]
    assert results[0].events == (
        {
            "type": "activity",
            "event_id": "hubspot:call:52001",
            "occurred_at": "2026-11-27T09:15:00+01:00",
            "team_id": "amsterdam",
            "rep_id": "anna",
            "source": "hubspot",
            "action": "cold_call",
            "outcome": "Connected",
        },
    )
    assert results[1].events[0]["action"] == "call"
    assert results[1].events[0]["occurred_at"] == "2026-11-27T10:30:00+01:00"
    assert results[2] == Mapped(
        (), (Unmapped("unmapped_owner", "HubSpot owner Unknown Person is not under sources.hubspot.owners", "52003"),), 0
    )


def test_deals_export_gives_creation_and_decision() -> None:
    s = settings()
    assert s.sources.hubspot is not None
    results = [csv_events(row, n + 2, s.sources.hubspot, s) for n, row in enumerate(rows("hubspot", "deals_export.csv"))]
    common = {"type": "deal_stage", "team_id": "amsterdam", "rep_id": "anna", "source": "hubspot", "deal_id": "hubspot:4471"}
    assert results[0].events == (
        {**common, "event_id": "hubspot:deal:4471:lead", "occurred_at": "2026-11-02T10:00:00+01:00", "stage": "lead", "amount": 12500.0},
        {**common, "event_id": "hubspot:deal:4471:won", "occurred_at": "2026-11-27T15:02:00+01:00", "stage": "won", "amount": 12500.0},
    )
    assert [e["event_id"] for e in results[1].events] == ["hubspot:deal:4480:lead"]
    assert [(u.reason, u.vendor_id) for u in results[2].unmapped] == [("unmapped_stage", "4490")]


def test_webhook_and_export_of_the_same_decision_share_the_event_id() -> None:
    s = settings()
    assert s.sources.hubspot is not None
    data = (
        b'[{"eventId": 9, "portalId": 1, "objectId": 4471, "occurredAt": 1795788000000, "subscriptionType": '
        b'"deal.propertyChange", "propertyName": "dealstage", "propertyValue": "closedwon", "sourceId": "userId:45679"}]'
    )
    hook = ADAPTER.map(request(data), s.sources.hubspot, s)
    export = csv_events(rows("hubspot", "deals_export.csv")[0], 2, s.sources.hubspot, s)
    assert hook.events[0]["event_id"] == export.events[1]["event_id"] == "hubspot:deal:4471:won"


def test_export_with_a_bad_date_is_refused_with_its_line() -> None:
    s = settings()
    assert s.sources.hubspot is not None
    row = {**rows("hubspot", "calls_export.csv")[0], "Activity date": "27/11/2026"}
    with pytest.raises(Refused) as excinfo:
        csv_events(row, 7, s.sources.hubspot, s)
    assert excinfo.value.status == 400
    assert excinfo.value.detail.startswith("line 7: 'Activity date' '27/11/2026' is not a date")


def test_wrong_file_is_named_before_its_rows() -> None:
    assert csv_header_problem("hubspot", ["Record ID", "Deal Stage", "Deal owner", "Create Date", "Amount"]) is None
    problem = csv_header_problem("hubspot", ["Record ID", "Deal Stage", "Create Date"])
    assert problem == (
        "not a HubSpot export this import reads: the deals export lacks 'Deal owner'; required columns: "
        "deals (Record ID, Deal Stage, Deal owner, Create Date), "
        "calls (Record ID, Activity date, Activity assigned to, Call direction)"
    )
    s = settings()
    assert s.sources.hubspot is not None
    with pytest.raises(Refused):
        csv_events({"Record ID": "1"}, 2, s.sources.hubspot, s)


def test_a_request_of_owner_changes_only_counts_each_as_ignored() -> None:
    s = settings()
    assert s.sources.hubspot is not None
    owner_change = json.loads(body("hubspot", "deal_batch.json"))[0]
    other_deal = {**owner_change, "eventId": 1010, "objectId": 4480, "propertyValue": "7302"}
    mapped = ADAPTER.map(request(json.dumps([owner_change, other_deal]).encode()), s.sources.hubspot, s)
    assert mapped == Mapped((), (), 2)
    assert mapped.ignored_items == ("hubspot:deal:4471:owner:7301", "hubspot:deal:4480:owner:7302")


def test_a_retry_holds_the_same_items_and_another_stage_is_another_item() -> None:
    s = settings()
    assert s.sources.hubspot is not None
    events = json.loads(body("hubspot", "deal_batch.json"))
    retry = [{**event, "attemptNumber": event["attemptNumber"] + 1} for event in events]
    moved_on = [{**event, "propertyValue": "closedlost"} if event["eventId"] == 1002 else event for event in events]
    items = [ADAPTER.map(request(json.dumps(batch).encode()), s.sources.hubspot, s).items() for batch in (events, retry, moved_on)]
    assert items[0] == items[1]
    assert items[0] ^ items[2] == {"hubspot:deal:4471:presentationscheduled", "hubspot:deal:4471:closedlost"}
