"""The generated alert rules, checked and unit-tested by the real promtool (Debian's prometheus).

promtool is required: `.ci/run` installs it; without it these tests fail, they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from salespulse.exporters.alert_rules import (
    REP_ALERT,
    STALE_ALERT,
    TEAM_ALERT,
    TEAM_STALE_ALERT,
    build_rules,
    render_rules,
)
from salespulse.models.config import Alerts

ALERTS = Alerts(rep_pace_ratio=0.8, rep_hold="30m", team_pace_ratio=0.9, team_hold="1h", min_expected=1)


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool not found: install Debian's prometheus package (.ci/run does)"
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def rep_series(rep: str, name: str, shortfall: str, ratio: str, expected: str, working: str) -> list[dict[str, str]]:
    labels = f'team="amsterdam",rep="{rep}",action="cold_call"'
    return [
        {"series": f"salespulse_action_shortfall{{{labels}}}", "values": shortfall},
        {"series": f"salespulse_action_pace_ratio{{{labels}}}", "values": ratio},
        {"series": f"salespulse_action_expected{{{labels}}}", "values": expected},
        {"series": f'salespulse_rep_info{{team="amsterdam",rep="{rep}",name="{name}"}}', "values": "1x120"},
        {"series": 'salespulse_in_working_time{team="amsterdam"}', "values": working},
    ]


def rep_alert(value: int, rep: str = "anna", name: str = "Anna de Vries") -> dict[str, Any]:
    return {
        "exp_labels": {"severity": "warning", "team": "amsterdam", "rep": rep, "name": name, "action": "cold_call"},
        "exp_annotations": {
            "summary": f"{name} is behind pace on cold_call",
            "description": f"{name} ({rep}, team amsterdam) needs {value} more cold_call actions to be back on "
            "this week's pace (alert below 80% of expected-by-now).",
        },
    }


def run_cases(
    tmp_path: Path, series: list[dict[str, str]], cases: list[dict[str, Any]], alerts: Alerts = ALERTS
) -> None:
    (tmp_path / "rules.yml").write_text(render_rules(alerts))
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": cases}],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_rules_pass_promtool_check(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(render_rules(ALERTS))
    result = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_rules_are_grouped_pacing_then_deals() -> None:
    groups = [(g["name"], [r["alert"] for r in g["rules"]]) for g in build_rules(ALERTS)["groups"]]
    assert groups == [
        ("salespulse-pacing", [REP_ALERT, TEAM_ALERT]),
        ("salespulse-deals", [STALE_ALERT, TEAM_STALE_ALERT]),
    ]


def test_rep_behind_pace_fires_after_the_hold_time(tmp_path: Path) -> None:
    # 10 expected, 5 done: ratio 0.5 < 0.8, 5 actions short, inside working hours throughout.
    series = rep_series("anna", "Anna de Vries", "5x120", "0.5x120", "10x120", "1x120")
    run_cases(
        tmp_path,
        series,
        [
            {"eval_time": "29m", "alertname": REP_ALERT, "exp_alerts": []},
            {"eval_time": "31m", "alertname": REP_ALERT, "exp_alerts": [rep_alert(5)]},
        ],
    )


def test_rep_alert_is_quiet_outside_working_hours(tmp_path: Path) -> None:
    series = rep_series("anna", "Anna de Vries", "5x120", "0.5x120", "10x120", "0x120")
    run_cases(tmp_path, series, [{"eval_time": "60m", "alertname": REP_ALERT, "exp_alerts": []}])


def test_rep_alert_resets_when_working_time_ends(tmp_path: Path) -> None:
    # Working hours end after 40 minutes: firing at 35m, gone at 45m.
    series = rep_series("anna", "Anna de Vries", "5x120", "0.5x120", "10x120", "1x40 0x80")
    run_cases(
        tmp_path,
        series,
        [
            {"eval_time": "35m", "alertname": REP_ALERT, "exp_alerts": [rep_alert(5)]},
            {"eval_time": "45m", "alertname": REP_ALERT, "exp_alerts": []},
        ],
    )


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        ("0.85x120", "10x120"),  # behind, but within the 80 % margin
        ("0.5x120", "0.5x120"),  # too early in the week: less than one action expected
    ],
)
def test_rep_alert_is_quiet_within_margin_or_early(tmp_path: Path, ratio: str, expected: str) -> None:
    series = rep_series("anna", "Anna de Vries", "2x120", ratio, expected, "1x120")
    run_cases(tmp_path, series, [{"eval_time": "60m", "alertname": REP_ALERT, "exp_alerts": []}])


def test_team_behind_pace_counts_only_reps_with_targets(tmp_path: Path) -> None:
    # anna 5 of 10, bram 9 of 10: team 14 of 20 expected, 14 < 0.9 * 20 = 18, 6 short.
    # carla has no target and 100 calls: she must not hide the gap.
    series = [
        {"series": 'salespulse_actions{team="amsterdam",rep="anna",action="cold_call",window="week"}', "values": "5x120"},
        {"series": 'salespulse_actions{team="amsterdam",rep="bram",action="cold_call",window="week"}', "values": "9x120"},
        {"series": 'salespulse_actions{team="amsterdam",rep="carla",action="cold_call",window="week"}', "values": "100x120"},
        {"series": 'salespulse_action_expected{team="amsterdam",rep="anna",action="cold_call"}', "values": "10x120"},
        {"series": 'salespulse_action_expected{team="amsterdam",rep="bram",action="cold_call"}', "values": "10x120"},
        {"series": 'salespulse_in_working_time{team="amsterdam"}', "values": "1x120"},
    ]
    team_alert = {
        "exp_labels": {"severity": "critical", "team": "amsterdam", "action": "cold_call"},
        "exp_annotations": {
            "summary": "Team amsterdam is behind pace on cold_call",
            "description": "Team amsterdam needs 6 more cold_call actions to be back on this week's pace "
            "(alert below 90% of expected-by-now).",
        },
    }
    run_cases(
        tmp_path,
        series,
        [
            {"eval_time": "59m", "alertname": TEAM_ALERT, "exp_alerts": []},
            {"eval_time": "61m", "alertname": TEAM_ALERT, "exp_alerts": [team_alert]},
        ],
    )


def test_team_on_pace_does_not_fire(tmp_path: Path) -> None:
    # 19 of 20 expected: 19 >= 18, quiet.
    series = [
        {"series": 'salespulse_actions{team="amsterdam",rep="anna",action="cold_call",window="week"}', "values": "10x120"},
        {"series": 'salespulse_actions{team="amsterdam",rep="bram",action="cold_call",window="week"}', "values": "9x120"},
        {"series": 'salespulse_action_expected{team="amsterdam",rep="anna",action="cold_call"}', "values": "10x120"},
        {"series": 'salespulse_action_expected{team="amsterdam",rep="bram",action="cold_call"}', "values": "10x120"},
        {"series": 'salespulse_in_working_time{team="amsterdam"}', "values": "1x120"},
    ]
    run_cases(tmp_path, series, [{"eval_time": "90m", "alertname": TEAM_ALERT, "exp_alerts": []}])


def deal_series(metric: str, values: str, stage: str, rep: str | None = None) -> dict[str, str]:
    # Without `rep`: the team's own series, which the worker exports with rep="".
    rep_label = "" if rep is None else f',rep="{rep}"'
    return {"series": f'{metric}{{team="amsterdam"{rep_label},stage="{stage}"}}', "values": values}


def stale_alert(value: int, rep: str = "anna", name: str = "Anna de Vries") -> dict[str, Any]:
    return {
        "exp_labels": {"severity": "warning", "team": "amsterdam", "rep": rep, "name": name},
        "exp_annotations": {
            "summary": f"{name} has {value} stale open deals",
            "description": f"{name} ({rep}, team amsterdam) has {value} open deals without a deal-stage event for "
            "longer than deals.stale_days. Move each on, or close it: a fast no frees time too.",
        },
    }


REP_NAMES = [
    {"series": 'salespulse_rep_info{team="amsterdam",rep="anna",name="Anna de Vries"}', "values": "1x120"},
    {"series": 'salespulse_rep_info{team="amsterdam",rep="bram",name="Bram Jansen"}', "values": "1x120"},
]


def test_stale_deals_fire_per_rep_summed_over_stages_after_the_hold(tmp_path: Path) -> None:
    # anna: 2 stale in proposal, 1 in negotiation; bram: none stale. The team's own series (3)
    # is nobody's: it must not fire a rep alert of its own.
    series = [
        *REP_NAMES,
        deal_series("salespulse_open_deals_stale", "2x120", "proposal", "anna"),
        deal_series("salespulse_open_deals_stale", "1x120", "negotiation", "anna"),
        deal_series("salespulse_open_deals_stale", "0x120", "proposal", "bram"),
        deal_series("salespulse_open_deals_stale", "2x120", "proposal"),
        deal_series("salespulse_open_deals_stale", "1x120", "negotiation"),
        {"series": 'salespulse_in_working_time{team="amsterdam"}', "values": "1x120"},
    ]
    run_cases(
        tmp_path,
        series,
        [
            {"eval_time": "59m", "alertname": STALE_ALERT, "exp_alerts": []},
            {"eval_time": "61m", "alertname": STALE_ALERT, "exp_alerts": [stale_alert(3)]},
        ],
    )


def test_stale_deals_are_quiet_outside_working_time_and_once_moved_on(tmp_path: Path) -> None:
    # Working time ends after 90 minutes; bram's stale deal is moved on after 70 minutes.
    series = [
        *REP_NAMES,
        deal_series("salespulse_open_deals_stale", "1x120", "lead", "anna"),
        deal_series("salespulse_open_deals_stale", "1x70 0x50", "lead", "bram"),
        {"series": 'salespulse_in_working_time{team="amsterdam"}', "values": "1x90 0x30"},
    ]
    run_cases(
        tmp_path,
        series,
        [
            {"eval_time": "65m", "alertname": STALE_ALERT,
             "exp_alerts": [stale_alert(1), stale_alert(1, "bram", "Bram Jansen")]},
            {"eval_time": "80m", "alertname": STALE_ALERT, "exp_alerts": [stale_alert(1)]},
            {"eval_time": "100m", "alertname": STALE_ALERT, "exp_alerts": []},
        ],
    )


def team_stale_alert(share: str, line: str = "25%") -> dict[str, Any]:
    return {
        "exp_labels": {"severity": "critical", "team": "amsterdam"},
        "exp_annotations": {
            "summary": f"Team amsterdam: {share} of open deals are stale",
            "description": f"{share} of team amsterdam's open deals have had no deal-stage event for longer than "
            f"deals.stale_days (alert above {line}).",
        },
    }


def test_team_stale_share_counts_the_teams_own_series_only(tmp_path: Path) -> None:
    # The team: 8 open deals (6 in lead, 2 in proposal), 3 of them stale: 37.5 % > 25 %.
    # The per-rep series disagree on purpose (2 open, both stale): summed in, the share would be 50 %.
    series = [
        deal_series("salespulse_open_deals", "6x120", "lead"),
        deal_series("salespulse_open_deals", "2x120", "proposal"),
        deal_series("salespulse_open_deals_stale", "2x120", "lead"),
        deal_series("salespulse_open_deals_stale", "1x120", "proposal"),
        deal_series("salespulse_open_deals", "2x120", "lead", "anna"),
        deal_series("salespulse_open_deals_stale", "2x120", "lead", "anna"),
        {"series": 'salespulse_in_working_time{team="amsterdam"}', "values": "1x120"},
    ]
    run_cases(
        tmp_path,
        series,
        [
            {"eval_time": "59m", "alertname": TEAM_STALE_ALERT, "exp_alerts": []},
            {"eval_time": "61m", "alertname": TEAM_STALE_ALERT, "exp_alerts": [team_stale_alert("37.5%")]},
        ],
    )


@pytest.mark.parametrize(
    ("open_deals", "stale", "working"),
    [
        ("8x120", "2x120", "1x120"),  # 25 %: not above the share
        ("0x120", "0x120", "1x120"),  # no open deals: no share at all
        ("8x120", "4x120", "0x120"),  # 50 %, outside working time
    ],
)
def test_team_stale_share_is_quiet_at_the_share_without_deals_or_after_hours(
    tmp_path: Path, open_deals: str, stale: str, working: str
) -> None:
    series = [
        deal_series("salespulse_open_deals", open_deals, "lead"),
        deal_series("salespulse_open_deals_stale", stale, "lead"),
        {"series": 'salespulse_in_working_time{team="amsterdam"}', "values": working},
    ]
    run_cases(tmp_path, series, [{"eval_time": "90m", "alertname": TEAM_STALE_ALERT, "exp_alerts": []}])


def test_the_stale_share_and_holds_come_from_the_configuration(tmp_path: Path) -> None:
    # 3 of 8 open deals stale (37.5 %): under a configured share of 40 % the team alert stays quiet
    # until a fourth goes stale at minute 20 (50 %), then fires after its hold of 15 minutes; anna's
    # own alert fires after a hold of 10 minutes.
    alerts = ALERTS.model_copy(update={"stale_hold": "10m", "team_stale_share": 0.4, "team_stale_hold": "15m"})
    series = [
        *REP_NAMES,
        deal_series("salespulse_open_deals", "8x60", "lead"),
        deal_series("salespulse_open_deals_stale", "3x19 4x40", "lead"),
        deal_series("salespulse_open_deals_stale", "1x60", "lead", "anna"),
        {"series": 'salespulse_in_working_time{team="amsterdam"}', "values": "1x60"},
    ]
    run_cases(
        tmp_path,
        series,
        [
            {"eval_time": "9m", "alertname": STALE_ALERT, "exp_alerts": []},
            {"eval_time": "11m", "alertname": STALE_ALERT, "exp_alerts": [stale_alert(1)]},
            {"eval_time": "30m", "alertname": TEAM_STALE_ALERT, "exp_alerts": []},
            {"eval_time": "36m", "alertname": TEAM_STALE_ALERT, "exp_alerts": [team_stale_alert("50%", "40%")]},
        ],
        alerts,
    )


def test_committed_compose_rules_are_generated_from_the_demo_config() -> None:
    """deploy/prometheus/rules is what `salespulse alerts build` writes for examples/demo.yaml."""
    from salespulse.models.config import load_settings

    repo = Path(__file__).resolve().parents[3]
    committed = (repo / "deploy" / "prometheus" / "rules" / "salespulse.rules.yml").read_text()
    assert committed == render_rules(load_settings(repo / "examples" / "demo.yaml").alerts)
