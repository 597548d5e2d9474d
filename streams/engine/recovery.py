"""Whether a worker's tables are complete: recovered from their changelogs, no rebalance under way."""

from __future__ import annotations

from collections.abc import Callable

import faust
from faust.tables import TableManager


def tables_remaining(app: faust.App) -> Callable[[], int | None]:
    """Return a reader of the changelog records left to recover: None once the tables are complete."""

    def remaining() -> int | None:
        # The table manager's recovery service is not on its typed interface.
        recovery = app.tables.recovery  # type: ignore[attr-defined]
        if recovery.completed.is_set() and not recovery.in_recovery:
            return None
        return int(recovery.active_remaining_total()) if recovery.in_recovery else 0

    return remaining


class TablesDefinedAtStart(TableManager):
    """Faust's table manager, without the second it sleeps at start for tables to be defined.

    Every table is created with the app (`pipeline.build_pipeline`), before the worker starts:
    the sleep only delayed each start and restart, and a restarted worker's first /metrics, by 1 s.
    """

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()
