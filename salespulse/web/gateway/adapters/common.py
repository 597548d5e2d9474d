"""What every vendor adapter shares: the request it is given, what it answers, and the request
checks they all make the same way.

    Request ── verify(request, secret) ──> replay key
           │     Refused(415) wrong content type, Refused(401) missing/bad signature or token,
           │     stale timestamp; Refused(400) a body that is not the vendor's format
           └── map(request, mapping, settings) ──> Mapped(events, unmapped, ignored)
                 Refused(400) a body that is not the vendor's format

Every item of a request (an event, an unmapped item, an ignored one) carries its identity, built
from the vendor's own ids and never from delivery fields (attempt numbers, timestamps,
signatures): `<source>:<object>:<id>[:<stage or status>]`, like an event id but with the vendor's
stage, so that it is the same before and after a mapping is fixed. The gateway remembers the
items it acknowledged, so that a vendor's retry sends nothing twice.

Anything else an adapter raises is a bug. `verify` and `map` read no clock and no environment:
the server passes the time the request arrived and the secret it read at start-up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from salespulse.models.errors import UnmappedReason

if TYPE_CHECKING:
    from salespulse.models.config import Settings
    from salespulse.models.gateway import SourceMapping


@dataclass(frozen=True)
class Request:
    """One HTTP request as the vendor sent it."""

    method: str
    url: str  # scheme://host[:port]/path?query, as the vendor called it (HubSpot signs it)
    headers: Mapping[str, str]  # any case; the server passes aiohttp's case-insensitive proxy
    body: bytes
    received_at: datetime  # aware, UTC


class Refused(Exception):
    """The request is answered with `status` and nothing is produced."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(f"{status} {reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Unmapped:
    """A vendor item that is well formed but cannot become an event; it goes to the dead-letter topic."""

    reason: UnmappedReason
    detail: str  # a sentence naming the vendor id, e.g. "HubSpot owner 123 is not under sources.hubspot.owners"
    vendor_id: str  # the vendor's id of the item, named in the detail
    item: str = field(default="", compare=False)  # the item's identity (see the module docstring)


@dataclass(frozen=True)
class Mapped:
    events: tuple[dict[str, Any], ...]  # contract v1 events, JSON-ready
    unmapped: tuple[Unmapped, ...]
    ignored: int  # items that carry nothing Salespulse counts or that the mapping ignores
    # The identity of each event's item, in the order of `events`, and of each ignored item.
    event_items: tuple[str, ...] = field(default=(), compare=False)
    ignored_items: tuple[str, ...] = field(default=(), compare=False)

    def items(self) -> set[str]:
        """Return the identities of every item, whatever became of it."""
        return {*self.event_items, *(item.item for item in self.unmapped), *self.ignored_items}

    def only(self, keep: Callable[[str], bool]) -> "Mapped":
        """Return the outcome of the items whose identity `keep` accepts."""
        events = [(event, item) for event, item in zip(self.events, self.event_items, strict=True) if keep(item)]
        ignored = tuple(item for item in self.ignored_items if keep(item))
        return Mapped(
            tuple(event for event, _ in events),
            tuple(item for item in self.unmapped if keep(item.item)),
            len(ignored),
            tuple(item for _, item in events),
            ignored,
        )


class Adapter(Protocol):
    source: str

    def verify(self, request: Request, secret: str | None, *, max_age_s: int) -> str:
        """Check the request's origin and return a replay key, or raise Refused.

        A key `<source>:sha256:<digest>` is a body digest, from a source that signs no timestamp
        (Pipedrive, Aircall, Salesforce): such vendors resend an unchanged body when an answer
        was lost, so a repeat of that key is a retry to map again (its items are known), not an
        attack to refuse.
        """
        ...

    def map(self, request: Request, mapping: "SourceMapping", settings: "Settings") -> Mapped:
        """Turn a verified request into events, or raise Refused(400)."""
        ...


@dataclass
class Tally:
    """Collects a request's (or a row's) outcome item by item."""

    events: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    event_items: list[str] = field(default_factory=list)
    ignored_items: list[str] = field(default_factory=list)

    def event(self, item: str, event: dict[str, Any]) -> None:
        """Add an event of the item `item`."""
        self.events.append(event)
        self.event_items.append(item)

    def ignore(self, item: str) -> None:
        """Count an item that changes no figure."""
        self.ignored_items.append(item)

    def mapped(self) -> Mapped:
        items = tuple(self.ignored_items)
        return Mapped(tuple(self.events), tuple(self.unmapped), len(items), tuple(self.event_items), items)


def header(request: Request, name: str) -> str | None:
    """Return a header's value whatever the case of its name, or None."""
    value = request.headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == wanted), None)


def require_content_type(request: Request, vendor: str, *accepted: str) -> None:
    """Refuse with 415 unless the media type is one of `accepted` (parameters such as charset aside)."""
    given = (header(request, "Content-Type") or "").split(";", 1)[0].strip().lower()
    if given not in accepted:
        raise Refused(
            415, "wrong_content_type", f"{vendor} sends {' or '.join(accepted)}, not {given or 'no Content-Type'}"
        )


def require_secret(secret: str | None, vendor: str) -> str:
    if not secret:
        raise Refused(401, "no_secret", f"no {vendor} secret is configured, so no request can be verified")
    return secret


def same_secret(given: str | bytes, expected: str | bytes) -> bool:
    """Compare in constant time, so that the answer's timing does not reveal a prefix."""
    left = given.encode() if isinstance(given, str) else given
    right = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(left, right)


def digits(text: str) -> bool:
    """Whether text is a plain ASCII number; str.isdigit alone also takes '²', which int() refuses."""
    return text.isascii() and text.isdigit()


def body_key(source: str, body: bytes) -> str:
    """Return the replay key of a source that signs nothing per request: the body's digest."""
    return f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"


def signed(replay_key: str) -> bool:
    """Whether a replay key is a signature (a repeat is an attack), not a body digest (a repeat is a retry)."""
    return not replay_key.partition(":")[2].startswith("sha256:")


def with_article(name: str) -> str:
    """Return 'a HubSpot', 'an Aircall': the name with the article its first sound asks for."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def parse_json(body: bytes, vendor: str) -> Any:
    """Parse a UTF-8 JSON body, or raise Refused(400)."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise Refused(400, "not_vendor_format", f"not {with_article(vendor)} webhook: the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise Refused(400, "not_vendor_format", f"not {with_article(vendor)} webhook: not JSON: {exc}") from None
    except RecursionError:
        raise Refused(400, "not_vendor_format", f"not {with_article(vendor)} webhook: JSON nested too deep") from None


def not_format(vendor: str, problem: str) -> Refused:
    """Return the Refused(400) for a body that parses but is not what the vendor sends."""
    return Refused(400, "not_vendor_format", f"not {with_article(vendor)} webhook: {problem}")


def check_age(sent_at: datetime, received_at: datetime, max_age_s: int, vendor: str) -> None:
    """Refuse a signed timestamp more than max_age_s away from the arrival, either side."""
    skew = (received_at - sent_at).total_seconds()
    if abs(skew) > max_age_s:
        side = "old" if skew > 0 else "in the future"
        raise Refused(401, "stale", f"{vendor} request timestamp is {abs(skew):.0f} s {side} (limit {max_age_s} s)")
