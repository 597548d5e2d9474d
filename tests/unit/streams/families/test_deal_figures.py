"""Deal figures forwarded by rep: what reaches the rep's partition, and what the owner exports."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from salespulse.streams.engine import Engine
from salespulse.models.config import Settings
from salespulse.streams.families.deal_figures import DealFigures
from salespulse.streams.kpi.velocity import DealHistory
from salespulse.streams.topics import TopicNames, partition_of
from tests.unit.streams.families import forwarding
from salespulse.streams.families.velocity import DealVelocity
from salespulse.streams.family import Wiring

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = Settings.model_validate({"kafka": {"partitions": 8}})


def stage(event_id: str, deal: str, stage: str, at: str, rep: str, team: str = "nl") -> bytes:
    return orjson.dumps({"type": "deal_stage", "event_id": event_id, "occurred_at": at, "team_id": team,
                         "rep_id": rep, "source": "test", "deal_id": deal, "stage": stage})


@pytest.fixture
def families() -> tuple[DealVelocity, DealFigures]:
    engine = Engine.create(f"t{id(object())}", store="memory://")
    topics = TopicNames("sp")
    wiring = Wiring(engine, SETTINGS, topics, lambda: NOW)
    figures = DealFigures(wiring)
    return DealVelocity(wiring, figures=figures), figures


def run_batch(family: DealVelocity, rows: list[tuple[int, bytes]]) -> forwarding.Forwarded:
    return forwarding.run_batch(family, rows, NOW)


def apply(figures: DealFigures, forwarded: forwarding.Forwarded, first_offset: int) -> None:
    forwarding.apply(figures, forwarded, first_offset, NOW)


def test_a_decided_deal_goes_to_its_reps_partition_and_an_open_one_nowhere(families) -> None:
    velocity, figures = families
    assert run_batch(velocity, [(0, stage("e1", "d1", "lead", "2026-11-01T09:00:00Z", "ann"))]) == []
    sent = run_batch(velocity, [(1, stage("e2", "d1", "won", "2026-11-03T09:00:00Z", "bob"))])
    created, decided = datetime(2026, 11, 1, 9, tzinfo=UTC).timestamp(), datetime(2026, 11, 3, 9, tzinfo=UTC).timestamp()
    assert sent == [(partition_of("nl|bob", 8), "nl|bob", {"key": "velocity|nl|bob|d1", "value": {
        "created_at": created, "last_at": decided, "decided_at": decided, "decision_event_id": "e2",
        "outcome": "won", "team": "nl", "rep": "bob"}})]
    apply(figures, sent, 0)
    assert figures.histories() == [DealHistory(created, decided, decided, "e2", "won", "nl", "bob")]


def test_credit_that_moves_to_another_rep_is_withdrawn_from_the_first(families) -> None:
    velocity, figures = families
    first = run_batch(velocity, [(0, stage("e1", "d1", "lost", "2026-11-05T09:00:00Z", "ann"))])
    # A late event: the deal was decided earlier, by bob.
    second = run_batch(velocity, [(1, stage("e0", "d1", "won", "2026-11-04T09:00:00Z", "bob"))])
    assert sorted((key, record["key"], record["value"] and record["value"]["rep"]) for _, key, record in second) == [
        ("nl|ann", "velocity|nl|ann|d1", None),
        ("nl|bob", "velocity|nl|bob|d1", "bob"),
    ]
    apply(figures, first, 0)
    apply(figures, second, 10)
    assert [(h.rep, h.outcome) for h in figures.histories()] == [("bob", "won")]


def test_a_replayed_batch_forwards_again_what_it_already_changed(families) -> None:
    """The changelog record landed before a crash, the forwarded figure did not."""
    velocity, _ = families
    rows = [(0, stage("e1", "d1", "won", "2026-11-03T09:00:00Z", "ann"))]
    first = run_batch(velocity, rows)
    assert run_batch(velocity, rows) == first
    assert velocity.duplicates["deal_stage"] == 0


def test_applying_a_figure_twice_changes_nothing(families) -> None:
    velocity, figures = families
    sent = run_batch(velocity, [(0, stage("e1", "d1", "won", "2026-11-03T09:00:00Z", "ann"))])
    apply(figures, sent, 0)
    apply(figures, sent, 0)
    apply(figures, sent, 5)  # forwarded again after a crash: a new record, the same value
    assert len(figures.histories()) == 1
