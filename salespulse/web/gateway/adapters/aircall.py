"""Aircall webhooks (a token in the body) and the calls export.

A request is one event: `{resource, event, timestamp, token, data}`. `call.ended` (sent once
the call's data is complete) becomes an activity of the rep the call's `user` maps to; every
other event is dead-lettered as unsupported unless it is listed under `ignore`. A call's kind is
its direction, with `_unanswered` when nobody picked up (`answered_at` null): `outbound`,
`outbound_unanswered`, `inbound`, `inbound_unanswered`. `actions` maps kinds to our actions and
`ignore` may list kinds too (e.g. `inbound_unanswered`, a missed call that is no rep's action).

An unanswered outbound call is still an attempt the rep made, and action KPIs count what a rep
executes, not what a prospect does; map `outbound_unanswered` to the same action as `outbound`
to count attempts, or to another action (or ignore it) to count only conversations.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from salespulse.web.gateway.adapters import canonical, exports
from salespulse.web.gateway.adapters.common import (
    Mapped,
    Refused,
    Request,
    Tally,
    body_key,
    not_format,
    parse_json,
    require_content_type,
    require_secret,
    same_secret,
)

if TYPE_CHECKING:
    from salespulse.models.config import Settings
    from salespulse.models.gateway import SourceMapping

SOURCE = "aircall"
VENDOR = "Aircall"
COUNTED_EVENT = "call.ended"

CSV_FORMATS: dict[str, tuple[str, ...]] = {
    "calls": ("Call ID (internal)", "Call direction", "Answered", "Started at", "User ID"),
}


def call_kind(direction: str, answered: bool) -> str:
    return direction if answered else f"{direction}_unanswered"


class Aircall:
    source = SOURCE

    def verify(self, request: Request, secret: str | None, *, max_age_s: int) -> str:
        """Compare the body's token with the configured one.

        Aircall signs nothing and its `timestamp` is unsigned, so there is no freshness to check.
        """
        require_content_type(request, VENDOR, "application/json")
        expected = require_secret(secret, VENDOR)
        body = parse_json(request.body, VENDOR)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise Refused(401, "missing_token", "the body carries no Aircall token")
        if not same_secret(token, expected):
            raise Refused(401, "wrong_token", "the body's token is not the configured Aircall token")
        return body_key(SOURCE, request.body)

    def map(self, request: Request, mapping: "SourceMapping", settings: "Settings") -> Mapped:
        """Map one webhook event; call.ended becomes an activity."""
        body = parse_json(request.body, VENDOR)
        if not isinstance(body, dict) or not isinstance(body.get("event"), str):
            raise not_format(VENDOR, "the body must be an object with an event name")
        event, data = body["event"], body.get("data")
        if not isinstance(data, dict):
            raise not_format(VENDOR, "data must be an object")
        resource = body.get("resource", "call")
        vendor_id = f"{resource}:{data.get('id')}"
        # Aircall resends the same body, unchanged, when an answer was lost.
        item = canonical.item_id(SOURCE, resource, data.get("id"), event)
        tally = Tally()
        if event in mapping.ignore:
            tally.ignore(item)
        elif event != COUNTED_EVENT:
            tally.unmapped.append(canonical.unsupported(SOURCE, f"event {event}", vendor_id, item))
        else:
            _call(data, mapping, tally)
        return tally.mapped()


def _call(data: Mapping[str, Any], mapping: "SourceMapping", tally: Tally) -> None:
    call = data.get("id")
    if isinstance(call, bool) or not isinstance(call, (int, str)) or call == "":
        raise not_format(VENDOR, "data.id is missing")
    direction = data.get("direction")
    if direction not in ("inbound", "outbound"):
        raise not_format(VENDOR, f"data.direction is {direction!r}, not inbound or outbound")
    started = canonical.from_epoch(data.get("started_at"), VENDOR, "data.started_at")
    answered_at, ended_at = data.get("answered_at"), data.get("ended_at")
    answered = answered_at is not None
    kind = call_kind(direction, answered)
    vendor_id = f"call:{call}"
    item = canonical.item_id(SOURCE, "call", call)  # a call ends once
    if kind in mapping.ignore:
        tally.ignore(item)
        return
    user = data.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    owner = canonical.owner_of(mapping, user_id)
    if owner is None:
        tally.unmapped.append(canonical.unmapped_owner(SOURCE, user_id, vendor_id, item))
        return
    action = mapping.actions.get(kind)
    if action is None:
        tally.unmapped.append(canonical.unmapped_action(SOURCE, kind, vendor_id, item))
        return
    talk_s = None
    if answered and ended_at is not None:
        # Aircall's own duration includes ringing; the talk time is from the answer to the end.
        answer = canonical.from_epoch(answered_at, VENDOR, "data.answered_at")
        end = canonical.from_epoch(ended_at, VENDOR, "data.ended_at")
        talk_s = max(0.0, (end - answer).total_seconds())
    reason = data.get("missed_call_reason")
    outcome = "answered" if answered else (reason if isinstance(reason, str) and reason else "unanswered")
    tally.event(item, canonical.activity(SOURCE, item, started, owner, action, duration_s=talk_s, outcome=outcome))


def csv_events(row: Mapping[str, str], line: int, mapping: "SourceMapping", settings: "Settings") -> Mapped:
    """Map one row of Aircall's calls export (the Call History columns)."""
    exports.kind_of(SOURCE, CSV_FORMATS, row, line)
    call = exports.required(row, "Call ID (internal)", line)
    direction = exports.cell(row, "Call direction").lower()
    if direction not in ("inbound", "outbound"):
        raise Refused(400, "not_vendor_format", f"line {line}: 'Call direction' is {direction!r}, not inbound or outbound")
    answered = exports.yes(exports.cell(row, "Answered"))
    kind = call_kind(direction, answered)
    item = canonical.item_id(SOURCE, "call", call)
    tally = Tally()
    if kind in mapping.ignore:
        tally.ignore(item)
        return tally.mapped()
    user_id = exports.cell(row, "User ID")
    owner = canonical.owner_of(mapping, user_id)
    if owner is None:
        tally.unmapped.append(canonical.unmapped_owner(SOURCE, user_id, f"call:{call}", item))
        return tally.mapped()
    action = mapping.actions.get(kind)
    if action is None:
        tally.unmapped.append(canonical.unmapped_action(SOURCE, kind, f"call:{call}", item))
        return tally.mapped()
    started: datetime = exports.moment(row, "Started at", canonical.zone_of(mapping, owner, settings), line)
    reason = exports.cell(row, "Unanswered Call Reason")
    outcome = "answered" if answered else (reason or "unanswered")
    tally.event(item, canonical.activity(SOURCE, item, started, owner, action, outcome=outcome))
    return tally.mapped()
