"""Stage checklists: which fields are missing, and the rolling 30-day figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from salespulse.streams.kpi.checklists import StageCheck, checks_in_window, earlier, missing_content, missing_process

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


# --- process checklists --------------------------------------------------------------------

T = at(10)  # the stage change under test


@pytest.mark.parametrize(
    ("first_actions", "missing"),
    [
        ({"summary_email": T - 60, "meeting": T - 3600}, []),
        ({"summary_email": T, "meeting": T}, []),  # at the very second of the stage change: done
        ({"summary_email": T + 1, "meeting": T - 1}, ["summary_email"]),  # one second too late
        ({"meeting": T - 1}, ["summary_email"]),
        ({"call": T - 1}, ["summary_email", "meeting"]),  # other actions do not count
        ({}, ["summary_email", "meeting"]),
    ],
)
def test_missing_process_in_checklist_order(first_actions: dict[str, float], missing: list[str]) -> None:
    assert missing_process(("summary_email", "meeting"), first_actions, T) == missing


def test_a_stage_without_process_checklist_misses_nothing() -> None:
    assert missing_process((), {}, T) == []


def test_earlier_records_a_first_action() -> None:
    assert earlier({"call": 5.0}, "meeting", 10.0) == {"call": 5.0, "meeting": 10.0}


def test_earlier_moves_an_action_back_in_time() -> None:
    first = {"meeting": 10.0}
    assert earlier(first, "meeting", 7.0) == {"meeting": 7.0}
    assert first == {"meeting": 10.0}  # the stored value is left for the table to replace


@pytest.mark.parametrize("when", [10.0, 11.0])
def test_earlier_ignores_a_repeat_or_later_action(when: float) -> None:
    assert earlier({"meeting": 10.0}, "meeting", when) is None


CHECK = StageCheck(T, "ams", "anna", "proposal", ("budget",), ("summary_email", "meeting"))


def test_an_action_before_the_check_completes_its_item() -> None:
    assert CHECK.with_action("summary_email", T - 3600) == StageCheck(
        T, "ams", "anna", "proposal", ("budget",), ("meeting",)
    )


def test_an_action_at_the_second_of_the_check_completes_its_item() -> None:
    assert CHECK.with_action("meeting", T).missing_process == ("summary_email",)


def test_an_action_after_the_check_does_not_complete_it() -> None:
    assert CHECK.with_action("summary_email", T + 1) == CHECK


def test_with_action_leaves_other_actions_and_content_items_alone() -> None:
    assert CHECK.with_action("call", T - 1) == CHECK
    # A content item is a CRM field, not an action, even when an action has the same name.
    assert CHECK.with_action("budget", T - 1) == CHECK


@pytest.mark.parametrize(
    ("action", "at"),
    [("summary_email", T - 3600), ("meeting", T), ("summary_email", T + 1), ("call", T - 1), ("budget", T - 1)],
)
def test_a_check_awaits_exactly_the_actions_that_change_it(action: str, at: float) -> None:
    stored = json.loads(json.dumps(CHECK.to_json()))
    assert StageCheck.awaits(stored, action, at) == (CHECK.with_action(action, at) != CHECK)
    # Checks stored before process checklists existed await nothing.
    assert not StageCheck.awaits(stored[:5], action, at)


def test_both_process_items_done_late_arriving_make_the_check_process_complete() -> None:
    done = CHECK.with_action("meeting", T - 5).with_action("summary_email", T - 10)
    assert done == StageCheck(T, "ams", "anna", "proposal", ("budget",), ())


def test_window_counts_both_kinds_of_missing_items() -> None:
    checks = [
        StageCheck(at(1), "ams", "anna", "proposal", ("budget",), ("summary_email",)),
        StageCheck(at(2), "ams", "anna", "proposal", (), ("summary_email", "meeting")),
        StageCheck(at(3), "ams", "anna", "proposal", ("budget",), ()),
        StageCheck(at(4), "ams", "anna", "proposal", (), ()),
        StageCheck(at(31), "ams", "anna", "proposal", (), ("summary_email",)),  # outside the window
    ]
    cell = checks_in_window(checks, NOW)[("ams", "anna", "proposal")]
    # Three changes missed something (one of them two kinds at once), one missed nothing.
    assert (cell.complete, cell.incomplete) == (1, 3)
    assert cell.missing == {
        ("content", "budget"): 2,
        ("process", "summary_email"): 2,
        ("process", "meeting"): 1,
    }


def test_a_field_and_an_action_of_the_same_name_are_counted_apart() -> None:
    checks = [StageCheck(at(1), "ams", "anna", "proposal", ("demo",), ("demo",))]
    cell = checks_in_window(checks, NOW)[("ams", "anna", "proposal")]
    assert (cell.complete, cell.incomplete, cell.missing) == (0, 1, {("content", "demo"): 1, ("process", "demo"): 1})


def judge(stage_at: float, fields: dict[str, object], first_actions: dict[str, float]) -> StageCheck:
    """Judge a move into proposal the way the agent does, against a content and a process checklist."""
    return StageCheck(
        stage_at,
        "ams",
        "anna",
        "proposal",
        tuple(missing_content(("budget", "decision_maker"), fields)),
        tuple(missing_process(("summary_email",), first_actions, stage_at)),
    )


def test_complete_and_incomplete_transitions_of_each_kind() -> None:
    filled = {"budget": 5000, "decision_maker": "Ann"}
    sent = {"summary_email": at(9)}
    checks = [
        judge(at(8), filled, sent),  # content complete, process complete
        judge(at(7), {"budget": 5000, "decision_maker": ""}, sent),  # content incomplete
        judge(at(10), filled, sent),  # the e-mail came a day after this one: process incomplete
        judge(at(6), {"budget": None}, {}),  # both incomplete
    ]
    assert [(c.missing, c.missing_process) for c in checks] == [
        ((), ()),
        (("decision_maker",), ()),
        ((), ("summary_email",)),
        (("budget", "decision_maker"), ("summary_email",)),
    ]
    cell = checks_in_window(checks, NOW)[("ams", "anna", "proposal")]
    assert (cell.complete, cell.incomplete) == (1, 3)
    assert cell.missing == {
        ("content", "decision_maker"): 2,
        ("content", "budget"): 1,
        ("process", "summary_email"): 2,
    }


def test_a_late_arriving_earlier_action_turns_an_incomplete_transition_complete() -> None:
    check = judge(at(8), {"budget": 1, "decision_maker": "Ann"}, {})
    assert checks_in_window([check], NOW)[("ams", "anna", "proposal")].incomplete == 1
    fixed = check.with_action("summary_email", at(9))
    cell = checks_in_window([fixed], NOW)[("ams", "anna", "proposal")]
    assert (cell.complete, cell.incomplete, cell.missing) == (1, 0, None)


def test_stage_check_with_process_items_round_trips_as_json() -> None:
    check = StageCheck(at(1), "ams", "anna", "proposal", ("budget",), ("summary_email", "meeting"))
    data = check.to_json()
    assert data == [at(1), "ams", "anna", "proposal", ["budget"], ["summary_email", "meeting"]]
    assert StageCheck.from_json(json.loads(json.dumps(data))) == check


def test_checks_stored_before_process_checklists_still_read() -> None:
    # Changelogs written by earlier versions hold five elements: no process items.
    assert StageCheck.from_json([at(1), "ams", "anna", "qualified", ["budget"]]) == StageCheck(
        at(1), "ams", "anna", "qualified", ("budget",), ()
    )
