"""The Alertmanager example in a real Alertmanager: a team's alert inhibits its reps' of the same kind.

Debian's prometheus-alertmanager is required: `.ci/run` installs it; without it this test fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from salespulse.exporters.alert_rules import REP_ALERT, STALE_ALERT, TEAM_ALERT, TEAM_STALE_ALERT
from salespulse.kafka.launcher import free_port
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.yml"


def alerts_api(base: str, body: list[dict[str, Any]] | None = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v2/alerts",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response) if body is None else response.status
    except OSError:
        return None


def test_team_alerts_inhibit_only_their_own_reps_alerts_of_the_same_kind(tmp_path: Path) -> None:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "alertmanager not found: install Debian's prometheus-alertmanager package (.ci/run does)"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "alertmanager.log", "wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={CONFIG}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: alerts_api(base) is not None, 30, "Alertmanager's API")
        now = datetime.now(UTC)
        window = {"startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}

        def alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
            return {"labels": {"alertname": name, "severity": severity, **labels}, **window}

        fired = [
            alert(TEAM_ALERT, "critical", team="amsterdam", action="cold_call"),
            alert(REP_ALERT, "warning", team="amsterdam", rep="anna", action="cold_call"),
            alert(REP_ALERT, "warning", team="amsterdam", rep="anna", action="outbound_email"),
            alert(REP_ALERT, "warning", team="new-york", rep="bob", action="cold_call"),
            alert(TEAM_STALE_ALERT, "critical", team="amsterdam"),
            alert(STALE_ALERT, "warning", team="amsterdam", rep="anna"),
            alert(STALE_ALERT, "warning", team="new-york", rep="bob"),
        ]
        assert alerts_api(base, fired) == 200

        def states() -> dict[tuple[str, str, str], str]:
            return {
                (got["labels"]["alertname"], got["labels"]["team"] + "/" + got["labels"].get("rep", ""),
                 got["labels"].get("action", "")): got["status"]["state"]
                for got in alerts_api(base) or []
            }

        # By hand: the pace inhibition needs the same team and action, the stale one the same team.
        expected = {
            (TEAM_ALERT, "amsterdam/", "cold_call"): "active",
            (REP_ALERT, "amsterdam/anna", "cold_call"): "suppressed",
            (REP_ALERT, "amsterdam/anna", "outbound_email"): "active",
            (REP_ALERT, "new-york/bob", "cold_call"): "active",
            (TEAM_STALE_ALERT, "amsterdam/", ""): "active",
            (STALE_ALERT, "amsterdam/anna", ""): "suppressed",
            (STALE_ALERT, "new-york/bob", ""): "active",
        }
        wait_for(lambda: states() == expected, 30, lambda: f"inhibitions {expected}, got {states()}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
