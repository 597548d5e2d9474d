"""Week verdicts, folded in batches: one per rep and week, replays and bad records included."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from salespulse.streams.engine import Engine
from salespulse.models.config import Settings
from salespulse.models.errors import RejectedEvent
from salespulse.models.targets import TargetSet
from salespulse.streams.families.actions import ActionCounts
from salespulse.streams.changelogs import STAMPS, VALUE
from salespulse.streams.engine.batch import Batch
from salespulse.streams.engine.tables import Origin
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.engine.in_order import InOrder
from salespulse.streams.topics import TopicNames
from salespulse.streams.families.weeks import WeekClosing
from salespulse.streams.family import Wiring

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday; the last closed week began 2026-11-16
SETTINGS = Settings.model_validate({"teams": {"nl": {"reps": {"anna": {"name": "Anna"}, "bram": {"name": "Bram"}}}}, "kafka": {"partitions": 4}})
TARGETS = [TargetSet(team="nl", effective_from="2026-W40", actions={"call": 2})]


class Sink:
    def __init__(self) -> None:
        self.rejected: list[tuple[Any, str]] = []

    async def route(self, event: Any, rejection: RejectedEvent) -> None:
        self.rejected.append((event.key.decode(), rejection.reason))


def closing(key: str, offset: int, week: str = "2026-11-16") -> Any:
    return SimpleNamespace(topic="week-closings", partition=0, offset=offset, key=key.encode(),
                           value=orjson.dumps({"week_monday": week}))


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, Any]]:
    """Changelog records an Outbox would hand to Kafka, captured instead of sent."""
    records: list[tuple[bytes, Any]] = []

    async def send(self: Outbox, app: Any, serialized: Any = lambda: None) -> None:
        serialized()
        records.extend((key, orjson.loads(value or b"null")) for rows in self.records.values() for key, value in rows)

    monkeypatch.setattr(Outbox, "send", send)
    return records


def test_each_rep_and_week_is_judged_once_per_batch_and_across_replays(sent: list[tuple[bytes, Any]]) -> None:
    engine = Engine.create(f"t{id(object())}", store="memory://")
    wiring = Wiring(engine, SETTINGS, TopicNames(engine.app.conf.id), lambda: NOW)
    actions = ActionCounts(wiring)
    # Anna made 3 calls in the closed week (target 2), Bram 1.
    batch = Batch()
    for offset, (rep, day) in enumerate([("anna", 17), ("anna", 18), ("anna", 19), ("bram", 17)]):
        batch.origin = Origin("activities", 0, offset)
        actions.fold_record(orjson.dumps({
            "event_id": f"e{offset}", "type": "activity", "occurred_at": datetime(2026, 11, day, 10, tzinfo=UTC).isoformat(),
            "team_id": "nl", "rep_id": rep, "source": "test", "action": "call"}), batch, NOW.timestamp())
    pacing = SimpleNamespace(target_sets=lambda: TARGETS)
    sink = Sink()
    weeks = WeekClosing(wiring, actions=actions, pacing=pacing, owns_rep=lambda team, rep: True)  # type: ignore[arg-type]
    weeks.reject_to(sink)

    order = InOrder(engine.app)  # the agent's, across its batches (batch_agent)

    async def judge(events: list[Any]) -> None:
        # As the agent does: arranged in offset order, folded, written.
        taken = order.arrange(events)
        assert list(taken) == events
        await weeks.fold_batch(taken)

    # Two workers during a rebalance may both ask for Bram's verdict; a record may be unreadable.
    asyncio.run(judge([closing("nl|anna", 0), closing("nl|bram", 1), closing("nl|bram", 2), closing("nl|bram", 3, "soon")]))
    first = list(sent)
    # Read again after a crash, and asked again by the next timer: nothing changes.
    asyncio.run(judge([closing("nl|anna", 0), closing("nl|bram", 1), closing("nl|anna", 4)]))

    assert dict(weeks.reps_to_verdicts.memory) == {"nl|anna": {"2026-W47": []}, "nl|bram": {"2026-W47": ["call"]}}
    assert sorted(first) == [
        (b'"nl|anna"', {VALUE: {"2026-W47": []}, STAMPS: {"week-closings": 0}}),
        (b'"nl|bram"', {VALUE: {"2026-W47": ["call"]}, STAMPS: {"week-closings": 1}}),
    ]
    assert sent == first
    assert sink.rejected == [("nl|bram", "unprocessable")]
