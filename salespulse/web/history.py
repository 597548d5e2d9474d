"""What the pages show that the worker does not export: each review with its note, each mystery
check with its points per rubric item, and a rep's latest report on a week with its lessons.

The worker folds reviews into per-day scores and mystery checks into per-deal totals, and exports
no lessons; the notes, the items and the lessons are in the ingest topics. The web process
follows those topics itself:

    <app_id>-reviews, -mystery-checks, -self-reports ── a consumer of its own (no group, nothing
        committed) ── offsets_for_times(now - retention.review_days) ── then it keeps following
    each record ── parse_event, as `publish` ── invalid: skipped (the worker dead-letters and
        counts those) ── by event_id, once ── History: reviews per (team, rep), the latest check
        per (team, month, deal), the latest report per (team, rep, week)

A review older than the topic's own retention is gone from Kafka and cannot be shown (the
ingest topics keep the broker's `log.retention.*`, 7 days unless the broker says otherwise).
What the page itself sent is added at once, so it shows before the consumer reads it back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError, KafkaTimeoutError

from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.errors import RejectedEvent
from salespulse.models.events import AnyEvent, MysteryCheckEvent, ReviewEvent, SelfReportEvent, parse_event
from salespulse.streams.topics import TopicNames, kafka_client_options

log = logging.getLogger(__name__)

ConsumerFactory = Callable[..., Any]
PRUNE_EVERY = timedelta(minutes=10)
ASSIGNMENT_TIMEOUT_S = 30.0


Kept = ReviewEvent | MysteryCheckEvent | SelfReportEvent


class History:
    """The reviews, mystery checks and self-reports of the last `days` days, by event time, each counted once."""

    def __init__(self, settings: Settings, days: int | None = None) -> None:
        self.settings = settings
        self.days = days if days is not None else settings.retention.review_days
        self._seen: dict[str, datetime] = {}  # event id -> occurred_at, to forget with the window
        self._reviews: dict[tuple[str, str], list[ReviewEvent]] = {}
        self._checks: dict[tuple[str, str, str], MysteryCheckEvent] = {}
        self._reports: dict[tuple[str, str, str], SelfReportEvent] = {}
        # Set once the reader has reached the end the topics had when it began.
        self.caught_up = False

    def add_raw(self, raw: bytes | None, now: datetime) -> bool:
        """Add one record as `publish` would validate it; return False for an invalid, old or repeated one."""
        if raw is None:
            return False
        try:
            event = parse_event(raw, self.settings, now)
        except RejectedEvent:
            return False
        return self.add(event, now)

    def add(self, event: AnyEvent, now: datetime) -> bool:
        """Add a review, a mystery check or a self-report; return False for another type, an old or a repeated one."""
        if not isinstance(event, (ReviewEvent, MysteryCheckEvent, SelfReportEvent)) or event.event_id in self._seen:
            return False
        if event.occurred_at < now - timedelta(days=self.days):
            return False
        self._seen[event.event_id] = event.occurred_at
        if isinstance(event, ReviewEvent):
            self._reviews.setdefault((event.team_id, event.rep_id), []).append(event)
        elif isinstance(event, MysteryCheckEvent):
            # The later check of a deal stands, as the worker's record_check decides.
            _keep_later(self._checks, (event.team_id, event.month, event.deal_id), event)
        else:
            # The later report on a week stands, as the worker's self-report fold decides.
            _keep_later(self._reports, (event.team_id, event.rep_id, event.week), event)
        return True

    def reviews_of(self, team: str, rep: str, since: datetime) -> list[ReviewEvent]:
        """Return the rep's reviews that occurred at or after `since`, the newest first."""
        found = [r for r in self._reviews.get((team, rep), []) if r.occurred_at >= since]
        return sorted(found, key=lambda r: (r.occurred_at, r.event_id), reverse=True)

    def checks_of(self, team: str, month: str) -> dict[str, MysteryCheckEvent]:
        """Return the standing check of each deal checked for the team's month, by deal id."""
        return {deal: check for (t, m, deal), check in self._checks.items() if (t, m) == (team, month)}

    def report_of(self, team: str, rep: str, week: str) -> SelfReportEvent | None:
        """Return the rep's standing report on an ISO week, or None."""
        return self._reports.get((team, rep, week))

    def prune(self, now: datetime) -> None:
        """Forget what occurred before the window (a month's checks are all younger: the window is over 30 days)."""
        start = now - timedelta(days=self.days)
        for key, reviews in list(self._reviews.items()):
            kept = [r for r in reviews if r.occurred_at >= start]
            if kept:
                self._reviews[key] = kept
            else:
                del self._reviews[key]
        self._seen = {event_id: at for event_id, at in self._seen.items() if at >= start}
        self._checks = {key: check for key, check in self._checks.items() if check.occurred_at >= start}
        self._reports = {key: report for key, report in self._reports.items() if report.occurred_at >= start}


def _keep_later(kept: dict[tuple[str, str, str], Any], key: tuple[str, str, str], event: Kept) -> None:
    """Keep `event` under `key` unless the one kept there is later, by (occurred_at, event_id)."""
    current = kept.get(key)
    if current is None or (current.occurred_at, current.event_id) < (event.occurred_at, event.event_id):
        kept[key] = event


class HistoryReader:
    """Follows the reviews, mystery-checks and self-reports topics into a History, again after any Kafka error."""

    def __init__(
        self, history: History, kafka: KafkaSettings, clock: Callable[[], datetime], *,
        consumer_factory: ConsumerFactory = AIOKafkaConsumer, retry_s: float = 5.0, poll_ms: int = 1000,
    ) -> None:
        self.history = history
        self.kafka = kafka
        self.clock = clock
        names = TopicNames(history.settings.kafka.app_id)
        self.topics: Sequence[str] = (names.reviews, names.mystery_checks, names.self_reports)
        self.consumer_factory = consumer_factory
        self.retry_s = retry_s
        self.poll_ms = poll_ms

    async def run(self) -> None:
        """Follow the topics until cancelled."""
        while True:
            try:
                await self.follow()
            except (KafkaError, OSError) as exc:
                log.warning("web: reading %s failed (%r); again in %g s", ", ".join(self.topics), exc, self.retry_s)
            await asyncio.sleep(self.retry_s)

    async def follow(self) -> None:
        """Read from the window's start, then keep reading; return when a topic does not exist yet."""
        consumer = self.consumer_factory(
            **kafka_client_options(self.kafka), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
        )
        try:
            await consumer.start()
            existing = await consumer.topics()
            if any(topic not in existing for topic in self.topics):
                # Created by `salespulse publish`, the gateway or the worker; until then there is nothing to show.
                self.history.caught_up = True
                return
            # Without a group, a subscribed consumer is assigned every partition of its topics (as
            # changelogs.read_to_end); partitions_for_topic would need metadata topics() does not keep.
            consumer.subscribe(list(self.topics))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + ASSIGNMENT_TIMEOUT_S
            while not consumer.assignment():
                if loop.time() > deadline:
                    raise KafkaTimeoutError(f"no partition of {', '.join(self.topics)} assigned within {ASSIGNMENT_TIMEOUT_S:g} s")
                await asyncio.sleep(0.1)
            tps = sorted(consumer.assignment())
            start_ms = int((self.clock() - timedelta(days=self.history.days)).timestamp() * 1000)
            found = await consumer.offsets_for_times({tp: start_ms for tp in tps})
            for tp in tps:
                if found.get(tp) is None:  # nothing as recent as the window's start
                    await consumer.seek_to_end(tp)
                else:
                    consumer.seek(tp, found[tp].offset)
            ends = await consumer.end_offsets(tps)
            pruned = self.clock()
            while True:
                batch = await consumer.getmany(*tps, timeout_ms=self.poll_ms)
                now = self.clock()
                for records in batch.values():
                    for record in records:
                        self.history.add_raw(record.value, now)
                if not self.history.caught_up:
                    positions = [await consumer.position(tp) for tp in tps]
                    self.history.caught_up = all(at >= ends[tp] for at, tp in zip(positions, tps))
                if now - pruned > PRUNE_EVERY:
                    self.history.prune(now)
                    pruned = now
        finally:
            await consumer.stop()
