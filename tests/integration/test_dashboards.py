"""Every panel query of every generated dashboard returns data from a real Prometheus.

The simulator feeds a worker through Kafka, Prometheus (Debian's package) scrapes the worker,
and each panel's PromQL is sent to Prometheus's query API with the dashboard variables filled in.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from salespulse.dashboards.build import build_all, panel_queries
from salespulse.models.config import parse_settings
from tests.integration.conftest import REPO, api, scrape, wait_for
from tests.integration.test_pipeline import samples

pytestmark = pytest.mark.integration

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def fill_variables(expr: str, team: str, rep: str) -> str:
    """Replace Grafana variables the way Grafana would for one team and rep."""
    values = {"team": team, "rep": rep, "__rate_interval": "30s", "__interval": "15s", "__range": "1h"}

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"unexpected dashboard variable ${name} in {expr}"
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", one, expr)


def test_every_panel_query_returns_data(make_pipeline, prometheus, tmp_path: Path) -> None:
    config: dict[str, Any] = yaml.safe_load((REPO / "examples" / "demo.yaml").read_text())
    # Working all day, every day, so that pace is defined whenever the test runs.
    config["defaults"]["working_time"] = {"days": EVERY_DAY, "start": "00:00", "end": "23:59"}
    for team in config["teams"].values():
        team["working_time"] = {"days": EVERY_DAY, "start": "00:00", "end": "23:59"}
    pipeline = make_pipeline(config)
    settings = parse_settings(yaml.safe_load(pipeline.config_path.read_text()))

    assert pipeline.cli("targets", "apply", str(REPO / "examples" / "targets.yaml")).returncode == 0
    simulated = pipeline.cli("simulate", "--backfill-days", "5", "--duration", "2", "--always-open", "--rate", "5")
    assert simulated.returncode == 0, simulated.stderr
    metrics_url = pipeline.start_worker()
    wait_for(
        lambda: any(
            name == "salespulse_deals_decided" and value > 0 for (name, _), value in samples(scrape(metrics_url) or "").items()
        ),
        90,
        "the worker to count the simulated floor",
    )

    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "salespulse", "static_configs": [{"targets": [metrics_url.split("/")[2]]}]}],
    }))
    prom = prometheus(prom_config)

    def scraped_enough() -> bool:
        data = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote("count_over_time(up[1m])"))
        return bool(data and data["result"] and float(data["result"][0]["value"][1]) >= 5)

    wait_for(scraped_enough, 60, "five scrapes of the worker")
    time.sleep(2)

    dashboards = build_all(settings)
    assert len(dashboards) >= 4
    # Fill the variables with a rep who has decided deals, as a manager would pick one to look at.
    decided = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote("salespulse_deals_decided > 0"))
    assert decided and decided["result"], "no decided deal reached Prometheus"
    team, rep = decided["result"][0]["metric"]["team"], decided["result"][0]["metric"]["rep"]
    checked, empty = 0, []
    for filename, dashboard in dashboards.items():
        for title, expr in panel_queries(dashboard):
            query = fill_variables(expr, team, rep)
            data = api(f"{prom}/api/v1/query?query=" + urllib.parse.quote(query))
            assert data is not None, f"{filename} / {title}: Prometheus refused {query}"
            checked += 1
            if not data["result"]:
                empty.append(f"{filename} / {title}: {query}")
    assert checked > 20
    assert empty == [], "panel queries without data:\n" + "\n".join(empty)
