"""The reviews and mystery checks the web process reads from Kafka itself: from where, what it keeps."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from salespulse.models.config import KafkaSettings
from salespulse.web.history import History, HistoryReader
from tests.unit.web.support import NOW, FakeConsumer, Record, floor


def review(event_id: str, rep: str, reviewer: str, at: datetime, note: str = "", **scores: int) -> bytes:
    return json.dumps({
        "type": "review", "event_id": event_id, "occurred_at": at.isoformat(), "team_id": "amsterdam",
        "rep_id": rep, "source": "test", "reviewer_id": reviewer, "subject": "call",
        "scores": scores or {"opening": 4, "closing": 3, "pain_points": 5}, "note": note,
    }).encode()


def check(event_id: str, deal: str, at: datetime, **points: int) -> bytes:
    return json.dumps({
        "type": "mystery_check", "event_id": event_id, "occurred_at": at.isoformat(), "team_id": "amsterdam",
        "rep_id": "bram", "source": "test", "checker_id": "anna", "month": "2026-12", "deal_id": deal,
        "points": points,
    }).encode()


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def read(records: dict[str, list[Record]]) -> tuple[History, FakeConsumer]:
    """Run the reader over the records until it has caught up; return what it kept and its consumer."""
    history = History(floor())  # retention.review_days: 35
    made: list[FakeConsumer] = []
    if records:  # the reader follows the three topics, and waits until each exists
        records = {"salespulse-reviews": [], "salespulse-mystery-checks": [], "salespulse-self-reports": [], **records}

    def factory(**options: Any) -> FakeConsumer:
        made.append(FakeConsumer(records, **options))
        return made[-1]

    reader = HistoryReader(history, KafkaSettings(), lambda: NOW, consumer_factory=factory, poll_ms=10)

    async def run() -> None:
        following = asyncio.create_task(reader.follow())
        for _ in range(200):
            if history.caught_up:
                break
            await asyncio.sleep(0.01)
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)

    asyncio.run(run())
    return history, made[0]


def test_the_reader_starts_at_the_window_and_keeps_each_valid_review_once() -> None:
    day = timedelta(days=1)
    old, recent, newest = NOW - 40 * day, NOW - 3 * day, NOW - day
    reviews = [
        (ms(old), review("r-old", "anna", "mia", old, "Too old to show.")),
        (ms(recent), review("r-1", "anna", "mia", recent, "Ask for the next step.", opening=2, closing=3, pain_points=4)),
        (ms(recent), b'{"type": "review", "event_id": "broken"}'),  # invalid: skipped
        (ms(recent), None),  # a tombstone
        (ms(newest), review("r-2", "anna", "bram", newest, "Good pace.")),
        (ms(newest), review("r-1", "anna", "mia", recent, "Ask for the next step.", opening=2, closing=3, pain_points=4)),
        (ms(newest), review("r-3", "bram", "mia", newest, "Bram's own note.")),
    ]
    history, consumer = read({"salespulse-reviews": reviews, "salespulse-mystery-checks": []})
    assert consumer.options["group_id"] is None and consumer.stopped
    assert consumer.reads[0] == ("salespulse-reviews", 1), "sought to the first record of the window"
    anna = history.reviews_of("amsterdam", "anna", NOW - 30 * day)
    assert [(r.event_id, r.reviewer_id, r.note) for r in anna] == [
        ("r-2", "bram", "Good pace."), ("r-1", "mia", "Ask for the next step.")]
    assert anna[1].scores == {"opening": 2, "closing": 3, "pain_points": 4}
    assert [r.note for r in history.reviews_of("amsterdam", "bram", NOW - 30 * day)] == ["Bram's own note."]
    assert history.reviews_of("amsterdam", "anna", NOW - 2 * day) == anna[:1], "since a given day"


def test_the_later_check_of_a_deal_stands_with_its_points_per_item() -> None:
    first, later = NOW - timedelta(hours=5), NOW - timedelta(hours=1)
    checks = [
        (ms(first), check("c-1", "D-1", first, lead_profile=50, call_report=0)),
        (ms(later), check("c-2", "D-1", later, lead_profile=50, call_report=100)),
        (ms(later), check("c-3", "D-2", later, lead_profile=0, call_report=100)),
        (ms(later), check("c-0", "D-1", first - timedelta(hours=1), lead_profile=0, call_report=0)),  # older, arriving late
    ]
    history, _ = read({"salespulse-reviews": [], "salespulse-mystery-checks": checks})
    standing = history.checks_of("amsterdam", "2026-12")
    assert {deal: (c.event_id, c.points) for deal, c in standing.items()} == {
        "D-1": ("c-2", {"lead_profile": 50, "call_report": 100}),
        "D-2": ("c-3", {"lead_profile": 0, "call_report": 100}),
    }
    assert history.checks_of("amsterdam", "2026-11") == {}


def test_without_the_topics_there_is_nothing_to_read_and_nothing_waits() -> None:
    history, consumer = read({})
    assert history.caught_up and consumer.reads == [] and consumer.stopped


def test_old_reviews_leave_when_pruned() -> None:
    history = History(floor())
    at = NOW - timedelta(days=20)
    assert history.add_raw(review("r-1", "anna", "mia", at), NOW)
    assert not history.add_raw(review("r-1", "anna", "mia", at), NOW), "once"
    assert not history.add_raw(review("r-2", "anna", "mia", NOW - timedelta(days=36)), NOW), "before the window"
    history.prune(NOW + timedelta(days=16))
    assert history.reviews_of("amsterdam", "anna", NOW - timedelta(days=365)) == []
