"""The wallboard, declared once: which panels it has, their PromQL, unit and colour thresholds.

Two renderers read this declaration: `salespulse.dashboards.wallboard` builds the Grafana
dashboard from it, and `salespulse.web.tv` the `/tv/<team>` page of `salespulse web`. Both run
the same queries, so the floor's TV and the Grafana board cannot show different figures; a unit
test fails when a panel is declared here and only one of them shows it.

A query is written for a team selector (`team="$team"` in Grafana, `team="amsterdam"` on the TV).
A per-rep panel's queries answer one series per rep, with the rep's display name in `name`.
The money panels read the team's own series of a per-rep family (exported with rep="", which
Prometheus keeps as no `rep` label), never a sum or an average over the reps: the team's win rate
and velocity (a product of the team's own factors) are not the sum of the reps'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from salespulse.dashboards.common import (
    GREEN,
    NO_TARGET_TEXT,
    NOTHING_DUE,
    NOTHING_DUE_TEXT,
    PACE_STEPS,
    RED,
    checklist_completeness,
    decision_time,
    pace_or_nothing_due,
    team_actions,
    with_rep_names,
)
from salespulse.exporters.metrics import (
    ACTION_TARGET,
    DEALS_DECIDED,
    MYSTERY_SHARE,
    REVIEW_SCORE_COMBINED,
    REVIEWS,
    SALES_VELOCITY,
    TEAM_REWARD_EARNED,
)
from salespulse.exporters.metrics import WIN_RATE as WIN_RATE_SERIES

# "money": a whole amount in the team's currency, which the query's `currency` label names.
Unit = Literal["count", "percent", "seconds", "score", "flag", "money"]
Steps = tuple[tuple[float | None, str], ...]
# Deals are few per week; a rolling 30 days keeps the number meaningful on Monday morning.
DEALS_WINDOW = "rolling_30d"
# Money moves with the few deals won a month: 90 days, so one deal more or less does not swing it.
MONEY_WINDOW = "rolling_90d"
TEXT = "text"


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel, written for a team selector, and its legend."""

    legend: str
    expr: Callable[[str], str]


@dataclass(frozen=True)
class BoardPanel:
    """A panel of the wallboard: what it shows, never how a renderer lays it out."""

    key: str
    title: str
    queries: tuple[Query, ...]
    unit: Unit
    steps: Steps
    per_rep: bool
    no_value: str


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


def reward_month(team: str) -> str:
    """The team's reward series of this month, or of last month while this one has no check yet."""
    # Last month stands in during the first days of a month, before the checker's first check,
    # and for the hours a team west of UTC is still in its previous month: the reward names the
    # month it shows rather than go blank.
    reward = f"{TEAM_REWARD_EARNED.sample_name}{{{team}}}"
    this = f"{reward} and on (month) {THIS_MONTH}"
    return f"({this}) or ({reward} and on (month) {LAST_MONTH} unless on (team) ({this}))"


def deals_decided(team: str, outcome: str) -> str:
    """Deals of the team decided with `outcome` in the last 30 days."""
    return f'sum({DEALS_DECIDED.sample_name}{{{team}, outcome="{outcome}", window="{DEALS_WINDOW}"}})'


def rep_weekly_target(team: str) -> str:
    """Each rep's weekly target over all targeted actions, with the rep's name."""
    return f"sort_desc({with_rep_names(f'sum by (team, rep) ({ACTION_TARGET.sample_name}{{{team}}})')})"


def mystery_share(team: str) -> str:
    """Each rep's mystery-check share of the reward month, with the rep's name."""
    share = f"{MYSTERY_SHARE.sample_name}{{{team}}} and on (team, month) ({reward_month(team)})"
    return f"sort_desc({with_rep_names(share)})"


def review_score(team: str) -> str:
    """The team's average review score per subject over the rolling 30 days."""
    combined = f"sum by (subject, theme) ({REVIEW_SCORE_COMBINED.sample_name}{{{team}}})"
    reviews = f"sum by (subject) ({REVIEWS.sample_name}{{{team}}})"
    # Sum over sum per theme, never an average of the reps' averages; every review scores every
    # theme of its subject, so the mean over themes is the mean of all the subject's scores.
    # The empty `group_left ()` stops PromQL from reading the divisor's parenthesis as a label list.
    return f"avg by (subject) ({combined} / on (subject) group_left () ({reviews} > 0))"


def team_money(metric: str, team: str, *by: str) -> str:
    """The team's own series of a money family over MONEY_WINDOW, summed by `by` (none: one value)."""
    # `rep=""` selects the series without a rep label: the team's, not a rep's.
    series = f'{metric}{{{team}, rep="", window="{MONEY_WINDOW}"}}'
    return f"sum by ({', '.join(by)}) ({series})" if by else f"sum({series})"


def _per_rep(expr: Callable[[str], str]) -> Callable[[str], str]:
    # Instant query sorted by the server: Grafana's bar gauges keep the order of the series.
    return lambda team: f"sort_desc({with_rep_names(expr(team))})"


TEAM_ACTIONS = BoardPanel(
    "team_actions", "Team actions",
    (Query("Today", lambda t: team_actions("today", "team", t)), Query("This week", lambda t: team_actions("week", "team", t))),
    "count", ((None, TEXT),), per_rep=False, no_value="0",
)
TEAM_PACE = BoardPanel(
    "team_pace", "Team pace", (Query("Pace", lambda t: pace_or_nothing_due(t, "team")),),
    "percent", PACE_STEPS, per_rep=False, no_value=NO_TARGET_TEXT,
)
DEALS = BoardPanel(
    "deals", "Deals decided (30 days)",
    (Query("Won", lambda t: deals_decided(t, "won")), Query("Lost", lambda t: deals_decided(t, "lost"))),
    "count", ((None, GREEN),), per_rep=False, no_value="0",
)
TIME_TO_DECISION = BoardPanel(
    "time_to_decision", "Time to decision (30 days)",
    (Query("{{outcome}}", lambda t: decision_time(f'{t}, window="{DEALS_WINDOW}"', "outcome")),),
    "seconds", ((None, TEXT),), per_rep=False, no_value="no deals",
)
ACTIONS_TODAY = BoardPanel(
    "actions_today", "Actions today", (Query("{{name}}", _per_rep(lambda t: team_actions("today", "team, rep", t))),),
    "count", ((None, "blue"),), per_rep=True, no_value="0",
)
ACTIONS_WEEK = BoardPanel(
    "actions_week", "Actions this week", (Query("{{name}}", _per_rep(lambda t: team_actions("week", "team, rep", t))),),
    "count", ((None, "blue"),), per_rep=True, no_value="0",
)
WEEKLY_TARGET = BoardPanel(
    "weekly_target", "Weekly target", (Query("{{name}}", rep_weekly_target),),
    "count", ((None, TEXT),), per_rep=True, no_value=NO_TARGET_TEXT,
)
PACE = BoardPanel(
    "pace", "Pace vs target", (Query("{{name}}", _per_rep(lambda t: pace_or_nothing_due(t, "team, rep"))),),
    "percent", PACE_STEPS, per_rep=True, no_value=NO_TARGET_TEXT,
)
CHECKLISTS = BoardPanel(
    "checklists", "Checklists complete (30 days)",
    (Query("{{name}}", _per_rep(lambda t: checklist_completeness(t, "team, rep"))),),
    "percent", PACE_STEPS, per_rep=True, no_value="no stage changes",
)


def mystery_steps(reward_share: float) -> Steps:
    """Red below the team reward's share, green from it."""
    return ((None, RED), (reward_share, GREEN))


def mystery_panel(reward_share: float) -> BoardPanel:
    """Each rep's mystery-check share this month, coloured against the reward's share."""
    return BoardPanel(
        "mystery", "Mystery check this month", (Query("{{name}}", mystery_share),),
        "percent", mystery_steps(reward_share), per_rep=True, no_value="no checks yet",
    )


TEAM_REWARD = BoardPanel(
    "team_reward", "Team reward", (Query("{{month}}", reward_month),),
    "flag", ((None, TEXT),), per_rep=False, no_value="no checks yet",
)
REVIEW_SCORE = BoardPanel(
    "review_score", "Review score", (Query("{{subject}}", review_score),),
    "score", ((None, TEXT),), per_rep=False, no_value="no reviews",
)

VELOCITY = BoardPanel(
    "sales_velocity", "Sales velocity (90 days)",
    (Query("{{currency}}/day", lambda t: team_money(SALES_VELOCITY.sample_name, t, "currency")),),
    "money", ((None, TEXT),), per_rep=False, no_value="–",
)
WIN_RATE = BoardPanel(
    "win_rate", "Win rate (90 days)", (Query("Win rate", lambda t: team_money(WIN_RATE_SERIES.sample_name, t)),),
    "percent", ((None, TEXT),), per_rep=False, no_value="–",
)


def board(reward_share: float) -> tuple[BoardPanel, ...]:
    """Return every panel of the wallboard, in reading order."""
    return (
        TEAM_ACTIONS, TEAM_PACE, DEALS, TIME_TO_DECISION,
        ACTIONS_TODAY, ACTIONS_WEEK, WEEKLY_TARGET, PACE,
        CHECKLISTS, mystery_panel(reward_share), TEAM_REWARD, REVIEW_SCORE, VELOCITY, WIN_RATE,
    )


Colour = Literal["red", "amber", "green", "grey", "text"]
_COLOUR_NAMES: dict[str, Colour] = {RED: "red", GREEN: "green", "#EAB839": "amber", "#8E8E8E": "grey"}


def colour_of(value: float | None, steps: Steps) -> Colour:
    """Return the named colour of `value` under `steps`, as Grafana's thresholds pick it."""
    # Grafana colours a missing value with the first step; any other value with the last step at
    # or below it.
    chosen = steps[0][1]
    if value is not None:
        for bound, colour in steps[1:]:
            if bound is not None and value >= bound:
                chosen = colour
    return _COLOUR_NAMES.get(chosen, "text")


def pace_words(value: float | None) -> tuple[str, Colour]:
    """Return how a pace value reads on the board, and its colour: "87 %" amber, "nothing due yet" grey."""
    if value is None:
        return NO_TARGET_TEXT, "grey"
    if value == NOTHING_DUE:
        return NOTHING_DUE_TEXT, "grey"
    return f"{value:.0%}".replace("%", " %"), colour_of(value, PACE_STEPS)
