"""The sales-floor wallboard: one 1080p screen, fast refresh, one copy per team for the playlist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from salespulse.dashboards.build import panel_queries
from salespulse.dashboards.common import dashboard_json
from salespulse.dashboards.wallboard import (
    LAST_MONTH,
    SCREEN_ROWS,
    THIS_MONTH,
    WALLBOARD_TAG,
    reward_month,
    team_wallboard,
    wallboard,
    wallboard_playlist,
    wallboards_per_team,
)
from salespulse.models.config import parse_settings
from tests.unit.exporters.test_alert_rules import promtool

SECONDS = {"s": 1, "m": 60, "h": 3600}
SETTINGS = parse_settings({"teams": {"amsterdam": {}}, "mystery": {"reward_share": 0.75}})
REP_NAMES = "* on (team, rep) group_left (name) salespulse_rep_info"


def boards() -> list[dict[str, Any]]:
    return [dashboard_json(wallboard(SETTINGS)), dashboard_json(team_wallboard("amsterdam", SETTINGS))]


def panel(title: str) -> dict[str, Any]:
    return next(p for p in dashboard_json(wallboard(SETTINGS))["panels"] if p["title"] == title)


def seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)([smh])", duration)
    assert match, duration
    return int(match[1]) * SECONDS[match[2]]


@pytest.mark.parametrize("board", boards(), ids=["picker", "per-team"])
def test_refreshes_at_least_every_ten_seconds_over_the_last_day(board: dict[str, Any]) -> None:
    assert seconds(board["refresh"]) <= 10
    assert board["time"] == {"from": "now-24h", "to": "now"}


@pytest.mark.parametrize("board", boards(), ids=["picker", "per-team"])
def test_every_panel_fits_one_screen_without_overlap(board: dict[str, Any]) -> None:
    cells: set[tuple[int, int]] = set()
    assert all(panel["type"] != "row" for panel in board["panels"])
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        assert pos["y"] >= 0 and pos["y"] + pos["h"] <= SCREEN_ROWS, panel["title"]
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & area, f"{panel['title']} overlaps another panel"
        cells |= area


@pytest.mark.parametrize("board", boards(), ids=["picker", "per-team"])
def test_values_are_big_enough_to_read_across_the_floor(board: dict[str, Any]) -> None:
    for panel in board["panels"]:
        assert panel["options"]["text"]["valueSize"] >= 34, panel["title"]


def test_layout_is_the_documented_grid() -> None:
    layout = {p["title"]: tuple(p["gridPos"][k] for k in "xywh") for p in dashboard_json(wallboard(SETTINGS))["panels"]}
    assert layout == {
        "Team actions": (0, 0, 6, 5),
        "Team pace": (6, 0, 6, 5),
        "Deals won (30 days)": (12, 0, 6, 5),
        "Time to decision (30 days)": (18, 0, 6, 5),
        "Actions today": (0, 5, 8, 12),
        "Actions this week": (8, 5, 8, 12),
        "Pace vs target": (16, 5, 8, 12),
        "Checklists complete (30 days)": (0, 17, 8, 10),
        "Mystery check this month": (8, 17, 8, 10),
        "Team reward": (16, 17, 4, 10),
        "Review score (30 days)": (20, 17, 4, 10),
    }
    assert 17 + 10 == SCREEN_ROWS


def test_leaderboards_show_rep_names_sorted_by_the_server() -> None:
    board = dashboard_json(wallboard(SETTINGS))
    by_title = {panel["title"]: panel for panel in board["panels"]}
    titles = ("Actions today", "Actions this week", "Pace vs target", "Checklists complete (30 days)", "Mystery check this month")
    for title in titles:
        target = by_title[title]["targets"][0]
        assert by_title[title]["type"] == "bargauge"
        assert target["legendFormat"] == "{{name}}"
        assert target["expr"].startswith("sort_desc(")
        assert "* on (team, rep) group_left (name) salespulse_rep_info" in target["expr"]


def test_pace_is_coloured_red_amber_green() -> None:
    board = dashboard_json(wallboard(SETTINGS))
    pace = next(p for p in board["panels"] if p["title"] == "Pace vs target")
    steps = [(s["value"], s["color"]) for s in pace["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert [value for value, _ in steps] == [None, 0.8, 1.0]
    assert steps[0][1] == "red" and steps[2][1] == "green"


def test_velocity_is_a_ratio_of_team_sums() -> None:
    queries = dict(panel_queries(dashboard_json(wallboard(SETTINGS))))
    expr = queries["Time to decision (30 days)"]
    assert "salespulse_deal_decision_seconds_avg" not in expr
    assert "sum by (outcome) (salespulse_deal_decision_seconds_combined" in expr


def test_checklist_bars_divide_complete_by_all_stage_changes_per_rep() -> None:
    bars = panel("Checklists complete (30 days)")
    assert [t["expr"] for t in bars["targets"]] == [
        'sort_desc((sum by (team, rep) (salespulse_stage_changes{team="$team", completeness="complete"}) '
        '/ sum by (team, rep) (salespulse_stage_changes{team="$team"})) ' + REP_NAMES + ")"
    ]
    defaults = bars["fieldConfig"]["defaults"]
    assert (defaults["unit"], defaults["max"]) == ("percentunit", 1.0)
    assert [s["value"] for s in defaults["thresholds"]["steps"]] == [None, 0.8, 1.0]


def test_mystery_bars_show_the_reward_month_red_below_the_reward_share() -> None:
    bars = panel("Mystery check this month")
    assert [t["expr"] for t in bars["targets"]] == [
        f'sort_desc((salespulse_mystery_share{{team="$team"}} and on (team, month) ({reward_month()})) {REP_NAMES})'
    ]
    steps = [(s["value"], s["color"]) for s in bars["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [(None, "red"), (0.75, "green")]
    assert "75%" in bars["description"]


def test_team_reward_stat_names_its_month_and_says_earned_or_not_yet() -> None:
    reward = panel("Team reward")
    (target,) = reward["targets"]
    assert (target["expr"], target["legendFormat"], target["instant"]) == (reward_month(), "{{month}}", True)
    (mapping,) = reward["fieldConfig"]["defaults"]["mappings"]
    assert mapping["type"] == "value"
    assert {value: (m["text"], m["color"]) for value, m in mapping["options"].items()} == {
        "0": ("Not yet", "#EAB839"),
        "1": ("Earned", "green"),
    }
    assert reward["fieldConfig"]["defaults"]["noValue"] == "no checks yet"


def test_reward_month_is_this_utc_month_else_last_month() -> None:
    assert THIS_MONTH == (
        'label_join(label_join(label_replace(count_values("year", year()) * on () group_left (mm) '
        'count_values("mm", month()), "pad", "0", "mm", "[0-9]"), "mm", "", "pad", "mm"), "month", "-", "year", "mm")'
    )
    this = f'salespulse_team_reward_earned{{team="$team"}} and on (month) {THIS_MONTH}'
    assert reward_month() == (
        f'({this}) or (salespulse_team_reward_earned{{team="$team"}} and on (month) {LAST_MONTH} '
        f"unless on (team) ({this}))"
    )
    # Grafana would read a regex capture reference such as $1 as a dashboard variable.
    assert "$" not in reward_month().replace("$team", "")


def test_reward_month_picks_the_right_month_in_a_real_promql_engine(tmp_path: Path) -> None:
    # promtool evaluates from 1970-01-01: day 45 is in 1970-02, day 60 in 1970-03, day 290 in
    # 1970-10, day 320 in 1970-11, day 340 in 1970-12 and day 374 in 1971-01.
    earned = {
        ("nl", "1970-02"): 1,
        ("nl", "1970-03"): 0,
        ("nl", "1970-12"): 1,
        ("nl", "1971-01"): 0,
        ("us", "1970-10"): 1,
        ("us", "1970-11"): 0,
        ("us", "1970-12"): 1,
    }

    def reward(team: str, month: str) -> str:
        return f'salespulse_team_reward_earned{{team="{team}", month="{month}"}}'

    def case(team: str, day: int, month: str | None) -> dict[str, Any]:
        expected = [] if month is None else [{"labels": reward(team, month), "value": earned[team, month]}]
        return {"expr": reward_month().replace("$team", team), "eval_time": f"{day}d", "exp_samples": expected}

    tests = {
        "evaluation_interval": "1d",
        "tests": [
            {
                "interval": "1d",
                "input_series": [{"series": reward(*key), "values": f"{value}x400"} for key, value in earned.items()],
                "promql_expr_test": [
                    case("nl", 45, "1970-02"),  # one-digit months get their leading zero
                    case("nl", 60, "1970-03"),  # this month, though last month is there too
                    case("us", 290, "1970-10"),
                    case("us", 320, "1970-11"),
                    case("nl", 340, "1970-12"),  # this month; a later month is ignored
                    case("nl", 374, "1971-01"),
                    case("us", 374, "1970-12"),  # no check in January yet: December stands in
                    case("nl", 320, None),  # neither this month nor last month
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_review_score_is_a_ratio_of_team_sums_per_subject() -> None:
    score = panel("Review score (30 days)")
    (target,) = score["targets"]
    assert target["expr"] == (
        'avg by (subject) (sum by (subject, theme) (salespulse_review_score_combined{team="$team"}) '
        '/ on (subject) group_left () (sum by (subject) (salespulse_reviews{team="$team"}) > 0))'
    )
    assert target["legendFormat"] == "{{subject}}"
    assert score["fieldConfig"]["defaults"]["decimals"] == 1


def test_picker_wallboard_has_a_team_variable_and_no_playlist_tag() -> None:
    board = dashboard_json(wallboard(SETTINGS))
    assert [v["name"] for v in board["templating"]["list"]] == ["team"]
    assert board["templating"]["list"][0]["type"] == "query"
    assert WALLBOARD_TAG not in board["tags"]


def test_one_wallboard_per_configured_team_with_the_team_fixed() -> None:
    settings = parse_settings({"teams": {"amsterdam": {}, "new-york": {}}})
    per_team = {team: dashboard_json(b) for team, b in wallboards_per_team(settings).items()}
    assert set(per_team) == {"amsterdam", "new-york"}
    for team, board in per_team.items():
        assert board["uid"] == f"salespulse-wallboard-{team}"
        assert WALLBOARD_TAG in board["tags"]
        (variable,) = board["templating"]["list"]
        fixed = (variable["name"], variable["type"], variable["query"], variable["hide"])
        assert fixed == ("team", "constant", team, 2)


def test_playlist_rotates_the_wallboards_by_tag() -> None:
    assert wallboard_playlist() == {
        "uid": "salespulse-wallboards",
        "name": "Salespulse wallboards",
        "interval": "1m",
        "items": [{"type": "dashboard_by_tag", "value": WALLBOARD_TAG}],
    }
