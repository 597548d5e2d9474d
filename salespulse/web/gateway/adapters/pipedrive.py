"""Pipedrive webhooks v2 (optional HTTP basic auth) and the deals and activities exports.

A request is one change: `{meta: {action, entity, entity_id, id, timestamp, ...}, data, previous}`,
where `previous` holds only the fields that changed. A deal whose `stage_id` changed (or a new
deal) enters the mapped stage; a deal whose `status` became won or lost is decided. An activity
counts once, when it is created done or marked done, as the action its `type` maps to. The rep
is the deal's or activity's `owner_id` (`user_id` in older payloads).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from salespulse.web.gateway.adapters import canonical, exports
from salespulse.web.gateway.adapters.common import (
    Mapped,
    Refused,
    Request,
    Tally,
    body_key,
    digits,
    header,
    not_format,
    parse_json,
    require_content_type,
    same_secret,
)
from salespulse.models.config import TERMINAL_STAGES

if TYPE_CHECKING:
    from salespulse.models.config import Settings
    from salespulse.models.gateway import OwnerRef, SourceMapping

SOURCE = "pipedrive"
VENDOR = "Pipedrive"

CSV_FORMATS: dict[str, tuple[str, ...]] = {
    "deals": ("Deal - ID", "Deal - Owner", "Deal - Status", "Deal - Deal created"),
    "activities": ("Activity - ID", "Activity - Type", "Activity - Done", "Activity - Assigned to user", "Activity - Due date"),
}


class Pipedrive:
    source = SOURCE

    def verify(self, request: Request, secret: str | None, *, max_age_s: int) -> str:
        """Check HTTP basic auth when configured (`secret` is `user:password`); Pipedrive signs nothing else."""
        require_content_type(request, VENDOR, "application/json")
        if secret is not None:
            scheme, _, token = (header(request, "Authorization") or "").partition(" ")
            # Pipedrive signs nothing: these are credentials, and are named so.
            if scheme.lower() != "basic" or not token:
                raise Refused(401, "missing_credentials", "HTTP basic auth is configured but the request has none")
            try:
                given = base64.b64decode(token.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise Refused(401, "bad_credentials", "the Authorization header is not base64") from None
            if not same_secret(given, secret):
                raise Refused(401, "bad_credentials", "wrong HTTP basic auth user or password")
        # No timestamp is signed, so max_age_s cannot apply; the body (with meta.id and attempt) is the key.
        return body_key(SOURCE, request.body)

    def map(self, request: Request, mapping: "SourceMapping", settings: "Settings") -> Mapped:
        """Map one webhook v2 notification."""
        body = parse_json(request.body, VENDOR)
        if not isinstance(body, dict):
            raise not_format(VENDOR, "the body must be a JSON object")
        if "current" in body or (isinstance(body.get("meta"), dict) and "object" in body["meta"]):
            raise not_format(VENDOR, "this is a webhooks v1 payload; create the webhook with version 2.0")
        meta = body.get("meta")
        if not isinstance(meta, dict):
            raise not_format(VENDOR, "meta is missing")
        action, entity = meta.get("action"), meta.get("entity")
        if not isinstance(action, str) or not isinstance(entity, str):
            raise not_format(VENDOR, "meta.action and meta.entity must be strings")
        entity_id = meta.get("entity_id")
        if isinstance(entity_id, bool) or not isinstance(entity_id, (int, str)) or entity_id == "":
            raise not_format(VENDOR, "meta.entity_id is missing")
        data, previous = body.get("data"), body.get("previous")
        if not isinstance(data, (dict, type(None))) or not isinstance(previous, (dict, type(None))):
            raise not_format(VENDOR, "data and previous must be objects or null")
        sent_at = _meta_time(meta.get("timestamp"))
        tally = Tally()
        vendor_id = f"{entity}:{entity_id}"
        # A change that becomes no event is known by the notification's id (kept on a retry,
        # which changes only meta.attempt), or by its time in a payload without one.
        change = canonical.item_id(SOURCE, entity, entity_id, action, meta.get("id") or meta.get("timestamp"))
        if f"{action}.{entity}" in mapping.ignore:
            tally.ignore(change)
        elif entity not in ("deal", "activity"):
            tally.unmapped.append(canonical.unsupported(SOURCE, f"{action}.{entity}", vendor_id, change))
        elif action not in ("create", "change") or data is None:
            tally.ignore(change)  # a deletion takes back nothing: counted events stay counted
        elif entity == "deal":
            _deal(data, previous or {}, action, str(entity_id), sent_at, mapping, tally, change)
        else:
            _activity(data, previous or {}, action, str(entity_id), sent_at, mapping, tally, change)
        return tally.mapped()


def _meta_time(value: object) -> datetime:
    """Read meta.timestamp: the guide shows RFC 3339 text, deliveries also carry epoch seconds."""
    if isinstance(value, str) and not digits(value):
        try:
            return canonical.parse_moment(value, timezone.utc, "meta.timestamp")
        except ValueError as exc:
            raise not_format(VENDOR, str(exc)) from None
    return canonical.from_epoch(int(value) if isinstance(value, str) else value, VENDOR, "meta.timestamp")


def _time(data: Mapping[str, Any], name: str, fallback: datetime) -> datetime:
    """Read a time field of `data` (Pipedrive keeps them in UTC), or fall back to the notification's."""
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        return fallback
    try:
        return canonical.parse_moment(value, timezone.utc, name)
    except ValueError as exc:
        raise not_format(VENDOR, f"data.{exc}") from None


def _owner(data: Mapping[str, Any], mapping: "SourceMapping") -> tuple[object, "OwnerRef | None"]:
    owner_id = data.get("owner_id", data.get("user_id"))
    return owner_id, canonical.owner_of(mapping, owner_id)


def _deal(
    data: Mapping[str, Any],
    previous: Mapping[str, Any],
    action: str,
    deal: str,
    sent_at: datetime,
    mapping: "SourceMapping",
    tally: Tally,
    change: str,
) -> None:
    vendor_id = f"deal:{deal}"
    moved = action == "create" or ("stage_id" in previous and previous["stage_id"] != data.get("stage_id"))
    status = data.get("status")
    decided = status in TERMINAL_STAGES and (action == "create" or ("status" in previous and previous["status"] != status))
    if not moved and not decided:
        tally.ignore(change)  # an edit that neither moves nor decides the deal
        return
    # One item per event the change makes: the stage entered (the vendor's stage id, so that the
    # item is the same before and after the stage is mapped) and the decision.
    vendor_stage = str(data.get("stage_id"))
    move = canonical.item_id(SOURCE, "deal", deal, vendor_stage)
    decision = canonical.item_id(SOURCE, "deal", deal, status)
    owner_id, owner = _owner(data, mapping)
    if owner is None:
        items = [item for item, made in ((move, moved), (decision, decided)) if made]
        tally.unmapped.extend(canonical.unmapped_owner(SOURCE, owner_id, vendor_id, item) for item in items)
        return
    our_deal = canonical.deal_id(SOURCE, deal)
    if our_deal is None:
        raise not_format(VENDOR, f"meta.entity_id {deal[:80]!r} is not an id")
    amount = canonical.number(data.get("value"))
    currency = data.get("currency") if isinstance(data.get("currency"), str) else None
    if moved:
        stage = mapping.stages.get(vendor_stage)
        if stage is None:
            tally.unmapped.append(canonical.unmapped_stage(SOURCE, vendor_stage, vendor_id, move))
        else:
            moment = _time(data, "add_time" if action == "create" else "stage_change_time", sent_at)
            event_id = f"{SOURCE}:deal:{deal}:{stage}"
            tally.event(move, canonical.deal_stage(SOURCE, event_id, moment, owner, our_deal, stage, amount=amount, currency=currency))
    if decided:
        assert isinstance(status, str)
        moment = _time(data, f"{status}_time", sent_at)
        event_id = f"{SOURCE}:deal:{deal}:{status}"
        tally.event(decision, canonical.deal_stage(SOURCE, event_id, moment, owner, our_deal, status, amount=amount, currency=currency))


def _activity(
    data: Mapping[str, Any],
    previous: Mapping[str, Any],
    action: str,
    activity: str,
    sent_at: datetime,
    mapping: "SourceMapping",
    tally: Tally,
    change: str,
) -> None:
    vendor_id = f"activity:{activity}"
    done_now = data.get("done") in (True, 1)
    became_done = action == "create" or ("done" in previous and previous["done"] in (False, 0))
    kind = data.get("type")
    if not (done_now and became_done) or kind in mapping.ignore:
        tally.ignore(change)  # planned, still to do, or an edit of one already counted
        return
    item = canonical.item_id(SOURCE, "activity", activity)  # an activity becomes done once
    owner_id, owner = _owner(data, mapping)
    if owner is None:
        tally.unmapped.append(canonical.unmapped_owner(SOURCE, owner_id, vendor_id, item))
        return
    ours = mapping.actions.get(str(kind))
    if ours is None:
        tally.unmapped.append(canonical.unmapped_action(SOURCE, kind, vendor_id, item))
        return
    moment = _done_at(data, sent_at)
    tally.event(
        item,
        canonical.activity(
            SOURCE,
            item,
            moment,
            owner,
            ours,
            deal=canonical.deal_id(SOURCE, data.get("deal_id")),
            duration_s=_duration_s(data.get("duration")),
        ),
    )


def _done_at(data: Mapping[str, Any], fallback: datetime) -> datetime:
    """When the activity happened: its due date and time (UTC) when it has a time, else when it was marked done."""
    day, time = data.get("due_date"), data.get("due_time")
    if isinstance(day, str) and day and isinstance(time, str) and time:
        try:
            return canonical.parse_moment(f"{day} {time}", timezone.utc, "due_date and due_time")
        except ValueError as exc:
            raise not_format(VENDOR, f"data.{exc}") from None
    return _time(data, "marked_as_done_time", fallback)


def _duration_s(value: object) -> float | None:
    """Read Pipedrive's HH:MM duration."""
    if not isinstance(value, str) or ":" not in value:
        return None
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes[:2].isdigit()):
        return None
    return float(int(hours) * 3600 + int(minutes[:2]) * 60)


def csv_events(row: Mapping[str, str], line: int, mapping: "SourceMapping", settings: "Settings") -> Mapped:
    """Map one row of Pipedrive's deals or activities export (item names and labels as the export shows them)."""
    kind = exports.kind_of(SOURCE, CSV_FORMATS, row, line)
    tally = Tally()
    if kind == "deals":
        _deal_row(row, line, mapping, settings, tally)
    else:
        _activity_row(row, line, mapping, settings, tally)
    return tally.mapped()


def _deal_row(row: Mapping[str, str], line: int, mapping: "SourceMapping", settings: "Settings", tally: Tally) -> None:
    """A deal row gives its creation and, when its status is won or lost, its decision."""
    record = exports.required(row, "Deal - ID", line)
    owner_name = exports.cell(row, "Deal - Owner")
    owner = canonical.owner_of(mapping, owner_name)
    if owner is None:
        item = canonical.item_id(SOURCE, "deal", record)
        tally.unmapped.append(canonical.unmapped_owner(SOURCE, owner_name, f"deal:{record}", item))
        return
    deal = canonical.deal_id(SOURCE, record)
    if deal is None:
        raise Refused(400, "not_vendor_format", f"line {line}: 'Deal - ID' {record[:80]!r} is not an id")
    zone = canonical.zone_of(mapping, owner, settings)
    created = exports.moment(row, "Deal - Deal created", zone, line)
    status = exports.cell(row, "Deal - Status").lower()
    decided_column = f"Deal - {status.capitalize()} time"
    decision = None
    if status in TERMINAL_STAGES and exports.cell(row, decided_column):
        decision = (status, exports.moment(row, decided_column, zone, line))
    amount = canonical.number(exports.cell(row, "Deal - Value"))
    for event in canonical.exported_deal(SOURCE, record, deal, owner, created, settings, decision=decision, amount=amount):
        tally.event(event["event_id"], event)


def _activity_row(
    row: Mapping[str, str], line: int, mapping: "SourceMapping", settings: "Settings", tally: Tally
) -> None:
    record = exports.required(row, "Activity - ID", line)
    item = canonical.item_id(SOURCE, "activity", record)
    kind = exports.cell(row, "Activity - Type")
    if not exports.yes(exports.cell(row, "Activity - Done")) or kind in mapping.ignore:
        tally.ignore(item)
        return
    owner_name = exports.cell(row, "Activity - Assigned to user")
    owner = canonical.owner_of(mapping, owner_name)
    if owner is None:
        tally.unmapped.append(canonical.unmapped_owner(SOURCE, owner_name, f"activity:{record}", item))
        return
    ours = mapping.actions.get(kind)
    if ours is None:
        tally.unmapped.append(canonical.unmapped_action(SOURCE, kind or "(empty)", f"activity:{record}", item))
        return
    zone = canonical.zone_of(mapping, owner, settings)
    due_time = exports.cell(row, "Activity - Due time")
    day = exports.required(row, "Activity - Due date", line)
    try:
        moment = canonical.parse_moment(f"{day} {due_time}".strip(), zone, "'Activity - Due date'")
    except ValueError as exc:
        raise Refused(400, "not_vendor_format", f"line {line}: {exc}") from None
    tally.event(
        item,
        canonical.activity(
            SOURCE,
            item,
            moment,
            owner,
            ours,
            deal=canonical.deal_id(SOURCE, exports.cell(row, "Deal - ID") or None),
            duration_s=_duration_s(exports.cell(row, "Activity - Duration")),
        ),
    )
