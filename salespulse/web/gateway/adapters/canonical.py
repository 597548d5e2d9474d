"""Building contract events from vendor items: event ids, owners, stages, actions and times.

Every adapter names its events the same way: `<source>:<object>:<vendor id>[:<state reached>]`,
e.g. `aircall:call:88123407` or `pipedrive:deal:4471:won`. The id comes from the item and the
state it reached, not from the delivery, so a vendor's retry, a second delivery of the same
change, and a CSV import of the same item all carry one event id and count once.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from salespulse.web.gateway.adapters.common import Refused, Request, Unmapped, check_age, digits, header, with_article

if TYPE_CHECKING:
    from salespulse.models.config import Settings
    from salespulse.models.gateway import OwnerRef, SourceMapping

VENDOR_NAMES = {
    "hubspot": "HubSpot",
    "pipedrive": "Pipedrive",
    "aircall": "Aircall",
    "salesforce": "Salesforce",
    "generic": "generic",
}
_OUTCOME_MAX = 64
_DEAL_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


def deal_id(source: str, vendor_id: object) -> str | None:
    """Return our deal id for a vendor deal id (`hubspot:4471`), or None if it cannot be one."""
    if vendor_id is None or vendor_id == "":
        return None
    candidate = f"{source}:{vendor_id}"
    return candidate if _DEAL_ID.fullmatch(candidate) else None


def owner_of(mapping: "SourceMapping", key: object) -> "OwnerRef | None":
    """Return the team and rep a vendor owner id (or export owner name) is mapped to."""
    if key is None or key == "":
        return None
    return mapping.owners.get(str(key))


def item_id(source: str, kind: str, vendor_id: object, *state: object) -> str:
    """Return an item's identity: `<source>:<object>:<vendor id>[:<vendor stage or status>...]`."""
    return ":".join(str(part) for part in (source, kind, vendor_id, *state))


def unmapped_owner(source: str, owner: object, vendor_id: str, item: str) -> Unmapped:
    vendor = VENDOR_NAMES[source]
    if owner is None or owner == "":
        detail = f"{vendor} item {vendor_id} has no owner, so no rep to credit"
    else:
        detail = f"{vendor} owner {owner} is not under sources.{source}.owners"
    return Unmapped("unmapped_owner", detail, vendor_id, item)


def unmapped_stage(source: str, stage: object, vendor_id: str, item: str) -> Unmapped:
    detail = f"{VENDOR_NAMES[source]} stage {stage} (item {vendor_id}) is not under sources.{source}.stages"
    return Unmapped("unmapped_stage", detail, vendor_id, item)


def unmapped_action(source: str, kind: object, vendor_id: str, item: str) -> Unmapped:
    detail = f"{VENDOR_NAMES[source]} activity kind {kind} (item {vendor_id}) is not under sources.{source}.actions"
    return Unmapped("unmapped_action", detail, vendor_id, item)


def unsupported(source: str, what: str, vendor_id: str, item: str) -> Unmapped:
    detail = f"{VENDOR_NAMES[source]} {what} (item {vendor_id}) is not mapped; list it under sources.{source}.ignore to count it as ignored"
    return Unmapped("unsupported_object", detail, vendor_id, item)


def iso(moment: datetime) -> str:
    """Return an aware time as RFC 3339 with its offset."""
    return moment.isoformat()


def from_epoch(value: object, vendor: str, what: str, *, per_second: int = 1) -> datetime:
    """Return an aware UTC time from epoch seconds (per_second=1) or milliseconds (1000)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Refused(400, "not_vendor_format", f"not {with_article(vendor)} webhook: {what} is not a number of {_unit(per_second)}")
    try:
        return datetime.fromtimestamp(value / per_second, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise Refused(400, "not_vendor_format", f"not {with_article(vendor)} webhook: {what} {value} is out of range") from None


def _unit(per_second: int) -> str:
    return "seconds" if per_second == 1 else "milliseconds"


def timed_signature(
    request: Request, vendor: str, signature: str, timestamp: str, max_age_s: int, *, per_second: int = 1
) -> tuple[str, str]:
    """Return a request's signature and timestamp headers; refuse them missing, malformed or stale."""
    given, stamp = header(request, signature), header(request, timestamp)
    if not given or not stamp:
        raise Refused(401, "missing_signature", f"{signature} and {timestamp} are required")
    if not digits(stamp):
        raise Refused(401, "bad_signature", f"{timestamp} is not {_unit(per_second)} since the epoch: {stamp[:40]!r}")
    check_age(from_epoch(int(stamp), vendor, timestamp, per_second=per_second), request.received_at, max_age_s, vendor)
    return given, stamp


def parse_moment(text: str, zone: ZoneInfo | timezone, what: str) -> datetime:
    """Read a time from an export or payload: RFC 3339/ISO 8601 with or without offset, or a date.

    A time without offset is read in `zone`; a bare date is its midnight there.
    """
    value = text.strip()
    if not value:
        raise ValueError(f"{what} is empty")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date and time such as 2026-11-27 09:15") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def zone_of(mapping: "SourceMapping", owner: "OwnerRef", settings: "Settings") -> ZoneInfo:
    """Return the timezone of an export's offset-less times: the mapping's, else the rep's team's."""
    return ZoneInfo(mapping.timezone) if mapping.timezone else settings.timezone_of(owner.team)


def activity(
    source: str,
    event_id: str,
    moment: datetime,
    owner: "OwnerRef",
    action: str,
    *,
    deal: str | None = None,
    duration_s: float | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """Return an activity event of contract v1."""
    event: dict[str, Any] = {
        "type": "activity",
        "event_id": event_id,
        "occurred_at": iso(moment),
        "team_id": owner.team,
        "rep_id": owner.rep,
        "source": source,
        "action": action,
    }
    if deal is not None:
        event["deal_id"] = deal
    if duration_s is not None:
        event["duration_s"] = duration_s
    if outcome:
        event["outcome"] = outcome[:_OUTCOME_MAX]
    return event


def deal_stage(
    source: str,
    event_id: str,
    moment: datetime,
    owner: "OwnerRef",
    deal: str,
    stage: str,
    *,
    amount: float | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """Return a deal_stage event of contract v1; an amount or currency that would break it is left out."""
    event: dict[str, Any] = {
        "type": "deal_stage",
        "event_id": event_id,
        "occurred_at": iso(moment),
        "team_id": owner.team,
        "rep_id": owner.rep,
        "source": source,
        "deal_id": deal,
        "stage": stage,
    }
    if amount is not None and math.isfinite(amount) and amount >= 0:
        event["amount"] = amount
    if currency and re.fullmatch(r"[A-Z]{3}", currency):
        event["currency"] = currency
    return event


def exported_deal(
    source: str,
    record: str,
    deal: str,
    owner: "OwnerRef",
    created: datetime,
    settings: "Settings",
    *,
    decision: tuple[str, datetime] | None = None,
    amount: float | None = None,
) -> list[dict[str, Any]]:
    """Return what an export row tells of a deal: its creation, and its decision when it has one.

    Exports hold a deal's current state only, not the stages it passed through, so the creation
    is an entry into the first open stage, the stage new deals start in.
    """
    first = settings.stages[0]
    events = [deal_stage(source, f"{source}:deal:{record}:{first}", created, owner, deal, first, amount=amount)]
    if decision is not None:
        stage, moment = decision
        events.append(deal_stage(source, f"{source}:deal:{record}:{stage}", moment, owner, deal, stage, amount=amount))
    return events


def number(value: object) -> float | None:
    """Return a JSON or CSV number as a float, or None for anything else (an empty cell, text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
