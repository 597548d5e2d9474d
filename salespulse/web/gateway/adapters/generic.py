"""Our own contract over HTTP: one event object or an array of them, signed with a shared secret.

    X-Salespulse-Timestamp: <unix seconds>
    X-Salespulse-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

The events pass through as they are; the pipeline validates them like any other producer's.
The CSV import reads a file whose columns are the contract's fields.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from salespulse.web.gateway.adapters import canonical, exports
from salespulse.web.gateway.adapters.common import (
    Mapped,
    Refused,
    Request,
    not_format,
    parse_json,
    require_content_type,
    require_secret,
    same_secret,
)

if TYPE_CHECKING:
    from salespulse.models.config import Settings
    from salespulse.models.gateway import SourceMapping

SOURCE = "generic"
VENDOR = "Salespulse"
SIGNATURE = "X-Salespulse-Signature"
TIMESTAMP = "X-Salespulse-Timestamp"
CSV_FORMATS: dict[str, tuple[str, ...]] = {"events": ("type", "event_id", "occurred_at", "team_id", "rep_id")}
_NUMBERS = {"duration_s", "amount", "schema_version"}
_OBJECTS = {"fields", "scores", "points", "figures"}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the X-Salespulse-Signature value of a body sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Generic:
    source = SOURCE

    def verify(self, request: Request, secret: str | None, *, max_age_s: int) -> str:
        """Check the signature and its timestamp; the signature is the replay key."""
        require_content_type(request, VENDOR, "application/json")
        key = require_secret(secret, VENDOR)
        given, timestamp = canonical.timed_signature(request, VENDOR, SIGNATURE, TIMESTAMP, max_age_s)
        if not same_secret(given.strip().lower(), signature(key, timestamp, request.body)):
            raise Refused(401, "bad_signature", f"{SIGNATURE} does not match the body, timestamp and secret")
        return f"{SOURCE}:{given.strip().lower()}"

    def map(self, request: Request, mapping: "SourceMapping", settings: "Settings") -> Mapped:
        """Pass the event objects through; the pipeline checks them against the contract."""
        body = parse_json(request.body, VENDOR)
        events = [body] if isinstance(body, dict) else body
        if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
            raise not_format(VENDOR, "the body must be an event object or a JSON array of event objects")
        return Mapped(tuple(events), (), 0, tuple(_item(event) for event in events))


def _item(event: dict[str, Any]) -> str:
    """Return an event's item: its event_id, or its digest when it has none (the contract then rejects it)."""
    event_id = event.get("event_id")
    if isinstance(event_id, str):
        return f"{SOURCE}:{event_id}"
    return f"{SOURCE}:sha256:{hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()}"


def csv_events(row: Mapping[str, str], line: int, mapping: "SourceMapping", settings: "Settings") -> Mapped:
    """Read one row whose columns are contract fields; empty cells are left out."""
    exports.kind_of(SOURCE, CSV_FORMATS, row, line)
    event: dict[str, Any] = {}
    for column, raw in row.items():
        if column is None:
            continue  # csv.DictReader's key for cells beyond the header
        value = (raw or "").strip()
        if not value:
            continue
        if column in _NUMBERS:
            number = canonical.number(value)
            # Left as text when it is no number, so that the contract names the field.
            event[column] = value if number is None else (int(number) if column == "schema_version" else number)
        elif column in _OBJECTS:
            try:
                event[column] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise Refused(400, "not_vendor_format", f"line {line}: {column} is not a JSON object: {exc}") from None
        else:
            event[column] = value
    event.setdefault("source", SOURCE)
    return Mapped((event,), (), 0, (_item(event),))
