"""Pipedrive: basic auth, v2 deal and activity notifications, the deals and activities exports.

Pipedrive signs no body and no timestamp, so there is no tampered-body or stale case: basic auth
proves the sender, and the replay key is the body's digest.
"""

from __future__ import annotations

import base64

import pytest

from salespulse.web.gateway.adapters import ADAPTERS, csv_header_problem
from salespulse.web.gateway.adapters.common import Mapped, Refused, Unmapped
from salespulse.web.gateway.adapters.pipedrive import csv_events
from salespulse.models.config import Settings
from salespulse.models.gateway import SourceMapping
from tests.unit.web.gateway.adapters.support import body, request, rows, settings

ADAPTER = ADAPTERS["pipedrive"]
SECRET = "salespulse:s3cret"


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def floor() -> tuple[SourceMapping, Settings]:
    s = settings()
    assert s.sources.pipedrive is not None
    return s.sources.pipedrive, s


def mapped(name: str) -> Mapped:
    mapping, s = floor()
    return ADAPTER.map(request(body("pipedrive", name)), mapping, s)


# --- basic auth ------------------------------------------------------------------------------


def test_basic_auth_accepted_and_the_replay_key_is_stable() -> None:
    data = body("pipedrive", "deal_stage_change.json")
    first = ADAPTER.verify(request(data, basic(SECRET)), SECRET, max_age_s=300)
    second = ADAPTER.verify(request(data, {"authorization": basic(SECRET)["Authorization"]}), SECRET, max_age_s=300)
    assert first == second
    assert first.startswith("pipedrive:sha256:")
    other = ADAPTER.verify(request(body("pipedrive", "deal_won.json"), basic(SECRET)), SECRET, max_age_s=300)
    assert other != first


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_credentials"),
        (basic("salespulse:wrong"), "bad_credentials"),
        (basic("someone:s3cret"), "bad_credentials"),
        ({"Authorization": "Basic %%%"}, "bad_credentials"),
        ({"Authorization": "Bearer abc"}, "missing_credentials"),
    ],
)
def test_wrong_or_missing_credentials_are_401(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(body("pipedrive", "deal_won.json"), headers), SECRET, max_age_s=300)
    assert (excinfo.value.status, excinfo.value.reason) == (401, reason)


def test_without_basic_auth_configured_any_request_passes() -> None:
    ADAPTER.verify(request(body("pipedrive", "deal_won.json")), None, max_age_s=300)


def test_wrong_content_type_is_415() -> None:
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(b"{}", basic(SECRET), content_type="application/x-www-form-urlencoded"), SECRET, max_age_s=300)
    assert excinfo.value.status == 415


# --- notifications ---------------------------------------------------------------------------


def test_stage_change_with_previous() -> None:
    assert mapped("deal_stage_change.json") == Mapped(
        (
            {
                "type": "deal_stage",
                "event_id": "pipedrive:deal:4471:proposal",
                "occurred_at": "2026-11-27T14:03:30+00:00",
                "team_id": "amsterdam",
                "rep_id": "anna",
                "source": "pipedrive",
                "deal_id": "pipedrive:4471",
                "stage": "proposal",
                "amount": 12500.0,
                "currency": "EUR",
            },
        ),
        (),
        0,
    )


def test_status_won_decides_the_deal() -> None:
    result = mapped("deal_won.json")
    assert [(e["event_id"], e["stage"], e["occurred_at"]) for e in result.events] == [
        ("pipedrive:deal:4471:won", "won", "2026-11-27T14:10:05+00:00")
    ]


def test_an_edit_that_neither_moves_nor_decides_is_ignored() -> None:
    assert mapped("deal_renamed.json") == Mapped((), (), 1)


def test_activity_marked_done() -> None:
    assert mapped("activity_done.json").events == (
        {
            "type": "activity",
            "event_id": "pipedrive:activity:901",
            "occurred_at": "2026-11-27T09:15:00+00:00",
            "team_id": "amsterdam",
            "rep_id": "anna",
            "source": "pipedrive",
            "action": "cold_call",
            "deal_id": "pipedrive:4471",
            "duration_s": 900.0,
        },
    )


def test_activity_not_done_or_already_done_is_ignored() -> None:
    mapping, s = floor()
    planned = body("pipedrive", "activity_done.json").replace(b'"done": true', b'"done": false')
    edited = body("pipedrive", "activity_done.json").replace(b'"previous": {"done": false}', b'"previous": {"subject": "x"}')
    assert ADAPTER.map(request(planned), mapping, s) == Mapped((), (), 1)
    assert ADAPTER.map(request(edited), mapping, s) == Mapped((), (), 1)


def test_unmapped_owner_stage_and_action() -> None:
    mapping, s = floor()
    stranger = body("pipedrive", "deal_stage_change.json").replace(b'"owner_id": 18487521', b'"owner_id": 555')
    new_stage = body("pipedrive", "deal_stage_change.json").replace(b'"stage_id": 3', b'"stage_id": 9')
    sms = body("pipedrive", "activity_done.json").replace(b'"type": "call"', b'"type": "sms"')
    assert ADAPTER.map(request(stranger), mapping, s).unmapped == (
        Unmapped("unmapped_owner", "Pipedrive owner 555 is not under sources.pipedrive.owners", "deal:4471"),
    )
    assert ADAPTER.map(request(new_stage), mapping, s).unmapped == (
        Unmapped("unmapped_stage", "Pipedrive stage 9 (item deal:4471) is not under sources.pipedrive.stages", "deal:4471"),
    )
    assert ADAPTER.map(request(sms), mapping, s).unmapped == (
        Unmapped(
            "unmapped_action",
            "Pipedrive activity kind sms (item activity:901) is not under sources.pipedrive.actions",
            "activity:901",
        ),
    )


def test_other_entities_are_unsupported_unless_ignored() -> None:
    mapping, s = floor()
    assert [u.reason for u in mapped("person_created.json").unmapped] == ["unsupported_object"]
    ignoring = mapping.model_copy(update={"ignore": ("create.person",)})
    assert ADAPTER.map(request(body("pipedrive", "person_created.json")), ignoring, s) == Mapped((), (), 1)


def test_deletions_take_nothing_back() -> None:
    mapping, s = floor()
    deleted = (
        b'{"meta": {"action": "delete", "entity": "deal", "entity_id": "4471", "timestamp": "2026-11-27T15:00:00Z"},'
        b' "data": null, "previous": {"id": 4471, "status": "won"}}'
    )
    assert ADAPTER.map(request(deleted), mapping, s) == Mapped((), (), 1)


@pytest.mark.parametrize(
    "data",
    [
        b"[]",
        b"{}",
        b'{"meta": {"action": "change"}}',
        b'{"meta": {"action": "change", "entity": "deal", "entity_id": "1", "timestamp": "later"}, "data": {}}',
        b'{"meta": {"action": "change", "entity": "deal", "entity_id": "1", "timestamp": 1}, "data": []}',
        b'{"meta": {"action": "change", "entity": "deal", "entity_id": "1", "timestamp": 1}, "data": '
        b'{"stage_id": 2, "owner_id": 18487521, "stage_change_time": "soon"}, "previous": {"stage_id": 1}}',
    ],
)
def test_malformed_bodies_are_400(data: bytes) -> None:
    mapping, s = floor()
    with pytest.raises(Refused) as excinfo:
        ADAPTER.map(request(data), mapping, s)
    assert (excinfo.value.status, excinfo.value.reason) == (400, "not_vendor_format")


def test_v1_payloads_are_refused_with_a_hint() -> None:
    mapping, s = floor()
    with pytest.raises(Refused) as excinfo:
        ADAPTER.map(request(body("pipedrive", "v1_deal_updated.json")), mapping, s)
    assert excinfo.value.status == 400
    assert "version 2.0" in excinfo.value.detail


# --- exports ---------------------------------------------------------------------------------


def test_activities_export() -> None:
    mapping, s = floor()
    results = [csv_events(row, n + 2, mapping, s) for n, row in enumerate(rows("pipedrive", "activities_export.csv"))]
    assert results[0].events == (
        {
            "type": "activity",
            "event_id": "pipedrive:activity:901",
            "occurred_at": "2026-11-27T09:15:00+01:00",
            "team_id": "amsterdam",
            "rep_id": "anna",
            "source": "pipedrive",
            "action": "cold_call",
            "deal_id": "pipedrive:4471",
            "duration_s": 900.0,
        },
    )
    assert results[1].events == (
        {
            "type": "activity",
            "event_id": "pipedrive:activity:902",
            "occurred_at": "2026-11-27T12:00:00+01:00",
            "team_id": "amsterdam",
            "rep_id": "bram",
            "source": "pipedrive",
            "action": "meeting",
            "duration_s": 5400.0,
        },
    )
    assert results[2] == Mapped((), (), 1)
    # The webhook of the same activity carries the same id, so an overlapping import counts once.
    assert results[0].events[0]["event_id"] == mapped("activity_done.json").events[0]["event_id"]


def test_deals_export() -> None:
    mapping, s = floor()
    results = [csv_events(row, n + 2, mapping, s) for n, row in enumerate(rows("pipedrive", "deals_export.csv"))]
    assert [(e["event_id"], e["stage"], e["occurred_at"], e.get("amount")) for r in results for e in r.events] == [
        ("pipedrive:deal:4471:lead", "lead", "2026-11-02T10:00:00+01:00", 12500.0),
        ("pipedrive:deal:4471:won", "won", "2026-11-27T14:10:05+01:00", 12500.0),
        ("pipedrive:deal:4480:lead", "lead", "2026-11-20T08:30:00+01:00", 3000.0),
        ("pipedrive:deal:4490:lead", "lead", "2026-11-21T08:30:00+01:00", None),
        ("pipedrive:deal:4490:lost", "lost", "2026-11-25T16:00:00+01:00", None),
    ]
    assert results[0].events[1]["event_id"] == mapped("deal_won.json").events[0]["event_id"]


def test_export_header_check() -> None:
    assert csv_header_problem("pipedrive", rows("pipedrive", "deals_export.csv")[0].keys()) is None
    problem = csv_header_problem("pipedrive", ["Activity - ID", "Activity - Type"])
    assert problem is not None and "the activities export lacks 'Activity - Done'" in problem


def test_a_retry_holds_the_same_items_and_another_stage_move_is_another_item() -> None:
    mapping, s = floor()
    first = body("pipedrive", "deal_stage_change.json")
    retry = first.replace(b'"attempt": 1', b'"attempt": 2')
    back = first.replace(b'"stage_id": 3', b'"stage_id": 1').replace(b'"previous": {"stage_id": 2}', b'"previous": {"stage_id": 3}')
    stranger = first.replace(b'"owner_id": 18487521', b'"owner_id": 555')
    assert retry != first
    items = [ADAPTER.map(request(data), mapping, s) for data in (first, retry, back, stranger)]
    assert items[0].event_items == items[1].event_items == ("pipedrive:deal:4471:3",)
    assert items[2].event_items == ("pipedrive:deal:4471:1",)
    # Unmapped, the same move is the same item: a replay after the fix finds it.
    assert [u.item for u in items[3].unmapped] == ["pipedrive:deal:4471:3"]
