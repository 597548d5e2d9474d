"""A batch: the changes folding one batch of records makes, written to Kafka together at its end."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Protocol

from faust.types import Message

from salespulse.models.errors import RejectedEvent
from salespulse.streams.engine.tables import Origin, StampedTable

log = logging.getLogger(__name__)


class RejectSink(Protocol):
    """Where records an agent cannot process go: the dead-letter topic."""

    async def route(self, record: Message, rejection: RejectedEvent) -> None: ...


@dataclass
class Batch:
    """The changes one batch makes, written to the changelogs together at its end."""

    origin: Origin = Origin("", 0, -1)
    changed: dict[tuple[StampedTable, Any], int] = field(default_factory=dict)
    # Keys a record reached that already reflected it (a replay after a crash): what the first
    # reading forwarded may not have reached Kafka, so all of it is forwarded again.
    replayed: set[tuple[StampedTable, Any]] = field(default_factory=set)
    # Records the fold raised on, with why: they go to the dead-letter topic, the batch goes on.
    failed: list[tuple[Message, RejectedEvent]] = field(default_factory=list)
    # (table, key) -> the (team, rep)s whose forwarded figures of that key this batch must send
    # again: kept with the batch, not the family, as two agents' batches can reach the same key.
    reps: dict[tuple[StampedTable, Any], set[tuple[str, str]]] = field(default_factory=dict)

    def fold_each(self, records: Iterable[Message], where: str, fold: Callable[[Message], None]) -> None:
        """Fold each record with `origin` set to where it was read; one that raises is set aside, the rest go on."""
        for record in records:
            self.origin = Origin.of(record)
            try:
                fold(record)
            except Exception as exc:  # one bad record must not stop the agent or be lost
                self.fail(record, where, exc)

    def fail(self, record: Message, where: str, exc: Exception) -> None:
        """Set a record aside that could not be processed."""
        log.exception("%s cannot process %s[%s] offset %s", where, *Origin.of(record))
        self.reject(record, RejectedEvent("unprocessable", f"{where}: {type(exc).__name__}: {exc}"))

    def reject(self, record: Message, rejection: RejectedEvent) -> None:
        """Set a record aside for the dead-letter topic, sent with the batch's write."""
        self.failed.append((record, rejection))

    def update(self, table: StampedTable, key: Any, change: Callable[[Any], Any]) -> None:
        """Apply `change` to the key's value (None when absent), unless the key already has it."""
        if self.fresh(table, key):
            self.put(table, key, change(table.memory.get(key)))

    def add(self, table: StampedTable, key: Any, amount: int = 1) -> None:
        """Add to a count (`update`, without a function made and called per event)."""
        if self.fresh(table, key):
            self.put(table, key, (table.memory.get(key) or 0) + amount)

    def fresh(self, table: StampedTable, key: Any) -> bool:
        """Tell whether the key's value does not include the record at `origin` yet; note it replayed if it does."""
        if table.reflects(key, self.origin):
            self.replayed.add((table, key))
            return False
        return True

    def put(self, table: StampedTable, key: Any, value: Any) -> None:
        """Set a key that is `fresh`, stamped with `origin`; its changelog record goes with the batch."""
        origin = self.origin
        table.put(key, value, origin)
        self.changed[(table, key)] = origin.partition

    def replay(self, table: StampedTable, key: Any) -> None:
        """Note a key whose forwarded figures are to be sent again, as a replayed record reached it."""
        self.replayed.add((table, key))

    def note_reps(self, table: StampedTable, key: Any, reps: Iterable[tuple[str, str]]) -> None:
        """Note (team, rep)s whose figures of a key `forward` must send for this batch."""
        noted = self.reps.get((table, key))
        if noted is None:
            noted = self.reps[(table, key)] = set()
        noted.update(reps)

    def noted_reps(self, table: StampedTable, key: Any) -> set[tuple[str, str]]:
        """Return the (team, rep)s noted for a key (`note_reps`)."""
        return self.reps.get((table, key), set())

    def reached(self, table: StampedTable) -> set[Any]:
        """Return the table's keys this batch changed or found reflecting a record already (`replayed`)."""
        return {key for held, key in chain(self.changed, self.replayed) if held is table}
