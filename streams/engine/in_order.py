"""Each input partition's records, handed to the fold in offset order, and committed no further.

Stamps (see `family`) hold the highest input offset a key reflects, so a partition must be folded
in offset order. Faust does not always deliver it so: at a rebalance or a restart its fetcher can
hand on records fetched before a seek, and its stream drops records of an older consumer
generation, so later records of a partition can come before earlier ones that then never come
again in this life. Faust also commits past such a hole: it takes a jump its fetcher saw as a gap
in the log, and the offset after its last commit as acknowledged once the next one is. A worker
that held the later records and let them be acknowledged lost the earlier ones at its next
rebalance or crash (sums up to 3 % short in the two-worker fault test).

So a record past the next expected offset is neither folded nor acknowledged, and its partition
is sought back to the expected offset: the records come again, in order. A hole that stays after
`CONFIRM_SEEKS` seeks over `CONFIRM_S` seconds is in the log itself (records removed by retention
before a worker read them, transaction markers of a transactional producer) and is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP, Message
from mode.types.signals import BaseSignalT

from salespulse.streams.engine.delivery import EagerDelivery

log = logging.getLogger(__name__)

CONFIRM_SEEKS = 3
CONFIRM_S = 5.0
# Records set aside in one batch are fetched again by one seek; a seek per batch would only
# restart the fetch before it delivers.
SEEK_EVERY_S = 0.5
SEEK_TIMEOUT_S = 30.0


class Consumer(EagerDelivery):
    """Faust's consumer, except that a jump in offsets its fetcher sees is not a gap to commit past.

    The fetcher sees a jump both where the log has none and where it hands on records fetched
    before a seek; only `InOrder` can tell the two apart, and it reports the first kind (`skip`).
    """

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        return None

    async def skip(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Let commits pass offsets `offset_from`..`offset_to`: they are not in the log."""
        await AIOKafkaConsumer._add_gap(self, tp, offset_from, offset_to)


def use_in_order_consumer(app: faust.App) -> None:
    """Make the app's consumer the one `InOrder` works with (before the worker starts)."""
    app.transport.Consumer = Consumer  # type: ignore[misc]


@dataclass
class Hole:
    """Offsets of a partition that did not come when expected."""

    expected: int
    lowest: int  # the lowest offset that came instead since the hole was first seen
    since: float
    seeks: int = 0
    sought_at: float = float("-inf")


class InOrder:
    """Hands each input partition's records to the fold in offset order, whatever order Faust delivers them in."""

    def __init__(self, app: faust.App, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        self.expected: dict[TP, int] = {}
        self.holes: dict[TP, Hole] = {}
        self.seeking: dict[TP, asyncio.Future[None]] = {}
        self.skipping: asyncio.Future[None] | None = None  # kept referenced until it has run
        app.on_partitions_revoked.connect(self._revoked)

    def _revoked(self, sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
        # Another worker reads these partitions from their committed offsets now.
        (revoked,) = args
        for tp in revoked:
            self.expected.pop(tp, None)
            self.holes.pop(tp, None)

    def arrange(self, records: Iterable[Message]) -> list[Message]:
        """Return the records to fold now: each partition's next ones and replays of earlier ones."""
        ready: list[Message] = []
        aside: dict[TP, list[int]] = {}  # partition -> offsets set aside
        for message in records:
            tp, offset = TP(message.topic, message.partition), message.offset
            expected = self.expected.get(tp)
            if expected is None:
                # A partition just assigned starts at its committed offset, which Faust keeps
                # unexposed (it knows it once it has sought there, before records flow), and one
                # the group never committed at the log's start. Taking the first record that came
                # as the start lost records: after a fail-over Faust handed on a partition with no
                # committed offset from offset 1,732 first, and 0-1,731 were never folded by any
                # worker (16 % of two reps' activities in the two-worker fault test); Faust would
                # have committed past them. Offsets removed by retention are skipped as a hole.
                expected = getattr(self.app.consumer, "_committed_offset", {}).get(tp) or 0
            if offset > expected and not self._skipped(tp, expected, offset):
                # Not returned, it is never acknowledged and holds Faust's commit of its partition before it.
                self.expected[tp] = expected
                aside.setdefault(tp, []).append(offset)
                continue
            ready.append(message)
            self.expected[tp] = following = max(expected, offset + 1)
            if self.holes and tp in self.holes and self.holes[tp].expected < following:
                del self.holes[tp]  # filled
        for tp, offsets in aside.items():
            # Set-aside offsets that came again later in the batch are folded already.
            missing = [offset for offset in offsets if offset >= self.expected[tp]]
            if missing:
                self._seek_back(tp, min(missing))
        return ready

    def _skipped(self, tp: TP, expected: int, offset: int) -> bool:
        """Tell whether offsets `expected`..`offset - 1` proved absent from the log; if so skip them."""
        hole = self.holes.get(tp)
        if hole is None or hole.expected != expected:
            return False
        if hole.seeks < CONFIRM_SEEKS or self.clock() - hole.since < CONFIRM_S or offset != hole.lowest:
            return False
        log.warning(
            "%s[%s]: offsets %s..%s did not come after %s seeks in %.0f s; they are not in the log (retention, "
            "transaction markers): going on from %s", tp.topic, tp.partition, expected, offset - 1, hole.seeks,
            self.clock() - hole.since, offset,
        )
        skip = getattr(self.app.consumer, "skip", None)
        if skip is not None:
            # Faust commits conservatively until the gap is recorded: a moment's delay is harmless.
            self.skipping = asyncio.ensure_future(skip(tp, expected, offset - 1))
        del self.holes[tp]
        return True

    def _seek_back(self, tp: TP, lowest: int) -> None:
        """Have a partition's records from the expected offset fetched again, unless they came meanwhile."""
        expected = self.expected[tp]
        hole = self.holes.get(tp)
        if hole is None or hole.expected != expected:
            hole = self.holes[tp] = Hole(expected, lowest, self.clock())
            log.warning("%s[%s]: offset %s came before %s; reading again from %s", tp.topic, tp.partition,
                        lowest, expected, expected)
        hole.lowest = min(hole.lowest, lowest)
        if tp not in self.seeking:
            self.seeking[tp] = asyncio.ensure_future(self._seek(tp))

    async def _seek(self, tp: TP) -> None:
        try:
            hole = self.holes.get(tp)
            wait = hole.sought_at + SEEK_EVERY_S - self.clock() if hole else 0.0
            if wait > 0:
                await asyncio.sleep(wait)
            hole = self.holes.get(tp)
            if hole is None or self.expected.get(tp) != hole.expected:
                return  # filled, or revoked, meanwhile
            hole.seeks += 1
            hole.sought_at = self.clock()
            await asyncio.wait_for(self.app.consumer.seek_wait({tp: hole.expected}), SEEK_TIMEOUT_S)
        except Exception as exc:  # revoked meanwhile, or the broker away: the next batch asks again
            log.info("%s[%s]: reading again failed: %r", tp.topic, tp.partition, exc)
        finally:
            self.seeking.pop(tp, None)
