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
    y=2   h=2+4 [team actions 6] [team pace 6] [deals won 6] [time to decision 6]
    y=8   h=2+8 [actions today 8] [actions this week 8] [pace vs target 8]
    y=18  h=2+7 [checklists complete 8] [mystery check 8] [team reward 4] [review score 4]

Pace reads "nothing due yet" in grey while the team's targets expect nothing (Monday before the
first working hour), and "no target set" in grey only where no target exists at all.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, dashboard, stat, text
from grafana_foundation_sdk.models import common, units

from salespulse.dashboards.common import (
    AMBER,
    GREEN,
    NO_TARGET_TEXT,
    PACE_STEPS,
    RED,
    TEAM,
    base_dashboard,
    checklist_completeness,
    decision_time,
    default_bargauge,
    default_stat,
    flag_mappings,
    heading_panel,
    nothing_due_mappings,
    pace_or_nothing_due,
    prometheus_query,
    stable_uid,
    team_actions,
    team_variable,
    threshold_colours,
    thresholds,
    with_rep_names,
)
from salespulse.exporters.metrics import (
    DEALS_DECIDED,
    MYSTERY_SHARE,
    REVIEW_SCORE_COMBINED,
    REVIEWS,
    TEAM_REWARD_EARNED,
)
from salespulse.models.config import Settings

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
# Deals are few per week; a rolling 30 days keeps the number meaningful on Monday morning.
DEALS_WINDOW = "rolling_30d"
BIG_VALUE = 64
# Two durations ("won 12.3 day", "lost 4.1 day") side by side in 6 columns.
DECISION_VALUE = 40
STAT_TITLE = 28
BAR_TEXT = 34
# The quality stats are 4 columns wide: "Not yet" at 48 px fits, at 80 px it would not.
QUALITY_VALUE = 48
# The ISO week of the viewer's browser clock, as Grafana formats ${__to:date:...} (moment.js).
WEEK_FORMAT = "GGGG-[W]WW"


def _month_label(year: str, month: str) -> str:
    # count_values makes labels of the numbers, label_join writes them as YYYY-MM: `pad` is set to
    # "0" only when `mm` is one digit. No capture references ("$1"): Grafana reads those as
    # dashboard variables.
    both = f'count_values("year", {year}) * on () group_left (mm) count_values("mm", {month})'
    padded = f'label_join(label_replace({both}, "pad", "0", "mm", "[0-9]"), "mm", "", "pad", "mm")'
    return f'label_join({padded}, "month", "-", "year", "mm")'


# Several months are exported at once and PromQL cannot compare label strings, so "the latest
# month" cannot be picked from the labels. Instead the month of the query's evaluation time is
# built as a label (UTC: Prometheus knows no team timezone) and joined on.
THIS_MONTH = _month_label("year()", "month()")
# The month before January is December of the year before.
LAST_MONTH = _month_label("year() - (month() == bool 1)", "month() - 1 + 12 * (month() == bool 1)")


def reward_month() -> str:
    """The team's reward series of this month, or of last month while this one has no check yet."""
    # Last month stands in during the first days of a month, before the checker's first check,
    # and for the hours a team west of UTC is still in its previous month: the reward stat names
    # the month it shows rather than go blank.
    reward = f"{TEAM_REWARD_EARNED.sample_name}{{{TEAM}}}"
    this = f"{reward} and on (month) {THIS_MONTH}"
    return f"({this}) or ({reward} and on (month) {LAST_MONTH} unless on (team) ({this}))"


def team_actions_stat() -> stat.Panel:
    """Team total of actions today and this week."""
    return (
        default_stat(BIG_VALUE, STAT_TITLE)
        .description("Every action of the team today and this week, in the team's timezone.")
        .with_target(prometheus_query(team_actions("today", "team"), "Today", instant=True))
        .with_target(prometheus_query(team_actions("week", "team"), "This week", instant=True))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .span(6)
        .height(STAT_HEIGHT)
    )


def action_pace_ratio_stat() -> stat.Panel:
    """Team pace this week over every targeted action: red, amber or green; grey before it starts."""
    return (
        default_stat(BIG_VALUE, STAT_TITLE)
        .description(
            "This week's actions / expected by now, over the actions that have a target. "
            "Nothing is due before the team's first working hour of the week."
        )
        .with_target(prometheus_query(pace_or_nothing_due(TEAM, "team"), "Pace", instant=True))
        .text_mode(common.BigValueTextMode.VALUE)
        .unit(units.PercentUnit)
        .mappings(nothing_due_mappings())
        .color_scheme(threshold_colours())
        .thresholds(thresholds(PACE_STEPS))
        .no_value(NO_TARGET_TEXT)
        .span(6)
        .height(STAT_HEIGHT)
    )


def deals_decided_stat() -> stat.Panel:
    """Deals won by the team in the last 30 days."""
    expr = f'sum({DEALS_DECIDED.sample_name}{{{TEAM}, outcome="won", window="{DEALS_WINDOW}"}})'
    return (
        default_stat(BIG_VALUE, STAT_TITLE)
        .description("Deals the team won in the last 30 days.")
        .with_target(prometheus_query(expr, "Won", instant=True))
        .text_mode(common.BigValueTextMode.VALUE)
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
        default_stat(DECISION_VALUE, STAT_TITLE)
        .description(
            "Average time from a deal's first event to its decision, won and lost, last 30 days. "
            "A fast no is good too: it frees time for a lead that will say yes."
        )
        .with_target(prometheus_query(decision_time(selector, "outcome"), "{{outcome}}", instant=True))
        .unit(units.Seconds)
        .decimals(1)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .no_value("no deals")
        .span(6)
        .height(STAT_HEIGHT)
    )


def _leaderboard(description: str, window: str) -> bargauge.Panel:
    # Instant query sorted by the server: bar gauges keep the order of the series.
    expr = f"sort_desc({with_rep_names(team_actions(window, 'team, rep'))})"
    return (
        default_bargauge(BAR_TEXT)
        .description(description)
        .with_target(prometheus_query(expr, "{{name}}", instant=True))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "blue")]))
        .span(8)
        .height(BOARD_HEIGHT)
    )


def actions_today_bargauge() -> bargauge.Panel:
    """Leaderboard of each rep's actions today."""
    return _leaderboard("Each rep's actions today, in the team's timezone.", "today")


def actions_week_bargauge() -> bargauge.Panel:
    """Leaderboard of each rep's actions this week."""
    return _leaderboard("Each rep's actions this week, from Monday 00:00 in the team's timezone.", "week")


def _rep_ratio_bargauge(
    description: str,
    ratio: str,
    steps: tuple[tuple[float | None, str], ...],
    *,
    maximum: float,
    no_value: str,
    height: int,
) -> bargauge.Panel:
    # One bar per rep, named and sorted by the server, coloured by `steps`.
    expr = f"sort_desc({with_rep_names(ratio)})"
    return (
        default_bargauge(BAR_TEXT)
        .description(description)
        .with_target(prometheus_query(expr, "{{name}}", instant=True))
        .unit(units.PercentUnit)
        .max(maximum)
        .color_scheme(threshold_colours())
        .thresholds(thresholds(steps))
        .no_value(no_value)
        .span(8)
        .height(height)
    )


def action_pace_ratio_bargauge() -> bargauge.Panel:
    """Each rep's pace against target: red below 80 %, amber below 100 %, green on pace."""
    return _rep_ratio_bargauge(
        "This week's actions / expected by now, over each rep's targeted actions. Nothing is due "
        "before the team's first working hour of the week.",
        pace_or_nothing_due(TEAM, "team, rep"),
        PACE_STEPS,
        maximum=1.5,
        no_value=NO_TARGET_TEXT,
        height=BOARD_HEIGHT,
    ).mappings(nothing_due_mappings())


def checklist_completeness_bargauge() -> bargauge.Panel:
    """Each rep's share of stage changes that met the stage's checklists, over 30 days."""
    return _rep_ratio_bargauge(
        "Stage changes that met the stage's content and process checklists / all stage changes.",
        checklist_completeness(TEAM, "team, rep"),
        PACE_STEPS,
        maximum=1.0,
        no_value="no stage changes",
        height=QUALITY_HEIGHT,
    )


def mystery_share_bargauge(reward_share: float) -> bargauge.Panel:
    """Each rep's mystery-check share this month: red below the team reward's share, else green."""
    share = f"{MYSTERY_SHARE.sample_name}{{{TEAM}}} and on (team, month) ({reward_month()})"
    return _rep_ratio_bargauge(
        f"Points / most points of the rep's checked deals; the team reward needs {reward_share:.0%} "
        "from every rep due a check. Last month's until this month's first check.",
        share,
        ((None, RED), (reward_share, GREEN)),
        maximum=1.0,
        no_value="no checks yet",
        height=QUALITY_HEIGHT,
    )


def team_reward_earned_stat(reward_share: float) -> stat.Panel:
    """Whether the team has earned this month's mystery-check reward, named by its month."""
    return (
        default_stat(QUALITY_VALUE, STAT_TITLE)
        .description(
            f"Earned when every rep due a mystery check reached {reward_share:.0%} of their most "
            "points. Last month's until this month's first check."
        )
        .with_target(prometheus_query(reward_month(), "{{month}}", instant=True))
        .mappings(flag_mappings("Earned", "Not yet", AMBER))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .no_value("no checks yet")
        .span(4)
        .height(QUALITY_HEIGHT)
    )


def review_score_stat(scale_min: int, scale_max: int) -> stat.Panel:
    """The team's average review score per subject over the rolling 30 days."""
    combined = f"sum by (subject, theme) ({REVIEW_SCORE_COMBINED.sample_name}{{{TEAM}}})"
    reviews = f"sum by (subject) ({REVIEWS.sample_name}{{{TEAM}}})"
    # Sum over sum per theme, never an average of the reps' averages; every review scores every
    # theme of its subject, so the mean over themes is the mean of all the subject's scores.
    # The empty `group_left ()` stops PromQL from reading the divisor's parenthesis as a label list.
    expr = f"avg by (subject) ({combined} / on (subject) group_left () ({reviews} > 0))"
    return (
        default_stat(QUALITY_VALUE, STAT_TITLE)
        .description(
            f"Last 30 days: the team's average score over every theme of the subject's reviews, on the "
            f"{scale_min} to {scale_max} scale."
        )
        .with_target(prometheus_query(expr, "{{subject}}", instant=True))
        .decimals(1)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .no_value("no reviews")
        .span(4)
        .height(QUALITY_HEIGHT)
    )


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
            ("Deals won (30 days)", deals_decided_stat(), 6),
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
            ("Checklists complete (30 days)", checklist_completeness_bargauge(), 8),
            ("Mystery check this month", mystery_share_bargauge(reward_share), 8),
            ("Team reward", team_reward_earned_stat(reward_share), 4),
            ("Review score", review_score_stat(settings.reviews.scale_min, settings.reviews.scale_max), 4),
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
