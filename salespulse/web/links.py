"""One-time sign-in links and the secret they, and the session cookies, are signed with.

A link carries `team/person`, a random link id and how many hours it is valid (at most a week),
signed with itsdangerous' timestamped serializer: a forged or altered link fails the signature,
an old one its age. The ids of used
links are remembered in the process until their links expire, so a link signs in once; a
restart forgets them, and the expiry still bounds how long a used link could be used again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from salespulse.models.config import Settings
from salespulse.models.errors import ConfigError, SalespulseError
from salespulse.web.people import Person, find_person

SECRET_ENV = "SALESPULSE_WEB_SECRET"
MIN_SECRET_CHARS = 32
DEFAULT_LINK_HOURS = 24
MAX_LINK_HOURS = 7 * 24
_LINK_SALT = "salespulse.web.sign-in-link"


class LinkRefused(SalespulseError):
    """A sign-in link that does not sign anyone in; `reason` is forged, expired, used or unknown_person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def web_secret(env: Mapping[str, str] | None = None) -> str:
    """Return the secret of links and sessions from the environment, or say what to set."""
    value = (os.environ if env is None else env).get(SECRET_ENV, "")
    if len(value) < MIN_SECRET_CHARS:
        problem = "is not set" if not value else f"has {len(value)} characters, fewer than {MIN_SECRET_CHARS}"
        raise ConfigError(
            f"{SECRET_ENV} {problem}: `salespulse web` signs sign-in links and session cookies with it; "
            "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return value


def session_key(secret: str) -> bytes:
    """Return the 32 bytes of the session cookies' Fernet key, derived from the secret (not the links' key)."""
    return hmac.new(secret.encode(), b"salespulse.web.session", hashlib.sha256).digest()


class _ClockedSigner(TimestampSigner):
    """itsdangerous' timestamp signer on a clock the caller gives (the tests' own)."""

    def __init__(self, *args: Any, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class SignInLinks:
    """Makes sign-in tokens and redeems each at most once."""

    def __init__(self, settings: Settings, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._serializer = URLSafeTimedSerializer(
            secret, salt=_LINK_SALT, signer=_ClockedSigner, signer_kwargs={"clock": clock}
        )
        self._used: dict[str, float] = {}

    def make(self, person: Person, hours: float = DEFAULT_LINK_HOURS) -> str:
        """Return a token that signs `person` in once, within `hours` (at most MAX_LINK_HOURS)."""
        if not 0 < hours <= MAX_LINK_HOURS:
            raise ConfigError(f"--valid-hours: {hours} is not between 0 and {MAX_LINK_HOURS}")
        data = {"team": person.team, "person": person.id, "link": secrets.token_urlsafe(12), "valid_s": int(hours * 3600)}
        return str(self._serializer.dumps(data))

    def redeem(self, token: str) -> Person:
        """Return the person a valid, unused token names, and mark it used; else raise LinkRefused."""
        try:
            data, signed_at = self._serializer.loads(token, max_age=MAX_LINK_HOURS * 3600, return_timestamp=True)
        except SignatureExpired:
            raise LinkRefused("expired", "this sign-in link has expired; ask your manager for a new one") from None
        except BadSignature:
            raise LinkRefused("forged", "this is not a valid sign-in link") from None
        now = self.clock()
        valid_until = signed_at.timestamp() + int(data["valid_s"])
        if now > valid_until:
            raise LinkRefused("expired", "this sign-in link has expired; ask your manager for a new one")
        self._used = {link: until for link, until in self._used.items() if until > now}
        link = str(data["link"])
        if link in self._used:
            raise LinkRefused("used", "this sign-in link was used before; a link signs in once")
        person = find_person(self.settings, str(data["team"]), str(data["person"]))
        if person is None:
            raise LinkRefused("unknown_person", f"{data['team']}/{data['person']} is no longer in the configuration")
        # Remembered until the link has expired anyway.
        self._used[link] = valid_until + 1
        return person
