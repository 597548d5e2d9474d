"""Prometheus alert rules generated from the configuration: behind weekly pace, and stale deals.

Pacing: reps and teams behind this week's pace. Both rules fire only once something is expected
(`alerts.min_expected`), so Monday 09:01 is quiet; the value of each alert is the number of
actions missing to be back on pace.

Deals: a rep with stale open deals (no deal-stage event for longer than `deals.stale_days`; the
worker judges that, the rules read `salespulse_open_deals_stale`), and a team whose open deals
are stale beyond `alerts.team_stale_share`. The value is the rep's stale deals, or the team's
stale share.

Every rule fires only inside working time (`salespulse_in_working_time == 1`), so no timezone
logic lives in PromQL and nobody is notified at night.
"""

from __future__ import annotations

from typing import Any

import yaml

from salespulse.exporters.metrics import (
    ACTION_EXPECTED,
    ACTION_PACE_RATIO,
    ACTION_SHORTFALL,
    ACTIONS,
    IN_WORKING_TIME,
    OPEN_DEALS,
    OPEN_DEALS_STALE,
    REP_INFO,
)
from salespulse.models.config import Alerts

REP_ALERT = "SalespulseRepBehindPace"
TEAM_ALERT = "SalespulseTeamBehindPace"
GROUP = "salespulse-pacing"
STALE_ALERT = "SalespulseStaleDeals"
TEAM_STALE_ALERT = "SalespulseTeamStaleDeals"
DEALS_GROUP = "salespulse-deals"
# The last condition of every rule: the team is in working time.
WORKING = f"and on (team) ({IN_WORKING_TIME.name} == 1)"


def _rep_rule(alerts: Alerts) -> dict[str, Any]:
    expr = (
        f"({ACTION_SHORTFALL.name} * on (team, rep) group_left (name) {REP_INFO.name}) > 0\n"
        f"and on (team, rep, action) ({ACTION_PACE_RATIO.name} < {alerts.rep_pace_ratio})\n"
        f"and on (team, rep, action) ({ACTION_EXPECTED.name} >= {alerts.min_expected})\n"
        f"{WORKING}"
    )
    return {
        "alert": REP_ALERT,
        "expr": expr,
        "for": alerts.rep_hold,
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": "{{ $labels.name }} is behind pace on {{ $labels.action }}",
            "description": (
                "{{ $labels.name }} ({{ $labels.rep }}, team {{ $labels.team }}) needs "
                "{{ $value }} more {{ $labels.action }} actions to be back on this week's pace "
                f"(alert below {alerts.rep_pace_ratio:.0%} of expected-by-now)."
            ),
        },
    }


def _team_rule(alerts: Alerts) -> dict[str, Any]:
    # Only reps with a target count towards the team's actual, or untargeted reps would hide a gap.
    done = f'sum by (team, action) ({ACTIONS.name}{{window="week"}} and on (team, rep, action) {ACTION_EXPECTED.name})'
    due = f"sum by (team, action) ({ACTION_EXPECTED.name})"
    expr = (
        f"ceil({due} - {done}) > 0\n"
        f"and on (team, action) ({done} < {alerts.team_pace_ratio} * {due})\n"
        f"and on (team, action) ({due} >= {alerts.min_expected})\n"
        f"{WORKING}"
    )
    return {
        "alert": TEAM_ALERT,
        "expr": expr,
        "for": alerts.team_hold,
        "labels": {"severity": "critical"},
        "annotations": {
            "summary": "Team {{ $labels.team }} is behind pace on {{ $labels.action }}",
            "description": (
                "Team {{ $labels.team }} needs {{ $value }} more {{ $labels.action }} actions to be "
                f"back on this week's pace (alert below {alerts.team_pace_ratio:.0%} of expected-by-now)."
            ),
        },
    }


def _stale_rule(alerts: Alerts) -> dict[str, Any]:
    # rep!="": the team's own series (rep="") is not a rep's; summed over the stages.
    stale = f'{OPEN_DEALS_STALE.name}{{rep!=""}} * on (team, rep) group_left (name) {REP_INFO.name}'
    return {
        "alert": STALE_ALERT,
        "expr": f"sum by (team, rep, name) ({stale}) > 0\n{WORKING}",
        # A deal turns stale after days without an event: the hold keeps a deal moved on within
        # it from notifying anyone, and the working-time condition from firing at night.
        "for": alerts.stale_hold,
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": "{{ $labels.name }} has {{ $value }} stale open deals",
            "description": (
                "{{ $labels.name }} ({{ $labels.rep }}, team {{ $labels.team }}) has {{ $value }} open "
                "deals without a deal-stage event for longer than deals.stale_days. Move each on, or "
                "close it: a fast no frees time too."
            ),
        },
    }


def _team_stale_rule(alerts: Alerts) -> dict[str, Any]:
    # The team's own series (rep=""): every open deal once, whichever rep it is credited to.
    stale = f'sum by (team) ({OPEN_DEALS_STALE.name}{{rep=""}})'
    open_deals = f'sum by (team) ({OPEN_DEALS.name}{{rep=""}})'
    return {
        "alert": TEAM_STALE_ALERT,
        "expr": f"{stale} / ({open_deals} > 0) > {alerts.team_stale_share}\n{WORKING}",
        "for": alerts.team_stale_hold,
        "labels": {"severity": "critical"},
        "annotations": {
            "summary": "Team {{ $labels.team }}: {{ $value | humanizePercentage }} of open deals are stale",
            "description": (
                "{{ $value | humanizePercentage }} of team {{ $labels.team }}'s open deals have had no "
                f"deal-stage event for longer than deals.stale_days (alert above {alerts.team_stale_share:.0%})."
            ),
        },
    }


def build_rules(alerts: Alerts) -> dict[str, Any]:
    """Return the rules file as a dict, ready for YAML."""
    return {
        "groups": [
            {"name": GROUP, "rules": [_rep_rule(alerts), _team_rule(alerts)]},
            {"name": DEALS_GROUP, "rules": [_stale_rule(alerts), _team_stale_rule(alerts)]},
        ]
    }


class _RulesDumper(yaml.SafeDumper):
    """Writes multi-line PromQL as literal blocks, as a person would."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RulesDumper.add_representer(str, _str)


def render_rules(alerts: Alerts) -> str:
    """Return the rules file as YAML text."""
    header = "# Generated by `salespulse alerts build` from the configuration; do not edit by hand.\n"
    return header + yaml.dump(build_rules(alerts), Dumper=_RulesDumper, sort_keys=False, width=120)
