"""deploy/grafana holds what `salespulse dashboards build` writes for the demo configuration."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from salespulse.dashboards.build import build_all, dashboard_provisioning, datasource_provisioning
from salespulse.models.config import load_settings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy" / "grafana"


def test_committed_dashboards_are_the_generated_ones() -> None:
    boards = build_all(load_settings(REPO / "examples" / "demo.yaml"))
    committed = {p.name: json.loads(p.read_text()) for p in (DEPLOY / "dashboards").glob("*.json")}
    assert committed == boards


def test_committed_provisioning_is_the_generated_one() -> None:
    assert yaml.safe_load((DEPLOY / "provisioning" / "datasources" / "salespulse.yml").read_text()) == datasource_provisioning()
    assert yaml.safe_load((DEPLOY / "provisioning" / "dashboards" / "salespulse.yml").read_text()) == dashboard_provisioning()


def test_compose_mounts_the_provisioning_where_the_provider_looks() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    volumes = compose["services"]["grafana"]["volumes"]
    provider_path = dashboard_provisioning()["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{provider_path}:ro" in volumes
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes


def test_compose_applies_the_example_targets_once() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    targets = compose["services"]["targets"]
    assert targets["command"] == ["targets", "apply", "/config/targets.yaml"]
    assert "./examples/targets.yaml:/config/targets.yaml:ro" in targets["volumes"]
    assert targets["restart"] == "on-failure"


def test_compose_applies_the_example_rates_once_and_the_file_is_valid() -> None:
    from salespulse.models.rates import load_rates

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    rates = compose["services"]["rates"]
    assert rates["command"] == ["rates", "apply", "/config/rates.yaml"]
    assert "./examples/rates.yaml:/config/rates.yaml:ro" in rates["volumes"]
    assert rates["restart"] == "on-failure"
    assert {(r.currency, r.to) for r in load_rates(REPO / "examples" / "rates.yaml")} == {("USD", "EUR"), ("GBP", "EUR")}


def test_compose_loads_the_generated_playlist_into_grafana_once_it_is_healthy() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    playlist = compose["services"]["playlist"]
    assert "./deploy/grafana/playlist.json:/playlist.json:ro" in playlist["volumes"]
    assert playlist["depends_on"] == {"grafana": {"condition": "service_healthy"}}
    (script,) = playlist["command"]
    assert "/apis/playlist.grafana.app/v0alpha1/namespaces/default/playlists" in script
    assert "--data @/playlist.json" in script
    committed = json.loads((DEPLOY / "playlist.json").read_text())
    assert committed["metadata"]["name"] == "salespulse-wallboards"
    assert "healthcheck" in compose["services"]["grafana"]
