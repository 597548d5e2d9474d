"""Pipeline health: worker up, processing and rejection rates, consumer lag."""

from __future__ import annotations

from salespulse.dashboards.build import panel_queries
from salespulse.dashboards.common import dashboard_json
from salespulse.dashboards.pipeline_health import pipeline_health


def test_queries_cover_up_rates_and_rejections() -> None:
    queries = dict(panel_queries(dashboard_json(pipeline_health())))
    assert queries["Worker"] == 'up{job="salespulse"}'
    assert queries["Processing rate"] == "sum by (team) (rate(salespulse_actions_total[$__rate_interval]))"
    assert queries["Rejected events"] == "sum by (reason) (rate(salespulse_events_rejected_total[$__rate_interval]))"
    assert queries["Duplicate events"] == "sum by (type) (rate(salespulse_events_duplicate_total[$__rate_interval]))"


def test_consumer_lag_is_graphed_from_the_workers_metric() -> None:
    board = dashboard_json(pipeline_health())
    lag = next(p for p in board["panels"] if p["title"] == "Consumer lag")
    assert lag["type"] == "stat"
    assert [t["expr"] for t in lag["targets"]] == ["sum(salespulse_consumer_lag)"]
    by_topic = next(p for p in board["panels"] if p["title"] == "Consumer lag by topic")
    assert [t["expr"] for t in by_topic["targets"]] == ["sum by (topic) (salespulse_consumer_lag)"]
