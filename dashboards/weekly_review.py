"""The weekly review: each rep's figures this week against last week, for the team meeting.

Each rep presents their own rise or fall, so every configured action gets its own table with
this week, last week and the change, coloured red for a fall and green for a rise. Adding an
action to the configuration adds a table; nothing else needs editing. Below them: attainment of
the weekly targets, deal velocity by outcome, and a collapsed execution-quality row with each
review subject's scores per rep and theme.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, common as common_builder, dashboard, table
from grafana_foundation_sdk.builders import text
from grafana_foundation_sdk.models import units
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

from dashboards.common import (
    GREEN,
    PACE_STEPS,
    RED,
    TEAM,
    base_dashboard,
    decision_time,
    default_bargauge,
    default_table,
    prometheus_query,
    team_variable,
    text_panel,
    threshold_cells,
    threshold_colours,
    thresholds,
    with_rep_names,
)
from exporters.metrics import ACTION_TARGET, ACTIONS, REVIEW_SCORE_AVG, STAGE_CHANGES
from models.config import Settings

WEEKLY_REVIEW_UID = "salespulse-weekly-review"
REFRESH = "1m"
TIME_FROM = "now-7d"
VELOCITY_WINDOWS = (("rolling_30d", "30 days"), ("rolling_90d", "90 days"))
# Counts are whole numbers: below 0 is a fall, 0 is flat, 1 or more is a rise.
CHANGE_STEPS: tuple[tuple[float | None, str], ...] = ((None, RED), (0.0, "text"), (1.0, GREEN))
QUALITY_NOTE = (
    "Checklist completeness (level 1) and review scores (level 2) are shown above. Process "
    "checklists and the monthly mystery-check points are not measured yet."
)


def _rep_actions(action: str, window: str) -> str:
    # Summing by name as well keeps the display name through the sum, and drops `window`, so
    # the three queries of a table share their label columns and merge into one row per rep.
    series = f'{ACTIONS.sample_name}{{{TEAM}, action="{action}", window="{window}"}}'
    return f"sum by (team, rep, name) ({with_rep_names(series)})"


def _merge_columns(renames: dict[str, str]) -> list[DataTransformerConfig]:
    # Instant table queries give one frame each; merge joins them on their label columns.
    order = {field: index for index, field in enumerate(renames)}
    return [
        DataTransformerConfig(id_val="merge", options={}),
        DataTransformerConfig(
            id_val="organize",
            options={
                "excludeByName": {"Time": True, "team": True, "rep": True},
                "indexByName": order,
                "renameByName": renames,
            },
        ),
    ]


def _matrix(row: str, column: str) -> DataTransformerConfig:
    # One row per rep, one column per action or outcome, instead of one row per series.
    return DataTransformerConfig(
        id_val="groupingToMatrix",
        options={"rowField": row, "columnField": column, "valueField": "Value"},
    )


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
            _merge_columns(
                {"name": "Rep", "Value #A": "This week", "Value #B": "Last week", "Value #C": "Change"}
            )
        )
        .unit(units.Short)
        .decimals(0)
        .override_by_name("Change", threshold_cells(CHANGE_STEPS))
        .sort_by([common_builder.TableSortByFieldState().display_name("This week").desc(True)])
        .span(12)
        .height(8)
    )


def _ratio_table(title: str, description: str, ratio: str, column: str) -> table.Panel:
    # One row per rep, one column per `column` value, cells coloured like pace.
    return (
        default_table()
        .title(title)
        .description(description)
        .with_target(prometheus_query(with_rep_names(ratio), "", instant=True, table_format=True))
        .with_transformation(_matrix("name", column))
        .unit(units.PercentUnit)
        .decimals(0)
        .override_by_field_type("number", threshold_cells(PACE_STEPS, "color-background"))
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
        default_bargauge()
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
    for window, label in VELOCITY_WINDOWS:
        expr = decision_time(f'{TEAM}, window="{window}"', "outcome")
        panel = panel.with_target(prometheus_query(expr, f"{{{{outcome}}}}, {label}", instant=True))
    return panel


def deal_decision_seconds_table() -> table.Panel:
    """Each rep's average time to a decision by outcome, over 30 days."""
    window, label = VELOCITY_WINDOWS[0]
    expr = with_rep_names(decision_time(f'{TEAM}, window="{window}"', "team, rep, outcome"))
    return (
        default_table()
        .title(f"Time to decision per rep ({label})")
        .with_target(prometheus_query(expr, "", instant=True, table_format=True))
        .with_transformation(_matrix("name", "outcome"))
        .unit(units.Seconds)
        .decimals(1)
        .span(16)
        .height(8)
    )


def review_score_avg_table(subject: str) -> table.Panel:
    """Each rep's average score per theme of one review subject, over the rolling 30 days."""
    expr = with_rep_names(f'{REVIEW_SCORE_AVG.sample_name}{{{TEAM}, subject="{subject}"}}')
    return (
        default_table()
        .title(f"Review scores: {subject} (30 days)")
        .description("Average score per theme on the configured scale; reviews by teammates.")
        .with_target(prometheus_query(expr, "", instant=True, table_format=True))
        .with_transformation(_matrix("name", "theme"))
        .decimals(1)
        .span(12)
        .height(8)
    )


def stage_changes_table() -> table.Panel:
    """Each rep's share of stage changes made with a complete content checklist, per stage."""
    changes = f"{STAGE_CHANGES.sample_name}{{{TEAM}}}"
    complete = f'{STAGE_CHANGES.sample_name}{{{TEAM}, completeness="complete"}}'
    return _ratio_table(
        "Checklist completeness (30 days)",
        "Stage changes with every required CRM field filled / all stage changes.",
        f"sum by (team, rep, stage) ({complete}) / sum by (team, rep, stage) ({changes})",
        "stage",
    )


def quality_text() -> text.Panel:
    """What of execution quality is not measured yet."""
    return text_panel("Execution quality", QUALITY_NOTE).span(24).height(3)


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
    quality = dashboard.Row("Execution quality").with_panel(stage_changes_table())
    for subject in settings.reviews.themes:
        quality = quality.with_panel(review_score_avg_table(subject))
    quality = quality.with_panel(quality_text())
    return (
        builder.with_row(dashboard.Row("Targets"))
        .with_panel(action_target_table())
        .with_row(dashboard.Row("Deal velocity"))
        .with_panel(deal_decision_seconds_bargauge())
        .with_panel(deal_decision_seconds_table())
        .with_row(quality)
    )
