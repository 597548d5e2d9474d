"""The weekly review: one this-week-vs-last-week table per configured action."""

from __future__ import annotations

from typing import Any

from dashboards.build import panel_queries
from dashboards.common import dashboard_json
from dashboards.weekly_review import weekly_review
from models.config import DEFAULT_ACTIONS, parse_settings


def review(actions: tuple[str, ...]) -> dict[str, Any]:
    return dashboard_json(weekly_review(parse_settings({"actions": list(actions)})))


def action_tables(board: dict[str, Any]) -> list[str]:
    tables = [p["title"] for p in board["panels"] if p["type"] == "table"]
    return [title for title in tables if title.endswith(": this week vs last week")]


def test_one_table_per_action_in_configured_order() -> None:
    assert action_tables(review(DEFAULT_ACTIONS)) == [f"{a}: this week vs last week" for a in DEFAULT_ACTIONS]


def test_adding_an_action_adds_its_table() -> None:
    before, after = review(("call",)), review(("call", "linkedin_message"))
    assert action_tables(after) == action_tables(before) + ["linkedin_message: this week vs last week"]
    assert len(after["panels"]) == len(before["panels"]) + 1


def test_action_table_compares_week_with_last_week_and_colours_the_change() -> None:
    board = review(("call",))
    table = next(p for p in board["panels"] if p["title"] == "call: this week vs last week")
    week, last_week, change = (t["expr"] for t in table["targets"])
    assert 'action="call", window="week"' in week and 'window="last_week"' in last_week
    assert change == f"{week} - {last_week}"
    rename = next(t for t in table["transformations"] if t["id"] == "organize")["options"]["renameByName"]
    assert rename["Value #C"] == "Change"
    (override,) = table["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byName", "options": "Change"}
    steps = next(p for p in override["properties"] if p["id"] == "thresholds")["value"]["steps"]
    assert [(s["value"], s["color"]) for s in steps] == [(None, "red"), (0.0, "text"), (1.0, "green")]


def test_attainment_divides_the_week_by_the_target() -> None:
    queries = dict(panel_queries(review(("call",))))
    expr = queries["Target attainment this week"]
    assert 'salespulse_actions{team="$team", window="week"} / on (team, rep, action)' in expr
    assert "salespulse_action_target" in expr


def test_execution_quality_row_holds_a_review_table_per_subject_and_names_what_is_missing() -> None:
    row = review(("call",))["panels"][-1]
    assert (row["type"], row["title"], row["collapsed"]) == ("row", "Execution quality", True)
    completeness, *tables, note = row["panels"]
    assert completeness["title"] == "Checklist completeness (30 days)"
    # The default review subjects are call and proposal.
    assert [t["title"] for t in tables] == ["Review scores: call (30 days)", "Review scores: proposal (30 days)"]
    assert [t["targets"][0]["expr"] for t in tables] == [
        f'(salespulse_review_score_avg{{team="$team", subject="{subject}"}}) '
        "* on (team, rep) group_left (name) salespulse_rep_info"
        for subject in ("call", "proposal")
    ]
    assert note["type"] == "text"
    assert "not measured yet" in note["options"]["content"]
