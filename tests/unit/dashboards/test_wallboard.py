"""The sales-floor wallboard: one 1080p screen, fast refresh, one copy per team for the playlist."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.build import panel_queries
from dashboards.common import dashboard_json
from dashboards.wallboard import (
    SCREEN_ROWS,
    WALLBOARD_TAG,
    team_wallboard,
    wallboard,
    wallboard_playlist,
    wallboards_per_team,
)
from models.config import parse_settings

SECONDS = {"s": 1, "m": 60, "h": 3600}


def boards() -> list[dict[str, Any]]:
    return [dashboard_json(wallboard()), dashboard_json(team_wallboard("amsterdam"))]


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


def test_leaderboards_show_rep_names_sorted_by_the_server() -> None:
    board = dashboard_json(wallboard())
    by_title = {panel["title"]: panel for panel in board["panels"]}
    for title in ("Actions today", "Actions this week", "Pace vs target"):
        target = by_title[title]["targets"][0]
        assert by_title[title]["type"] == "bargauge"
        assert target["legendFormat"] == "{{name}}"
        assert target["expr"].startswith("sort_desc(")
        assert "* on (team, rep) group_left (name) salespulse_rep_info" in target["expr"]


def test_pace_is_coloured_red_amber_green() -> None:
    board = dashboard_json(wallboard())
    pace = next(p for p in board["panels"] if p["title"] == "Pace vs target")
    steps = [(s["value"], s["color"]) for s in pace["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert [value for value, _ in steps] == [None, 0.8, 1.0]
    assert steps[0][1] == "red" and steps[2][1] == "green"


def test_velocity_is_a_ratio_of_team_sums() -> None:
    queries = dict(panel_queries(dashboard_json(wallboard())))
    expr = queries["Time to decision (30 days)"]
    assert "salespulse_deal_decision_seconds_avg" not in expr
    assert "sum by (outcome) (salespulse_deal_decision_seconds_combined" in expr


def test_picker_wallboard_has_a_team_variable_and_no_playlist_tag() -> None:
    board = dashboard_json(wallboard())
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
