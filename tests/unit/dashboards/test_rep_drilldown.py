"""The rep drill-down: every query is scoped to the selected team and rep."""

from __future__ import annotations

import re
from typing import Any

from salespulse.dashboards.build import panel_queries
from salespulse.dashboards.common import dashboard_json
from salespulse.dashboards.rep_drilldown import rep_drilldown
from tests.unit.dashboards.grafana_display import display, is_red


def panels() -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in dashboard_json(rep_drilldown())["panels"]}


def test_team_then_rep_variables_the_rep_picker_shows_names_and_passes_ids() -> None:
    variables = dashboard_json(rep_drilldown())["templating"]["list"]
    assert [v["name"] for v in variables] == ["team", "rep"]
    rep = variables[1]
    assert rep["query"] == 'query_result(salespulse_rep_info{team="$team"})'
    # Grafana's Prometheus data source lists each series of query_result() as
    # `name{label="value",...} value timestamp`, labels sorted, and reads the regex's named groups
    # `text` (shown) and `value` (used). JavaScript's (?<x>...) is Python's (?P<x>...).
    pattern = re.compile(rep["regex"].strip("/").replace("(?<", "(?P<"))
    for line, text, value in [
        ('salespulse_rep_info{name="Anna de Vries",rep="anna",team="amsterdam"} 1 1764489600000', "Anna de Vries", "anna"),
        (
            'salespulse_rep_info{instance="worker:6066",job="salespulse",name="Raj Patel",rep="raj",team="new-york"} 1 1',
            "Raj Patel",
            "raj",
        ),
    ]:
        match = pattern.search(line)
        assert match and (match["text"], match["value"]) == (text, value)


def test_legends_name_windows_in_words_not_ids() -> None:
    for title in ("Deals decided", "Time to decision"):
        legends = [t["legendFormat"] for t in panels()[title]["targets"]]
        assert legends == ["{{outcome}}, 30 days", "{{outcome}}, 90 days"], title
        for target in panels()[title]["targets"]:
            assert "window)" not in target["expr"] and "window," not in target["expr"]


def test_bar_names_sit_above_the_bars_so_action_names_are_not_cut() -> None:
    for title, panel in panels().items():
        if panel["type"] == "bargauge":
            assert panel["options"]["namePlacement"] == "top", title


def test_counts_are_shown_in_full() -> None:
    defaults = panels()["Actions"]["fieldConfig"]["defaults"]
    assert (defaults["unit"], defaults["decimals"]) == ("locale", 0)


def test_pace_now_is_grey_while_nothing_is_due() -> None:
    pace = panels()["Pace now"]
    (target,) = pace["targets"]
    assert target["expr"] == (
        'sort_desc(salespulse_action_pace_ratio{team="$team", rep="$rep"} or '
        '(salespulse_action_expected{team="$team", rep="$rep"} == 0) + -1)'
    )
    assert display(pace["fieldConfig"], -1) == ("nothing due yet", "#8E8E8E")
    text, colour = display(pace["fieldConfig"], None)
    assert text == "no target set" and not is_red(colour)


def test_every_query_selects_the_rep() -> None:
    queries = panel_queries(dashboard_json(rep_drilldown()))
    assert queries
    for title, expr in queries:
        assert 'team="$team", rep="$rep"' in expr, title


def test_actions_over_time_and_counter_increase() -> None:
    queries = dict(panel_queries(dashboard_json(rep_drilldown())))
    assert queries["Actions today, per action"] == 'salespulse_actions{team="$team", rep="$rep", window="today"}'
    assert "increase(salespulse_actions_total{" in queries["Actions per hour"]
