"""The sales-floor wallboard: one team's live actions, pace and deals on a 1920x1080 TV.

Everything fits one screen without scrolling (24 columns x 27 grid rows), with fonts readable
from five metres. A playlist rotates the per-team copies: Grafana playlists cannot set a
variable in a dashboard's URL, so `wallboards_per_team()` generates one dashboard per configured
team with `team` fixed, all tagged `salespulse-wallboard`, and the playlist picks them by tag.

Layout, in grid units:

    y=0  h=5   [team actions 6] [team pace 6] [deals won 6] [days to decision 6]
    y=5  h=22  [actions today 8] [actions this week 8] [pace vs target 8]
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, dashboard, stat
from grafana_foundation_sdk.builders.playlist import Playlist, PlaylistItem
from grafana_foundation_sdk.models import units

from dashboards.common import (
    GREEN,
    PACE_STEPS,
    TEAM,
    base_dashboard,
    decision_time,
    default_bargauge,
    default_stat,
    pace,
    prometheus_query,
    stable_uid,
    team_actions,
    team_variable,
    threshold_colours,
    thresholds,
    with_rep_names,
)
from exporters.metrics import DEALS_DECIDED
from models.config import Settings

WALLBOARD_UID = "salespulse-wallboard"
WALLBOARD_TAG = "salespulse-wallboard"
PLAYLIST_UID = "salespulse-wallboards"
REFRESH = "10s"
TIME_FROM = "now-24h"
# Grid rows on a 1080p TV with Grafana's kiosk mode: 27 rows of 30 px plus margins.
SCREEN_ROWS = 27
STAT_HEIGHT = 5
BOARD_HEIGHT = SCREEN_ROWS - STAT_HEIGHT
# Deals are few per week; a rolling 30 days keeps the number meaningful on Monday morning.
DEALS_WINDOW = "rolling_30d"
BIG_VALUE = 80
STAT_TITLE = 28
BAR_TEXT = 34


def team_actions_stat() -> stat.Panel:
    """Team total of actions today and this week."""
    return (
        default_stat(BIG_VALUE, STAT_TITLE)
        .title("Team actions")
        .with_target(prometheus_query(team_actions("today", "team"), "Today", instant=True))
        .with_target(prometheus_query(team_actions("week", "team"), "This week", instant=True))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .span(6)
        .height(STAT_HEIGHT)
    )


def action_pace_ratio_stat() -> stat.Panel:
    """Team pace this week over every targeted action: red, amber or green."""
    return (
        default_stat(BIG_VALUE, STAT_TITLE)
        .title("Team pace")
        .description("This week's actions / expected by now, over the actions that have a target.")
        .with_target(prometheus_query(pace(TEAM, "team"), "Pace", instant=True))
        .unit(units.PercentUnit)
        .color_scheme(threshold_colours())
        .thresholds(thresholds(PACE_STEPS))
        .no_value("no target")
        .span(6)
        .height(STAT_HEIGHT)
    )


def deals_decided_stat() -> stat.Panel:
    """Deals won by the team in the last 30 days."""
    expr = f'sum({DEALS_DECIDED.sample_name}{{{TEAM}, outcome="won", window="{DEALS_WINDOW}"}})'
    return (
        default_stat(BIG_VALUE, STAT_TITLE)
        .title("Deals won (30 days)")
        .with_target(prometheus_query(expr, "Won", instant=True))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, GREEN)]))
        .no_value("0")
        .span(6)
        .height(STAT_HEIGHT)
    )


def deal_decision_seconds_stat() -> stat.Panel:
    """Team's average time to a decision, won and lost, over 30 days."""
    selector = f'{TEAM}, window="{DEALS_WINDOW}"'
    return (
        default_stat(BIG_VALUE // 2, STAT_TITLE)
        .title("Time to decision (30 days)")
        .description("A fast no is good too: it frees time for a lead that will say yes.")
        .with_target(prometheus_query(decision_time(selector, "outcome"), "{{outcome}}", instant=True))
        .unit(units.Seconds)
        .decimals(1)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .no_value("no deals")
        .span(6)
        .height(STAT_HEIGHT)
    )


def _leaderboard(title: str, window: str) -> bargauge.Panel:
    # Instant query sorted by the server: bar gauges keep the order of the series.
    expr = f"sort_desc({with_rep_names(team_actions(window, 'team, rep'))})"
    return (
        default_bargauge(BAR_TEXT)
        .title(title)
        .with_target(prometheus_query(expr, "{{name}}", instant=True))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "blue")]))
        .span(8)
        .height(BOARD_HEIGHT)
    )


def actions_today_bargauge() -> bargauge.Panel:
    """Leaderboard of each rep's actions today."""
    return _leaderboard("Actions today", "today")


def actions_week_bargauge() -> bargauge.Panel:
    """Leaderboard of each rep's actions this week."""
    return _leaderboard("Actions this week", "week")


def action_pace_ratio_bargauge() -> bargauge.Panel:
    """Each rep's pace against target: red below 80 %, amber below 100 %, green on pace."""
    expr = f"sort_desc({with_rep_names(pace(TEAM, 'team, rep'))})"
    return (
        default_bargauge(BAR_TEXT)
        .title("Pace vs target")
        .description("This week's actions / expected by now, over each rep's targeted actions.")
        .with_target(prometheus_query(expr, "{{name}}", instant=True))
        .unit(units.PercentUnit)
        .max(1.5)
        .color_scheme(threshold_colours())
        .thresholds(thresholds(PACE_STEPS))
        .no_value("no targets set")
        .span(8)
        .height(BOARD_HEIGHT)
    )


def _wallboard(
    title: str,
    uid: str,
    tags: list[str],
    team: dashboard.QueryVariable | dashboard.ConstantVariable,
) -> dashboard.Dashboard:
    return (
        base_dashboard(title, uid, ["wallboard", *tags], refresh=REFRESH, time_from=TIME_FROM)
        .with_variable(team)
        .with_panel(team_actions_stat())
        .with_panel(action_pace_ratio_stat())
        .with_panel(deals_decided_stat())
        .with_panel(deal_decision_seconds_stat())
        .with_panel(actions_today_bargauge())
        .with_panel(actions_week_bargauge())
        .with_panel(action_pace_ratio_bargauge())
    )


def wallboard() -> dashboard.Dashboard:
    """Return the wallboard with a team picker, for ad-hoc use; it is not in the playlist."""
    return _wallboard("Salespulse wallboard", WALLBOARD_UID, [], team_variable())


def team_wallboard(team: str) -> dashboard.Dashboard:
    """Return the wallboard of one team, its `team` variable fixed and hidden, for the playlist."""
    # A constant (hidden by default) rather than a preset query variable: it holds even before
    # the team has exported any series.
    fixed = dashboard.ConstantVariable("team").value(team)
    uid = stable_uid(WALLBOARD_UID, team)
    return _wallboard(f"Salespulse wallboard: {team}", uid, [WALLBOARD_TAG], fixed)


def wallboards_per_team(settings: Settings) -> dict[str, dashboard.Dashboard]:
    """Return one wallboard per configured team, keyed by team id."""
    return {team: team_wallboard(team) for team in settings.teams}


def wallboard_playlist() -> dict[str, Any]:
    """Return the playlist for Grafana's /api/playlists: every per-team wallboard, a minute each."""
    model = (
        Playlist()
        .uid(PLAYLIST_UID)
        .name("Salespulse wallboards")
        .interval("1m")
        .items([PlaylistItem().type("dashboard_by_tag").value(WALLBOARD_TAG)])
        .build()
    )
    return {
        "uid": model.uid,
        "name": model.name,
        "interval": model.interval,
        "items": [item.to_json() for item in model.items or []],
    }
