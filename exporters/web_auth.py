"""Basic auth for /metrics against the bcrypt hashes of the web configuration file."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import bcrypt

# Checked when the user is unknown, so that a wrong user name takes as long as a wrong password.
# A constant: hashing one at import would cost every command that loads the pipeline ~0.2 s.
_NOBODY = b"$2b$12$sZwjgqw6eaCpmeqtdo6T5uypFXvgBa9qEsRdLJfq59j1/aempUJPi"


class BasicAuth:
    """Tells whether an Authorization header names a user and the password of its hash.

    bcrypt is slow on purpose (tens of milliseconds); Prometheus sends the same credentials at
    every scrape, so a pair once verified is remembered (as a SHA-256 digest, not in clear).
    """

    def __init__(self, users: dict[str, str]) -> None:
        self.users = {user: digest.encode() for user, digest in users.items()}
        self.verified: set[bytes] = set()

    def allows(self, header: str | None) -> bool:
        """Check an `Authorization: Basic ...` header."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        known = self.users.get(user)
        pair = hashlib.sha256(f"{user}\0{password}".encode()).digest()
        if known is not None and any(hmac.compare_digest(pair, seen) for seen in self.verified):
            return True
        ok = bcrypt.checkpw(password.encode(), known or _NOBODY) and known is not None
        if ok:
            self.verified.add(pair)
        return ok


def hash_password(password: str) -> str:
    """Return the bcrypt hash to put under basic_auth_users."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()
