"""Salesforce Outbound Messages: the organization check, safe XML, notifications, the ack."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from salespulse.web.gateway.adapters import ADAPTERS
from salespulse.web.gateway.adapters.common import Mapped, Refused, Unmapped
from salespulse.web.gateway.adapters.salesforce import ack_response
from salespulse.models.config import Settings
from salespulse.models.gateway import SourceMapping
from tests.unit.web.gateway.adapters.support import body, request, settings

ADAPTER = ADAPTERS["salesforce"]
ORG = "00D5e000000KQ2eEAG"


def floor() -> tuple[SourceMapping, Settings]:
    s = settings()
    assert s.sources.salesforce is not None
    return s.sources.salesforce, s


def xml(name: str) -> bytes:
    return body("salesforce", name)



def test_the_configured_organization_passes_and_the_replay_key_is_stable() -> None:
    data = xml("two_opportunities.xml")
    first = ADAPTER.verify(request(data, content_type="text/xml; charset=utf-8"), ORG, max_age_s=300)
    assert first == ADAPTER.verify(request(data, content_type="text/xml"), ORG[:15], max_age_s=300)


def test_another_organization_is_401() -> None:
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(xml("two_opportunities.xml"), content_type="text/xml"), "00D5e000000ZZZZEAG", max_age_s=300)
    assert (excinfo.value.status, excinfo.value.reason) == (401, "wrong_organization")


def test_json_is_415() -> None:
    with pytest.raises(Refused) as excinfo:
        ADAPTER.verify(request(xml("two_opportunities.xml")), ORG, max_age_s=300)
    assert excinfo.value.status == 415


def test_a_doctype_is_refused_before_any_entity_is_expanded() -> None:
    for check in (
        lambda: ADAPTER.verify(request(xml("doctype.xml"), content_type="text/xml"), ORG, max_age_s=300),
        lambda: ADAPTER.map(request(xml("doctype.xml"), content_type="text/xml"), *floor()),
    ):
        with pytest.raises(Refused) as excinfo:
            check()
        assert excinfo.value.status == 400
        assert "DOCTYPE" in excinfo.value.detail


def test_two_notifications() -> None:
    mapping, s = floor()
    result = ADAPTER.map(request(xml("two_opportunities.xml"), content_type="text/xml"), mapping, s)
    assert result == Mapped(
        (
            {
                "type": "deal_stage",
                "event_id": "salesforce:opportunity:0065e00000AbCdEAAV:proposal",
                "occurred_at": "2026-11-27T14:03:30+00:00",
                "team_id": "amsterdam",
                "rep_id": "anna",
                "source": "salesforce",
                "deal_id": "salesforce:0065e00000AbCdEAAV",
                "stage": "proposal",
                "amount": 12500.0,
                "currency": "EUR",
            },
            {
                "type": "deal_stage",
                "event_id": "salesforce:opportunity:0065e00000AbCdFAAV:won",
                "occurred_at": "2026-11-27T14:10:05+00:00",
                "team_id": "new-york",
                "rep_id": "mike",
                "source": "salesforce",
                "deal_id": "salesforce:0065e00000AbCdFAAV",
                "stage": "won",
            },
        ),
        (),
        0,
    )


def test_unmapped_stage_and_owner_name_the_notification() -> None:
    mapping, s = floor()
    data = xml("two_opportunities.xml").replace(b"Proposal/Price Quote", b"Id. Decision Makers").replace(
        b"0055e000003XyZbAAC", b"0055e000009QQQQAAC"
    )
    assert ADAPTER.map(request(data, content_type="text/xml"), mapping, s).unmapped == (
        Unmapped(
            "unmapped_stage",
            "Salesforce stage Id. Decision Makers (item 04l5e00000Gx7QzAAJ) is not under sources.salesforce.stages",
            "04l5e00000Gx7QzAAJ",
        ),
        Unmapped(
            "unmapped_owner", "Salesforce owner 0055e000009QQQQAAC is not under sources.salesforce.owners", "04l5e00000Gx7R0AAJ"
        ),
    )


def test_other_objects_are_unsupported_unless_ignored() -> None:
    mapping, s = floor()
    data = request(xml("account.xml"), content_type="text/xml")
    assert [(u.reason, u.vendor_id) for u in ADAPTER.map(data, mapping, s).unmapped] == [
        ("unsupported_object", "04l5e00000Gx7QzAAJ")
    ]
    assert ADAPTER.map(data, mapping.model_copy(update={"ignore": ("Account",)}), s) == Mapped((), (), 1)


@pytest.mark.parametrize(
    "data",
    [
        b"<not-closed>",
        b'{"json": true}',
        b"<Envelope/>",
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>',
        xml("two_opportunities.xml").replace(b"<Id>04l5e00000Gx7QzAAJ</Id>", b""),
        xml("two_opportunities.xml").replace(b"<sf:Id>0065e00000AbCdEAAV</sf:Id>", b""),
        xml("two_opportunities.xml").replace(b"2026-11-27T14:03:30.000Z", b"yesterday"),
    ],
)
def test_malformed_messages_are_400(data: bytes) -> None:
    mapping, s = floor()
    with pytest.raises(Refused) as excinfo:
        ADAPTER.map(request(data, content_type="text/xml"), mapping, s)
    assert (excinfo.value.status, excinfo.value.reason) == (400, "not_vendor_format")


def test_ack_response_is_the_notifications_response_with_ack_true() -> None:
    root = ET.fromstring(ack_response())
    assert root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    ack = root.find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body/"
        "{http://soap.sforce.com/2005/09/outbound}notificationsResponse/"
        "{http://soap.sforce.com/2005/09/outbound}Ack"
    )
    assert ack is not None and ack.text == "true"


def case_safe(id15: str) -> str:
    """Salesforce's 18-character id: per 5-character chunk, bit i set when character i is an upper-case letter."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    chunks = (id15[i:i + 5] for i in range(0, 15, 5))
    return id15 + "".join(alphabet[sum(1 << n for n, c in enumerate(chunk) if "A" <= c <= "Z")] for chunk in chunks)


def test_the_documented_18_character_ids_have_their_case_safe_suffix() -> None:
    page = (Path(__file__).resolve().parents[5] / "docs" / "sources" / "salesforce.md").read_text()
    ids = set(re.findall(r"\b00[0-9A-Za-z]{16}\b", page))
    assert "0055e000003XyZaAAK" in ids and "00D5e000000KQ2eEAG" in ids
    assert {i for i in ids if case_safe(i[:15]) != i} == set()
