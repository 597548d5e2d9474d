"""The generated set: SDK round-trip, uids and tags, known metric names, provisioning files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from salespulse.dashboards.build import build_all, kiosk_urls, panel_queries, write_provisioning
from salespulse.dashboards.wallboard import wallboard_playlist
from salespulse.exporters.metrics import ALL_METRICS
from salespulse.models.config import Settings, parse_settings
from tests.unit.exporters.test_alert_rules import promtool

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
KNOWN_METRICS = (
    {spec.sample_name for spec in ALL_METRICS if spec.type != "histogram"}
    | {spec.name + suffix for spec in ALL_METRICS if spec.type == "histogram" for suffix in HISTOGRAM_SUFFIXES}
    | {"up"}
)
PROMQL_WORDS = {
    *("and", "or", "unless", "bool", "offset", "inf", "nan"),
    *("by", "without", "on", "ignoring", "group_left", "group_right"),
}


def metric_names(expr: str) -> set[str]:
    """Return the metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals: label values
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors, [5m] or [$__rate_interval]
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables
    # A whole identifier, not part of a number (1e-9) and not a function call.
    found = re.findall(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return set(found) - PROMQL_WORDS


def demo_settings() -> Settings:
    return parse_settings(yaml.safe_load((EXAMPLES / "demo.yaml").read_text(encoding="utf-8")))


def all_boards() -> dict[str, dict[str, Any]]:
    return build_all(demo_settings())


def test_metric_names_ignores_functions_labels_keywords_and_numbers() -> None:
    expr = (
        'sort_desc((sum by (team, rep) (salespulse_actions{team="$team", window="week"} and on (team, rep, action) '
        "salespulse_action_expected) / (sum by(team) (rate(salespulse_actions_total[$__rate_interval])) > 0.8e1)) "
        '* on (team, rep) group_left (name) salespulse_rep_info) or up{job="salespulse"} offset 5m'
    )
    assert metric_names(expr) == {
        "salespulse_actions",
        "salespulse_action_expected",
        "salespulse_actions_total",
        "salespulse_rep_info",
        "up",
    }


def test_file_names_are_the_uids_and_every_uid_is_unique() -> None:
    boards = all_boards()
    assert set(boards) == {
        "salespulse-wallboard.json",
        "salespulse-wallboard-amsterdam.json",
        "salespulse-wallboard-new-york.json",
        "salespulse-weekly-review.json",
        "salespulse-deal-pipeline.json",
        "salespulse-rep-drilldown.json",
        "salespulse-pipeline-health.json",
    }
    for name, board in boards.items():
        assert name == f"{board['uid']}.json"


@pytest.mark.parametrize("name", sorted(all_boards()))
def test_every_dashboard_is_tagged_generated_and_salespulse(name: str) -> None:
    board = all_boards()[name]
    assert {"generated", "salespulse"} <= set(board["tags"])
    assert board["uid"] and board["title"]


def test_output_is_stable_between_runs() -> None:
    assert build_all(demo_settings()) == build_all(demo_settings())


def strict_decode(board: dict[str, Any]) -> list[str]:
    """Decode a dashboard with the SDK's Grafana 11.6 models; return the paths of what they drop.

    The Python SDK has no strict decoder: its models keep only the fields of Grafana's schema (and
    of each panel plugin's options and field config), so a key they do not know is lost on the way
    through. Comparing the re-encoded JSON with the original makes that decoding strict.
    """
    register_default_plugins()
    decoded = json.loads(JSONEncoder(sort_keys=True).encode(Dashboard.from_json(board)))
    lost: list[str] = []

    def compare(original: Any, kept: Any, path: str) -> None:
        if isinstance(original, dict) and isinstance(kept, dict):
            for key, value in original.items():
                if key not in kept:
                    lost.append(f"{path}.{key}")
                else:
                    compare(value, kept[key], f"{path}.{key}")
        elif isinstance(original, list) and isinstance(kept, list) and len(original) == len(kept):
            for index, (a, b) in enumerate(zip(original, kept)):
                compare(a, b, f"{path}[{index}]")
        elif isinstance(original, list) and isinstance(kept, list):
            lost.append(f"{path} has {len(kept)} of {len(original)} items")
        elif original != kept:
            lost.append(f"{path} changed")

    compare(board, decoded, "")
    return lost


@pytest.mark.parametrize("name", sorted(all_boards()))
def test_dashboard_round_trips_through_the_sdk_models(name: str) -> None:
    register_default_plugins()
    board = all_boards()[name]
    model = Dashboard.from_json(board)
    assert json.loads(JSONEncoder(sort_keys=True).encode(model)) == board


@pytest.mark.parametrize("name", sorted(all_boards()))
def test_dashboard_decodes_strictly_against_the_grafana_11_schema(name: str) -> None:
    assert strict_decode(all_boards()[name]) == []


def test_strict_decode_finds_keys_outside_the_schema() -> None:
    board = json.loads(json.dumps(all_boards()["salespulse-weekly-review.json"]))
    board["kioskTitle"] = "x"
    table = board["panels"][1]
    assert table["type"] == "table"
    table["options"]["fontSize"] = 28
    table["fieldConfig"]["defaults"]["custom"]["noSuchOption"] = 1
    lost = strict_decode(board)
    assert sorted(lost) == [
        ".kioskTitle",
        ".panels[1].fieldConfig.defaults.custom.noSuchOption",
        ".panels[1].options.fontSize",
    ]


def test_dashboards_are_generated_for_grafana_11() -> None:
    # Schema version 41 is the dashboard schema of Grafana 11.6, the image docker-compose.yml runs.
    assert {board["schemaVersion"] for board in all_boards().values()} == {41}
    compose = yaml.safe_load((EXAMPLES.parent / "docker-compose.yml").read_text())
    assert compose["services"]["grafana"]["image"] == "grafana/grafana:11.6.0"


def test_no_count_is_rounded_to_thousands() -> None:
    # `short` turns 1,683 into "2 K": stats, bar gauges and tables show counts with `locale`.
    for name, board in all_boards().items():
        panels = [p for top in board["panels"] for p in [top, *top.get("panels", [])]]
        for panel in panels:
            if panel["type"] in {"stat", "bargauge", "table"}:
                unit = panel["fieldConfig"]["defaults"].get("unit")
                assert unit != "short", f"{name}: panel {panel['id']} {panel.get('title', '')}"


def test_kiosk_urls_hide_the_bars_that_would_push_a_tv_board_past_1080_pixels() -> None:
    urls = dict(kiosk_urls(demo_settings(), "http://tv.example:3000/"))
    fixed = "kiosk&_dash.hideTimePicker=true&_dash.hideLinks=true&_dash.hideVariables=true"
    assert urls == {
        "Salespulse wallboards (playlist)": f"http://tv.example:3000/playlists/play/salespulse-wallboards?{fixed}",
        "Salespulse wallboard: amsterdam": f"http://tv.example:3000/d/salespulse-wallboard-amsterdam?{fixed}",
        "Salespulse wallboard: new-york": f"http://tv.example:3000/d/salespulse-wallboard-new-york?{fixed}",
        "Salespulse pipeline health": f"http://tv.example:3000/d/salespulse-pipeline-health?{fixed}",
        # Boards with a team or rep picker keep their variable bar.
        "Salespulse wallboard": "http://tv.example:3000/d/salespulse-wallboard?kiosk&_dash.hideTimePicker=true&_dash.hideLinks=true",
        "Salespulse weekly review": "http://tv.example:3000/d/salespulse-weekly-review?kiosk&_dash.hideTimePicker=true&_dash.hideLinks=true",
        "Salespulse deal pipeline": "http://tv.example:3000/d/salespulse-deal-pipeline?kiosk&_dash.hideTimePicker=true&_dash.hideLinks=true",
        "Salespulse rep drill-down": "http://tv.example:3000/d/salespulse-rep-drilldown?kiosk&_dash.hideTimePicker=true&_dash.hideLinks=true",
    }


@pytest.mark.parametrize("name", sorted(all_boards()))
def test_queries_use_only_exported_metric_names(name: str) -> None:
    queries = panel_queries(all_boards()[name])
    assert queries
    for title, expr in queries:
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= KNOWN_METRICS, f"{title}: unknown {names - KNOWN_METRICS} in {expr}"


def test_every_query_is_promql_that_prometheus_parses(tmp_path: Path) -> None:
    # Each query as a recording rule, the dashboard variables filled in as Grafana would.
    filled = {"$team": "amsterdam", "$rep": "anna", "$window": "rolling_90d", "$__rate_interval": "30s"}
    exprs = sorted({expr for board in all_boards().values() for _, expr in panel_queries(board)})
    rules = []
    for number, expr in enumerate(exprs):
        for variable, value in filled.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


def test_panel_ids_are_unique_within_each_dashboard() -> None:
    for board in all_boards().values():
        ids = [p["id"] for p in board["panels"]] + [q["id"] for p in board["panels"] for q in p.get("panels", [])]
        assert len(ids) == len(set(ids))


def test_panel_queries_reads_collapsed_rows() -> None:
    board = {
        "panels": [
            {
                "type": "row",
                "title": "r",
                "panels": [{"title": "inner", "datasource": {"type": "prometheus"}, "targets": [{"expr": "up"}]}],
            },
            {"title": "text", "type": "text"},
            {"title": "other", "targets": [{"expr": "x", "datasource": {"type": "loki"}}]},
        ]
    }
    assert panel_queries(board) == [("inner", "up")]
    untitled = {"panels": [{"id": 7, "datasource": {"type": "prometheus"}, "targets": [{"expr": "up"}]}]}
    assert panel_queries(untitled) == [("panel 7", "up")]


def test_adding_a_team_adds_a_wallboard_and_an_action_changes_the_review() -> None:
    base = parse_settings({"teams": {"nl": {}}, "actions": ["call"]})
    more_teams = parse_settings({"teams": {"nl": {}, "be": {}}, "actions": ["call"]})
    more_actions = parse_settings({"teams": {"nl": {}}, "actions": ["call", "demo"]})
    assert set(build_all(more_teams)) - set(build_all(base)) == {"salespulse-wallboard-be.json"}
    changed = {n for n, b in build_all(more_actions).items() if build_all(base)[n] != b}
    assert changed == {"salespulse-weekly-review.json"}


def test_adding_a_stage_changes_only_the_deal_pipeline() -> None:
    base = parse_settings({"teams": {"nl": {}}, "stages": ["lead", "proposal"]})
    more_stages = parse_settings({"teams": {"nl": {}}, "stages": ["lead", "demo", "proposal"]})
    changed = {n for n, b in build_all(more_stages).items() if build_all(base)[n] != b}
    assert changed == {"salespulse-deal-pipeline.json"}


def test_write_provisioning_lays_out_grafana_files(tmp_path: Path) -> None:
    written = write_provisioning(tmp_path, demo_settings(), prometheus_url="http://prom:9999")
    assert all(path.is_file() for path in written)
    assert {p.name for p in (tmp_path / "dashboards").iterdir()} == set(all_boards())
    datasource = yaml.safe_load((tmp_path / "provisioning/datasources/salespulse.yml").read_text())
    (source,) = datasource["datasources"]
    assert (source["uid"], source["type"], source["url"]) == ("salespulse-prometheus", "prometheus", "http://prom:9999")
    provider = yaml.safe_load((tmp_path / "provisioning/dashboards/salespulse.yml").read_text())
    (files,) = provider["providers"]
    assert files["type"] == "file"
    assert files["options"]["path"] == "/var/lib/grafana/dashboards/salespulse"
    playlist = json.loads((tmp_path / "playlist.json").read_text())
    assert playlist == wallboard_playlist()
    board = json.loads((tmp_path / "dashboards/salespulse-wallboard.json").read_text())
    assert board == all_boards()["salespulse-wallboard.json"]


def test_write_provisioning_drops_removed_teams_but_keeps_hand_made_files(tmp_path: Path) -> None:
    write_provisioning(tmp_path, parse_settings({"teams": {"nl": {}, "be": {}}}))
    hand_made = tmp_path / "dashboards" / "mine.json"
    hand_made.write_text(json.dumps({"uid": "mine", "tags": ["salespulse"]}))
    write_provisioning(tmp_path, parse_settings({"teams": {"nl": {}}}))
    names = {p.name for p in (tmp_path / "dashboards").iterdir()}
    assert "salespulse-wallboard-be.json" not in names
    assert {"salespulse-wallboard-nl.json", "mine.json"} <= names
