"""Shared pieces of every generated dashboard: datasource, query helper, panel defaults, variables.

Dashboards read metric names from `salespulse.exporters.metrics` only; the PromQL fragments that more than
one dashboard needs (rep names, team decision time, pace over targeted actions, checklist
completeness, the team row of the money series) live here so the maths is written once. Team
figures divide sums by sums and never average per-rep averages.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Iterable
from typing import Any

from grafana_foundation_sdk.builders import bargauge, common as common_builder, dashboard, prometheus
from grafana_foundation_sdk.builders import stat, table, text, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common, units
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    FieldColorModeId,
    Panel,
    RowPanel,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMapping,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import Dataquery as PrometheusQuery
from grafana_foundation_sdk.models.prometheus import PromQueryFormat
from grafana_foundation_sdk.models.text import TextMode

from salespulse.exporters.metrics import (
    ACTION_EXPECTED,
    ACTIONS,
    DEALS_DECIDED,
    DECISION_SECONDS_COMBINED,
    REP_INFO,
    STAGE_CHANGES,
)

DATASOURCE_UID = "salespulse-prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
BASE_TAGS = ("generated", "salespulse")
TEAM = 'team="$team"'
REF_IDS = string.ascii_uppercase
# Grafana refuses dashboard uids longer than 40 characters.
UID_MAX = 40

RED, AMBER, GREEN = "red", "#EAB839", "green"
# Neutral: nothing to judge yet (no ratio, nothing due). Grafana colours a missing value with the
# first threshold step, so that step is never red.
GREY = "#8E8E8E"
# A table cell without a value (a stage nobody moved a deal into) stays blank, not coloured.
TRANSPARENT = "transparent"
# Pace and attainment: red below PACE_AMBER_FROM, amber up to PACE_GREEN_FROM, green at or above.
# Defined once, for every view that colours pace or attainment.
PACE_AMBER_FROM = 0.8
PACE_GREEN_FROM = 1.0
PACE_STEPS: tuple[tuple[float | None, str], ...] = (
    (None, GREY),
    (0.0, RED),
    (PACE_AMBER_FROM, AMBER),
    (PACE_GREEN_FROM, GREEN),
)
# The value a pace query gives where targets exist but nothing is due yet (Monday before the first
# working hour): shown as NOTHING_DUE_TEXT in grey, never as a red 0 % or a "no target".
NOTHING_DUE = -1
NOTHING_DUE_TEXT = "nothing due yet"
NO_TARGET_TEXT = "no target set"
# Whole numbers in full ("1,683"): the `short` unit would round them to "2 K".
COUNT_UNIT = units.LocaleFormat
# Where Prometheus and the PromQL engine add labels that no reader needs in a table column.
SERVER_LABELS = ("__name__", "instance", "job")
# Columns no reader needs: the time of the instant query, the label ids, and the labels that
# Prometheus adds (the scrape's `instance` and `job`, and `__name__` of an unaggregated selector).
HIDDEN_COLUMNS = ("Time", "team", "rep", *SERVER_LABELS)
# The windows of the deal series, with their names in legends and titles.
DEAL_WINDOWS = (("rolling_30d", "30 days"), ("rolling_90d", "90 days"))
# The row a table shows for a team's own series of a per-rep family (exported with rep="").
TEAM_ROW_NAME = "Whole team"


def stable_uid(*parts: str) -> str:
    """Return a Grafana uid built from `parts`, sanitised and shortened with a hash when too long."""
    raw = "-".join(parts)
    uid = re.sub(r"[^A-Za-z0-9_-]", "-", raw)
    if uid == raw and len(uid) <= UID_MAX:
        return uid
    # A changed or truncated uid gets a hash of the original so two teams never collide.
    digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]
    return f"{uid[: UID_MAX - 9]}-{digest}"


def prometheus_query(
    expr: str, legend: str = "__auto", *, instant: bool = False, table_format: bool = False
) -> prometheus.Dataquery:
    """Return a query on the Salespulse Prometheus datasource."""
    query = prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)
    query = query.instant() if instant else query.range()
    if table_format:
        query = query.format(PromQueryFormat.TABLE)
    return query


def with_rep_names(expr: str) -> str:
    """Join the rep's display name (label `name`) onto a series keyed by team and rep."""
    # Parentheses keep the join outside whatever operators `expr` uses.
    return f"({expr}) * on (team, rep) group_left (name) {REP_INFO.sample_name}"


def reps_and_team(metric: str, selector: str, *labels: str) -> str:
    """Each rep's series with the rep's name, and the team's own series named TEAM_ROW_NAME.

    For the families whose team figure is a series of its own, exported with rep="" (no `rep`
    label in Prometheus): a ratio such as the win rate cannot be summed over reps. The result is
    summed by team, rep, name and `labels`, which drops `window` and the scrape's labels.
    """
    reps = with_rep_names(f'{metric}{{{selector}, rep!=""}}')
    # The team's series has an empty `rep`; the regex "" matches only that empty value.
    team = f'label_replace({metric}{{{selector}, rep=""}}, "name", "{TEAM_ROW_NAME}", "rep", "")'
    return f"sum by ({', '.join(('team', 'rep', 'name', *labels))}) (({reps}) or {team})"


def team_actions(window: str, by: str, selector: str = TEAM) -> str:
    """Sum the windowed action counts of the selected series by the given labels."""
    return f'sum by ({by}) ({ACTIONS.sample_name}{{{selector}, window="{window}"}})'


def decision_time(selector: str, by: str) -> str:
    """Average seconds to a decision per group: sum of combined times over sum of deals decided."""
    combined = f"sum by ({by}) ({DECISION_SECONDS_COMBINED.sample_name}{{{selector}}})"
    decided = f"sum by ({by}) ({DEALS_DECIDED.sample_name}{{{selector}}})"
    # `> 0` drops groups without decisions instead of showing NaN.
    return f"{combined} / ({decided} > 0)"


def pace(selector: str, by: str) -> str:
    """This week's actions over expected-by-now, counting only actions that have a target."""
    done = (
        f'sum by ({by}) ({ACTIONS.sample_name}{{{selector}, window="week"}} '
        f"and on (team, rep, action) {ACTION_EXPECTED.sample_name})"
    )
    due = f"sum by ({by}) ({ACTION_EXPECTED.sample_name}{{{selector}}})"
    return f"{done} / ({due} > 0)"


def pace_or_nothing_due(selector: str, by: str) -> str:
    """Pace per group, or NOTHING_DUE for groups whose targets expect nothing yet."""
    due = f"sum by ({by}) ({ACTION_EXPECTED.sample_name}{{{selector}}})"
    # `(due == 0) + NOTHING_DUE` keeps the group's labels; groups without any target stay absent.
    return f"({pace(selector, by)}) or (({due} == 0) + {NOTHING_DUE})"


def checklist_completeness(selector: str, by: str) -> str:
    """Stage changes that met their stage's checklists over all stage changes, rolling 30 days."""
    complete = f'{STAGE_CHANGES.sample_name}{{{selector}, completeness="complete"}}'
    changes = f"{STAGE_CHANGES.sample_name}{{{selector}}}"
    # A (team, rep, stage) series exists only once a stage change was judged: no zero division.
    return f"sum by ({by}) ({complete}) / sum by ({by}) ({changes})"


def thresholds(steps: Iterable[tuple[float | None, str]]) -> dashboard.ThresholdsConfig:
    """Return absolute thresholds from (lower bound, colour) pairs; the first bound is None."""
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def blank_base(steps: Iterable[tuple[float | None, str]]) -> tuple[tuple[float | None, str], ...]:
    """Return `steps` with the base colour transparent: an empty cell is left blank."""
    return tuple((value, TRANSPARENT if value is None else colour) for value, colour in steps)


def nothing_due_mappings() -> list[ValueMapping]:
    """Show NOTHING_DUE as words in grey."""
    result = ValueMappingResult(text=NOTHING_DUE_TEXT, color=GREY, index=0)
    return [ValueMap({str(NOTHING_DUE): result})]


def threshold_colours() -> dashboard.FieldColor:
    """Colour values by their thresholds."""
    return dashboard.FieldColor().mode(FieldColorModeId.THRESHOLDS)


def threshold_cells(
    steps: Iterable[tuple[float | None, str]], cell: str = "color-text"
) -> list[DynamicConfigValue]:
    """Return override properties that colour table cells (text or background) by thresholds."""
    return [
        DynamicConfigValue(id_val="custom.cellOptions", value={"type": cell}),
        DynamicConfigValue(id_val="color", value={"mode": "thresholds"}),
        DynamicConfigValue(id_val="thresholds", value=thresholds(steps).build().to_json()),
    ]


def flag_mappings(yes: str, no: str, no_colour: str = RED) -> list[ValueMapping]:
    """Show a 0/1 gauge as words: `yes` in green for 1, `no` in `no_colour` for 0."""
    return [
        ValueMap(
            {
                "0": ValueMappingResult(text=no, color=no_colour, index=0),
                "1": ValueMappingResult(text=yes, color=GREEN, index=1),
            }
        )
    ]


def default_timeseries() -> timeseries.Panel:
    """Return a line chart with the house defaults."""
    return (
        timeseries.Panel()
        .datasource(DATASOURCE)
        .line_width(2)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .draw_style(common.GraphDrawStyle.LINE)
        .span_nulls(False)
        .min(0)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common_builder.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )


def default_stat(value_size: int = 60, title_size: int = 24) -> stat.Panel:
    """Return a big-number stat; sizes in pixels, large for the wallboard."""
    return (
        stat.Panel()
        .datasource(DATASOURCE)
        .unit(COUNT_UNIT)
        .decimals(0)
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .justify_mode(common.BigValueJustifyMode.CENTER)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .text(common_builder.VizTextDisplayOptions().title_size(title_size).value_size(value_size))
    )


def default_bargauge(value_size: int = 28) -> bargauge.Panel:
    """Return a horizontal bar gauge, one bar per series, in query order, names above the bars."""
    return (
        bargauge.Panel()
        .datasource(DATASOURCE)
        .unit(COUNT_UNIT)
        .decimals(0)
        .min(0)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .value_mode(common.BarGaugeValueMode.COLOR)
        .show_unfilled(True)
        # Names on their own line above each bar: beside it they are cut to the bar's label width.
        .name_placement(common.BarGaugeNamePlacement.TOP)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .text(common_builder.VizTextDisplayOptions().title_size(value_size).value_size(value_size))
    )


def default_table() -> table.Panel:
    """Return a table with a header and no footer."""
    # Alignment and inspect are Grafana's defaults, written out so that the JSON is what Grafana keeps.
    return (
        table.Panel()
        .datasource(DATASOURCE)
        .show_header(True)
        .cell_height(common.TableCellHeight.SM)
        .align(common.FieldTextAlignment.AUTO)
        .inspect(False)
    )


def table_columns(renames: dict[str, str]) -> DataTransformerConfig:
    """Keep, order and rename the table columns named in `renames`; HIDDEN_COLUMNS go."""
    return DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": {column: True for column in HIDDEN_COLUMNS},
            "indexByName": {field: index for index, field in enumerate(renames)},
            "renameByName": renames,
        },
    )


def merged_columns(renames: dict[str, str]) -> list[DataTransformerConfig]:
    """Merge the frames of instant table queries on their label columns, then keep `renames`."""
    # Instant table queries give one frame each; merge joins them on their label columns.
    return [DataTransformerConfig(id_val="merge", options={}), table_columns(renames)]


def text_panel(title: str, content: str) -> text.Panel:
    """Return a Markdown text panel."""
    return text.Panel().title(title).mode(TextMode.MARKDOWN).content(content)


def heading_panel(heading: str) -> text.Panel:
    """Return a panel that shows `heading` as a Markdown level-1 heading, without a frame."""
    # Grafana draws panel titles at 14 px, whatever the panel's size; a Markdown heading is 28 px.
    return text.Panel().mode(TextMode.MARKDOWN).content(f"# {heading}").transparent(True)


def team_variable(preset: str | None = None) -> dashboard.QueryVariable:
    """Return the `team` variable listing the teams that export rep info; `preset` selects one."""
    variable = (
        dashboard.QueryVariable("team")
        .label("Team")
        .datasource(DATASOURCE)
        .query(f"label_values({REP_INFO.sample_name}, team)")
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    if preset is not None:
        variable = variable.current(VariableOption(selected=True, text=preset, value=preset))
    return variable


def base_dashboard(
    title: str, uid: str, tags: Iterable[str], *, refresh: str, time_from: str
) -> dashboard.Dashboard:
    """Return a read-only dashboard with a stable uid and the `generated` and `salespulse` tags."""
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .tags([*BASE_TAGS, *tags])
        .readonly()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .timezone("browser")
        .refresh(refresh)
        .time(time_from, "now")
    )


def _number_panels(panels: list[Panel | RowPanel]) -> None:
    # Grafana needs unique panel ids within a dashboard and transformations name columns after
    # query refIds ("Value #A"); the builders leave both unset.
    flat: list[Panel | RowPanel] = []
    for panel in panels:
        flat.append(panel)
        if isinstance(panel, RowPanel):
            flat.extend(panel.panels)
    for number, panel in enumerate(flat, start=1):
        panel.id_val = number
        if isinstance(panel, Panel):
            for letter, target in zip(REF_IDS, panel.targets or []):
                if isinstance(target, PrometheusQuery) and not target.ref_id:
                    target.ref_id = letter


def dashboard_json(builder: dashboard.Dashboard) -> dict[str, Any]:
    """Build the dashboard, number its panels and return it as a JSON-ready dict."""
    model = builder.build()
    _number_panels(model.panels or [])
    encoded: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(model))
    return encoded
