"""Topic names and keys: where each event type goes, and on which key."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from salespulse.models.events import ActivityEvent, AnyEvent, DealStageEvent, ReviewEvent
from salespulse.streams.topics import TopicNames, event_key

AT = datetime(2026, 11, 25, 9, tzinfo=timezone.utc)
BASE = {"event_id": "e-1", "occurred_at": AT, "team_id": "nl", "rep_id": "ann", "source": "test"}
TOPICS = TopicNames("sp")


def test_every_topic_the_worker_creates() -> None:
    # In the order of the route table; what matters is that each is there, once.
    assert len(set(TOPICS.all())) == len(TOPICS.all())
    assert sorted(TOPICS.all()) == sorted((
        "sp-activities",
        "sp-deal-stages",
        "sp-reviews",
        "sp-mystery-checks",
        "sp-self-reports",
        "sp-dead-letter",
        "sp-activities-by-rep",
        "sp-deal-stages-by-deal",
        "sp-deal-activities-by-deal",
        "sp-reviews-by-rep",
        "sp-mystery-checks-by-team",
        "sp-self-reports-by-rep",
        "sp-deal-figures-by-rep",
        "sp-week-closings",
    ))


@pytest.mark.parametrize(
    ("event", "topic", "key"),
    [
        (ActivityEvent(**BASE, action="call"), "sp-activities", "nl|ann"),  # type: ignore[arg-type]
        (DealStageEvent(**BASE, deal_id="d-7", stage="won"), "sp-deal-stages", "d-7"),  # type: ignore[arg-type]
        (
            ReviewEvent(**BASE, reviewer_id="bob", subject="call", deal_id="d-7", scores={"opening": 3}),  # type: ignore[arg-type]
            "sp-reviews",
            "nl|ann",  # the reviewed rep, so a rep's reviews meet one partition
        ),
    ],
)
def test_ingest_topic_and_key(event: AnyEvent, topic: str, key: str) -> None:
    assert TOPICS.ingest_topic(event) == topic
    assert event_key(event) == key


def test_a_dead_letter_value_over_the_limit_is_cut_and_its_size_kept() -> None:
    from salespulse.models.errors import RejectedEvent
    from salespulse.streams.families.deadletter import TRUNCATED_HEADER, dead_letter_record

    rejection = RejectedEvent("too_large", "1000000 bytes")
    value, headers = dead_letter_record(b"x" * 1_000_000, rejection, "events.jsonl:7", 65_536)
    assert len(value) == 65_536
    assert dict(headers)[TRUNCATED_HEADER] == b"1000000"
    assert dict(headers)["salespulse.reason"] == b"too_large"
    small, small_headers = dead_letter_record(b"{}", rejection, "events.jsonl:8", 65_536)
    assert small == b"{}" and TRUNCATED_HEADER not in dict(small_headers)
