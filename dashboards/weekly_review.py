"""The weekly review: each rep's figures this week against last week, for the team meeting.

Each rep presents their own rise or fall, so every configured action gets its own table with
this week, last week and the change, coloured red for a fall and green for a rise. Adding an
action to the configuration adds a table; nothing else needs editing. Below them: attainment of
the weekly targets, deal velocity by outcome, each rep's sales velocity over 30 days, and a
collapsed execution-quality row:

    [checklist completeness per rep and stage 24]
    [missing checklist items per rep, kind and item 24]
    [review scores, one table per subject 12 (the last 24 when their number is odd)]
    [mystery-check points and share per rep and month 16] [team reward per month 8]
    [self-reported vs measured actions, this week and last week 16] [self-reports filed 8]
    [what the row shows 24]
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, common as common_builder, dashboard, table
from grafana_foundation_sdk.builders import text
from grafana_foundation_sdk.models import units
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    DynamicConfigValue,
    ValueMap,
    ValueMappingResult,
)

from salespulse.dashboards.common import (
    AMBER,
    COUNT_UNIT,
    DEAL_WINDOWS,
    GREEN,
    GREY,
    PACE_STEPS,
    RED,
    TEAM,
    base_dashboard,
    blank_base,
    checklist_completeness,
    decision_time,
    default_bargauge,
    default_table,
    flag_mappings,
    merged_columns,
    prometheus_query,
    table_columns,
    team_variable,
    text_panel,
    threshold_cells,
    threshold_colours,
    thresholds,
    with_rep_names,
)
from salespulse.dashboards.deal_pipeline import velocity_table
from salespulse.exporters.metrics import (
    ACTION_TARGET,
    ACTIONS,
    CHECKLIST_MISSING,
    MYSTERY_POINTS,
    MYSTERY_POINTS_MAX,
    MYSTERY_SHARE,
    REVIEW_SCORE_AVG,
    SELF_REPORT_SUBMITTED,
    SELF_REPORTED_ACTIONS,
    TEAM_REWARD_EARNED,
)
from salespulse.models.config import Settings

WEEKLY_REVIEW_UID = "salespulse-weekly-review"
REFRESH = "1m"
TIME_FROM = "now-7d"
# Counts are whole numbers: below 0 is a fall, 0 is flat, 1 or more is a rise.
CHANGE_STEPS: tuple[tuple[float | None, str], ...] = ((None, RED), (0.0, "text"), (1.0, GREEN))
# Self-reported minus measured, whole numbers: any gap either way is a question for the meeting.
GAP_STEPS: tuple[tuple[float | None, str], ...] = ((None, AMBER), (0.0, GREEN), (1.0, AMBER))
# The self-report windows the review compares, with their names in the table. Both, so the
# table has rows from Monday 00:00 on, before anyone has filed on the new week.
REPORT_WINDOWS: tuple[tuple[str, str], ...] = (("week", "this week"), ("last_week", "last week"))


def _by_rep(series: str, *labels: str) -> str:
    # Summing by name as well keeps the display name through the sum, and drops `window` unless
    # `labels` names it, so the queries of a table share their label columns and merge into one
    # row per rep (and per value of `labels`).
    return f"sum by ({', '.join(('team', 'rep', 'name', *labels))}) ({with_rep_names(series)})"


def _rep_actions(action: str, window: str) -> str:
    return _by_rep(f'{ACTIONS.sample_name}{{{TEAM}, action="{action}", window="{window}"}}')


def _matrix(column: str) -> list[DataTransformerConfig]:
    # One row per rep, one column per action, stage, theme or outcome, instead of one row per
    # series. Grafana heads the first column "<row field>\<column field>" ("name\action"):
    # it is renamed "Rep".
    return [
        DataTransformerConfig(
            id_val="groupingToMatrix",
            options={"rowField": "name", "columnField": column, "valueField": "Value"},
        ),
        DataTransformerConfig(id_val="organize", options={"renameByName": {f"name\\{column}": "Rep"}}),
    ]


def actions_week_table(action: str) -> table.Panel:
    """One action: each rep's count this week, last week and the change, falls in red."""
    week, last_week = _rep_actions(action, "week"), _rep_actions(action, "last_week")
    return (
        default_table()
        .title(f"{action}: this week vs last week")
        .with_target(prometheus_query(week, "{{name}}", instant=True, table_format=True))
        .with_target(prometheus_query(last_week, "{{name}}", instant=True, table_format=True))
        .with_target(
            prometheus_query(f"{week} - {last_week}", "{{name}}", instant=True, table_format=True)
        )
        .transformations(
            merged_columns(
                {"name": "Rep", "Value #A": "This week", "Value #B": "Last week", "Value #C": "Change"}
            )
        )
        .unit(COUNT_UNIT)
        .decimals(0)
        .override_by_name("Change", threshold_cells(CHANGE_STEPS))
        .sort_by([common_builder.TableSortByFieldState().display_name("This week").desc(True)])
        .span(12)
        .height(8)
    )


def _ratio_table(title: str, description: str, ratio: str, column: str) -> table.Panel:
    # One row per rep, one column per `column` value, cells coloured like pace; a cell without a
    # value (no stage change, no target) stays blank rather than red like 0 %.
    return (
        default_table()
        .title(title)
        .description(description)
        .with_target(prometheus_query(with_rep_names(ratio), "", instant=True, table_format=True))
        .transformations(_matrix(column))
        .unit(units.PercentUnit)
        .decimals(0)
        .override_by_field_type("number", threshold_cells(blank_base(PACE_STEPS), "color-background"))
        .span(24)
        .height(8)
    )


def action_target_table() -> table.Panel:
    """Each rep's attainment of this week's target per action: week / target."""
    series = (
        f'({ACTIONS.sample_name}{{{TEAM}, window="week"}} '
        f"/ on (team, rep, action) ({ACTION_TARGET.sample_name}{{{TEAM}}} > 0))"
    )
    return _ratio_table(
        "Target attainment this week",
        "This week's actions / the week's target, per rep and action with a target.",
        series,
        "action",
    )


def deal_decision_seconds_bargauge() -> bargauge.Panel:
    """Team's average time to a decision by outcome, over 30 and 90 days."""
    panel = (
        default_bargauge(20)
        .title("Time to decision, team")
        .description("Sum of times to decision / deals decided, over all the team's reps.")
        .unit(units.Seconds)
        .decimals(1)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "blue")]))
        .no_value("no deals decided")
        .span(8)
        .height(8)
    )
    for window, label in DEAL_WINDOWS:
        expr = decision_time(f'{TEAM}, window="{window}"', "outcome")
        panel = panel.with_target(prometheus_query(expr, f"{{{{outcome}}}}, {label}", instant=True))
    return panel


def deal_decision_seconds_table() -> table.Panel:
    """Each rep's average time to a decision by outcome, over 30 days."""
    window, label = DEAL_WINDOWS[0]
    expr = with_rep_names(decision_time(f'{TEAM}, window="{window}"', "team, rep, outcome"))
    return (
        default_table()
        .title(f"Time to decision per rep ({label})")
        .with_target(prometheus_query(expr, "", instant=True, table_format=True))
        .transformations(_matrix("outcome"))
        .unit(units.Seconds)
        .decimals(1)
        .span(16)
        .height(8)
    )


def sales_velocity_table() -> table.Panel:
    """Each rep's sales velocity, win rate, average won value and cycle, over 30 days."""
    window, label = DEAL_WINDOWS[0]
    return velocity_table(window, f"Sales velocity per rep ({label})", open_deals=False).span(24).height(8)


def review_score_avg_table(subject: str, width: int = 12) -> table.Panel:
    """Each rep's average score per theme of one review subject, over the rolling 30 days."""
    expr = with_rep_names(f'{REVIEW_SCORE_AVG.sample_name}{{{TEAM}, subject="{subject}"}}')
    return (
        default_table()
        .title(f"Review scores: {subject} (30 days)")
        .description("Average score per theme on the configured scale; reviews by teammates.")
        .with_target(prometheus_query(expr, "", instant=True, table_format=True))
        .transformations(_matrix("theme"))
        .decimals(1)
        .span(width)
        .height(8)
    )


def stage_changes_table() -> table.Panel:
    """Each rep's share of stage changes that met the stage's checklists, per stage."""
    return _ratio_table(
        "Checklist completeness (30 days)",
        "Stage changes that met the stage's content and process checklists / all stage changes.",
        checklist_completeness(TEAM, "team, rep, stage"),
        "stage",
    )


def checklist_missing_table() -> table.Panel:
    """How often each rep's stage changes lacked each checklist item, over all stages, 30 days."""
    expr = _by_rep(f"{CHECKLIST_MISSING.sample_name}{{{TEAM}}}", "kind", "item")
    return (
        default_table()
        .title("Missing checklist items (30 days)")
        .description(
            "Stage changes that lacked the item: content is a CRM field left empty, process an "
            "action not done for the deal by the stage change."
        )
        .with_target(prometheus_query(expr, "", instant=True, table_format=True))
        .with_transformation(
            table_columns({"name": "Rep", "kind": "Kind", "item": "Item", "Value": "Stage changes"})
        )
        .unit(COUNT_UNIT)
        .decimals(0)
        .sort_by([common_builder.TableSortByFieldState().display_name("Stage changes").desc(True)])
        .span(24)
        .height(8)
    )


def mystery_points_table(reward_share: float) -> table.Panel:
    """Each rep's mystery-check points, most points and share per month, newest month first."""
    points, most, share = (
        with_rep_names(f"{spec.sample_name}{{{TEAM}}}")
        for spec in (MYSTERY_POINTS, MYSTERY_POINTS_MAX, MYSTERY_SHARE)
    )
    share_cells = [DynamicConfigValue(id_val="unit", value=units.PercentUnit)]
    share_cells += threshold_cells(((None, RED), (reward_share, GREEN)), "color-background")
    return (
        default_table()
        .title("Mystery checks per month")
        .description(
            f"Points of the rep's checked deals / the most they could score; the team reward needs "
            f"{reward_share:.0%} from every rep due a check. Months are the team's local months."
        )
        .with_target(prometheus_query(points, "", instant=True, table_format=True))
        .with_target(prometheus_query(most, "", instant=True, table_format=True))
        .with_target(prometheus_query(share, "", instant=True, table_format=True))
        .transformations(
            merged_columns(
                {
                    "name": "Rep",
                    "month": "Month",
                    "Value #A": "Points",
                    "Value #B": "Most points",
                    "Value #C": "Share",
                }
            )
        )
        .unit(COUNT_UNIT)
        .decimals(0)
        .override_by_name("Share", share_cells)
        .sort_by([common_builder.TableSortByFieldState().display_name("Month").desc(True)])
        .span(16)
        .height(8)
    )


def team_reward_table() -> table.Panel:
    """Whether the team earned its mystery-check reward, per month, newest first."""
    # One row per month rather than a pick of the latest: every exported month stays visible,
    # and PromQL cannot order the month labels anyway.
    return (
        default_table()
        .title("Team reward per month")
        .description("Earned when every rep due a mystery check reached the reward share.")
        .with_target(
            prometheus_query(
                f"{TEAM_REWARD_EARNED.sample_name}{{{TEAM}}}", "", instant=True, table_format=True
            )
        )
        .with_transformation(table_columns({"month": "Month", "Value": "Reward"}))
        .mappings(flag_mappings("Earned", "Not yet", AMBER))
        .override_by_name(
            "Reward", [DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"})]
        )
        .sort_by([common_builder.TableSortByFieldState().display_name("Month").desc(True)])
        .span(8)
        .height(8)
    )


def _report_windows() -> str:
    # A label matcher selecting every window in REPORT_WINDOWS.
    return f'window=~"{"|".join(window for window, _ in REPORT_WINDOWS)}"'


def _report_window_names() -> list[DynamicConfigValue]:
    # Override properties showing the `window` label values as the week's name.
    names = {
        window: ValueMappingResult(text=name, index=index) for index, (window, name) in enumerate(REPORT_WINDOWS)
    }
    return [DynamicConfigValue(id_val="mappings", value=[ValueMap(names)])]


def self_reported_actions_table() -> table.Panel:
    """This week and last week, per rep and action: the rep's own count, the measured one, the gap."""
    windows = _report_windows()
    reported = _by_rep(f"{SELF_REPORTED_ACTIONS.sample_name}{{{TEAM}, {windows}}}", "action", "window")
    # Measured counts only of the weeks a rep filed on: this table compares, "Self-reports filed"
    # beside it names who has not filed.
    filed = f"{SELF_REPORT_SUBMITTED.sample_name}{{{TEAM}, {windows}}} == 1"
    measured = _by_rep(
        f"{ACTIONS.sample_name}{{{TEAM}, {windows}}} and on (team, rep, window) ({filed})",
        "action",
        "window",
    )
    # Both sides carry exactly (team, rep, name, action, window): the plain `-` matches one rep's
    # action in one week with itself and keeps `name`, which an `on (...)` without it would drop.
    return (
        default_table()
        .title("Self-reported vs measured")
        .description(
            "Per week the rep filed a self-report on, this week and last week: the rep's own count, "
            "the count of logged activities, and self-reported - measured. An empty self-reported "
            "cell: the action is not in the report."
        )
        .with_target(prometheus_query(reported, "", instant=True, table_format=True))
        .with_target(prometheus_query(measured, "", instant=True, table_format=True))
        .with_target(prometheus_query(f"{reported} - {measured}", "", instant=True, table_format=True))
        .transformations(
            merged_columns(
                {
                    "name": "Rep",
                    "window": "Week",
                    "action": "Action",
                    "Value #A": "Self-reported",
                    "Value #B": "Measured",
                    "Value #C": "Difference",
                }
            )
        )
        .unit(COUNT_UNIT)
        .decimals(0)
        .override_by_name("Week", _report_window_names())
        .override_by_name("Difference", threshold_cells(GAP_STEPS))
        .sort_by([common_builder.TableSortByFieldState().display_name("Rep").desc(False)])
        .span(16)
        .height(10)
    )


def _filed_cells(not_filed: str, colour: str) -> list[DynamicConfigValue]:
    # Override properties: 1 is "filed" in green, 0 is `not_filed` in `colour`, as coloured text.
    return [
        DynamicConfigValue(id_val="mappings", value=flag_mappings("filed", not_filed, colour)),
        DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
    ]


def self_report_submitted_table() -> table.Panel:
    """Which reps have filed their self-report on this week and last week, missing ones first."""
    week, last_week = (
        _by_rep(f'{SELF_REPORT_SUBMITTED.sample_name}{{{TEAM}, window="{window}"}}')
        for window in ("week", "last_week")
    )
    return (
        default_table()
        .title("Self-reports filed")
        .description("Whether the rep has filed a self-report on the week.")
        .with_target(prometheus_query(week, "", instant=True, table_format=True))
        .with_target(prometheus_query(last_week, "", instant=True, table_format=True))
        .transformations(merged_columns({"name": "Rep", "Value #A": "This week", "Value #B": "Last week"}))
        # Reps file during the week: until then this week's report is "not yet", in grey. Only a
        # past week without a report is missing, in amber: a question for the meeting, not an alarm.
        .override_by_name("This week", _filed_cells("not yet", GREY))
        .override_by_name("Last week", _filed_cells("missing", AMBER))
        .sort_by([common_builder.TableSortByFieldState().display_name("This week").desc(False)])
        .span(8)
        .height(10)
    )


def quality_text(reward_share: float) -> text.Panel:
    """What the execution-quality row shows and how each figure is judged."""
    note = (
        "**Checklists** (level 1): a stage change is complete when the deal's CRM fields "
        "(content) were filled and the stage's actions (process) had been done for the deal; "
        "rolling 30 days. **Reviews** (level 2): teammates' scores per theme, rolling 30 days. "
        "**Mystery checks**: the month's checker scores drawn deals on the rubric; the team earns "
        f"its reward when every rep due a check reaches {reward_share:.0%} of their most points. "
        "**Self-reports**: each rep's own count of the week's actions beside the measured one, "
        "this week and last week; a gap is a question for the meeting, not a verdict."
    )
    return text_panel("Execution quality", note).span(24).height(4)


def weekly_review(settings: Settings) -> dashboard.Dashboard:
    """Return the weekly review dashboard, one table per configured action."""
    builder = (
        base_dashboard(
            "Salespulse weekly review",
            WEEKLY_REVIEW_UID,
            ["weekly-review"],
            refresh=REFRESH,
            time_from=TIME_FROM,
        )
        .with_variable(team_variable())
        .with_row(dashboard.Row("Actions: this week vs last week"))
    )
    for action in settings.actions:
        builder = builder.with_panel(actions_week_table(action))
    reward_share = settings.mystery.reward_share
    quality = dashboard.Row("Execution quality").with_panel(stage_changes_table())
    quality = quality.with_panel(checklist_missing_table())
    subjects = list(settings.reviews.themes)
    for index, subject in enumerate(subjects):
        # Half width, two a line; an odd last one takes the whole line so the next panels start
        # on a line of their own (the builder places panels left to right without wrapping).
        last_alone = index == len(subjects) - 1 and len(subjects) % 2 == 1
        quality = quality.with_panel(review_score_avg_table(subject, 24 if last_alone else 12))
    quality = (
        quality.with_panel(mystery_points_table(reward_share))
        .with_panel(team_reward_table())
        .with_panel(self_reported_actions_table())
        .with_panel(self_report_submitted_table())
        .with_panel(quality_text(reward_share))
    )
    return (
        builder.with_row(dashboard.Row("Targets"))
        .with_panel(action_target_table())
        .with_row(dashboard.Row("Deal velocity"))
        .with_panel(deal_decision_seconds_bargauge())
        .with_panel(deal_decision_seconds_table())
        .with_panel(sales_velocity_table())
        .with_row(quality)
    )
