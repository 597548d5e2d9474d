"""The weekly review: one this-week-vs-last-week table per configured action, execution quality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from salespulse.dashboards.build import panel_queries
from salespulse.dashboards.common import dashboard_json
from salespulse.dashboards.weekly_review import weekly_review
from salespulse.models.config import DEFAULT_ACTIONS, parse_settings
from tests.unit.dashboards.grafana_display import display, is_red
from tests.unit.exporters.test_alert_rules import promtool

REP_NAMES = "* on (team, rep) group_left (name) salespulse_rep_info"


def review(actions: tuple[str, ...], **config: Any) -> dict[str, Any]:
    return dashboard_json(weekly_review(parse_settings({"actions": list(actions), **config})))


def quality(**config: Any) -> dict[str, dict[str, Any]]:
    row = review(("call",), **config)["panels"][-1]
    return {p["title"]: p for p in row["panels"]}


def organize(panel: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = next(t for t in panel["transformations"] if t["id"] == "organize")["options"]
    return options


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


def test_execution_quality_row_holds_every_level_and_tells_what_it_shows() -> None:
    row = review(("call",))["panels"][-1]
    assert (row["type"], row["title"], row["collapsed"]) == ("row", "Execution quality", True)
    # The default review subjects are call and proposal.
    assert [p["title"] for p in row["panels"]] == [
        "Checklist completeness (30 days)",
        "Missing checklist items (30 days)",
        "Review scores: call (30 days)",
        "Review scores: proposal (30 days)",
        "Mystery checks per month",
        "Team reward per month",
        "Self-reported vs measured",
        "Self-reports filed",
        "Execution quality",
    ]
    tables = row["panels"][2:4]
    assert [t["targets"][0]["expr"] for t in tables] == [
        f'(salespulse_review_score_avg{{team="$team", subject="{subject}"}}) {REP_NAMES}'
        for subject in ("call", "proposal")
    ]
    note = row["panels"][-1]
    assert note["type"] == "text"
    content = note["options"]["content"]
    assert "not measured yet" not in content
    for words in ("**Checklists**", "process", "**Reviews**", "**Mystery checks**", "80%", "**Self-reports**"):
        assert words in content


@pytest.mark.parametrize("subjects", [1, 2, 3])
def test_execution_quality_panels_fit_the_width_without_overlap(subjects: int) -> None:
    themes = {f"subject{n}": ["a", "b", "c"] for n in range(subjects)}
    row = review(("call",), reviews={"themes": themes})["panels"][-1]
    cells: set[tuple[int, int]] = set()
    for panel in row["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & area, f"{panel['title']} overlaps another panel"
        cells |= area
    layout = {p["title"]: (p["gridPos"]["x"], p["gridPos"]["w"]) for p in row["panels"]}
    assert layout["Mystery checks per month"] == (0, 16) and layout["Team reward per month"] == (16, 8)
    assert layout["Self-reported vs measured"] == (0, 16) and layout["Self-reports filed"] == (16, 8)
    assert layout["Execution quality"] == (0, 24)


def test_completeness_counts_content_and_process_checklists_per_stage() -> None:
    table = quality()["Checklist completeness (30 days)"]
    assert [t["expr"] for t in table["targets"]] == [
        '(sum by (team, rep, stage) (salespulse_stage_changes{team="$team", completeness="complete"}) '
        f'/ sum by (team, rep, stage) (salespulse_stage_changes{{team="$team"}})) {REP_NAMES}'
    ]
    assert "content and process checklists" in table["description"]


def test_missing_items_are_counted_per_rep_kind_and_item_over_all_stages() -> None:
    table = quality()["Missing checklist items (30 days)"]
    assert [t["expr"] for t in table["targets"]] == [
        f'sum by (team, rep, name, kind, item) ((salespulse_checklist_missing{{team="$team"}}) {REP_NAMES})'
    ]
    assert organize(table)["renameByName"] == {"name": "Rep", "kind": "Kind", "item": "Item", "Value": "Stage changes"}
    assert table["options"]["sortBy"] == [{"displayName": "Stage changes", "desc": True}]
    assert table["gridPos"]["w"] == 24


def test_mystery_table_has_a_row_per_rep_and_month_share_coloured_at_the_reward_share() -> None:
    table = quality(mystery={"reward_share": 0.7})["Mystery checks per month"]
    assert [t["expr"] for t in table["targets"]] == [
        f'(salespulse_mystery_points{{team="$team"}}) {REP_NAMES}',
        f'(salespulse_mystery_points_max{{team="$team"}}) {REP_NAMES}',
        f'(salespulse_mystery_share{{team="$team"}}) {REP_NAMES}',
    ]
    assert organize(table)["renameByName"] == {
        "name": "Rep",
        "month": "Month",
        "Value #A": "Points",
        "Value #B": "Most points",
        "Value #C": "Share",
    }
    (override,) = table["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byName", "options": "Share"}
    properties = {p["id"]: p["value"] for p in override["properties"]}
    assert properties["unit"] == "percentunit"
    assert [(s["value"], s["color"]) for s in properties["thresholds"]["steps"]] == [(None, "red"), (0.7, "green")]
    assert table["options"]["sortBy"] == [{"displayName": "Month", "desc": True}]


def test_team_reward_is_one_row_per_month_in_words() -> None:
    table = quality()["Team reward per month"]
    assert [t["expr"] for t in table["targets"]] == ['salespulse_team_reward_earned{team="$team"}']
    assert organize(table)["renameByName"] == {"month": "Month", "Value": "Reward"}
    (mapping,) = table["fieldConfig"]["defaults"]["mappings"]
    assert {value: m["text"] for value, m in mapping["options"].items()} == {"0": "Not yet", "1": "Earned"}
    assert table["options"]["sortBy"] == [{"displayName": "Month", "desc": True}]


def test_self_reported_vs_measured_compares_this_week_and_last_week_of_reps_who_filed() -> None:
    table = quality()["Self-reported vs measured"]
    reported, measured, difference = (t["expr"] for t in table["targets"])
    assert reported == (
        "sum by (team, rep, name, action, window) "
        f'((salespulse_self_reported_actions{{team="$team", window=~"week|last_week"}}) {REP_NAMES})'
    )
    assert measured == (
        "sum by (team, rep, name, action, window) "
        '((salespulse_actions{team="$team", window=~"week|last_week"} and on (team, rep, window) '
        f'(salespulse_self_report_submitted{{team="$team", window=~"week|last_week"}} == 1)) {REP_NAMES})'
    )
    assert difference == f"{reported} - {measured}"
    assert organize(table)["renameByName"] == {
        "name": "Rep",
        "window": "Week",
        "action": "Action",
        "Value #A": "Self-reported",
        "Value #B": "Measured",
        "Value #C": "Difference",
    }
    assert organize(table)["indexByName"] == {
        "name": 0,
        "window": 1,
        "action": 2,
        "Value #A": 3,
        "Value #B": 4,
        "Value #C": 5,
    }
    week, gap = table["fieldConfig"]["overrides"]
    assert week["matcher"] == {"id": "byName", "options": "Week"}
    assert week["properties"] == [
        {
            "id": "mappings",
            "value": [
                {
                    "type": "value",
                    "options": {
                        "week": {"text": "this week", "index": 0},
                        "last_week": {"text": "last week", "index": 1},
                    },
                }
            ],
        }
    ]
    assert gap["matcher"] == {"id": "byName", "options": "Difference"}
    steps = next(p for p in gap["properties"] if p["id"] == "thresholds")["value"]["steps"]
    assert [(s["value"], s["color"]) for s in steps] == [(None, "#EAB839"), (0.0, "green"), (1.0, "#EAB839")]


def test_self_reported_vs_measured_has_rows_on_monday_morning_in_a_real_promql_engine(tmp_path: Path) -> None:
    # Monday morning: nobody has filed on the new week yet. Anna filed last week (her emails are
    # not in the report), Bob filed neither week, Carl filed both.
    def series(metric: str, rep: str, window: str, value: int, action: str | None = None) -> dict[str, str]:
        action_label = "" if action is None else f'action="{action}",'
        return {"series": f'{metric}{{team="nl",rep="{rep}",{action_label}window="{window}"}}', "values": f"{value}x10"}

    submitted, reported, actions = (
        "salespulse_self_report_submitted",
        "salespulse_self_reported_actions",
        "salespulse_actions",
    )
    names = [
        {"series": f'salespulse_rep_info{{team="nl",rep="{rep}",name="{rep.title()}"}}', "values": "1x10"}
        for rep in ("anna", "bob", "carl")
    ]
    inputs = [
        *names,
        series(submitted, "anna", "week", 0),
        series(submitted, "anna", "last_week", 1),
        series(reported, "anna", "last_week", 20, "call"),
        series(actions, "anna", "week", 3, "call"),
        series(actions, "anna", "last_week", 18, "call"),
        series(actions, "anna", "last_week", 5, "email"),
        series(actions, "anna", "today", 3, "call"),
        series(submitted, "bob", "week", 0),
        series(submitted, "bob", "last_week", 0),
        series(actions, "bob", "last_week", 10, "call"),
        series(submitted, "carl", "week", 1),
        series(submitted, "carl", "last_week", 1),
        series(reported, "carl", "week", 4, "call"),
        series(reported, "carl", "last_week", 12, "call"),
        series(actions, "carl", "week", 4, "call"),
        series(actions, "carl", "last_week", 15, "call"),
    ]

    def row(rep: str, action: str, window: str, value: int) -> dict[str, Any]:
        labels = f'{{team="nl",rep="{rep}",name="{rep.title()}",action="{action}",window="{window}"}}'
        return {"labels": labels, "value": value}

    expected = [
        [row("anna", "call", "last_week", 20), row("carl", "call", "week", 4), row("carl", "call", "last_week", 12)],
        [
            row("anna", "call", "last_week", 18),
            row("anna", "email", "last_week", 5),
            row("carl", "call", "week", 4),
            row("carl", "call", "last_week", 15),
        ],
        [row("anna", "call", "last_week", 2), row("carl", "call", "week", 0), row("carl", "call", "last_week", -3)],
    ]
    table = quality()["Self-reported vs measured"]
    cases = [
        {"expr": target["expr"].replace("$team", "nl"), "eval_time": "5m", "exp_samples": samples}
        for target, samples in zip(table["targets"], expected, strict=True)
    ]
    tests = {"tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": cases}]}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_self_reports_filed_lists_every_rep_missing_ones_first() -> None:
    table = quality()["Self-reports filed"]
    assert [t["expr"] for t in table["targets"]] == [
        f'sum by (team, rep, name) ((salespulse_self_report_submitted{{team="$team", window="{window}"}}) {REP_NAMES})'
        for window in ("week", "last_week")
    ]
    assert organize(table)["renameByName"] == {"name": "Rep", "Value #A": "This week", "Value #B": "Last week"}
    # Ascending: 0 (not filed) before 1 (filed).
    assert table["options"]["sortBy"] == [{"displayName": "This week", "desc": False}]


def test_self_reports_not_filed_yet_are_grey_and_last_weeks_missing_ones_amber_never_red() -> None:
    table = quality()["Self-reports filed"]
    words = {}
    for override in table["fieldConfig"]["overrides"]:
        (mapping,) = next(p["value"] for p in override["properties"] if p["id"] == "mappings")
        words[override["matcher"]["options"]] = {v: (m["text"], m["color"]) for v, m in mapping["options"].items()}
    assert words == {
        "This week": {"0": ("not yet", "#8E8E8E"), "1": ("filed", "green")},
        "Last week": {"0": ("missing", "#EAB839"), "1": ("filed", "green")},
    }


def all_tables(board: dict[str, Any]) -> list[dict[str, Any]]:
    panels = [p for top in board["panels"] for p in [top, *top.get("panels", [])]]
    return [p for p in panels if p["type"] == "table"]


def test_no_table_shows_instance_job_or_metric_name_columns() -> None:
    # Prometheus adds `instance` and `job` to every scraped series and keeps `__name__` on a plain
    # selector; in table format each label becomes a column.
    for table in all_tables(review(DEFAULT_ACTIONS)):
        ids = [t["id"] for t in table["transformations"]]
        if "groupingToMatrix" in ids:
            # A matrix keeps only its row, column and value fields.
            continue
        excluded = {name for name, hidden in organize(table)["excludeByName"].items() if hidden}
        assert {"instance", "job", "__name__", "Time"} <= excluded, table["title"]


def test_matrix_tables_head_their_first_column_rep_not_name_backslash_column() -> None:
    expected = {
        "Target attainment this week": "action",
        "Time to decision per rep (30 days)": "outcome",
        "Checklist completeness (30 days)": "stage",
        "Review scores: call (30 days)": "theme",
    }
    tables = {t["title"]: t for t in all_tables(review(("call",)))}
    for title, column in expected.items():
        matrix, rename = tables[title]["transformations"]
        assert matrix == {
            "id": "groupingToMatrix",
            "options": {"rowField": "name", "columnField": column, "valueField": "Value"},
        }
        assert rename == {"id": "organize", "options": {"renameByName": {f"name\\{column}": "Rep"}}}


def test_stages_without_changes_are_blank_cells_and_zero_percent_is_red() -> None:
    for title in ("Checklist completeness (30 days)", "Target attainment this week"):
        table = next(t for t in all_tables(review(("call",))) if t["title"] == title)
        (override,) = table["fieldConfig"]["overrides"]
        assert override["matcher"] == {"id": "byType", "options": "number"}
        properties = {p["id"]: p["value"] for p in override["properties"]}
        cells = {"defaults": {"thresholds": properties["thresholds"]}}
        assert display(cells, None)[1] == "transparent"
        assert [display(cells, v)[1] for v in (0.0, 0.79, 0.8, 1.0)] == ["red", "red", "#EAB839", "green"]


def test_team_decision_time_names_sit_above_the_bars_so_values_are_not_cut() -> None:
    board = review(("call",))
    bars = next(p for p in board["panels"] if p["title"] == "Time to decision, team")
    assert bars["options"]["namePlacement"] == "top"
    assert bars["options"]["text"]["valueSize"] <= 20
    assert [t["legendFormat"] for t in bars["targets"]] == ["{{outcome}}, 30 days", "{{outcome}}, 90 days"]


def test_counts_in_tables_are_shown_in_full() -> None:
    for table in all_tables(review(("call",))):
        unit = table["fieldConfig"]["defaults"].get("unit")
        assert unit in {"locale", "percentunit", "s", None}, (table["title"], unit)
        if unit == "locale":
            assert table["fieldConfig"]["defaults"]["decimals"] == 0


def test_no_empty_cell_is_red() -> None:
    # An empty cell takes the first threshold step's colour: red there would read as 0 % or a fall.
    for table in all_tables(review(DEFAULT_ACTIONS)):
        for override in table["fieldConfig"]["overrides"]:
            properties = {p["id"]: p["value"] for p in override["properties"]}
            if "thresholds" in properties and properties.get("custom.cellOptions", {}).get("type") == "color-background":
                colour = display({"defaults": {"thresholds": properties["thresholds"]}}, None)[1]
                if override["matcher"]["options"] != "Share":  # a share exists wherever its row does
                    assert not is_red(colour), table["title"]


def test_sales_velocity_per_rep_over_30_days_follows_the_deal_velocity_row() -> None:
    board = review(("call",))
    titles = [p["title"] for p in board["panels"]]
    at = titles.index("Deal velocity")
    assert titles[at + 1 : at + 4] == [
        "Time to decision, team",
        "Time to decision per rep (30 days)",
        "Sales velocity per rep (30 days)",
    ]
    table = board["panels"][at + 3]
    exprs = [t["expr"] for t in table["targets"]]
    metrics = ("salespulse_sales_velocity", "salespulse_win_rate", "salespulse_deal_value_won_avg",
               "salespulse_sales_cycle_seconds_avg")
    for expr, metric in zip(exprs, metrics, strict=True):
        assert f'{metric}{{team="$team", window="rolling_30d", rep!=""}}' in expr
        assert f'{metric}{{team="$team", window="rolling_30d", rep=""}}' in expr, "the whole team's row"
    assert organize(table)["renameByName"] == {
        "name": "Rep",
        "currency": "Currency",
        "Value #A": "Velocity per day",
        "Value #B": "Win rate",
        "Value #C": "Average won value",
        "Value #D": "Sales cycle (days)",
    }
    assert (table["gridPos"]["x"], table["gridPos"]["w"]) == (0, 24)
