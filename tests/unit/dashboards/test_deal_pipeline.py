"""The deal pipeline: funnel, time in stage, open and stale deals, velocity, per team and window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from salespulse.dashboards.build import panel_queries
from salespulse.dashboards.common import dashboard_json
from salespulse.dashboards.deal_pipeline import deal_pipeline
from salespulse.models.config import parse_settings
from tests.unit.dashboards.grafana_display import display, is_red
from tests.unit.exporters.test_alert_rules import promtool

STAGES = ("lead", "qualified", "proposal")
REP_NAMES = "* on (team, rep) group_left (name) salespulse_rep_info"


def board(**config: Any) -> dict[str, Any]:
    return dashboard_json(deal_pipeline(parse_settings({"stages": list(STAGES), **config})))


def panels(**config: Any) -> dict[str, dict[str, Any]]:
    top = board(**config)["panels"]
    return {p["title"]: p for p in top}


def organize(panel: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = next(t for t in panel["transformations"] if t["id"] == "organize")["options"]
    return options


def test_team_and_window_variables_the_window_by_name_90_days_first() -> None:
    team, window = board()["templating"]["list"]
    assert (team["name"], team["type"]) == ("team", "query")
    assert (window["name"], window["type"], window["label"]) == ("window", "custom", "Window")
    assert window["query"] == "30 days : rolling_30d, 90 days : rolling_90d"
    assert [(o["text"], o["value"]) for o in window["options"]] == [("30 days", "rolling_30d"), ("90 days", "rolling_90d")]
    assert window["current"] == {"selected": True, "text": "90 days", "value": "rolling_90d"}
    assert window["allowCustomValue"] is False


def test_every_query_selects_the_team_and_every_windowed_one_the_window() -> None:
    queries = panel_queries(board())
    assert queries
    for title, expr in queries:
        assert 'team="$team"' in expr, title
        windowed = not any(name in expr for name in ("salespulse_open_deals", "salespulse_deals_without_rate"))
        assert ('window="$window"' in expr) == windowed, (title, expr)


def test_funnel_has_a_bar_per_stage_in_pipeline_order_then_won_as_a_share() -> None:
    funnel = panels()["Funnel"]
    assert funnel["type"] == "bargauge"
    assert [t["legendFormat"] for t in funnel["targets"]] == [*STAGES, "won"]
    assert [t["expr"] for t in funnel["targets"]] == [
        f'salespulse_funnel_reached_ratio{{team="$team", window="$window", stage="{stage}"}}'
        for stage in (*STAGES, "won")
    ]
    assert all(t["instant"] for t in funnel["targets"])
    defaults = funnel["fieldConfig"]["defaults"]
    assert (defaults["unit"], defaults["min"], defaults["max"]) == ("percentunit", 0, 1.0)
    assert funnel["options"]["namePlacement"] == "top"
    base = panels()["Deals created"]
    assert [t["expr"] for t in base["targets"]] == ['sum(salespulse_funnel_deals{team="$team", window="$window"})']
    assert (base["fieldConfig"]["defaults"]["unit"], base["fieldConfig"]["defaults"]["decimals"]) == ("locale", 0)


def test_stages_follow_the_configuration() -> None:
    funnel = panels(stages=["discovery", "demo"])["Funnel"]
    assert [t["legendFormat"] for t in funnel["targets"]] == ["discovery", "demo", "won"]
    heatmaps = [p["title"] for p in board(stages=["discovery", "demo"])["panels"] if p["type"] == "heatmap"]
    assert heatmaps == ["Time in stage: discovery", "Time in stage: demo"]


def test_time_in_stage_is_the_exported_average_per_stage_in_seconds() -> None:
    bars = panels()["Time in stage (average)"]
    assert [t["expr"] for t in bars["targets"]] == [
        f'salespulse_stage_seconds_avg{{team="$team", window="$window", stage="{stage}"}}' for stage in STAGES
    ]
    assert bars["fieldConfig"]["defaults"]["unit"] == "s"


def test_open_deals_read_the_teams_own_series_with_the_stale_ones_in_amber() -> None:
    bars = panels()["Open deals per stage"]
    assert [t["legendFormat"] for t in bars["targets"]] == [
        "lead", "lead · stale", "qualified", "qualified · stale", "proposal", "proposal · stale",
    ]
    assert bars["targets"][0]["expr"] == 'salespulse_open_deals{team="$team", rep="", stage="lead"}'
    assert bars["targets"][1]["expr"] == 'salespulse_open_deals_stale{team="$team", rep="", stage="lead"}'
    (override,) = bars["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byRegexp", "options": ".* · stale$"}
    assert override["properties"] == [{"id": "color", "value": {"mode": "fixed", "fixedColor": "#EAB839"}}]
    assert "14 days" in bars["description"]
    assert "3 days" in panels(deals={"stale_days": 3})["Open deals per stage"]["description"]


def test_stage_heatmaps_read_the_histogram_buckets_as_they_are() -> None:
    heatmaps = [p for p in board()["panels"] if p["type"] == "heatmap"]
    assert [h["title"] for h in heatmaps] == [f"Time in stage: {stage}" for stage in STAGES]
    for heatmap, stage in zip(heatmaps, STAGES):
        (target,) = heatmap["targets"]
        assert target["expr"] == (
            f'sum by (le) (salespulse_stage_seconds_bucket{{team="$team", window="$window", stage="{stage}"}})'
        )
        assert (target["format"], target["legendFormat"], target["range"]) == ("heatmap", "{{le}}", True)
        options = heatmap["options"]
        assert options["calculate"] is False
        assert options["rowsFrame"] == {"layout": "le"}
        assert options["yAxis"]["unit"] == "s"
    # Three stages: two a line, the odd last one alone on its line.
    assert [(h["gridPos"]["x"], h["gridPos"]["w"]) for h in heatmaps] == [(0, 12), (12, 12), (0, 24)]


def test_panels_fit_the_width_without_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in board()["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & area, f"{panel['title']} overlaps another panel"
        cells |= area


def test_velocity_table_has_each_rep_and_the_whole_team_in_the_teams_currency() -> None:
    table = panels()["Velocity per rep (${window:text})"]
    exprs = [t["expr"] for t in table["targets"]]
    assert exprs[0] == (
        'sum by (team, rep, name, currency) (((salespulse_sales_velocity{team="$team", window="$window", rep!=""}) '
        f'{REP_NAMES}) or label_replace(salespulse_sales_velocity{{team="$team", window="$window", rep=""}}, '
        '"name", "Whole team", "rep", ""))'
    )
    assert "salespulse_win_rate{" in exprs[1] and "salespulse_deal_value_won_avg{" in exprs[2]
    assert "currency" not in exprs[1] and "sum by (team, rep, name, currency)" in exprs[2]
    assert "salespulse_sales_cycle_seconds_avg{" in exprs[3] and exprs[3].endswith(" / 86400")
    # Open deals are as of now, summed over the stages.
    assert exprs[4].startswith('sum by (team, rep, name) (((salespulse_open_deals{team="$team", rep!=""})')
    assert organize(table)["renameByName"] == {
        "name": "Rep",
        "currency": "Currency",
        "Value #A": "Velocity per day",
        "Value #B": "Win rate",
        "Value #C": "Average won value",
        "Value #D": "Sales cycle (days)",
        "Value #E": "Open deals",
    }
    excluded = {name for name, hidden in organize(table)["excludeByName"].items() if hidden}
    assert {"instance", "job", "__name__", "Time", "team", "rep"} <= excluded
    overrides = {o["matcher"]["options"]: o["properties"] for o in table["fieldConfig"]["overrides"]}
    assert overrides == {
        "Win rate": [{"id": "unit", "value": "percentunit"}],
        "Sales cycle (days)": [{"id": "decimals", "value": 1}],
    }
    assert (table["fieldConfig"]["defaults"]["unit"], table["fieldConfig"]["defaults"]["decimals"]) == ("locale", 0)
    assert table["options"]["sortBy"] == [{"displayName": "Velocity per day", "desc": True}]


def test_stale_table_lists_only_reps_and_stages_with_a_stale_deal() -> None:
    table = panels()["Stale deals per rep"]
    stale, open_deals = (t["expr"] for t in table["targets"])
    assert stale == (
        f'sum by (team, rep, name, stage) ((salespulse_open_deals_stale{{team="$team", rep!=""}} > 0) {REP_NAMES})'
    )
    assert "and on (team, rep, stage) (salespulse_open_deals_stale" in open_deals
    assert organize(table)["renameByName"] == {"name": "Rep", "stage": "Stage", "Value #A": "Stale", "Value #B": "Open"}
    (override,) = table["fieldConfig"]["overrides"]
    properties = {p["id"]: p["value"] for p in override["properties"]}
    cells = {"defaults": {"thresholds": properties["thresholds"]}}
    assert [display(cells, v)[1] for v in (None, 0.0, 1.0, 5.0)] == ["text", "text", "#EAB839", "#EAB839"]
    assert not any(is_red(display(cells, v)[1]) for v in (None, 1.0))
    assert "14 days" in table["description"]


def test_velocity_and_stale_queries_in_a_real_promql_engine(tmp_path: Path) -> None:
    # Team nl in EUR: anna and bob, and the team's own series (no `rep` label). Bob has won nothing
    # with a value in 30 days, so he has no velocity; be is another team, rolling_90d another window.
    def series(metric: str, value: float, rep: str | None = None, team: str = "nl", **labels: str) -> dict[str, str]:
        rep_label = "" if rep is None else f',rep="{rep}"'
        extra = "".join(f',{key}="{val}"' for key, val in labels.items())
        return {"series": f'{metric}{{team="{team}"{rep_label}{extra}}}', "values": f"{value}x10"}

    d30, d90, eur = {"window": "rolling_30d"}, {"window": "rolling_90d"}, {"currency": "EUR"}
    inputs = [
        {"series": 'salespulse_rep_info{team="nl",rep="anna",name="Anna"}', "values": "1x10"},
        {"series": 'salespulse_rep_info{team="nl",rep="bob",name="Bob"}', "values": "1x10"},
        series("salespulse_sales_velocity", 120.5, "anna", **d30, **eur),
        series("salespulse_sales_velocity", 300, **d30, **eur),
        series("salespulse_sales_velocity", 999, **d90, **eur),
        series("salespulse_win_rate", 0.5, "anna", **d30),
        series("salespulse_win_rate", 0.25, "bob", **d30),
        series("salespulse_win_rate", 0.4, **d30),
        series("salespulse_win_rate", 0.6, "anna", **d90),
        series("salespulse_win_rate", 0.9, team="be", **d30),
        series("salespulse_deal_value_won_avg", 10000, "anna", **d30, **eur),
        series("salespulse_deal_value_won_avg", 8000, "bob", **d30, **eur),
        series("salespulse_deal_value_won_avg", 9000, **d30, **eur),
        series("salespulse_sales_cycle_seconds_avg", 864000, "anna", **d30),
        series("salespulse_sales_cycle_seconds_avg", 1728000, "bob", **d30),
        series("salespulse_sales_cycle_seconds_avg", 1296000, **d30),
        series("salespulse_open_deals", 2, "anna", stage="lead"),
        series("salespulse_open_deals", 1, "anna", stage="proposal"),
        series("salespulse_open_deals", 3, "bob", stage="lead"),
        series("salespulse_open_deals", 5, stage="lead"),
        series("salespulse_open_deals", 1, stage="proposal"),
        series("salespulse_open_deals_stale", 1, "anna", stage="lead"),
        series("salespulse_open_deals_stale", 0, "anna", stage="proposal"),
        series("salespulse_open_deals_stale", 0, "bob", stage="lead"),
        series("salespulse_open_deals_stale", 1, stage="lead"),
        series("salespulse_open_deals_stale", 0, stage="proposal"),
    ]

    def row(name: str, value: float, rep: str | None = None, **labels: str) -> dict[str, Any]:
        found = {"team": "nl", **({} if rep is None else {"rep": rep}), "name": name, **labels}
        return {"labels": "{" + ",".join(f'{key}="{val}"' for key, val in found.items()) + "}", "value": value}

    team = "Whole team"
    expected = {
        "Velocity per rep (${window:text})": [
            [row("Anna", 120.5, "anna", currency="EUR"), row(team, 300, currency="EUR")],
            [row("Anna", 0.5, "anna"), row("Bob", 0.25, "bob"), row(team, 0.4)],
            [row("Anna", 10000, "anna", currency="EUR"), row("Bob", 8000, "bob", currency="EUR"),
             row(team, 9000, currency="EUR")],
            [row("Anna", 10, "anna"), row("Bob", 20, "bob"), row(team, 15)],
            [row("Anna", 3, "anna"), row("Bob", 3, "bob"), row(team, 6)],
        ],
        "Stale deals per rep": [
            [row("Anna", 1, "anna", stage="lead")],
            [row("Anna", 2, "anna", stage="lead")],
        ],
    }
    tables = panels()
    cases = [
        {
            "expr": target["expr"].replace("$team", "nl").replace("$window", "rolling_30d"),
            "eval_time": "5m",
            "exp_samples": samples,
        }
        for title, per_query in expected.items()
        for target, samples in zip(tables[title]["targets"], per_query, strict=True)
    ]
    tests = {"tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": cases}]}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
