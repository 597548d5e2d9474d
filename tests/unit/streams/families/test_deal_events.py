"""One agent for the deal topics: each record parsed once and folded into every deal family."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from salespulse.streams.engine import Engine
from salespulse.models.config import Settings
from salespulse.models.errors import RejectedEvent
from salespulse.streams.families.checklists import StageChecklists
from salespulse.streams.families.deal_events import DealEvents
from salespulse.streams.families.deal_figures import DealFigures
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.engine.in_order import InOrder
from salespulse.streams.families.mystery import MysteryChecks
from salespulse.streams.topics import TopicNames
from salespulse.streams.families.velocity import DealVelocity
from salespulse.streams.family import Wiring

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = Settings.model_validate({
    "kafka": {"partitions": 4},
    "checklists": {"proposal": {"process": ["call"]}},
})
STAGES, ACTIVITIES = "sp-deal-stages-by-deal", "sp-deal-activities-by-deal"


def stage(event_id: str, stage: str, at: str, rep: str = "ann") -> bytes:
    return orjson.dumps({"type": "deal_stage", "event_id": event_id, "occurred_at": at, "team_id": "nl",
                         "rep_id": rep, "source": "test", "deal_id": "d1", "stage": stage})


def call(event_id: str, at: str) -> bytes:
    return orjson.dumps({"type": "activity", "event_id": event_id, "occurred_at": at, "team_id": "nl",
                         "rep_id": "ann", "source": "test", "deal_id": "d1", "action": "call"})


def record(topic: str, offset: int, value: bytes) -> Any:
    return SimpleNamespace(topic=topic, partition=0, offset=offset, key=b"d1", value=value)


class Sink:
    def __init__(self) -> None:
        self.rejected: list[tuple[str, int, str]] = []

    async def route(self, event: Any, rejection: RejectedEvent) -> None:
        self.rejected.append((event.topic, event.offset, rejection.detail.split(":")[0]))


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    records: list[tuple[str, bytes]] = []

    async def send(self: Outbox, app: Any, serialized: Any = lambda: None) -> None:
        serialized()
        records.extend((topic, key) for (topic, _), rows in self.records.items() for key, _ in rows)

    monkeypatch.setattr(Outbox, "send", send)
    return records


def test_each_record_reaches_every_deal_family_once(sent: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.create("sp", store="memory://")
    topics = TopicNames("sp")
    duplicates: Counter[str] = Counter()
    wiring = Wiring(engine, SETTINGS, topics, lambda: NOW, duplicates)
    figures = DealFigures(wiring)
    velocity = DealVelocity(wiring, figures=figures)
    checklists = StageChecklists(wiring, figures=figures)
    mystery = MysteryChecks(wiring)
    deals = DealEvents(wiring, families=(velocity, checklists, mystery.deal_months))
    assert deals.topic.topics == (STAGES, ACTIVITIES)
    sink = Sink()
    deals.reject_to(sink)
    judge = checklists.judge

    def judge_but_fail_on_e4(event: Any, batch: Any) -> None:
        if event.event_id == "e4":
            raise RuntimeError("checklist bug")
        judge(event, batch)

    monkeypatch.setattr(checklists, "judge", judge_but_fail_on_e4)
    records = [
        record(STAGES, 0, stage("e1", "lead", "2026-11-02T09:00:00Z")),
        record(ACTIVITIES, 0, call("a1", "2026-11-03T09:00:00Z")),
        record(STAGES, 1, stage("e2", "proposal", "2026-11-04T09:00:00Z")),
        record(STAGES, 2, stage("e2", "proposal", "2026-11-04T09:00:00Z")),  # the producer sent it twice
        record(STAGES, 3, b'{"type": "deal_stage"'),
        record(STAGES, 4, stage("e4", "won", "2026-11-06T09:00:00Z")),
    ]

    async def run() -> list[Any]:
        # As the agent does (batch_agent): arranged in offset order, folded, written.
        taken = InOrder(engine.app).arrange(records)
        await deals.fold_batch(taken)
        return list(taken)

    assert asyncio.run(run()) == records
    # Velocity saw the four stage changes of which three are distinct, and not the call.
    assert sorted(velocity.seen.memory) == ["e1", "e2", "e4"]  # type: ignore[union-attr]
    assert duplicates["deal_stage"] == 1
    assert velocity.deals_to_history.data["d1"]["outcome"] == "won"
    # Checklists judged e1 and e2 (the call came before the proposal), not e4, which failed.
    checks = checklists.deals_to_stage_checks.data["d1"]
    assert [(stage, process) for _, _, _, stage, _, process in checks] == [("lead", []), ("proposal", [])]
    assert checklists.deals_to_first_actions.data["d1"] == {"call": datetime(2026, 11, 3, 9, tzinfo=UTC).timestamp()}
    # The mystery draw knows the deal was active in November, last on the 6th (e4 reached it).
    assert mystery.deal_months.deals_to_active_months.data["d1"]["months"]["2026-11"][0] == \
        datetime(2026, 11, 6, 9, tzinfo=UTC).timestamp()
    assert sink.rejected == [(STAGES, 3, "judge_deals"), (STAGES, 4, "StageChecklists")]
    # One changelog record per changed key, and the decided deal forwarded to Ann's partition.
    assert sorted(sent) == sorted([
        ("sp-deals_to_history-changelog", b'"d1"'),
        ("sp-deals_to_stage_checks-changelog", b'"d1"'),
        ("sp-deals_to_first_actions-changelog", b'"d1"'),
        ("sp-deals_to_active_months-changelog", b'"d1"'),
        ("sp-deal_event_ids_to_seen_at-changelog", b'"sp-deal-stages-by-deal/0/0"'),
        ("sp-stage_check_ids_to_seen_at-changelog", b'"sp-deal-stages-by-deal/0/0"'),
        ("sp-deal-figures-by-rep", b"nl|ann"),
        ("sp-deal-figures-by-rep", b"nl|ann"),
    ])


@pytest.fixture
def deals() -> tuple[DealEvents, StageChecklists]:
    engine = Engine.create(f"sp{id(object())}", store="memory://")
    topics = TopicNames("sp")
    wiring = Wiring(engine, SETTINGS, topics, lambda: NOW)
    figures = DealFigures(wiring)
    velocity = DealVelocity(wiring, figures=figures)
    checklists = StageChecklists(wiring, figures=figures)
    mystery = MysteryChecks(wiring)
    return DealEvents(wiring, families=(velocity, checklists, mystery.deal_months)), checklists


def forwarded(deals: DealEvents, sent: list[tuple[str, bytes]], records: list[Any]) -> list[bytes]:
    """Fold one batch; return the rep keys of the deal figures it forwarded."""
    sent.clear()
    asyncio.run(deals.fold_batch(records))
    return [key for topic, key in sent if topic == "sp-deal-figures-by-rep"]


def changelogs(sent: list[tuple[str, bytes]]) -> list[str]:
    return sorted(topic.split("-", 1)[1] for topic, _ in sent if topic.endswith("-changelog"))


def test_checks_are_forwarded_when_an_activity_changes_them_not_for_every_activity(
    sent: list[tuple[str, bytes]], deals: tuple[DealEvents, StageChecklists]
) -> None:
    judge_deals, checklists = deals
    # The proposal is judged without a call: its process checklist misses one.
    assert forwarded(judge_deals, sent, [record(STAGES, 0, stage("e1", "proposal", "2026-11-04T09:00:00Z"))]) == [b"nl|ann"]
    # A call after the proposal completes nothing, so nothing is forwarded.
    assert forwarded(judge_deals, sent, [record(ACTIVITIES, 0, call("a1", "2026-11-05T09:00:00Z"))]) == []
    # A late call from before the proposal completes it: the checks go to Ann again.
    assert forwarded(judge_deals, sent, [record(ACTIVITIES, 1, call("a2", "2026-11-03T09:00:00Z"))]) == [b"nl|ann"]
    assert [check[5] for check in checklists.deals_to_stage_checks.data["d1"]] == [[]]


def test_a_replayed_activity_forwards_the_checks_it_changed_again(
    sent: list[tuple[str, bytes]], deals: tuple[DealEvents, StageChecklists]
) -> None:
    """After a crash the changelog records may have landed and the forwarded figures not."""
    judge_deals, checklists = deals
    forwarded(judge_deals, sent, [record(STAGES, 0, stage("e1", "proposal", "2026-11-04T09:00:00Z"))])
    late_call = [record(ACTIVITIES, 0, call("a1", "2026-11-03T09:00:00Z"))]
    assert forwarded(judge_deals, sent, late_call) == [b"nl|ann"]
    # Read again with every table already reflecting it: nothing changes, the checks go again.
    assert forwarded(judge_deals, sent, late_call) == [b"nl|ann"]
    assert changelogs(sent) == []
    # Only the checks' record had landed: the first call is recorded again, the checks go again.
    first = checklists.deals_to_first_actions
    del first.memory["d1"], first.stamps["d1"]
    assert forwarded(judge_deals, sent, late_call) == [b"nl|ann"]
    assert changelogs(sent) == ["deals_to_first_actions-changelog"]


def test_only_the_reps_whose_checks_changed_get_them_again_but_every_rep_on_a_replay(
    sent: list[tuple[str, bytes]], deals: tuple[DealEvents, StageChecklists]
) -> None:
    judge_deals, _ = deals
    first = [record(STAGES, 0, stage("e1", "lead", "2026-11-02T09:00:00Z", rep="ann"))]
    assert forwarded(judge_deals, sent, first) == [b"nl|ann"]
    second = [record(STAGES, 1, stage("e2", "proposal", "2026-11-04T09:00:00Z", rep="bob"))]
    assert forwarded(judge_deals, sent, second) == [b"nl|bob"]
    # Ann's lead needs no call, so a late call changes Bob's proposal check alone.
    late_call = [record(ACTIVITIES, 0, call("a1", "2026-11-03T09:00:00Z"))]
    assert forwarded(judge_deals, sent, late_call) == [b"nl|bob"]
    # Read again after a crash: what was forwarded then may be lost, so every rep's checks go.
    assert sorted(forwarded(judge_deals, sent, second)) == [b"nl|ann", b"nl|bob"]
    assert sorted(forwarded(judge_deals, sent, late_call)) == [b"nl|ann", b"nl|bob"]
