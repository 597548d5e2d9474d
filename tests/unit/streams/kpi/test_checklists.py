"""Stage checklists: which fields are missing, and the rolling 30-day figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.kpi.checklists import StageCheck, checks_in_window, missing_content

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"company": "Acme", "budget": 5000, "decision_maker": "Ann"}, []),
        ({"company": "Acme", "budget": 0, "decision_maker": False}, []),  # zero and false are values
        ({"company": "", "budget": None}, ["company", "budget", "decision_maker"]),
        ({"budget": 1}, ["company", "decision_maker"]),
    ],
)
def test_missing_content_in_checklist_order(fields: dict, missing: list[str]) -> None:
    assert missing_content(("company", "budget", "decision_maker"), fields) == missing


def test_a_stage_without_checklist_is_complete() -> None:
    assert missing_content((), {}) == []


def at(days_ago: float) -> float:
    return (NOW - timedelta(days=days_ago)).timestamp()


def test_window_counts_complete_incomplete_and_items() -> None:
    checks = [
        StageCheck(at(1), "ams", "anna", "qualified", ()),
        StageCheck(at(2), "ams", "anna", "qualified", ("budget",)),
        StageCheck(at(3), "ams", "anna", "qualified", ("budget", "company")),
        StageCheck(at(30), "ams", "anna", "qualified", ()),  # exactly 30 days: inside
        StageCheck(at(30.0001), "ams", "anna", "qualified", ("budget",)),  # just outside
        StageCheck(at(-0.01), "ams", "anna", "qualified", ("budget",)),  # in the future: outside
        StageCheck(at(5), "ams", "bram", "proposal", ("budget",)),
    ]
    figures = checks_in_window(checks, NOW)
    anna = figures[("ams", "anna", "qualified")]
    assert (anna.complete, anna.incomplete, anna.missing) == (
        2, 2, {("content", "budget"): 2, ("content", "company"): 1}
    )
    bram = figures[("ams", "bram", "proposal")]
    assert (bram.complete, bram.incomplete, bram.missing) == (0, 1, {("content", "budget"): 1})
    assert set(figures) == {("ams", "anna", "qualified"), ("ams", "bram", "proposal")}


def test_stage_check_round_trips_as_json() -> None:
    check = StageCheck(at(1), "ams", "anna", "qualified", ("budget",))
    assert StageCheck.from_json(check.to_json()) == check
