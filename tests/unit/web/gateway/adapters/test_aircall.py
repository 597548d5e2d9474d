"""Aircall: the body token, call.ended, unanswered calls, ignored events, the calls export.

Aircall signs nothing and its timestamp is unsigned: there is no tampered-body or stale case,
only the token, and the replay key is the body's digest.
"""

from __future__ import annotations

import pytest

from salespulse.web.gateway.adapters import ADAPTERS
from salespulse.web.gateway.adapters.aircall import csv_events
from salespulse.web.gateway.adapters.common import Mapped, Refused, Unmapped
from salespulse.models.config import Settings
from salespulse.models.gateway import SourceMapping
from tests.unit.web.gateway.adapters.support import body, request, rows, settings

ADAPTER = ADAPTERS["aircall"]
TOKEN = "45XXYYZZa08"


def floor() -> tuple[SourceMapping, Settings]:
    s = settings()
    assert s.sources.aircall is not None
    return s.sources.aircall, s


def mapped(name: str) -> Mapped:
    mapping, s = floor()
    return ADAPTER.map(request(body("aircall", name)), mapping, s)


def test_token_accepted_and_the_replay_key_is_stable() -> None:
    data = body("aircall", "call_ended_outbound_unanswered.json")
    assert ADAPTER.verify(request(data), TOKEN, max_age_s=300) == ADAPTER.verify(request(data), TOKEN, max_age_s=300)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (body("aircall", "call_ended_outbound_unanswered.json"), "wrong_token"),
        (b'{"event": "call.ended", "data": {}}', "missing_token"),
        (b"[]", "missing_token"),
    ],
)
def test_wrong_or_missing_token_is_401(data: bytes, reason: str) -> None:
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data), "another-token", max_age_s=300)
    assert (excinfo.value.status, excinfo.value.reason) == (401, reason)


def test_a_body_that_is_not_json_is_400_before_any_token() -> None:
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(b"token=45XXYYZZa08"), TOKEN, max_age_s=300)
    assert excinfo.value.status == 400


def test_wrong_content_type_is_415() -> None:
    data = body("aircall", "call_ended_outbound_unanswered.json")
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(data, content_type="text/xml"), TOKEN, max_age_s=300)
    assert excinfo.value.status == 415


def test_unanswered_outbound_call_is_an_attempt() -> None:
    assert mapped("call_ended_outbound_unanswered.json") == Mapped(
        (
            {
                "type": "activity",
                "event_id": "aircall:call:88123407",
                "occurred_at": "2026-11-27T09:15:00+00:00",
                "team_id": "amsterdam",
                "rep_id": "anna",
                "source": "aircall",
                "action": "cold_call",
                "outcome": "unanswered",
            },
        ),
        (),
        0,
    )


def test_unanswered_outbound_call_can_count_as_something_else_or_nothing() -> None:
    mapping, s = floor()
    data = request(body("aircall", "call_ended_outbound_unanswered.json"))
    attempts = mapping.model_copy(update={"actions": {**mapping.actions, "outbound_unanswered": "follow_up"}})
    assert ADAPTER.map(data, attempts, s).events[0]["action"] == "follow_up"
    conversations_only = mapping.model_copy(update={"ignore": ("outbound_unanswered",)})
    assert ADAPTER.map(data, conversations_only, s) == Mapped((), (), 1)


def test_answered_inbound_call_has_its_talk_time() -> None:
    assert mapped("call_ended_inbound_answered.json").events == (
        {
            "type": "activity",
            "event_id": "aircall:call:88123999",
            "occurred_at": "2026-11-27T14:00:00+00:00",
            "team_id": "amsterdam",
            "rep_id": "bram",
            "source": "aircall",
            "action": "call",
            "duration_s": 200.0,
            "outcome": "answered",
        },
    )


def test_missed_inbound_call_is_ignored_as_configured() -> None:
    assert mapped("call_ended_inbound_missed.json") == Mapped((), (), 1)


def test_missed_inbound_call_without_the_ignore_has_no_rep() -> None:
    mapping, s = floor()
    strict = mapping.model_copy(update={"ignore": ()})
    assert ADAPTER.map(request(body("aircall", "call_ended_inbound_missed.json")), strict, s).unmapped == (
        Unmapped("unmapped_owner", "Aircall item call:88124000 has no owner, so no rep to credit", "call:88124000"),
    )


def test_unknown_user_and_unmapped_kind() -> None:
    mapping, s = floor()
    stranger = body("aircall", "call_ended_outbound_unanswered.json").replace(b'"id": 1234', b'"id": 999')
    assert [(u.reason, u.vendor_id) for u in ADAPTER.map(request(stranger), mapping, s).unmapped] == [
        ("unmapped_owner", "call:88123407")
    ]
    no_outbound = mapping.model_copy(update={"actions": {"inbound": "call"}})
    result = ADAPTER.map(request(body("aircall", "call_ended_outbound_unanswered.json")), no_outbound, s)
    assert [(u.reason, u.detail) for u in result.unmapped] == [
        (
            "unmapped_action",
            "Aircall activity kind outbound_unanswered (item call:88123407) is not under sources.aircall.actions",
        )
    ]


def test_other_events_are_unsupported_unless_ignored() -> None:
    mapping, s = floor()
    assert [(u.reason, u.vendor_id) for u in mapped("call_created.json").unmapped] == [("unsupported_object", "call:123")]
    ignoring = mapping.model_copy(update={"ignore": ("call.created",)})
    assert ADAPTER.map(request(body("aircall", "call_created.json")), ignoring, s) == Mapped((), (), 1)


@pytest.mark.parametrize(
    "data",
    [
        b"{}",
        b'{"event": "call.ended", "data": null}',
        b'{"event": "call.ended", "data": {"direction": "outbound", "started_at": 1}}',
        b'{"event": "call.ended", "data": {"id": 1, "direction": "sideways", "started_at": 1}}',
        b'{"event": "call.ended", "data": {"id": 1, "direction": "outbound", "started_at": "noon"}}',
        b'{"event": "call.ended", "data": {"id": 1, "direction": "outbound", "started_at": 1, "answered_at": "x",'
        b' "ended_at": 2, "user": {"id": 1234}}}',
    ],
)
def test_malformed_bodies_are_400(data: bytes) -> None:
    mapping, s = floor()
    with pytest.raises(Refused) as excinfo:
        ADAPTER.map(request(data), mapping, s)
    assert (excinfo.value.status, excinfo.value.reason) == (400, "not_vendor_format")


def test_calls_export_collides_with_the_webhook() -> None:
    mapping, s = floor()
    results = [csv_events(row, n + 2, mapping, s) for n, row in enumerate(rows("aircall", "calls_export.csv"))]
    assert results[0].events == (
        {
            "type": "activity",
            "event_id": "aircall:call:88123407",
            "occurred_at": "2026-11-27T10:15:00+01:00",
            "team_id": "amsterdam",
            "rep_id": "anna",
            "source": "aircall",
            "action": "cold_call",
            "outcome": "unanswered",
        },
    )
    assert results[1].events[0]["action"] == "call"
    assert results[2] == Mapped((), (), 1)
    assert results[0].events[0]["event_id"] == mapped("call_ended_outbound_unanswered.json").events[0]["event_id"]


def test_export_row_with_a_strange_direction_is_refused() -> None:
    mapping, s = floor()
    row = {**rows("aircall", "calls_export.csv")[0], "Call direction": "Internal"}
    with pytest.raises(Refused) as excinfo:
        csv_events(row, 4, mapping, s)
    assert excinfo.value.detail.startswith("line 4: 'Call direction' is 'internal'")


def test_a_body_that_is_no_aircall_webhook_is_refused_with_the_right_article() -> None:
    mapping, s = floor()
    with pytest.raises(Refused) as excinfo:
        ADAPTER.map(request(b"[1]"), mapping, s)
    assert excinfo.value.detail == "not an Aircall webhook: the body must be an object with an event name"
