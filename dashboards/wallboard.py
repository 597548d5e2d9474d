"""The sales-floor wallboard: one team's live actions, pace, deals and execution quality on a TV.

Everything fits one 1920x1080 screen without scrolling (24 columns x 27 grid rows), readable from
five metres. Kiosk mode hides the dashboard title, so the board names its team and week itself,
and Grafana draws panel titles at 14 px whatever the panel's size: each panel's heading is a
28 px Markdown heading above it instead (`HEADING_HEIGHT` rows), and the panels have no title.
A playlist rotates the per-team copies: Grafana playlists cannot set a variable in a dashboard's
URL, so `wallboards_per_team()` generates one dashboard per configured team with `team` fixed,
all tagged `salespulse-wallboard`, and the playlist picks them by tag.

Layout, in grid units (each band is a row of headings over a row of panels):

    y=0   h=2   [team and week 24]
    y=2   h=2+4 [team actions 6] [team pace 6] [deals won, lost 6] [time to decision 6]
    y=8   h=2+8 [actions today 8] [actions this week 8] [pace vs target 8]
    y=18  h=2+7 [checklists complete 6] [mystery check 6] [team reward 4] [review score 4]
                [sales velocity over win rate 4]

The team's sales velocity and win rate (90 days) share the last panel of the quality band, one
value over the other: the money moves slowly and sits with the other slow figures, leaving the
pace figures their room.

Pace reads "nothing due yet" in grey while the team's targets expect nothing (Monday before the
first working hour), and "no target set" in grey only where no target exists at all.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, dashboard, stat, text
from grafana_foundation_sdk.models import common, units
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from salespulse.dashboards import board
from salespulse.dashboards.board import LAST_MONTH, THIS_MONTH, BoardPanel
from salespulse.dashboards.common import (
    AMBER,
    REF_IDS,
    TEAM,
    base_dashboard,
    default_bargauge,
    default_stat,
    flag_mappings,
    heading_panel,
    nothing_due_mappings,
    prometheus_query,
    stable_uid,
    team_variable,
    threshold_colours,
    thresholds,
)
from salespulse.models.config import Settings

__all__ = ["LAST_MONTH", "THIS_MONTH"]

WALLBOARD_UID = "salespulse-wallboard"
WALLBOARD_TAG = "salespulse-wallboard"
PLAYLIST_UID = "salespulse-wallboards"
# Grafana 11's resource API for playlists: POST /apis/<group>/namespaces/default/playlists.
PLAYLIST_API_VERSION = "playlist.grafana.app/v0alpha1"
REFRESH = "10s"
TIME_FROM = "now-24h"
# Grid rows on a 1080p TV with Grafana's kiosk mode: 27 rows of 30 px plus margins.
SCREEN_ROWS = 27
HEADER_HEIGHT = 2
HEADING_HEIGHT = 2
STAT_HEIGHT = 4
QUALITY_HEIGHT = 7
BOARD_HEIGHT = SCREEN_ROWS - HEADER_HEIGHT - 3 * HEADING_HEIGHT - STAT_HEIGHT - QUALITY_HEIGHT
DEALS_WINDOW = board.DEALS_WINDOW
BIG_VALUE = 64
# Two durations ("won 12.3 day", "lost 4.1 day") side by side in 6 columns.
DECISION_VALUE = 40
STAT_TITLE = 28
BAR_TEXT = 34
# The quality stats are 4 columns wide: "Not yet" at 48 px fits, at 80 px it would not.
QUALITY_VALUE = 48
# The ISO week of the viewer's browser clock, as Grafana formats ${__to:date:...} (moment.js).
WEEK_FORMAT = "GGGG-[W]WW"
# None keeps default_stat's whole numbers in full; money is one too, its currency in the legend.
_UNITS = {
    "count": None, "percent": units.PercentUnit, "seconds": units.Seconds, "score": None, "flag": None, "money": None,
}


def reward_month() -> str:
    """The team's reward series of this month, or of last month while this one has no check yet."""
    return board.reward_month(TEAM)


def _with_queries(panel: Any, declared: BoardPanel) -> Any:
    # The declaration's queries, units, thresholds and words for no value, on a Grafana panel.
    for query in declared.queries:
        panel = panel.with_target(prometheus_query(query.expr(TEAM), query.legend, instant=True))
    unit = _UNITS[declared.unit]
    if unit is not None:
        panel = panel.unit(unit)
    return panel.color_scheme(threshold_colours()).thresholds(thresholds(declared.steps)).no_value(declared.no_value)


def team_actions_stat() -> stat.Panel:
    """Team total of actions today and this week."""
    return _with_queries(
        default_stat(BIG_VALUE, STAT_TITLE)
        .description("Every action of the team today and this week, in the team's timezone."),
        board.TEAM_ACTIONS,
    ).span(6).height(STAT_HEIGHT)


def action_pace_ratio_stat() -> stat.Panel:
    """Team pace this week over every targeted action: red, amber or green; grey before it starts."""
    return _with_queries(
        default_stat(BIG_VALUE, STAT_TITLE)
        .description(
            "This week's actions / expected by now, over the actions that have a target. "
            "Nothing is due before the team's first working hour of the week."
        )
        .text_mode(common.BigValueTextMode.VALUE)
        .mappings(nothing_due_mappings()),
        board.TEAM_PACE,
    ).span(6).height(STAT_HEIGHT)


def deals_decided_stat() -> stat.Panel:
    """Deals won and lost by the team in the last 30 days: a fast no counts too."""
    return _with_queries(
        default_stat(BIG_VALUE, STAT_TITLE)
        .description("Deals the team won, and lost, in the last 30 days; a fast no frees time too."),
        board.DEALS,
    ).span(6).height(STAT_HEIGHT)


def deal_decision_seconds_stat() -> stat.Panel:
    """Team's average time to a decision, won and lost, over 30 days."""
    return _with_queries(
        default_stat(DECISION_VALUE, STAT_TITLE)
        .description(
            "Average time from a deal's first event to its decision, won and lost, last 30 days. "
            "A fast no is good too: it frees time for a lead that will say yes."
        )
        .decimals(1),
        board.TIME_TO_DECISION,
    ).span(6).height(STAT_HEIGHT)


def _rep_bargauge(description: str, declared: BoardPanel, height: int, maximum: float | None = None) -> bargauge.Panel:
    # One bar per series of the declaration's queries, in the server's order.
    panel = _with_queries(default_bargauge(BAR_TEXT).description(description), declared)
    if maximum is not None:
        panel = panel.max(maximum)
    return panel.span(8).height(height)


def actions_today_bargauge() -> bargauge.Panel:
    """Leaderboard of each rep's actions today."""
    return _rep_bargauge("Each rep's actions today, in the team's timezone.", board.ACTIONS_TODAY, BOARD_HEIGHT)


def actions_week_bargauge() -> bargauge.Panel:
    """Leaderboard of each rep's actions this week, with each rep's weekly target below."""
    week = _rep_bargauge(
        "Each rep's actions this week, from Monday 00:00 in the team's timezone; then each rep's weekly "
        "target over all targeted actions.",
        board.ACTIONS_WEEK, BOARD_HEIGHT,
    )
    # The targets as a second query of the same gauge: "against target" without another panel.
    for query in board.WEEKLY_TARGET.queries:
        week = week.with_target(prometheus_query(query.expr(TEAM), f"{query.legend} · target", instant=True))
    return week


def action_pace_ratio_bargauge() -> bargauge.Panel:
    """Each rep's pace against target: red below 80 %, amber below 100 %, green on pace."""
    return _rep_bargauge(
        "This week's actions / expected by now, over each rep's targeted actions. Nothing is due "
        "before the team's first working hour of the week.",
        board.PACE, BOARD_HEIGHT, maximum=1.5,
    ).mappings(nothing_due_mappings())


def checklist_completeness_bargauge() -> bargauge.Panel:
    """Each rep's share of stage changes that met the stage's checklists, over 30 days."""
    return _rep_bargauge(
        "Stage changes that met the stage's content and process checklists / all stage changes.",
        board.CHECKLISTS, QUALITY_HEIGHT, maximum=1.0,
    )


def mystery_share_bargauge(reward_share: float) -> bargauge.Panel:
    """Each rep's mystery-check share this month: red below the team reward's share, else green."""
    return _rep_bargauge(
        f"Points / most points of the rep's checked deals; the team reward needs {reward_share:.0%} "
        "from every rep due a check. Last month's until this month's first check.",
        board.mystery_panel(reward_share), QUALITY_HEIGHT, maximum=1.0,
    )


def team_reward_earned_stat(reward_share: float) -> stat.Panel:
    """Whether the team has earned this month's mystery-check reward, named by its month."""
    return _with_queries(
        default_stat(QUALITY_VALUE, STAT_TITLE)
        .description(
            f"Earned when every rep due a mystery check reached {reward_share:.0%} of their most "
            "points. Last month's until this month's first check."
        )
        .mappings(flag_mappings("Earned", "Not yet", AMBER)),
        board.TEAM_REWARD,
    ).span(4).height(QUALITY_HEIGHT)


def review_score_stat(scale_min: int, scale_max: int) -> stat.Panel:
    """The team's average review score per subject over the rolling 30 days."""
    return _with_queries(
        default_stat(QUALITY_VALUE, STAT_TITLE)
        .description(
            f"Last 30 days: the team's average score over every theme of the subject's reviews, on the "
            f"{scale_min} to {scale_max} scale."
        )
        .decimals(1),
        board.REVIEW_SCORE,
    ).span(4).height(QUALITY_HEIGHT)


def sales_velocity_stat() -> stat.Panel:
    """The team's sales velocity per day over 90 days, and its win rate below it."""
    panel = _with_queries(
        default_stat(QUALITY_VALUE, STAT_TITLE)
        .description(
            "Last 90 days: open deals x average won value x win rate / sales cycle in days, in the "
            "team's currency per day; below it the win rate, deals won / decided. The team's own "
            "figures, not the reps' added up; none until a deal with an amount is won."
        )
        # Horizontal stacks the values: side by side, 4 columns would cut "12,400" at 48 px.
        .orientation(common.VizOrientation.HORIZONTAL),
        board.VELOCITY,
    )
    # The win rate as the second query of the same stat (refId B, as dashboard_json numbers
    # them), with its own unit.
    for query in board.WIN_RATE.queries:
        panel = panel.with_target(prometheus_query(query.expr(TEAM), query.legend, instant=True))
    percent = [DynamicConfigValue(id_val="unit", value=_UNITS[board.WIN_RATE.unit])]
    return panel.override_by_query(REF_IDS[len(board.VELOCITY.queries)], percent).span(4).height(QUALITY_HEIGHT)


def header_panel(team: str) -> text.Panel:
    """The team and the ISO week on screen, since kiosk mode hides the dashboard's title."""
    week = "${__to:date:" + WEEK_FORMAT + "}"
    return heading_panel(f"{team} · week {week}").span(24).height(HEADER_HEIGHT)


def _band(
    builder: dashboard.Dashboard, panels: list[tuple[str, stat.Panel | bargauge.Panel, int]]
) -> dashboard.Dashboard:
    # A row of headings over a row of panels of the same widths: Grafana wraps full rows of 24.
    for heading, _, width in panels:
        builder = builder.with_panel(heading_panel(heading).span(width).height(HEADING_HEIGHT))
    for _, panel, width in panels:
        builder = builder.with_panel(panel.span(width))
    return builder


def _wallboard(
    title: str,
    uid: str,
    tags: list[str],
    team: dashboard.QueryVariable | dashboard.ConstantVariable,
    team_name: str,
    settings: Settings,
) -> dashboard.Dashboard:
    reward_share = settings.mystery.reward_share
    builder = (
        base_dashboard(title, uid, ["wallboard", *tags], refresh=REFRESH, time_from=TIME_FROM)
        .with_variable(team)
        .with_panel(header_panel(team_name))
    )
    builder = _band(
        builder,
        [
            ("Team actions", team_actions_stat(), 6),
            ("Team pace", action_pace_ratio_stat(), 6),
            ("Deals won · lost (30 days)", deals_decided_stat(), 6),
            ("Time to decision (30 days)", deal_decision_seconds_stat(), 6),
        ],
    )
    builder = _band(
        builder,
        [
            ("Actions today", actions_today_bargauge(), 8),
            ("Actions this week", actions_week_bargauge(), 8),
            ("Pace vs target", action_pace_ratio_bargauge(), 8),
        ],
    )
    return _band(
        builder,
        [
            ("Checklists complete (30 days)", checklist_completeness_bargauge(), 6),
            ("Mystery check this month", mystery_share_bargauge(reward_share), 6),
            ("Team reward", team_reward_earned_stat(reward_share), 4),
            ("Review score", review_score_stat(settings.reviews.scale_min, settings.reviews.scale_max), 4),
            ("Velocity (90 days)", sales_velocity_stat(), 4),
        ],
    )


def wallboard(settings: Settings) -> dashboard.Dashboard:
    """Return the wallboard with a team picker, for ad-hoc use; it is not in the playlist."""
    return _wallboard("Salespulse wallboard", WALLBOARD_UID, [], team_variable(), "$team", settings)


def team_wallboard(team: str, settings: Settings) -> dashboard.Dashboard:
    """Return the wallboard of one team, its `team` variable fixed and hidden, for the playlist."""
    # A constant (hidden by default) rather than a preset query variable: it holds even before
    # the team has exported any series.
    fixed = dashboard.ConstantVariable("team").value(team)
    uid = stable_uid(WALLBOARD_UID, team)
    return _wallboard(f"Salespulse wallboard: {team}", uid, [WALLBOARD_TAG], fixed, team, settings)


def wallboards_per_team(settings: Settings) -> dict[str, dashboard.Dashboard]:
    """Return one wallboard per configured team, keyed by team id."""
    return {team: team_wallboard(team, settings) for team in settings.teams}


def wallboard_playlist() -> dict[str, Any]:
    """Return the playlist of every per-team wallboard, a minute each, as a Grafana 11 API resource."""
    # Grafana cannot provision playlists from files, and its older /api/playlists ignores a given
    # uid; the resource API keeps the uid, so the playlist's kiosk URL is known in advance.
    return {
        "apiVersion": PLAYLIST_API_VERSION,
        "kind": "Playlist",
        "metadata": {"name": PLAYLIST_UID},
        "spec": {
            "title": "Salespulse wallboards",
            "interval": "1m",
            "items": [{"type": "dashboard_by_tag", "value": WALLBOARD_TAG}],
        },
    }
