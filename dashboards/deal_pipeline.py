"""The deal pipeline: where deals are, how far they get, how long they stay, and what they bring.

Picked with two variables, `team` and `window` (30 or 90 days, for the windowed figures; open
and stale deals are as of now). Stages are the configured open stages in pipeline order, `won`
last in the funnel; a stage added to the configuration adds its bars and its heatmap.

    [funnel: share of the window's new deals that reached each stage 16] [deals created 4] [without a rate 4]
    [time in stage, average per stage 12] [open and stale deals per stage 12]
    [velocity per rep, and the whole team 24]
    [stale deals per rep and stage 24]
    row: time in stage, one heatmap per stage 12 (the last 24 when their number is odd)

Money is in the team's currency, named by the `currency` label in a column of its own.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, common as common_builder, dashboard, heatmap, stat, table
from grafana_foundation_sdk.models import common, units
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue, VariableOption
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from salespulse.dashboards.common import (
    AMBER,
    COUNT_UNIT,
    DATASOURCE,
    DEAL_WINDOWS,
    GREEN,
    REF_IDS,
    TEAM,
    base_dashboard,
    default_bargauge,
    default_stat,
    default_table,
    merged_columns,
    prometheus_query,
    reps_and_team,
    team_variable,
    threshold_cells,
    threshold_colours,
    thresholds,
    with_rep_names,
)
from salespulse.exporters.metrics import (
    DEAL_VALUE_WON_AVG,
    DEALS_WITHOUT_RATE,
    FUNNEL_DEALS,
    FUNNEL_REACHED_RATIO,
    OPEN_DEALS,
    OPEN_DEALS_STALE,
    SALES_CYCLE_SECONDS_AVG,
    SALES_VELOCITY,
    STAGE_SECONDS,
    STAGE_SECONDS_AVG,
    WIN_RATE,
)
from salespulse.models.config import Settings

DEAL_PIPELINE_UID = "salespulse-deal-pipeline"
REFRESH = "1m"
TIME_FROM = "now-7d"
WINDOW = 'window="$window"'
# The funnel ends with the deals won; lost deals reach no stage of their own.
WON = "won"
SECONDS_PER_DAY = 86400
# The 90 days first: a deal takes weeks, and 30 days hold few decisions.
DEFAULT_WINDOW = DEAL_WINDOWS[1]
STALE_SUFFIX = " · stale"
BAR_TEXT = 16


def window_variable() -> dashboard.CustomVariable:
    """Return the `window` variable: the rolling windows by name, their label values as the value."""
    window, label = DEFAULT_WINDOW
    options = [VariableOption(selected=value == window, text=text, value=value) for value, text in DEAL_WINDOWS]
    return (
        dashboard.CustomVariable("window")
        .label("Window")
        # Grafana's custom variable syntax for a shown text and a different value: "text : value".
        .values(", ".join(f"{text} : {value}" for value, text in DEAL_WINDOWS))
        .options(options)
        .allow_custom_value(False)
        .current(VariableOption(selected=True, text=label, value=window))
    )


def _stage_bargauge(title: str, description: str) -> bargauge.Panel:
    # One bar per stage, in the order of the queries: the pipeline's order.
    return (
        default_bargauge(BAR_TEXT)
        .title(title)
        .description(description)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "blue")]))
    )


def funnel_reached_ratio_bargauge(stages: tuple[str, ...]) -> bargauge.Panel:
    """Of the deals created in the window, the share that reached each stage, won last."""
    panel = _stage_bargauge(
        "Funnel",
        "Of the deals created in the window (their first event), the share that entered each stage "
        "at any time, open stages in pipeline order, then won.",
    )
    for stage in (*stages, WON):
        expr = f'{FUNNEL_REACHED_RATIO.sample_name}{{{TEAM}, {WINDOW}, stage="{stage}"}}'
        panel = panel.with_target(prometheus_query(expr, stage, instant=True))
    return (
        panel.unit(units.PercentUnit)
        .max(1.0)
        .no_value("no deals created")
        .span(16)
        .height(8)
    )


def funnel_deals_stat() -> stat.Panel:
    """Deals created in the window: the base of the funnel's shares."""
    expr = f"sum({FUNNEL_DEALS.sample_name}{{{TEAM}, {WINDOW}}})"
    return (
        default_stat(40, 16)
        .title("Deals created")
        .description("Deals whose first event lies in the window: the funnel's 100 %.")
        .with_target(prometheus_query(expr, "Deals created", instant=True))
        .text_mode(common.BigValueTextMode.VALUE)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .no_value("0")
        .span(4)
        .height(8)
    )


def deals_without_rate_stat() -> stat.Panel:
    """Deals whose amount has no rate into the team's currency, left out of the money figures."""
    expr = f"sum({DEALS_WITHOUT_RATE.sample_name}{{{TEAM}}})"
    return (
        default_stat(40, 16)
        .title("Deals without a rate")
        .description(
            "Open deals, and deals decided in 90 days, whose amount is in a currency with no rate into "
            "the team's currency: counted everywhere but in the average won value and the velocity. "
            "Set the rates with `salespulse rates apply`."
        )
        .with_target(prometheus_query(expr, "Without a rate", instant=True))
        .text_mode(common.BigValueTextMode.VALUE)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, GREEN), (1.0, AMBER)]))
        .no_value("0")
        .span(4)
        .height(8)
    )


def stage_seconds_avg_bargauge(stages: tuple[str, ...]) -> bargauge.Panel:
    """The team's average time in each open stage, over the stage's exits in the window."""
    panel = _stage_bargauge(
        "Time in stage (average)",
        "Average time from entering the stage to the deal's next stage change, over the times a deal "
        "left the stage in the window.",
    )
    for stage in stages:
        expr = f'{STAGE_SECONDS_AVG.sample_name}{{{TEAM}, {WINDOW}, stage="{stage}"}}'
        panel = panel.with_target(prometheus_query(expr, stage, instant=True))
    return panel.unit(units.Seconds).decimals(1).no_value("no deal left a stage").span(12).height(10)


def open_deals_bargauge(stages: tuple[str, ...], stale_days: int) -> bargauge.Panel:
    """The team's open deals per stage, each stage's stale ones in amber below it."""
    panel = _stage_bargauge(
        "Open deals per stage",
        f"Deals not yet decided, by the stage they are in now; stale: no deal-stage event for more "
        f"than {stale_days} days.",
    )
    for stage in stages:
        for spec, legend in ((OPEN_DEALS, stage), (OPEN_DEALS_STALE, f"{stage}{STALE_SUFFIX}")):
            # rep="": the team's own series, not each rep's as well.
            expr = f'{spec.sample_name}{{{TEAM}, rep="", stage="{stage}"}}'
            panel = panel.with_target(prometheus_query(expr, legend, instant=True))
    stale_colour = [DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": AMBER})]
    return (
        panel.override_by_regexp(f".*{STALE_SUFFIX}$", stale_colour)
        .no_value("no open deals")
        .span(12)
        .height(10)
    )


def velocity_table(window: str, title: str, *, open_deals: bool) -> table.Panel:
    """Each rep's sales velocity, win rate, average won value and cycle, and the whole team's."""
    selector = f'{TEAM}, window="{window}"'
    columns = [
        ("Velocity per day", reps_and_team(SALES_VELOCITY.sample_name, selector, "currency")),
        ("Win rate", reps_and_team(WIN_RATE.sample_name, selector)),
        ("Average won value", reps_and_team(DEAL_VALUE_WON_AVG.sample_name, selector, "currency")),
        ("Sales cycle (days)", f"{reps_and_team(SALES_CYCLE_SECONDS_AVG.sample_name, selector)} / {SECONDS_PER_DAY}"),
    ]
    if open_deals:
        # Open deals are as of now, summed over the stages: no window.
        columns.append(("Open deals", reps_and_team(OPEN_DEALS.sample_name, TEAM)))
    panel = (
        default_table()
        .title(title)
        .description(
            "Velocity: open deals x average won value x win rate / sales cycle in days, in the team's "
            "currency per day. Win rate: won / decided; sales cycle: first event to decision of the "
            "deals won. Credited to the rep of the deciding event; the whole team's row is the team's "
            "own figure, not an average of the reps'. A blank cell: nothing decided, won or valued."
        )
    )
    for _, expr in columns:
        panel = panel.with_target(prometheus_query(expr, "", instant=True, table_format=True))
    renames = {"name": "Rep", "currency": "Currency"}
    renames |= {f"Value #{ref}": column for ref, (column, _) in zip(REF_IDS, columns)}
    return (
        panel.transformations(merged_columns(renames))
        .unit(COUNT_UNIT)
        .decimals(0)
        .override_by_name("Win rate", [DynamicConfigValue(id_val="unit", value=units.PercentUnit)])
        .override_by_name("Sales cycle (days)", [DynamicConfigValue(id_val="decimals", value=1)])
        .sort_by([common_builder.TableSortByFieldState().display_name("Velocity per day").desc(True)])
    )


def open_deals_stale_table(stale_days: int) -> table.Panel:
    """Each rep's stale open deals per stage, beside their open deals in that stage."""
    stale = f'{OPEN_DEALS_STALE.sample_name}{{{TEAM}, rep!=""}}'
    open_deals = f'{OPEN_DEALS.sample_name}{{{TEAM}, rep!=""}}'
    by = "sum by (team, rep, name, stage)"
    # Only the (rep, stage) pairs with a stale deal: the open count is the context of a row.
    queries = (
        f"{by} ({with_rep_names(f'{stale} > 0')})",
        f"{by} ({with_rep_names(f'{open_deals} and on (team, rep, stage) ({stale} > 0)')})",
    )
    panel = (
        default_table()
        .title("Stale deals per rep")
        .description(
            f"Open deals with no deal-stage event for more than {stale_days} days, credited to the rep "
            "of their latest deal-stage event, by the stage they are in; beside them, that rep's open "
            "deals in the stage."
        )
    )
    for expr in queries:
        panel = panel.with_target(prometheus_query(expr, "", instant=True, table_format=True))
    return (
        panel.transformations(
            merged_columns({"name": "Rep", "stage": "Stage", "Value #A": "Stale", "Value #B": "Open"})
        )
        .unit(COUNT_UNIT)
        .decimals(0)
        .override_by_name("Stale", threshold_cells(((None, "text"), (1.0, AMBER))))
        .sort_by([common_builder.TableSortByFieldState().display_name("Stale").desc(True)])
        .no_value("no stale deals")
        .span(24)
        .height(8)
    )


def stage_seconds_heatmap(stage: str, width: int = 12) -> heatmap.Panel:
    """How long the exits of one stage took, over time: the histogram's buckets as a heatmap."""
    # The histogram is the window's, computed afresh at each scrape: read as it is, no rate().
    expr = f'sum by (le) ({STAGE_SECONDS.name}_bucket{{{TEAM}, {WINDOW}, stage="{stage}"}})'
    # Grafana's heatmap format turns the cumulative `le` buckets into a count per bucket.
    query = prometheus_query(expr, "{{le}}").format(PromQueryFormat.HEATMAP)
    return (
        heatmap.Panel()
        .datasource(DATASOURCE)
        .title(f"Time in stage: {stage}")
        .description(f"Exits from {stage} in the window, by the time the deal had spent in it.")
        .with_target(query)
        .calculate(False)
        .rows_frame(heatmap.RowsHeatmapOptions().layout(common.HeatmapCellLayout.LE))
        .y_axis(heatmap.YAxisConfig().unit(units.Seconds).decimals(0))
        .cell_values(heatmap.CellValues().unit(COUNT_UNIT).decimals(0))
        .show_y_histogram()
        .span(width)
        .height(8)
    )


def deal_pipeline(settings: Settings) -> dashboard.Dashboard:
    """Return the deal pipeline dashboard, its stages those of the configuration."""
    stages = settings.stages
    stale_days = settings.deals.stale_days
    builder = (
        base_dashboard("Salespulse deal pipeline", DEAL_PIPELINE_UID, ["deals"], refresh=REFRESH, time_from=TIME_FROM)
        .with_variable(team_variable())
        .with_variable(window_variable())
        .with_panel(funnel_reached_ratio_bargauge(stages))
        .with_panel(funnel_deals_stat())
        .with_panel(deals_without_rate_stat())
        .with_panel(stage_seconds_avg_bargauge(stages))
        .with_panel(open_deals_bargauge(stages, stale_days))
        .with_panel(velocity_table("$window", "Velocity per rep (${window:text})", open_deals=True).span(24).height(9))
        .with_panel(open_deals_stale_table(stale_days))
        .with_row(dashboard.Row("Time in stage, per stage"))
    )
    for index, stage in enumerate(stages):
        # Half width, two a line; an odd last one takes the whole line.
        last_alone = index == len(stages) - 1 and len(stages) % 2 == 1
        builder = builder.with_panel(stage_seconds_heatmap(stage, 24 if last_alone else 12))
    return builder
