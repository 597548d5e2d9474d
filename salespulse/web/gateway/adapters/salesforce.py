"""Salesforce Outbound Messages: SOAP 1.1 notifications of Opportunity changes.

A message holds up to 100 `Notification`s, each with an `sObject` carrying the fields chosen
when the Outbound Message was defined; it needs `Id`, `OwnerId` and `StageName`, and reads
`LastModifiedDate`, `Amount` and `CurrencyIsoCode` when present. An Opportunity entering a
mapped stage becomes a deal_stage event of the rep its `OwnerId` maps to.

Outbound Messages are not signed: the only check is the `OrganizationId` they carry. TLS, an
unguessable path and an allow-list of Salesforce's addresses are the operator's part.
The body is parsed with a document type declaration refused outright, so no entity (internal
or external) is ever expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timezone
from typing import TYPE_CHECKING
from xml.parsers import expat

from salespulse.web.gateway.adapters import canonical
from salespulse.web.gateway.adapters.common import (
    Mapped,
    Refused,
    Request,
    Tally,
    body_key,
    not_format,
    require_content_type,
    require_secret,
    same_secret,
)

if TYPE_CHECKING:
    from salespulse.models.config import Settings
    from salespulse.models.gateway import SourceMapping

SOURCE = "salesforce"
VENDOR = "Salesforce"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_ID_PREFIX = 15  # an 18-character id is the 15-character one plus a case-safe suffix


def ack_response() -> bytes:
    """Return the SOAP body that acknowledges a message, so that Salesforce stops retrying it."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}">'
        "<soapenv:Body>"
        f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
        "</soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


class _Forbidden(Exception):
    pass


def parse_xml(body: bytes) -> ET.Element:
    """Parse XML into an ElementTree, refusing any DOCTYPE (and so every entity declaration)."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")

    def refuse(*_: object) -> int:
        raise _Forbidden("a DOCTYPE or ENTITY declaration")

    def qualified(name: str) -> str:
        return "{" + name if "}" in name else name

    def start(name: str, attrs: dict[str, str]) -> None:
        builder.start(qualified(name), {qualified(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        builder.end(qualified(name))

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
    except _Forbidden as exc:
        raise not_format(VENDOR, f"XML with {exc} is refused") from None
    except expat.ExpatError as exc:
        raise not_format(VENDOR, f"not XML: {expat.ErrorString(exc.code)} at line {exc.lineno}") from None
    except RecursionError:
        raise not_format(VENDOR, "XML nested too deep") from None
    return builder.close()


def _notifications(body: bytes) -> ET.Element:
    root = parse_xml(body)
    if root.tag != f"{{{SOAP}}}Envelope":
        raise not_format(VENDOR, "not a SOAP 1.1 envelope")
    found = root.find(f"{{{SOAP}}}Body/{{{OUTBOUND}}}notifications")
    if found is None:
        raise not_format(VENDOR, "the SOAP body holds no Outbound Message notifications")
    return found


def _text(parent: ET.Element, local: str) -> str:
    """Return the text of the child with this local name, whatever its namespace, or ''."""
    for child in parent:
        if child.tag.rpartition("}")[2] == local:
            return (child.text or "").strip()
    return ""


class Salesforce:
    source = SOURCE

    def verify(self, request: Request, secret: str | None, *, max_age_s: int) -> str:
        """Check the message's OrganizationId against the configured one (`secret`); nothing is signed."""
        require_content_type(request, VENDOR, "text/xml")
        expected = require_secret(secret, VENDOR)
        given = _text(_notifications(request.body), "OrganizationId")
        if not given:
            raise Refused(401, "missing_organization", "the message carries no OrganizationId")
        if not same_secret(given[:_ID_PREFIX], expected[:_ID_PREFIX]):
            raise Refused(401, "wrong_organization", f"OrganizationId {given[:18]} is not the configured organization")
        return body_key(SOURCE, request.body)

    def map(self, request: Request, mapping: "SourceMapping", settings: "Settings") -> Mapped:
        """Map every Notification of a message; Opportunity stage changes become deal_stage events."""
        tally = Tally()
        for notification in _notifications(request.body).findall(f"{{{OUTBOUND}}}Notification"):
            note_id = _text(notification, "Id")
            record = next((c for c in notification if c.tag.rpartition("}")[2] == "sObject"), None)
            if not note_id or record is None:
                raise not_format(VENDOR, "a Notification lacks its Id or sObject")
            kind = record.get(f"{{{XSI}}}type", "").rpartition(":")[2]
            # Salesforce resends a notification with the same Id until it is acknowledged.
            item = canonical.item_id(SOURCE, "notification", note_id)
            if kind in mapping.ignore:
                tally.ignore(item)
            elif kind != "Opportunity":
                tally.unmapped.append(canonical.unsupported(SOURCE, f"sObject {kind or '(untyped)'}", note_id, item))
            else:
                _opportunity(record, note_id, request, mapping, tally)
        return tally.mapped()


def _opportunity(record: ET.Element, note_id: str, request: Request, mapping: "SourceMapping", tally: Tally) -> None:
    opportunity, vendor_stage, owner_id = _text(record, "Id"), _text(record, "StageName"), _text(record, "OwnerId")
    if not opportunity:
        raise not_format(VENDOR, f"Notification {note_id}: the Opportunity has no Id field")
    # The Opportunity and the stage it is in, so that a second notification of the same stage
    # entered (an edit of another field) is the same item, as it is the same event.
    item = canonical.item_id(SOURCE, "opportunity", opportunity, vendor_stage)
    stage = mapping.stages.get(vendor_stage)
    if stage is None:
        tally.unmapped.append(canonical.unmapped_stage(SOURCE, vendor_stage or "(no StageName)", note_id, item))
        return
    owner = canonical.owner_of(mapping, owner_id) or canonical.owner_of(mapping, owner_id[:_ID_PREFIX])
    if owner is None:
        tally.unmapped.append(canonical.unmapped_owner(SOURCE, owner_id, note_id, item))
        return
    deal = canonical.deal_id(SOURCE, opportunity)
    if deal is None:
        raise not_format(VENDOR, f"Notification {note_id}: Opportunity Id {opportunity[:80]!r} is not an id")
    modified = _text(record, "LastModifiedDate")
    try:
        moment = canonical.parse_moment(modified, timezone.utc, "LastModifiedDate") if modified else request.received_at
    except ValueError as exc:
        raise not_format(VENDOR, f"Notification {note_id}: {exc}") from None
    tally.event(
        item,
        canonical.deal_stage(
            SOURCE,
            f"{SOURCE}:opportunity:{opportunity}:{stage}",
            moment,
            owner,
            deal,
            stage,
            amount=canonical.number(_text(record, "Amount")),
            currency=_text(record, "CurrencyIsoCode") or None,
        ),
    )
