"""The sales-floor wallboard: one 1080p screen, fast refresh, one copy per team for the playlist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from salespulse.dashboards.build import panel_queries
from salespulse.dashboards.common import dashboard_json, pace_or_nothing_due
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
from tests.unit.dashboards.grafana_display import display, is_red
from tests.unit.exporters.test_alert_rules import promtool

SECONDS = {"s": 1, "m": 60, "h": 3600}
SETTINGS = parse_settings({"teams": {"amsterdam": {}}, "mystery": {"reward_share": 0.75}})
REP_NAMES = "* on (team, rep) group_left (name) salespulse_rep_info"


def boards() -> list[dict[str, Any]]:
    return [dashboard_json(wallboard(SETTINGS)), dashboard_json(team_wallboard("amsterdam", SETTINGS))]


def headed(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the board's data panels by the Markdown heading right above them (same x and width)."""
    panels = board["panels"]
    headings = {
        (p["gridPos"]["x"], p["gridPos"]["w"], p["gridPos"]["y"] + p["gridPos"]["h"]): p["options"]["content"]
        for p in panels
        if p["type"] == "text"
    }
    by_heading = {}
    for p in panels:
        if p["type"] != "text":
            content = headings[(p["gridPos"]["x"], p["gridPos"]["w"], p["gridPos"]["y"])]
            assert content.startswith("# "), content
            by_heading[content[2:]] = p
    return by_heading


def panel(heading: str) -> dict[str, Any]:
    return headed(dashboard_json(wallboard(SETTINGS)))[heading]


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
        if panel["type"] != "text":
            assert panel["options"]["text"]["valueSize"] >= 34, panel["id"]


@pytest.mark.parametrize("board", boards(), ids=["picker", "per-team"])
def test_headings_are_28_px_markdown_not_14_px_panel_titles(board: dict[str, Any]) -> None:
    # Grafana draws a panel title at 14 px whatever the panel's size; a Markdown level-1 heading
    # in a text panel is 28 px in Grafana's theme.
    for panel in board["panels"]:
        assert not panel.get("title"), f"panel {panel['id']} has a 14 px title: {panel['title']}"
        if panel["type"] == "text":
            assert panel["options"]["mode"] == "markdown"
            assert re.fullmatch(r"# [^\n]+", panel["options"]["content"]), panel["options"]["content"]
            assert panel["transparent"] is True
        elif panel["type"] == "stat" and panel["options"]["textMode"] != "value":
            # Series names inside a stat (Today, This week, won, lost) are titles too.
            assert panel["options"]["text"]["titleSize"] >= 24, panel["id"]
    assert len(headed(board)) == 12


def test_team_and_iso_week_are_on_screen_in_kiosk_mode() -> None:
    per_team = dashboard_json(team_wallboard("amsterdam", SETTINGS))["panels"][0]
    picker = dashboard_json(wallboard(SETTINGS))["panels"][0]
    assert per_team["gridPos"] == {"x": 0, "y": 0, "w": 24, "h": 2}
    # Grafana formats ${__to:date:<moment.js format>} in the browser's time; GGGG-[W]WW is the
    # ISO week-numbering year and week, e.g. 2026-W49.
    assert per_team["options"]["content"] == "# amsterdam · week ${__to:date:GGGG-[W]WW}"
    assert picker["options"]["content"] == "# $team · week ${__to:date:GGGG-[W]WW}"


def test_layout_is_the_documented_grid() -> None:
    board = dashboard_json(wallboard(SETTINGS))
    layout = {heading: tuple(p["gridPos"][k] for k in "xywh") for heading, p in headed(board).items()}
    assert layout == {
        "Team actions": (0, 4, 6, 4),
        "Team pace": (6, 4, 6, 4),
        "Deals won · lost (30 days)": (12, 4, 6, 4),
        "Time to decision (30 days)": (18, 4, 6, 4),
        "Actions today": (0, 10, 8, 8),
        "Actions this week": (8, 10, 8, 8),
        "Pace vs target": (16, 10, 8, 8),
        "Checklists complete (30 days)": (0, 20, 6, 7),
        "Mystery check this month": (6, 20, 6, 7),
        "Team reward": (12, 20, 4, 7),
        "Review score": (16, 20, 4, 7),
        "Velocity (90 days)": (20, 20, 4, 7),
    }
    assert 20 + 7 == SCREEN_ROWS


def test_counts_are_shown_in_full_not_in_thousands() -> None:
    # Unit `short` rounds 1,683 to "2 K"; `locale` writes every digit with thousands separators.
    for heading in ("Team actions", "Deals won · lost (30 days)", "Actions today", "Actions this week"):
        defaults = panel(heading)["fieldConfig"]["defaults"]
        assert (defaults["unit"], defaults["decimals"]) == ("locale", 0), heading


@pytest.mark.parametrize("heading", ["Team pace", "Pace vs target"])
def test_pace_is_grey_while_nothing_is_due_and_says_no_target_set_only_without_targets(heading: str) -> None:
    field_config = panel(heading)["fieldConfig"]
    # The queries give -1 while targets exist but expect nothing yet (Monday 00:30).
    assert display(field_config, -1) == ("nothing due yet", "#8E8E8E")
    text, colour = display(field_config, None)
    assert text == "no target set" and not is_red(colour)
    assert [display(field_config, value)[1] for value in (0.0, 0.5, 0.79, 0.8, 0.99, 1.0, 1.4)] == [
        "red", "red", "red", "#EAB839", "#EAB839", "green", "green",
    ]


def test_pace_queries_give_nothing_due_on_monday_morning_in_a_real_promql_engine(tmp_path: Path) -> None:
    # nl on Monday 00:30: targets, nothing expected yet. be: mid-week, 6 of 8 expected calls done
    # by ann and 2 of 4 by bo. us: no targets at all, only actions.
    def series(metric: str, team: str, rep: str, value: float, window: str | None = None) -> dict[str, str]:
        extra = "" if window is None else f',window="{window}"'
        return {"series": f'{metric}{{team="{team}",rep="{rep}",action="call"{extra}}}', "values": f"{value}x10"}

    inputs = [
        series("salespulse_action_expected", "nl", "anna", 0),
        series("salespulse_action_expected", "nl", "bram", 0),
        series("salespulse_actions", "nl", "anna", 1, "week"),
        series("salespulse_action_expected", "be", "ann", 8),
        series("salespulse_action_expected", "be", "bo", 4),
        series("salespulse_actions", "be", "ann", 6, "week"),
        series("salespulse_actions", "be", "bo", 2, "week"),
        series("salespulse_actions", "us", "sam", 9, "week"),
    ]

    def case(team: str, by: str, expected: list[tuple[str, float]]) -> dict[str, Any]:
        return {
            "expr": pace_or_nothing_due(f'team="{team}"', by),
            "eval_time": "5m",
            "exp_samples": [{"labels": labels, "value": value} for labels, value in expected],
        }

    tests = {
        "tests": [
            {
                "interval": "1m",
                "input_series": inputs,
                "promql_expr_test": [
                    case("nl", "team", [('{team="nl"}', -1)]),
                    case("nl", "team, rep", [('{team="nl",rep="anna"}', -1), ('{team="nl",rep="bram"}', -1)]),
                    case("be", "team", [('{team="be"}', 8 / 12)]),
                    case("be", "team, rep", [('{team="be",rep="ann"}', 0.75), ('{team="be",rep="bo"}', 0.5)]),
                    case("us", "team", []),
                ],
            }
        ]
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_leaderboards_show_rep_names_sorted_by_the_server() -> None:
    board = dashboard_json(wallboard(SETTINGS))
    by_title = headed(board)
    titles = ("Actions today", "Actions this week", "Pace vs target", "Checklists complete (30 days)", "Mystery check this month")
    for title in titles:
        target = by_title[title]["targets"][0]
        assert by_title[title]["type"] == "bargauge"
        assert target["legendFormat"] == "{{name}}"
        assert target["expr"].startswith("sort_desc(")
        assert "* on (team, rep) group_left (name) salespulse_rep_info" in target["expr"]


def test_pace_is_coloured_red_amber_green() -> None:
    pace = panel("Pace vs target")
    steps = [(s["value"], s["color"]) for s in pace["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    # Red from 0: the base step (no value, nothing due) is grey.
    assert [value for value, _ in steps] == [None, 0.0, 0.8, 1.0]
    assert steps[1][1] == "red" and steps[3][1] == "green" and not is_red(steps[0][1])


def test_velocity_is_a_ratio_of_team_sums() -> None:
    (target,) = panel("Time to decision (30 days)")["targets"]
    expr = target["expr"]
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
    assert [s["value"] for s in defaults["thresholds"]["steps"]] == [None, 0.0, 0.8, 1.0]


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
    score = panel("Review score")
    (target,) = score["targets"]
    assert target["expr"] == (
        'avg by (subject) (sum by (subject, theme) (salespulse_review_score_combined{team="$team"}) '
        '/ on (subject) group_left () (sum by (subject) (salespulse_reviews{team="$team"}) > 0))'
    )
    assert target["legendFormat"] == "{{subject}}"
    assert score["fieldConfig"]["defaults"]["decimals"] == 1


def test_velocity_stat_shows_the_teams_own_series_money_over_win_rate() -> None:
    velocity = panel("Velocity (90 days)")
    assert [(t["refId"], t["expr"], t["legendFormat"]) for t in velocity["targets"]] == [
        ("A", 'sum by (currency) (salespulse_sales_velocity{team="$team", rep="", window="rolling_90d"})', "{{currency}}/day"),
        ("B", 'sum(salespulse_win_rate{team="$team", rep="", window="rolling_90d"})', "Win rate"),
    ]
    defaults = velocity["fieldConfig"]["defaults"]
    # The money in full ("12,400", never "12.4 K"), the win rate as a percentage, one over the other.
    assert (defaults["unit"], defaults["decimals"], defaults["noValue"]) == ("locale", 0, "–")
    assert velocity["fieldConfig"]["overrides"] == [
        {"matcher": {"id": "byFrameRefID", "options": "B"}, "properties": [{"id": "unit", "value": "percentunit"}]}
    ]
    assert velocity["options"]["orientation"] == "horizontal"
    assert display(velocity["fieldConfig"], 0.0)[1] == "text", "a slow pipeline is not an alarm"


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
    # A resource of Grafana 11's playlist API, which keeps the uid (the older /api/playlists does not).
    assert wallboard_playlist() == {
        "apiVersion": "playlist.grafana.app/v0alpha1",
        "kind": "Playlist",
        "metadata": {"name": "salespulse-wallboards"},
        "spec": {
            "title": "Salespulse wallboards",
            "interval": "1m",
            "items": [{"type": "dashboard_by_tag", "value": WALLBOARD_TAG}],
        },
    }
