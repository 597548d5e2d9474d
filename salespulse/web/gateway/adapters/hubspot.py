"""HubSpot app webhooks (signature v3) and the calls and deals exports.

A webhook request is a JSON array of up to 100 events. Deal stage changes
(`deal.propertyChange` of `dealstage`) become deal_stage events. HubSpot's events carry no deal
owner, so the rep is, in this order: the owner from a `hubspot_owner_id` change of the same deal
in the same request, else the HubSpot user who made the change (`sourceId` `userId:<id>`, mapped
under `owners` by that very key). A change made by a workflow or an import has neither and is
dead-lettered as unmapped_owner.

Engagements (calls, meetings, e-mails) reach webhooks as bare ids without their properties, so
they are not mapped from webhooks; their history comes from the calls export.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from salespulse.web.gateway.adapters import canonical, exports
from salespulse.web.gateway.adapters.common import (
    Mapped,
    Refused,
    Request,
    Tally,
    Unmapped,
    not_format,
    parse_json,
    require_content_type,
    require_secret,
    same_secret,
)
from salespulse.models.config import TERMINAL_STAGES

if TYPE_CHECKING:
    from salespulse.models.config import Settings
    from salespulse.models.gateway import SourceMapping

SOURCE = "hubspot"
VENDOR = "HubSpot"
SIGNATURE = "X-HubSpot-Signature-v3"
TIMESTAMP = "X-HubSpot-Request-Timestamp"
DEAL_OBJECT_TYPE = "0-3"

CSV_FORMATS: dict[str, tuple[str, ...]] = {
    "deals": ("Record ID", "Deal Stage", "Deal owner", "Create Date"),
    "calls": ("Record ID", "Activity date", "Activity assigned to", "Call direction"),
}

# HubSpot decodes exactly these escapes in the URI before signing, and no others (not %20).
_SIGNED_ESCAPES = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip
_ESCAPE = re.compile("|".join(_SIGNED_ESCAPES), re.IGNORECASE)


def signed_uri(url: str) -> str:
    """Return the URI as HubSpot signs it: the listed escapes decoded, everything else as sent."""
    return _ESCAPE.sub(lambda m: _SIGNED_ESCAPES[m.group(0).upper()], url)


def signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """Return the v3 signature: base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    message = method.encode() + signed_uri(url).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class HubSpot:
    source = SOURCE

    def verify(self, request: Request, secret: str | None, *, max_age_s: int) -> str:
        """Check signature v3 and its timestamp; the signature is the replay key."""
        require_content_type(request, VENDOR, "application/json")
        key = require_secret(secret, VENDOR)
        given, timestamp = canonical.timed_signature(request, VENDOR, SIGNATURE, TIMESTAMP, max_age_s, per_second=1000)
        if not same_secret(given, signature(key, request.method.upper(), request.url, request.body, timestamp)):
            raise Refused(401, "bad_signature", f"{SIGNATURE} does not match the body, URL and client secret")
        return f"{SOURCE}:{given}"

    def map(self, request: Request, mapping: "SourceMapping", settings: "Settings") -> Mapped:
        """Map a batch of webhook events; deal stage changes become deal_stage events."""
        batch = parse_json(request.body, VENDOR)
        if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
            raise not_format(VENDOR, "the body must be a JSON array of event objects")
        events = [_checked(item, n) for n, item in enumerate(batch)]
        owners = _owner_changes(events)
        tally = Tally()
        for event in events:
            kind, vendor_id = event["subscriptionType"], str(event["eventId"])
            # HubSpot's retry repeats each event with attemptNumber + 1 and the same eventId.
            item = canonical.item_id(SOURCE, "event", vendor_id)
            if kind in mapping.ignore:
                tally.ignore(item)
            elif not _is_deal_change(event):
                tally.unmapped.append(canonical.unsupported(SOURCE, f"event {kind}", vendor_id, item))
            elif event.get("propertyName") == "hubspot_owner_id":
                # Read by _owner_changes: it names the rep of this batch's stage changes, and
                # changes no figure by itself.
                tally.ignore(canonical.item_id(SOURCE, "deal", event["objectId"], "owner", event.get("propertyValue") or ""))
            elif event.get("propertyName") == "dealstage":
                _stage_change(event, owners, mapping, tally)
            else:
                what = f"{kind} of {event.get('propertyName')}"
                tally.unmapped.append(canonical.unsupported(SOURCE, what, vendor_id, item))
        return tally.mapped()


def _checked(item: dict[str, Any], n: int) -> dict[str, Any]:
    for name in ("eventId", "objectId", "portalId"):
        value = item.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
            raise not_format(VENDOR, f"event {n}: {name} is missing or not an id")
    if not isinstance(item.get("subscriptionType"), str):
        raise not_format(VENDOR, f"event {n}: subscriptionType is missing")
    canonical.from_epoch(item.get("occurredAt"), VENDOR, f"event {n}: occurredAt", per_second=1000)
    if "propertyValue" in item and not isinstance(item["propertyValue"], (str, type(None))):
        raise not_format(VENDOR, f"event {n}: propertyValue is not a string")
    return item


def _is_deal_change(event: Mapping[str, Any]) -> bool:
    kind = event["subscriptionType"]
    return kind == "deal.propertyChange" or (
        kind == "object.propertyChange" and str(event.get("objectTypeId")) == DEAL_OBJECT_TYPE
    )


def _owner_changes(events: list[dict[str, Any]]) -> dict[str, str]:
    """Return each deal's owner as the batch's latest hubspot_owner_id change sets it."""
    changes = sorted(
        (e for e in events if _is_deal_change(e) and e.get("propertyName") == "hubspot_owner_id"),
        key=lambda e: e["occurredAt"],
    )
    return {str(e["objectId"]): e.get("propertyValue") or "" for e in changes}


def _stage_change(event: dict[str, Any], owners: dict[str, str], mapping: "SourceMapping", tally: Tally) -> None:
    vendor_id, deal = str(event["eventId"]), str(event["objectId"])
    vendor_stage = event.get("propertyValue") or ""
    item = canonical.item_id(SOURCE, "deal", deal, vendor_stage)
    stage = mapping.stages.get(vendor_stage)
    if stage is None:
        tally.unmapped.append(canonical.unmapped_stage(SOURCE, vendor_stage or "(empty)", vendor_id, item))
        return
    owner_id = owners.get(deal)
    source_id = event.get("sourceId")
    owner = canonical.owner_of(mapping, owner_id) or (
        canonical.owner_of(mapping, source_id) if isinstance(source_id, str) and source_id.startswith("userId:") else None
    )
    if owner is None:
        detail = (
            f"HubSpot deal {deal}: neither an owner change in the same request ({owner_id or 'none'}) nor "
            f"the change's sourceId ({source_id or 'none'}) is under sources.hubspot.owners"
        )
        tally.unmapped.append(Unmapped("unmapped_owner", detail, vendor_id, item))
        return
    our_deal = canonical.deal_id(SOURCE, deal)
    if our_deal is None:
        raise not_format(VENDOR, f"event {vendor_id}: objectId {deal[:80]!r} is not an id")
    moment = canonical.from_epoch(event["occurredAt"], VENDOR, "occurredAt", per_second=1000)
    tally.event(item, canonical.deal_stage(SOURCE, f"{SOURCE}:deal:{deal}:{stage}", moment, owner, our_deal, stage))


def csv_events(row: Mapping[str, str], line: int, mapping: "SourceMapping", settings: "Settings") -> Mapped:
    """Map one row of HubSpot's deals or calls export."""
    kind = exports.kind_of(SOURCE, CSV_FORMATS, row, line)
    record = exports.required(row, "Record ID", line)
    tally = Tally()
    if kind == "deals":
        _deal_row(row, line, record, mapping, settings, tally)
    else:
        _call_row(row, line, record, mapping, settings, tally)
    return tally.mapped()


def _deal_row(
    row: Mapping[str, str], line: int, record: str, mapping: "SourceMapping", settings: "Settings", tally: Tally
) -> None:
    """A deal row gives its creation and, in a won or lost stage with a close date, its decision."""
    label, owner_name = exports.cell(row, "Deal Stage"), exports.cell(row, "Deal owner")
    item = canonical.item_id(SOURCE, "deal", record, label)
    stage = mapping.stages.get(label)
    if stage is None:
        tally.unmapped.append(canonical.unmapped_stage(SOURCE, label or "(empty)", record, item))
        return
    owner = canonical.owner_of(mapping, owner_name)
    if owner is None:
        tally.unmapped.append(canonical.unmapped_owner(SOURCE, owner_name, record, item))
        return
    deal = canonical.deal_id(SOURCE, record)
    if deal is None:
        raise Refused(400, "not_vendor_format", f"line {line}: Record ID {record[:80]!r} is not an id")
    zone = canonical.zone_of(mapping, owner, settings)
    created = exports.moment(row, "Create Date", zone, line)
    closed = exports.cell(row, "Close Date")
    decision = (stage, exports.moment(row, "Close Date", zone, line)) if stage in TERMINAL_STAGES and closed else None
    amount = canonical.number(exports.cell(row, "Amount"))
    for event in canonical.exported_deal(SOURCE, record, deal, owner, created, settings, decision=decision, amount=amount):
        tally.event(event["event_id"], event)


def _call_row(
    row: Mapping[str, str], line: int, record: str, mapping: "SourceMapping", settings: "Settings", tally: Tally
) -> None:
    direction = exports.cell(row, "Call direction").lower()
    item = canonical.item_id(SOURCE, "call", record)
    if direction in mapping.ignore:
        tally.ignore(item)
        return
    owner_name = exports.cell(row, "Activity assigned to")
    owner = canonical.owner_of(mapping, owner_name)
    if owner is None:
        tally.unmapped.append(canonical.unmapped_owner(SOURCE, owner_name, record, item))
        return
    action = mapping.actions.get(direction)
    if action is None:
        tally.unmapped.append(canonical.unmapped_action(SOURCE, direction or "(empty)", record, item))
        return
    moment = exports.moment(row, "Activity date", canonical.zone_of(mapping, owner, settings), line)
    outcome = exports.cell(row, "Call outcome") or None
    tally.event(item, canonical.activity(SOURCE, item, moment, owner, action, outcome=outcome))
