"""Generate every dashboard and the Grafana provisioning files from the configuration.

`write_provisioning(out)` lays out a directory that Grafana reads as is:

    out/
      dashboards/<uid>.json                    one file per dashboard
      provisioning/datasources/salespulse.yml  the Prometheus datasource, uid salespulse-prometheus
      provisioning/dashboards/salespulse.yml   a file provider for the dashboards folder below
      playlist.json                            the per-team wallboards' playlist, for Grafana's API

Mount `out/dashboards` at /var/lib/grafana/dashboards/salespulse and `out/provisioning` at
/etc/grafana/provisioning. Grafana has no file provisioning for playlists: `playlist.json` is
POSTed to /apis/playlist.grafana.app/v0alpha1/namespaces/default/playlists (docker-compose.yml
does so once Grafana is up). The output depends only on the
configuration: a new action or team shows up on the next run, and the wallboard of a removed
team is deleted. The dashboards are built with grafana-foundation-sdk's Grafana 11.6 models, the
Grafana that docker-compose.yml runs.

`kiosk_urls()` gives the address of each board for a TV: Grafana 11's `kiosk` hides the menus and
the title, and the `_dash.hide*` options hide the time picker, the variable bar and the links,
which would otherwise push a 1080-pixel board into scrolling.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from salespulse.dashboards.common import BASE_TAGS, DATASOURCE_UID, dashboard_json
from salespulse.dashboards.deal_pipeline import deal_pipeline
from salespulse.dashboards.pipeline_health import pipeline_health
from salespulse.dashboards.rep_drilldown import rep_drilldown
from salespulse.dashboards.wallboard import PLAYLIST_UID, wallboard, wallboard_playlist, wallboards_per_team
from salespulse.dashboards.weekly_review import weekly_review
from salespulse.models.config import Settings

DEFAULT_PROMETHEUS_URL = "http://prometheus:9090"
GRAFANA_DASHBOARDS_PATH = "/var/lib/grafana/dashboards/salespulse"
# Matches the scrape interval of deploy/prometheus/prometheus.yml, so $__rate_interval is right.
SCRAPE_INTERVAL = "10s"
FOLDER = "Salespulse"
DEFAULT_GRAFANA_URL = "http://localhost:3000"
# Kiosk mode without the time picker and links; boards whose variables are all fixed hide the
# variable bar too, those with a picker (team, rep) keep it.
KIOSK = "kiosk&_dash.hideTimePicker=true&_dash.hideLinks=true"
KIOSK_FIXED = f"{KIOSK}&_dash.hideVariables=true"


def build_all(settings: Settings) -> dict[str, dict[str, Any]]:
    """Return every dashboard as JSON, keyed by file name (`<uid>.json`)."""
    builders = [wallboard(settings), weekly_review(settings), deal_pipeline(settings), rep_drilldown(), pipeline_health()]
    builders.extend(wallboards_per_team(settings).values())
    boards = [dashboard_json(builder) for builder in builders]
    return {f"{board['uid']}.json": board for board in boards}


def _has_picker(board: dict[str, Any]) -> bool:
    variables = (board.get("templating") or {}).get("list") or []
    return any(variable.get("type") != "constant" for variable in variables)


def kiosk_urls(settings: Settings, grafana_url: str = DEFAULT_GRAFANA_URL) -> list[tuple[str, str]]:
    """Return (title, kiosk URL) of the wallboard playlist and of every dashboard, in build order."""
    base = grafana_url.rstrip("/")
    urls = [("Salespulse wallboards (playlist)", f"{base}/playlists/play/{PLAYLIST_UID}?{KIOSK_FIXED}")]
    for board in build_all(settings).values():
        options = KIOSK if _has_picker(board) else KIOSK_FIXED
        urls.append((str(board["title"]), f"{base}/d/{board['uid']}?{options}"))
    return urls


def datasource_provisioning(prometheus_url: str = DEFAULT_PROMETHEUS_URL) -> dict[str, Any]:
    """Return Grafana's datasource provisioning file for the Salespulse Prometheus."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Salespulse Prometheus",
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": prometheus_url,
                # Not the default: an existing Grafana keeps its own; dashboards name this uid.
                "isDefault": False,
                "editable": False,
                "jsonData": {"timeInterval": SCRAPE_INTERVAL, "httpMethod": "POST"},
            }
        ],
    }


def dashboard_provisioning() -> dict[str, Any]:
    """Return Grafana's dashboard provisioning file: a file provider for the generated JSON."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "salespulse",
                "orgId": 1,
                "folder": FOLDER,
                "type": "file",
                # Deleting a generated file (a removed team) removes its dashboard.
                "disableDeletion": False,
                # Edits in the UI would be overwritten by the next generation run.
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": GRAFANA_DASHBOARDS_PATH, "foldersFromFilesStructure": False},
            }
        ],
    }


def _is_generated(path: Path) -> bool:
    # Only files this generator wrote (both base tags) are ever deleted, never hand-made ones.
    try:
        tags = json.loads(path.read_text(encoding="utf-8")).get("tags", [])
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(tags, list) and all(tag in tags for tag in BASE_TAGS)


def _remove_stale(board_dir: Path, keep: set[str]) -> None:
    # A team removed from the configuration leaves its wallboard file behind; Grafana's file
    # provider deletes the dashboard once the file is gone.
    if not board_dir.is_dir():
        return
    for path in sorted(board_dir.glob("*.json")):
        if path.name not in keep and _is_generated(path):
            path.unlink()


def _write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Generated by Salespulse from the configuration; do not edit by hand.\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_provisioning(
    out_dir: str | Path, settings: Settings, prometheus_url: str = DEFAULT_PROMETHEUS_URL
) -> list[Path]:
    """Write the dashboards, provisioning files and playlist under `out_dir`; return the files."""
    out = Path(out_dir)
    boards = build_all(settings)
    board_dir = out / "dashboards"
    _remove_stale(board_dir, keep=set(boards))
    provisioning = out / "provisioning"
    written = [_write_json(board_dir / name, board) for name, board in sorted(boards.items())]
    written.append(
        _write_yaml(provisioning / "datasources" / "salespulse.yml", datasource_provisioning(prometheus_url))
    )
    written.append(_write_yaml(provisioning / "dashboards" / "salespulse.yml", dashboard_provisioning()))
    written.append(_write_json(out / "playlist.json", wallboard_playlist()))
    return written


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels") or []:
        yield panel
        # A collapsed row carries its panels inside it.
        yield from panel.get("panels") or []


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (panel title, PromQL expression) for every Prometheus query of a dashboard JSON."""
    queries = []
    for panel in _panels(dashboard):
        # Wallboard panels have no title (their heading is a panel of its own): name them by id.
        name = str(panel.get("title") or f"panel {panel.get('id')}")
        for target in panel.get("targets") or []:
            source = target.get("datasource") or panel.get("datasource") or {}
            if source.get("type") == "prometheus" and target.get("expr"):
                queries.append((name, str(target["expr"])))
    return queries
