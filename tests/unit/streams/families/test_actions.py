"""All-time totals last as long as their rep: named, or active within the retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiokafka.partitioner import murmur2

from salespulse.streams.engine import Engine
from salespulse.models.config import Settings
from salespulse.streams.families.actions import ActionCounts
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.tables import Origin
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.topics import TopicNames
from salespulse.streams.family import Wiring

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = Settings.model_validate(
    {"teams": {"nl": {"reps": {"anna": {"name": "Anna"}}}}, "limits": {"unknown_reps": "accept"}, "kafka": {"partitions": 4}}
)


def activity(event_id: str, rep: str, at: datetime) -> bytes:
    return orjson.dumps({"event_id": event_id, "type": "activity", "occurred_at": at.isoformat(), "team_id": "nl",
                         "rep_id": rep, "source": "test", "schema_version": 1, "action": "call"})


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, bytes, bytes | None]]:
    """Records an Outbox would hand to Kafka, captured instead of sent."""
    records: list[tuple[str, int, bytes, bytes | None]] = []

    async def send(self: Outbox, app: Any, serialized: Any = lambda: None) -> None:
        serialized()
        records.extend((topic, partition, key, value) for (topic, partition), rows in self.records.items() for key, value in rows)

    monkeypatch.setattr(Outbox, "send", send)
    return records


def counts(recovered: bool = True) -> ActionCounts:
    engine = Engine.create(f"t{id(object())}", store="memory://")
    actions = ActionCounts(Wiring(engine, SETTINGS, TopicNames(engine.app.conf.id), lambda: NOW))
    if recovered:
        engine.app.tables.recovery.completed.set()  # type: ignore[attr-defined]
    return actions


def test_totals_of_unnamed_reps_without_a_bucket_left_are_deleted(sent: list) -> None:
    actions = counts()
    batch = Batch()
    long_ago = NOW - timedelta(days=60)
    rows = [activity("1", "anna", long_ago), activity("2", "zed", long_ago), activity("3", "zed", long_ago),
            activity("4", "yan", NOW - timedelta(hours=1))]
    for offset, raw in enumerate(rows):
        batch.origin = Origin("in", 0, offset)
        actions.fold_record(raw, batch, NOW.timestamp())
    assert dict(actions.rep_actions_to_total.data) == {"nl|anna|call": 1, "nl|zed|call": 2, "nl|yan|call": 1}

    asyncio.run(actions.prune())

    # anna is named, yan counted an hour ago; zed is neither, and the 60-day-old buckets are gone.
    assert dict(actions.rep_actions_to_total.data) == {"nl|anna|call": 1, "nl|yan|call": 1}
    topic = actions.rep_actions_to_total.changelog_topic.get_topic_name()
    # The producers' partitioner (murmur2 of the rep key), as the family's input topic uses it.
    partition = (murmur2(b"nl|zed") & 0x7FFFFFFF) % 4
    assert sent == [(topic, partition, b'"nl|zed|call"', None)]

    # A restart reads the tombstone and does not bring the total back.
    recovered = counts()
    recovered.rep_actions_to_total.apply_changelog_batch([
        SimpleNamespace(key="nl|zed|call", value={"~v": 2, "~s": {"in": 2}}, message=SimpleNamespace(partition=partition)),
        SimpleNamespace(key="nl|zed|call", value=None, message=SimpleNamespace(partition=partition)),
    ])
    assert dict(recovered.rep_actions_to_total.data) == {}


def test_nothing_is_retired_while_the_tables_recover(sent: list) -> None:
    actions = counts(recovered=False)
    batch = Batch()
    batch.origin = Origin("in", 0, 0)
    actions.fold_record(activity("1", "zed", NOW - timedelta(days=60)), batch, NOW.timestamp())

    asyncio.run(actions.prune())

    # Totals may be recovered before their rep's buckets: zed's total stays until recovery is done.
    assert dict(actions.rep_actions_to_total.data) == {"nl|zed|call": 1}
    assert sent == []


def test_a_batch_whose_key_was_pruned_while_it_waited_writes_the_rest(sent: list) -> None:
    actions = counts()
    batch = Batch()
    for offset, raw in enumerate([activity("1", "zed", NOW - timedelta(days=60)), activity("2", "anna", NOW)]):
        batch.origin = Origin("in", 0, offset)
        actions.fold_record(raw, batch, NOW.timestamp())
    asyncio.run(actions.prune())  # zed's total and its expired bucket go before the batch is written
    sent.clear()

    asyncio.run(actions.engine.write(batch))

    written = {orjson.loads(key) for _, _, key, value in sent if value is not None and b"nl|" in key}
    assert "nl|zed|call" not in written
    assert "nl|anna|call" in written


def test_weekly_totals_count_each_activity_in_its_team_local_week_and_expire(sent: list) -> None:
    settings = Settings.model_validate({"teams": {"nl": {"timezone": "Europe/Amsterdam", "reps": {"anna": {"name": "Anna"}}}}})
    engine = Engine.create(f"t{id(object())}", store="memory://")
    actions = ActionCounts(Wiring(engine, settings, TopicNames(engine.app.conf.id), lambda: NOW))
    engine.app.tables.recovery.completed.set()  # type: ignore[attr-defined]
    batch = Batch()
    rows = [
        activity("1", "anna", datetime(2026, 11, 22, 22, 59, tzinfo=UTC)),  # Sunday 23:59 in Amsterdam: 2026-W47
        activity("2", "anna", datetime(2026, 11, 22, 23, 0, tzinfo=UTC)),  # Monday 00:00 in Amsterdam: 2026-W48
        activity("3", "anna", datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),  # Wednesday: 2026-W48
        activity("4", "anna", NOW - timedelta(days=399)),  # 22 October 2025: 2025-W43
        activity("5", "anna", NOW - timedelta(days=420)),  # 1 October 2025: 2025-W40
    ]
    for offset, raw in enumerate(rows):
        batch.origin = Origin("in", 0, offset)
        actions.fold_record(raw, batch, NOW.timestamp())
    asyncio.run(actions.engine.write(batch))
    assert dict(actions.rep_weeks_to_count.data) == {
        "nl|anna|call|2026-W47": 1, "nl|anna|call|2026-W48": 2, "nl|anna|call|2025-W43": 1, "nl|anna|call|2025-W40": 1,
    }

    asyncio.run(actions.prune())

    # 400 days (retention.weekly_days' default) before 25 November 2026 is 21 October 2025:
    # 2025-W43 (20 to 26 October) still has days inside, 2025-W40 (29 September to 5 October) none.
    assert set(actions.rep_weeks_to_count.data) == {"nl|anna|call|2026-W47", "nl|anna|call|2026-W48", "nl|anna|call|2025-W43"}
