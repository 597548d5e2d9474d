"""Changelog retention: Kafka forgets what the worker no longer needs.

Buckets and de-duplication ids are never updated once their time has passed, so their changelog
topics are compacted *and* expire by age; the worker drops the same keys from memory itself,
without writing tombstones.
"""

from __future__ import annotations

from typing import Any

DAY_MS = 86_400_000


def expiring_changelog(days: int) -> dict[str, Any]:
    """Return topic configs for a changelog whose records may go after `days` (plus a day)."""
    return {"cleanup.policy": "compact,delete", "retention.ms": str((days + 1) * DAY_MS)}
