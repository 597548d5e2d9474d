"""/metrics behind TLS and basic auth, scraped by a real Prometheus with the documented config."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import pytest
import yaml

from tests.integration.conftest import api, wait_for
from tests.integration.test_pipeline import produce_raw
from tests.tls_files import write_tls_files

pytestmark = pytest.mark.integration


def get(url: str, context: ssl.SSLContext, authorization: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_prometheus_scrapes_metrics_over_tls_with_basic_auth(make_pipeline, kafka, prometheus, tmp_path: Path) -> None:
    ca, _, _ = write_tls_files(tmp_path)
    password = "scrape-" + base64.b32encode(bytes(range(10))).decode()
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({
        "tls_server_config": {"cert_file": "server.crt", "key_file": "server.key"},
        "basic_auth_users": {"prometheus": bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()},
    }))
    pipeline = make_pipeline({"teams": {"floor": {"timezone": "UTC", "reps": {"anna": {"name": "Anna"}}}}})
    assert pipeline.cli("publish", "/dev/null").returncode == 0
    event = {"event_id": "tls-1", "type": "activity", "occurred_at": datetime.now(UTC).isoformat(), "team_id": "floor",
             "rep_id": "anna", "source": "test", "action": "call"}
    asyncio.run(produce_raw(kafka.bootstrap, f"{pipeline.app_id}-activities", [json.dumps(event).encode()]))
    url = pipeline.start_worker("--web-config", str(web)).replace("http://", "https://")
    trusted = ssl.create_default_context(cafile=str(ca))
    good = "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()

    wait_for(lambda: get(url, trusted, good)[0] == 200 if _serving(url, trusted) else False, 120, "the worker to serve /metrics over TLS")
    assert get(url, trusted)[0] == 401
    assert get(url, trusted, "Basic " + base64.b64encode(b"prometheus:wrong").decode())[0] == 401
    with pytest.raises(OSError):  # no plain HTTP on the port: the server drops the connection
        urllib.request.urlopen(url.replace("https://", "http://"), timeout=5)

    # The scrape configuration docs/cli.md gives, with this test's files.
    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{
            "job_name": "salespulse", "scheme": "https",
            "tls_config": {"ca_file": str(ca)},
            "basic_auth": {"username": "prometheus", "password": password},
            "static_configs": [{"targets": [url.split("/")[2]]}],
        }],
    }))
    prom = prometheus(prom_config)
    query = f"{prom}/api/v1/query?query=" + urllib.request.quote('salespulse_actions_total{rep="anna",action="call"}')
    seen: dict = {}

    def counted() -> bool:
        seen["data"] = api(query)
        return bool(seen["data"] and seen["data"]["result"] and seen["data"]["result"][0]["value"][1] == "1")

    wait_for(counted, 90, lambda: f"Prometheus to scrape the count over TLS with basic auth; last {seen.get('data')}; "
             f"log: {(tmp_path / 'prometheus.log').read_text()[-1500:]}")
    targets = api(f"{prom}/api/v1/targets")
    assert [t["health"] for t in targets["activeTargets"]] == ["up"]


def _serving(url: str, context: ssl.SSLContext) -> bool:
    try:
        get(url, context)
        return True
    except OSError:
        return False
