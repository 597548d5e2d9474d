"""The ingest agent: events keyed as the worker would key them are folded where they are read."""

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
from salespulse.streams.families.actions import ActionCounts
from salespulse.streams.families.checklists import StageChecklists
from salespulse.streams.families.deadletter import DeadLetter
from salespulse.streams.families.deal_events import DealEvents
from salespulse.streams.families.deal_figures import DealFigures
from salespulse.streams.engine.writes import Outbox
from salespulse.streams.families.ingest import Ingest
from salespulse.streams.families.mystery import MysteryChecks
from salespulse.streams.topics import TopicNames, partition_of
from salespulse.streams.families.velocity import DealVelocity
from salespulse.streams.family import Wiring

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PARTITIONS = 4
SETTINGS = Settings.model_validate({
    "kafka": {"app_id": "sp", "partitions": PARTITIONS},
    "teams": {"nl": {"reps": {"ann": {"name": "Ann"}}}},
    "checklists": {"proposal": {"content": ["budget"]}},
})


def stage(event_id: str, deal: str, stage_name: str, at: str = "2026-11-24T09:00:00Z", rep: str = "ann") -> bytes:
    return orjson.dumps({"type": "deal_stage", "event_id": event_id, "occurred_at": at,
                         "team_id": "nl", "rep_id": rep, "source": "test", "deal_id": deal, "stage": stage_name})


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> tuple[Ingest, DealVelocity, StageChecklists, list[tuple[str, int, bytes]]]:
    sent: list[tuple[str, int, bytes]] = []

    async def send(self: Outbox, app: Any, serialized: Any = lambda: None) -> None:
        serialized()
        sent.extend((topic, partition, key) for (topic, partition), rows in self.records.items() for key, _ in rows)

    monkeypatch.setattr(Outbox, "send", send)
    engine = Engine.create("sp", store="memory://")
    topics = TopicNames("sp")
    clock = lambda: NOW  # noqa: E731
    duplicates: Counter[str] = Counter()
    wiring = Wiring(engine, SETTINGS, topics, clock, duplicates)
    figures = DealFigures(wiring)
    velocity = DealVelocity(wiring, figures=figures)
    checklists = StageChecklists(wiring, figures=figures)
    mystery = MysteryChecks(wiring)
    deals = DealEvents(wiring, families=(velocity, checklists, mystery.deal_months))
    actions = ActionCounts(wiring)
    ingest = Ingest(wiring, actions=actions, deals=deals)
    ingest.reject_to(DeadLetter(wiring))
    return ingest, velocity, checklists, sent


def read(key: bytes, partition: int, offset: int, value: bytes) -> Any:
    return SimpleNamespace(topic="sp-deal-stages", partition=partition, offset=offset, key=key, value=value)


def test_a_stage_change_keyed_by_its_deal_is_judged_where_it_is_read_and_not_sent_on(pipeline: Any) -> None:
    ingest, velocity, checklists, sent = pipeline
    deal = "d7"
    home = partition_of(deal, PARTITIONS)
    asyncio.run(ingest.fold_batch([read(deal.encode(), home, 0, stage("e1", deal, "proposal")),
                                   read(deal.encode(), home, 1, stage("e1", deal, "proposal")),
                                   read(deal.encode(), home, 2, stage("e2", deal, "won"))]))
    assert velocity.deals_to_history.memory[deal]["outcome"] == "won"
    assert velocity.duplicates["deal_stage"] == 1
    assert [check[4] for check in checklists.deals_to_stage_checks.memory[deal]] == [["budget"], []]
    topics = Counter(topic for topic, _, _ in sent)
    assert "sp-deal-stages-by-deal" not in topics
    # One changelog record per changed key, on the deal's partition, and the decided deal and
    # Ann's checks forwarded to her partition.
    assert {(topic, partition) for topic, partition, _ in sent if topic.endswith("-changelog")} == {
        (f"sp-{table}-changelog", home) for table in (
            "deals_to_history", "deals_to_stage_checks", "deals_to_active_months",
            "deal_event_ids_to_seen_at", "stage_check_ids_to_seen_at")
    }
    assert topics["sp-deal-figures-by-rep"] == 2


def test_a_stage_change_keyed_otherwise_is_re_keyed_by_its_deal(pipeline: Any) -> None:
    ingest, velocity, _, sent = pipeline
    deal = "d7"
    elsewhere = (partition_of(deal, PARTITIONS) + 1) % PARTITIONS
    asyncio.run(ingest.fold_batch([read(b"nl|ann", elsewhere, 0, stage("e1", deal, "won")),
                                   read(None, partition_of(deal, PARTITIONS), 1, stage("e2", deal, "won"))]))
    assert deal not in velocity.deals_to_history.memory
    assert sorted(sent) == [("sp-deal-stages-by-deal", partition_of(deal, PARTITIONS), deal.encode())] * 2


@pytest.mark.parametrize("winner", ["ann", "bob"])
def test_a_deal_figure_forwarded_by_both_agents_is_read_when_written_not_when_folded(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch, winner: str
) -> None:
    """Ingest and judge_deals both fold a deal's stage changes; the later write must not carry the older figure.

    Ingest folds a stage change its producer keyed by deal; judge_deals folds one of the same
    deal that came without a key and was re-keyed. Each agent's write waits for its own previous
    write, so a batch folded first can reach Kafka second. The rep's table keeps the last figure
    it is sent: a figure read from memory at fold time would undo the newer one (a won deal
    shown as lost, its time to decision shorter), or give back credit that had moved.
    """
    ingest, velocity, _, _ = pipeline
    figures: list[tuple[str, Any]] = []  # (figure key, value), in the order the rep's table reads them

    async def send(self: Outbox, app: Any, serialized: Any = lambda: None) -> None:
        serialized()
        for (topic, _), rows in self.records.items():
            if topic == "sp-deal-figures-by-rep":
                figures.extend((record["key"], record["value"]) for record in map(orjson.loads, (v for _, v in rows)))

    monkeypatch.setattr(Outbox, "send", send)
    deal = "d7"
    home = partition_of(deal, PARTITIONS)
    # Ann marks the deal lost on the 24th; her CRM keys it by deal, so ingest folds it.
    lost = ingest.fold_batch([read(deal.encode(), home, 0, stage("e2", deal, "lost", at="2026-11-24T09:00:00Z"))])
    # It had been won on the 20th; that change came without a key and reaches judge_deals re-keyed,
    # folded before ingest's write has had its turn.
    won = ingest.deals.fold_batch([SimpleNamespace(
        topic="sp-deal-stages-by-deal", partition=home, offset=0, key=deal.encode(),
        value=stage("e1", deal, "won", at="2026-11-20T09:00:00Z", rep=winner))])

    async def judge_deals_writes_first() -> None:
        await won
        await lost

    asyncio.run(judge_deals_writes_first())
    # The earliest decision stands: won, on the 20th, the deal's first event.
    history = velocity.deals_to_history.memory[deal]
    twentieth = datetime(2026, 11, 20, 9, tzinfo=UTC).timestamp()
    assert (history["outcome"], history["rep"], history["decided_at"], history["created_at"]) == \
        ("won", winner, twentieth, twentieth)
    last = dict(figures)  # each figure key's last value, as the rep's table keeps it
    assert last[f"velocity|nl|{winner}|d7"] == history
    if winner != "ann":
        # Ann's credit was withdrawn, and nothing written after gave it back.
        assert last["velocity|nl|ann|d7"] is None
