"""Pipeline health, for whoever runs Salespulse: is the worker up, is it keeping up, what is rejected."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, stat, timeseries
from grafana_foundation_sdk.models import units
from grafana_foundation_sdk.models.dashboard import (
    DashboardRangeMapOptions,
    RangeMap,
    ValueMapping,
    ValueMappingResult,
)

from salespulse.dashboards.common import (
    COUNT_UNIT,
    GREEN,
    RED,
    base_dashboard,
    default_stat,
    default_timeseries,
    prometheus_query,
    threshold_colours,
    thresholds,
)
from salespulse.exporters.metrics import ACTIONS_TOTAL, CONSUMER_LAG, EVENTS_DUPLICATE, EVENTS_REJECTED, IN_WORKING_TIME

PIPELINE_HEALTH_UID = "salespulse-pipeline-health"
REFRESH = "30s"
TIME_FROM = "now-6h"
# The scrape job of deploy/prometheus/prometheus.yml; Prometheus adds `up` for every target.
SCRAPE_JOB = "salespulse"
WORKER_UP = f'up{{job="{SCRAPE_JOB}"}}'


def _up_mappings() -> list[ValueMapping]:
    # `up` is 1 or 0, and absent when the target is not configured at all.
    mappings: list[ValueMapping] = []
    for value, label, color in ((1.0, "UP", GREEN), (0.0, "DOWN", RED)):
        result = ValueMappingResult(text=label, color=color)
        mappings.append(RangeMap(DashboardRangeMapOptions(from_val=value, to=value, result=result)))
    return mappings


def up_stat() -> stat.Panel:
    """Whether Prometheus can scrape the worker."""
    return (
        default_stat(60)
        .title("Worker")
        .with_target(prometheus_query(WORKER_UP, "{{instance}}", instant=True))
        .mappings(_up_mappings())
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, RED), (1.0, GREEN)]))
        .no_value("not scraped")
        .span(6)
        .height(5)
    )


def actions_total_stat() -> stat.Panel:
    """Activity events counted in the last 24 hours."""
    expr = f"sum(increase({ACTIONS_TOTAL.sample_name}[24h]))"
    return (
        default_stat(60)
        .title("Actions counted, 24 h")
        .with_target(prometheus_query(expr, "Counted", instant=True))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, "text")]))
        .span(6)
        .height(5)
    )


def events_rejected_stat() -> stat.Panel:
    """Events sent to the dead-letter topic in the last 24 hours."""
    expr = f"sum(increase({EVENTS_REJECTED.sample_name}[24h]))"
    return (
        default_stat(60)
        .title("Rejected, 24 h")
        .with_target(prometheus_query(expr, "Rejected", instant=True))
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, GREEN), (1.0, "orange")]))
        .span(6)
        .height(5)
    )


def consumer_lag_stat() -> stat.Panel:
    """Records the workers have yet to fetch, over every input partition."""
    return (
        default_stat()
        .title("Consumer lag")
        .with_target(prometheus_query(f"sum({CONSUMER_LAG.sample_name})", "Lag", instant=True))
        .unit(COUNT_UNIT)
        .color_scheme(threshold_colours())
        .thresholds(thresholds([(None, GREEN), (1000.0, "orange"), (10000.0, RED)]))
        .span(6)
        .height(5)
    )


def consumer_lag_timeseries() -> timeseries.Panel:
    """Records not yet fetched, per input topic."""
    return (
        default_timeseries()
        .title("Consumer lag by topic")
        .with_target(prometheus_query(f"sum by (topic) ({CONSUMER_LAG.sample_name})", "{{topic}}"))
        .unit(units.Short)
        .span(24)
        .height(8)
    )


def actions_total_timeseries() -> timeseries.Panel:
    """Activity events processed per second, by team."""
    expr = f"sum by (team) (rate({ACTIONS_TOTAL.sample_name}[$__rate_interval]))"
    return (
        default_timeseries()
        .title("Processing rate")
        .description("Accepted, de-duplicated activity events per second.")
        .with_target(prometheus_query(expr, "{{team}}"))
        .unit(units.CountsPerSecond)
        .span(12)
        .height(8)
    )


def events_rejected_timeseries() -> timeseries.Panel:
    """Events sent to the dead-letter topic per second, by reason."""
    expr = f"sum by (reason) (rate({EVENTS_REJECTED.sample_name}[$__rate_interval]))"
    return (
        default_timeseries()
        .title("Rejected events")
        .with_target(prometheus_query(expr, "{{reason}}"))
        .unit(units.CountsPerSecond)
        .span(12)
        .height(8)
    )


def events_duplicate_timeseries() -> timeseries.Panel:
    """Duplicate events dropped per second, by event type."""
    expr = f"sum by (type) (rate({EVENTS_DUPLICATE.sample_name}[$__rate_interval]))"
    return (
        default_timeseries()
        .title("Duplicate events")
        .description("Counted by the worker process since it started; a restart resets the counter.")
        .with_target(prometheus_query(expr, "{{type}}"))
        .unit(units.CountsPerSecond)
        .span(12)
        .height(8)
    )


def in_working_time_timeseries() -> timeseries.Panel:
    """Which teams are inside working time, the hours in which pacing alerts may fire."""
    return (
        default_timeseries()
        .title("Teams in working time")
        .with_target(prometheus_query(IN_WORKING_TIME.sample_name, "{{team}}"))
        .unit(units.Short)
        .max(1)
        .span(12)
        .height(8)
    )


def pipeline_health() -> dashboard.Dashboard:
    """Return the pipeline health dashboard."""
    return (
        base_dashboard(
            "Salespulse pipeline health",
            PIPELINE_HEALTH_UID,
            ["pipeline"],
            refresh=REFRESH,
            time_from=TIME_FROM,
        )
        .with_panel(up_stat())
        .with_panel(actions_total_stat())
        .with_panel(events_rejected_stat())
        .with_panel(consumer_lag_stat())
        .with_panel(actions_total_timeseries())
        .with_panel(events_rejected_timeseries())
        .with_panel(events_duplicate_timeseries())
        .with_panel(in_working_time_timeseries())
        .with_panel(consumer_lag_timeseries())
    )
