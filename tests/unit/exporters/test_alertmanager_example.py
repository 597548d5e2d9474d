"""The Alertmanager example routes every generated alert, checked by the real amtool.

amtool (Debian's prometheus-alertmanager) is required: `.ci/run` installs it; without it these
tests fail, they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from salespulse.exporters.alert_rules import REP_ALERT, STALE_ALERT, TEAM_ALERT, TEAM_STALE_ALERT, build_rules
from salespulse.models.config import Alerts

CONFIG = Path(__file__).resolve().parents[3] / "deploy" / "alertmanager" / "alertmanager.yml"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("amtool")
    assert binary, "amtool not found: install Debian's prometheus-alertmanager package (.ci/run does)"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def generated() -> dict[str, dict[str, str]]:
    """Each generated alert's name and its static labels."""
    return {
        rule["alert"]: rule["labels"]
        for group in build_rules(Alerts())["groups"]
        for rule in group["rules"]
    }


def test_the_example_passes_amtools_check() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


# (alert, team, receivers in order), by hand from the example's routes: critical alerts go to the
# manager and on to the team's receiver; amsterdam and new-york have their own; others go to ops.
ROUTES = [
    (REP_ALERT, "amsterdam", "amsterdam-chat"),
    (REP_ALERT, "berlin", "sales-ops-email"),
    (TEAM_ALERT, "amsterdam", "sales-manager-email,amsterdam-chat"),
    (TEAM_ALERT, "berlin", "sales-manager-email,sales-ops-email"),
    (STALE_ALERT, "new-york", "new-york-email"),
    (STALE_ALERT, "berlin", "sales-ops-email"),
    (TEAM_STALE_ALERT, "new-york", "sales-manager-email,new-york-email"),
    (TEAM_STALE_ALERT, "berlin", "sales-manager-email,sales-ops-email"),
]


def test_every_generated_alert_has_a_routing_case() -> None:
    assert {alert for alert, _, _ in ROUTES} == set(generated())


@pytest.mark.parametrize(("alert", "team", "receivers"), ROUTES)
def test_each_alert_goes_to_its_teams_receiver_and_critical_ones_to_the_manager(
    alert: str, team: str, receivers: str
) -> None:
    labels = [f"{name}={value}" for name, value in generated()[alert].items()]
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", f"alertname={alert}", f"team={team}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


def test_each_team_alert_inhibits_its_reps_alerts_of_the_same_kind() -> None:
    rules = yaml.safe_load(CONFIG.read_text())["inhibit_rules"]
    pairs = {
        (rule["source_matchers"][0], rule["target_matchers"][0], tuple(rule["equal"])) for rule in rules
    }
    assert pairs == {
        (f'alertname="{TEAM_ALERT}"', f'alertname="{REP_ALERT}"', ("team", "action")),
        (f'alertname="{TEAM_STALE_ALERT}"', f'alertname="{STALE_ALERT}"', ("team",)),
    }
