"""Pacing series of the collector: targets in force, expected-by-now, pace and shortfall."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from salespulse.exporters.collector import PipelineCollector, PipelineState
from salespulse.models.config import Settings
from salespulse.models.targets import TargetSet
from salespulse.streams.kpi.actions import SlotKey

# Wednesday 2026-11-25 09:00 UTC: 10:00 in Amsterdam (CET), 04:00 in New York (EST).
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
MONDAY_0900_UTC = int(datetime(2026, 11, 23, 9, tzinfo=UTC).timestamp()) // 900
SETTINGS = Settings.model_validate(
    {
        "actions": ["cold_call", "outbound_email"],
        "teams": {
            "ams": {"timezone": "Europe/Amsterdam", "reps": {"anna": {"name": "Anna"}, "bram": {"name": "Bram"}}},
            "nyc": {"timezone": "America/New_York", "reps": {"mike": {"name": "Mike"}}},
        },
    }
)
TARGETS = [
    TargetSet(team="ams", effective_from="2026-W40", actions={"cold_call": 40}, reps={"bram": {"cold_call": 80}}),
    # Not yet in force this week:
    TargetSet(team="ams", effective_from="2026-W49", actions={"cold_call": 1000}),
]


@pytest.fixture(scope="module")
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    state = PipelineState(
        slot_counts={SlotKey("ams", "anna", "cold_call", MONDAY_0900_UTC).encode(): 10},
        action_totals={"ams|anna|cold_call": 10},
        deals=list,
        rejections={},
        duplicates={},
        target_sets=lambda: TARGETS,
    )
    PipelineCollector(state, SETTINGS, lambda: NOW, registry)
    return registry


def value(registry: CollectorRegistry, metric: str, **labels: str) -> float | None:
    return registry.get_sample_value(metric, labels)


# Working time so far, Mon-Fri 09:00-17:00 local: Monday 8 h + Tuesday 8 h + Wednesday 1 h = 17 of 40 h.
@pytest.mark.parametrize(
    ("rep", "target", "expected", "ratio", "shortfall"),
    [
        ("anna", 40, 40 * 17 / 40, 10 / 17, 7),
        ("bram", 80, 80 * 17 / 40, 0.0, 34),
    ],
)
def test_pace_per_rep(registry: CollectorRegistry, rep: str, target: int, expected: float, ratio: float, shortfall: int) -> None:
    labels = {"team": "ams", "rep": rep, "action": "cold_call"}
    assert value(registry, "salespulse_action_target", **labels) == target
    assert value(registry, "salespulse_action_expected", **labels) == pytest.approx(expected)
    assert value(registry, "salespulse_action_pace_ratio", **labels) == pytest.approx(ratio)
    assert value(registry, "salespulse_action_shortfall", **labels) == shortfall


def test_actions_without_target_have_no_pace_series(registry: CollectorRegistry) -> None:
    assert value(registry, "salespulse_action_target", team="ams", rep="anna", action="outbound_email") is None
    assert value(registry, "salespulse_action_target", team="nyc", rep="mike", action="cold_call") is None


def test_working_time_per_team(registry: CollectorRegistry) -> None:
    assert value(registry, "salespulse_in_working_time", team="ams") == 1
    assert value(registry, "salespulse_in_working_time", team="nyc") == 0


def test_monday_before_work_expects_nothing() -> None:
    registry = CollectorRegistry()
    monday_0700_local = datetime(2026, 11, 23, 6, tzinfo=UTC)
    state = PipelineState({}, {}, list, {}, {}, target_sets=lambda: TARGETS)
    PipelineCollector(state, SETTINGS, lambda: monday_0700_local, registry)
    labels = {"team": "ams", "rep": "anna", "action": "cold_call"}
    assert value(registry, "salespulse_action_expected", **labels) == 0
    assert value(registry, "salespulse_action_pace_ratio", **labels) is None
    assert value(registry, "salespulse_action_shortfall", **labels) == 0


def test_a_worker_exports_only_the_reps_it_owns() -> None:
    """With several workers, each rep's series come from its owner alone."""
    registry = CollectorRegistry()
    state = PipelineState(
        slot_counts={SlotKey("ams", "anna", "cold_call", MONDAY_0900_UTC).encode(): 10},
        action_totals={"ams|anna|cold_call": 10},
        deals=list,
        rejections={},
        duplicates={},
        target_sets=lambda: TARGETS,
        owns_rep=lambda team, rep: rep != "anna",
    )
    PipelineCollector(state, SETTINGS, lambda: NOW, registry)
    assert value(registry, "salespulse_rep_info", team="ams", rep="anna", name="Anna") is None
    assert value(registry, "salespulse_actions_total", team="ams", rep="anna", action="cold_call") is None
    assert value(registry, "salespulse_action_target", team="ams", rep="anna", action="cold_call") is None
    assert value(registry, "salespulse_rep_info", team="ams", rep="bram", name="Bram") == 1
    assert value(registry, "salespulse_action_target", team="ams", rep="bram", action="cold_call") == 80


def test_missed_weeks_are_counted_per_action() -> None:
    registry = CollectorRegistry()
    verdicts = {"ams|anna": {"2026-W45": ["cold_call"], "2026-W46": [], "2026-W47": ["cold_call", "outbound_email"]}}
    state = PipelineState({}, {}, list, {}, {}, target_sets=lambda: TARGETS, week_verdicts=verdicts)
    PipelineCollector(state, SETTINGS, lambda: NOW, registry)
    assert value(registry, "salespulse_action_target_missed_total", team="ams", rep="anna", action="cold_call") == 2
    assert value(registry, "salespulse_action_target_missed_total", team="ams", rep="anna", action="outbound_email") == 1
    # No verdict yet for bram: no series rather than a misleading zero.
    assert value(registry, "salespulse_action_target_missed_total", team="ams", rep="bram", action="cold_call") is None


def test_stage_checks_are_exported_for_the_rolling_30_days() -> None:
    from salespulse.streams.kpi.checklists import StageCheck

    day = 86400.0
    checks = [
        StageCheck(NOW.timestamp() - 1 * day, "ams", "anna", "qualified", ()),
        StageCheck(NOW.timestamp() - 2 * day, "ams", "anna", "qualified", ("budget", "company")),
        StageCheck(NOW.timestamp() - 3 * day, "ams", "anna", "qualified", ("budget",)),
        StageCheck(NOW.timestamp() - 40 * day, "ams", "anna", "qualified", ("budget",)),
    ]
    registry = CollectorRegistry()
    PipelineCollector(PipelineState({}, {}, list, {}, {}, stage_checks=lambda: checks), SETTINGS, lambda: NOW, registry)
    labels = {"team": "ams", "rep": "anna", "stage": "qualified"}
    assert value(registry, "salespulse_stage_changes", completeness="complete", **labels) == 1
    assert value(registry, "salespulse_stage_changes", completeness="incomplete", **labels) == 2
    assert value(registry, "salespulse_checklist_missing", kind="content", item="budget", **labels) == 2
    assert value(registry, "salespulse_checklist_missing", kind="content", item="company", **labels) == 1


def test_missed_weeks_only_where_there_is_a_target_or_a_miss() -> None:
    """Closed weeks without a miss: a 0 for the targeted action, nothing for the others."""
    registry = CollectorRegistry()
    verdicts = {"ams|bram": {"2026-W46": [], "2026-W47": []}}
    state = PipelineState({}, {}, list, {}, {}, target_sets=lambda: TARGETS, week_verdicts=verdicts)
    PipelineCollector(state, SETTINGS, lambda: NOW, registry)
    assert value(registry, "salespulse_action_target_missed_total", team="ams", rep="bram", action="cold_call") == 0
    untargeted = [a for a in SETTINGS.actions if a != "cold_call"]
    assert untargeted  # the configuration has actions without a target
    for action in untargeted:
        assert value(registry, "salespulse_action_target_missed_total", team="ams", rep="bram", action=action) is None


@pytest.mark.parametrize("owns_teams", [True, False])
def test_one_worker_exports_the_working_time_of_every_configured_team(owns_teams: bool) -> None:
    # A worker that holds no rep of nyc (owns_rep says so) still answers for nyc's working time
    # when it is the one that exports team series; the others export none, so no series twice.
    registry = CollectorRegistry()
    state = PipelineState(
        slot_counts={}, action_totals={"ams|anna|cold_call": 3}, deals=list, rejections={}, duplicates={},
        owns_rep=lambda team, rep: team == "ams", owns_teams=lambda: owns_teams,
    )
    PipelineCollector(state, SETTINGS, lambda: NOW, registry)
    working = {s.labels["team"]: s.value for m in registry.collect() for s in m.samples if s.name == "salespulse_in_working_time"}
    assert working == ({"ams": 1, "nyc": 0} if owns_teams else {})
    assert registry.get_sample_value("salespulse_actions_total", {"team": "ams", "rep": "anna", "action": "cold_call"}) == 3
