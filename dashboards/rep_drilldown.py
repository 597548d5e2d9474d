"""One rep, in detail: actions over time, pace per action, deals decided and deal velocity.

Picked with two variables, `team` then `rep` (the reps of that team that export rep info): the
picker lists the reps' names and passes their ids. The rep's name comes from
`salespulse_rep_info`, so panels show names, never ids alone; legends name windows in words.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, common as common_builder, dashboard, stat
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.models import common, units
from grafana_foundation_sdk.models.dashboard import VariableRefresh, VariableSort

from salespulse.dashboards.common import (
    COUNT_UNIT,
    DATASOURCE,
    DEAL_WINDOWS,
    NO_TARGET_TEXT,
    NOTHING_DUE,
    PACE_STEPS,
    base_dashboard,
    decision_time,
    default_bargauge,
    default_stat,
    default_timeseries,
    nothing_due_mappings,
    prometheus_query,
    team_variable,
    threshold_colours,
    thresholds,
)
from salespulse.exporters.metrics import (
    ACTION_EXPECTED,
    ACTION_PACE_RATIO,
    ACTION_SHORTFALL,
    ACTIONS,
    ACTIONS_TOTAL,
    DEALS_DECIDED,
    REP_INFO,
)

REP_DRILLDOWN_UID = "salespulse-rep-drilldown"
REFRESH = "1m"
TIME_FROM = "now-7d"
REP = 'team="$team", rep="$rep"'
# query_result() lists whole series as `name{label="value",...}`, labels in alphabetical order
# (instance, job, name, rep, team). The named groups give Grafana the text to show (the name)
# and the value to use (the rep id).
REP_NAME_REGEX = '/[{,]name="(?<text>[^"]*)",rep="(?<value>[^"]*)"/'


def rep_variable() -> dashboard.QueryVariable:
    """Return the `rep` variable: the selected team's reps by name, their ids as the value."""
    return (
        dashboard.QueryVariable("rep")
        .label("Rep")
        .datasource(DATASOURCE)
        .query(f'query_result({REP_INFO.sample_name}{{team="$team"}})')
        .regex(REP_NAME_REGEX)
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def rep_info_stat() -> stat.Panel:
    """The selected rep's display name."""
    return (
        default_stat(40)
        .title("Rep")
        .with_target(prometheus_query(f"{REP_INFO.sample_name}{{{REP}}}", "{{name}}", instant=True))
        .text_mode(common.BigValueTextMode.NAME)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .span(6)
        .height(4)
    )


def actions_stat() -> stat.Panel:
    """The rep's actions today and this week, all action types together."""
    panel = default_stat(40).title("Actions").span(10).height(4)
    for window, label in (("today", "Today"), ("week", "This week"), ("last_week", "Last week")):
        expr = f'sum({ACTIONS.sample_name}{{{REP}, window="{window}"}})'
        panel = panel.with_target(prometheus_query(expr, label, instant=True))
    return panel.color_scheme(threshold_colours()).thresholds(thresholds([(None, "text")]))


def action_shortfall_stat() -> stat.Panel:
    """Whole actions the rep misses to be back on pace this week, over all actions."""
    return (
        default_stat(40)
        .title("Actions short of pace")
        .with_target(prometheus_query(f"sum({ACTION_SHORTFALL.sample_name}{{{REP}}})", "Short", instant=True))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "green"), (1.0, "red")]))
        .no_value(NO_TARGET_TEXT)
        .span(8)
        .height(4)
    )


def actions_timeseries() -> timeseries.Panel:
    """The rep's running count today, per action: climbs through the day, resets at midnight."""
    expr = f'{ACTIONS.sample_name}{{{REP}, window="today"}}'
    return (
        default_timeseries()
        .title("Actions today, per action")
        .with_target(prometheus_query(expr, "{{action}}"))
        .unit(COUNT_UNIT)
        .decimals(0)
        .span(12)
        .height(9)
    )


def actions_total_timeseries() -> timeseries.Panel:
    """Actions logged per hour, per action, from the all-time counter."""
    expr = f"sum by (action) (increase({ACTIONS_TOTAL.sample_name}{{{REP}}}[1h]))"
    return (
        default_timeseries()
        .title("Actions per hour")
        .description("Increase of the all-time counter over the preceding hour, by arrival time.")
        .with_target(prometheus_query(expr, "{{action}}"))
        .unit(units.Short)
        .span(12)
        .height(9)
    )


def action_pace_ratio_timeseries() -> timeseries.Panel:
    """The rep's pace per action through the week, against the 80 % and 100 % lines."""
    return (
        default_timeseries()
        .title("Pace per action")
        .with_target(prometheus_query(f"{ACTION_PACE_RATIO.sample_name}{{{REP}}}", "{{action}}"))
        .unit(units.PercentUnit)
        .thresholds(thresholds(PACE_STEPS))
        .thresholds_style(
            common_builder.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
        )
        .span(16)
        .height(9)
    )


def action_pace_ratio_bargauge() -> bargauge.Panel:
    """The rep's current pace per action, red, amber or green; grey while nothing is due."""
    nothing_due = f"({ACTION_EXPECTED.sample_name}{{{REP}}} == 0) + {NOTHING_DUE}"
    expr = f"sort_desc({ACTION_PACE_RATIO.sample_name}{{{REP}}} or {nothing_due})"
    return (
        default_bargauge(20)
        .title("Pace now")
        .with_target(prometheus_query(expr, "{{action}}", instant=True))
        .unit(units.PercentUnit)
        .max(1.5)
        .mappings(nothing_due_mappings())
        .color_scheme(threshold_colours())
        .thresholds(thresholds(PACE_STEPS))
        .no_value(NO_TARGET_TEXT)
        .span(8)
        .height(9)
    )


def deals_decided_bargauge() -> bargauge.Panel:
    """Deals the rep decided, by outcome, over 30 and 90 days."""
    panel = default_bargauge(20).title("Deals decided").span(12).height(8)
    for window, label in DEAL_WINDOWS:
        expr = f'sum by (outcome) ({DEALS_DECIDED.sample_name}{{{REP}, window="{window}"}})'
        panel = panel.with_target(prometheus_query(expr, f"{{{{outcome}}}}, {label}", instant=True))
    return panel.color_scheme(threshold_colours()).thresholds(thresholds([(None, "blue")]))


def deal_decision_seconds_bargauge() -> bargauge.Panel:
    """The rep's average time to a decision, by outcome, over 30 and 90 days."""
    panel = default_bargauge(20).title("Time to decision")
    for window, label in DEAL_WINDOWS:
        expr = decision_time(f'{REP}, window="{window}"', "outcome")
        panel = panel.with_target(prometheus_query(expr, f"{{{{outcome}}}}, {label}", instant=True))
    return (
        panel.unit(units.Seconds)
        .decimals(1)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "blue")]))
        .no_value("no deals decided")
        .span(12)
        .height(8)
    )


def rep_drilldown() -> dashboard.Dashboard:
    """Return the rep drill-down dashboard."""
    return (
        base_dashboard(
            "Salespulse rep drill-down", REP_DRILLDOWN_UID, ["rep"], refresh=REFRESH, time_from=TIME_FROM
        )
        .with_variable(team_variable())
        .with_variable(rep_variable())
        .with_panel(rep_info_stat())
        .with_panel(actions_stat())
        .with_panel(action_shortfall_stat())
        .with_panel(actions_timeseries())
        .with_panel(actions_total_timeseries())
        .with_panel(action_pace_ratio_timeseries())
        .with_panel(action_pace_ratio_bargauge())
        .with_panel(deals_decided_bargauge())
        .with_panel(deal_decision_seconds_bargauge())
    )
