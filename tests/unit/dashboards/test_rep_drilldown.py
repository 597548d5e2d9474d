"""The rep drill-down: every query is scoped to the selected team and rep."""

from __future__ import annotations

from salespulse.dashboards.build import panel_queries
from salespulse.dashboards.common import dashboard_json
from salespulse.dashboards.rep_drilldown import rep_drilldown


def test_team_then_rep_variables() -> None:
    variables = dashboard_json(rep_drilldown())["templating"]["list"]
    assert [v["name"] for v in variables] == ["team", "rep"]
    assert variables[1]["query"] == 'label_values(salespulse_rep_info{team="$team"}, rep)'


def test_every_query_selects_the_rep() -> None:
    queries = panel_queries(dashboard_json(rep_drilldown()))
    assert queries
    for title, expr in queries:
        assert 'team="$team", rep="$rep"' in expr, title


def test_actions_over_time_and_counter_increase() -> None:
    queries = dict(panel_queries(dashboard_json(rep_drilldown())))
    assert queries["Actions today, per action"] == 'salespulse_actions{team="$team", rep="$rep", window="today"}'
    assert "increase(salespulse_actions_total{" in queries["Actions per hour"]
