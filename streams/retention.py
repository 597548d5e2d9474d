"""Changelog retention: Kafka forgets what the worker no longer needs.

Buckets and de-duplication ids are never updated once their time has passed, so their changelog
topics are compacted *and* expire by age; the worker drops the same keys from memory itself,
without writing tombstones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import faust

DAY_MS = 86_400_000


def expiring_changelog(days: int) -> dict[str, Any]:
    """Return topic configs for a changelog whose records may go after `days` (plus a day)."""
    return {"cleanup.policy": "compact,delete", "retention.ms": str((days + 1) * DAY_MS)}


class SeenIds:
    """The event ids a KPI family has counted, for de-duplication within the horizon."""

    def __init__(self, app: faust.App, name: str, days: int, clock: Callable[[], datetime]) -> None:
        self.days = days
        self.clock = clock
        self.ids_to_seen_at = app.Table(name, extra_topic_configs=expiring_changelog(days))

    def first_time(self, event_id: str) -> bool:
        """Record the id and tell whether it is new; call from inside an agent."""
        if event_id in self.ids_to_seen_at:
            return False
        self.ids_to_seen_at[event_id] = self.clock().timestamp()
        return True

    def forget_old(self) -> int:
        """Drop ids first seen more than `days` ago (memory only); return how many went."""
        store = self.ids_to_seen_at.data
        limit = (self.clock() - timedelta(days=self.days)).timestamp()
        stale = [key for key, seen_at in store.items() if seen_at < limit]
        for key in stale:
            del store[key]
        return len(stale)
