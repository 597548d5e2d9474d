"""Mystery-check and self-report series of the collector, from plain-dict state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from salespulse.exporters.collector import PipelineCollector, PipelineState
from salespulse.models.config import Settings

# Sunday 2026-11-29 23:30 UTC: Monday 00:30 of 2026-W49 in Amsterdam, Sunday 18:30 of 2026-W48 in New York.
NOW = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)

# nl's checkers from 2026-01 on: ann, bob, cas, ann, ... so 2026-09 cas, 2026-10 ann, 2026-11 bob, 2026-12 cas.
SETTINGS = Settings.model_validate(
    {
        "teams": {
            "nl": {
                "timezone": "Europe/Amsterdam",
                "reps": {"ann": {"name": "Ann"}, "bob": {"name": "Bob"}, "cas": {"name": "Cas"}},
                "mystery_rotation": ["ann", "bob", "cas"],
            },
            "de": {"timezone": "Europe/Berlin", "reps": {"eva": {"name": "Eva"}, "fin": {"name": "Fin"}}},
            "us": {"timezone": "America/New_York"},
        },
    }
)


def check(points: int) -> list[Any]:
    return [1_764_000_000.0, f"m-{points}", points]


# The default rubric is worth 50 + 100 = 150 points a deal; the reward needs 0.8 of the maximum.
MYSTERY_MONTHS = {
    # bob checks: ann 150 + 90 = 240 of 300 and cas 120 of 150, both exactly 0.8.
    "nl|2026-11": {"ann": {"d1": check(150), "d2": check(90)}, "cas": {"d3": check(120)}},
    # cas checks: ann in full, bob not checked at all.
    "nl|2026-12": {"ann": {"d4": check(150)}},
    # ann checks: bob 119 of 150 is one point short.
    "nl|2026-10": {"bob": {"d5": check(119)}, "cas": {"d6": check(150)}},
    # cas checks; a check of cas herself (say, before the rotation was set) does not count against the team.
    "nl|2026-09": {"ann": {"d7": check(150)}, "bob": {"d8": check(150)}, "cas": {"d9": check(0)}},
    # No rotation: both configured reps are due, fin was not checked.
    "de|2026-11": {"eva": {"d10": check(150)}},
    # No configured reps: the checked ones are due. joe 250 of 300, kim 120 of 150.
    "us|2026-11": {"joe": {"d11": check(150), "d12": check(100)}, "kim": {"d13": check(120)}},
    "us|2026-12": {"joe": {"d14": check(150)}, "kim": {"d15": check(119)}},
}


def report(figures: dict[str, int], lessons: str = "") -> dict[str, Any]:
    return {"at": 1_764_000_000.0, "event_id": "r-1", "figures": figures, "lessons": lessons}


SELF_REPORTS = {
    "nl|ann|2026-W49": report({"call": 5}),
    "nl|ann|2026-W48": report({"call": 60, "cold_call": 25}),
    "nl|bob|2026-W47": report({"call": 40}),  # two weeks ago in Amsterdam: no window
    "nl|cas|2026-W48": report({}, "Quiet week."),  # filed, without figures
    "us|joe|2026-W48": report({"call": 7}),  # still this week in New York
    "us|kim|2026-W49": report({"call": 1}),  # next week in New York: no window yet
}


def make_registry(
    now: datetime = NOW, settings: Settings = SETTINGS, owns: set[tuple[str, str]] | None = None, **state: Any
) -> CollectorRegistry:
    registry = CollectorRegistry()
    pipeline = PipelineState(
        slot_counts={},
        action_totals={},
        deals=list,
        rejections={},
        duplicates={},
        owns_rep=(lambda team, rep: True) if owns is None else (lambda team, rep: (team, rep) in owns),
        **state,
    )
    PipelineCollector(pipeline, settings, lambda: now, registry)
    return registry


@pytest.fixture(scope="module")
def registry() -> CollectorRegistry:
    return make_registry(mystery_months=MYSTERY_MONTHS, self_reports=SELF_REPORTS)


def series(registry: CollectorRegistry, name: str, labels: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    return {
        tuple(s.labels[label] for label in labels): s.value
        for m in registry.collect()
        for s in m.samples
        if s.name == name
    }


# --- mystery checks ------------------------------------------------------------------------

TRM = ("team", "rep", "month")


def test_mystery_points(registry: CollectorRegistry) -> None:
    assert series(registry, "salespulse_mystery_points", TRM) == {
        ("nl", "ann", "2026-11"): 240,
        ("nl", "cas", "2026-11"): 120,
        ("nl", "ann", "2026-12"): 150,
        ("nl", "bob", "2026-10"): 119,
        ("nl", "cas", "2026-10"): 150,
        ("nl", "ann", "2026-09"): 150,
        ("nl", "bob", "2026-09"): 150,
        ("nl", "cas", "2026-09"): 0,
        ("de", "eva", "2026-11"): 150,
        ("us", "joe", "2026-11"): 250,
        ("us", "kim", "2026-11"): 120,
        ("us", "joe", "2026-12"): 150,
        ("us", "kim", "2026-12"): 119,
    }


def test_mystery_points_max_is_checked_deals_times_rubric(registry: CollectorRegistry) -> None:
    maximum = series(registry, "salespulse_mystery_points_max", TRM)
    assert {k: v for k, v in maximum.items() if v != 150} == {
        ("nl", "ann", "2026-11"): 300,  # two deals
        ("us", "joe", "2026-11"): 300,
    }
    assert len(maximum) == 13


def test_mystery_share(registry: CollectorRegistry) -> None:
    share = series(registry, "salespulse_mystery_share", TRM)
    assert share[("nl", "ann", "2026-11")] == 0.8
    assert share[("nl", "cas", "2026-11")] == 0.8
    assert share[("nl", "bob", "2026-10")] == pytest.approx(0.793333, abs=1e-6)
    assert share[("us", "joe", "2026-11")] == pytest.approx(0.833333, abs=1e-6)
    assert share[("nl", "cas", "2026-09")] == 0.0
    assert share[("nl", "ann", "2026-12")] == 1.0
    assert len(share) == 13


def test_unchecked_reps_have_no_mystery_series(registry: CollectorRegistry) -> None:
    # bob checked November; in December he was due but not checked: absent, not a misleading 0.
    for name in ("salespulse_mystery_points", "salespulse_mystery_points_max", "salespulse_mystery_share"):
        assert registry.get_sample_value(name, {"team": "nl", "rep": "bob", "month": "2026-11"}) is None
        assert registry.get_sample_value(name, {"team": "nl", "rep": "bob", "month": "2026-12"}) is None
        assert registry.get_sample_value(name, {"team": "de", "rep": "fin", "month": "2026-11"}) is None


def test_team_reward_earned(registry: CollectorRegistry) -> None:
    assert series(registry, "salespulse_team_reward_earned", ("team", "month")) == {
        ("nl", "2026-09"): 1,  # the checker's own 0 does not count
        ("nl", "2026-10"): 0,  # bob one point short
        ("nl", "2026-11"): 1,  # everyone due exactly at 0.8
        ("nl", "2026-12"): 0,  # bob due but not checked
        ("de", "2026-11"): 0,  # fin due but not checked
        ("us", "2026-11"): 1,  # no configured reps: joe and kim, the checked ones
        ("us", "2026-12"): 0,  # kim one point short
    }


def test_rubric_and_reward_share_come_from_the_configuration() -> None:
    settings = SETTINGS.model_copy(
        update={"mystery": SETTINGS.mystery.model_copy(update={"rubric": {"a": 10, "b": 30}, "reward_share": 0.5})}
    )
    months = {"us|2026-11": {"joe": {"d1": check(20)}}, "us|2026-12": {"joe": {"d1": check(19), "d2": check(40)}}}
    registry = make_registry(settings=settings, mystery_months=months)
    labels = {"team": "us", "rep": "joe"}
    # November: 20 of one deal × 40 = 0.5, just enough. December: 59 of 80 = 0.7375.
    assert registry.get_sample_value("salespulse_mystery_points_max", {**labels, "month": "2026-11"}) == 40
    assert registry.get_sample_value("salespulse_mystery_share", {**labels, "month": "2026-11"}) == 0.5
    assert registry.get_sample_value("salespulse_team_reward_earned", {"team": "us", "month": "2026-11"}) == 1
    assert registry.get_sample_value("salespulse_mystery_points", {**labels, "month": "2026-12"}) == 59
    assert registry.get_sample_value("salespulse_mystery_points_max", {**labels, "month": "2026-12"}) == 80
    assert registry.get_sample_value("salespulse_mystery_share", {**labels, "month": "2026-12"}) == 0.7375
    assert registry.get_sample_value("salespulse_team_reward_earned", {"team": "us", "month": "2026-12"}) == 1


def test_no_mystery_state_exports_no_mystery_series() -> None:
    registry = make_registry()
    assert series(registry, "salespulse_mystery_points", TRM) == {}
    assert series(registry, "salespulse_team_reward_earned", ("team", "month")) == {}


# --- self-reports --------------------------------------------------------------------------

TRAW = ("team", "rep", "action", "window")
TRW = ("team", "rep", "window")


def test_self_reported_actions_per_team_local_week(registry: CollectorRegistry) -> None:
    assert series(registry, "salespulse_self_reported_actions", TRAW) == {
        ("nl", "ann", "call", "week"): 5,
        ("nl", "ann", "call", "last_week"): 60,
        ("nl", "ann", "cold_call", "last_week"): 25,
        ("us", "joe", "call", "week"): 7,
    }


def test_self_report_submitted_for_every_known_rep(registry: CollectorRegistry) -> None:
    assert series(registry, "salespulse_self_report_submitted", TRW) == {
        ("nl", "ann", "week"): 1,
        ("nl", "ann", "last_week"): 1,
        ("nl", "bob", "week"): 0,
        ("nl", "bob", "last_week"): 0,
        ("nl", "cas", "week"): 0,
        ("nl", "cas", "last_week"): 1,
        ("de", "eva", "week"): 0,
        ("de", "eva", "last_week"): 0,
        ("de", "fin", "week"): 0,
        ("de", "fin", "last_week"): 0,
        # Not configured, known from their reports.
        ("us", "joe", "week"): 1,
        ("us", "joe", "last_week"): 0,
        ("us", "kim", "week"): 0,
        ("us", "kim", "last_week"): 0,
    }


def test_a_minute_before_midnight_amsterdam_is_still_in_the_old_week() -> None:
    # Sunday 23:59 in Amsterdam: 2026-W48 is this week and bob's 2026-W47 report last week's.
    registry = make_registry(now=datetime(2026, 11, 29, 22, 59, tzinfo=UTC), self_reports=SELF_REPORTS)
    nl = {k: v for k, v in series(registry, "salespulse_self_reported_actions", TRAW).items() if k[0] == "nl"}
    assert nl == {
        ("nl", "ann", "call", "week"): 60,
        ("nl", "ann", "cold_call", "week"): 25,
        ("nl", "bob", "call", "last_week"): 40,
    }
    submitted = series(registry, "salespulse_self_report_submitted", TRW)
    assert (submitted[("nl", "ann", "week")], submitted[("nl", "ann", "last_week")]) == (1, 0)
    assert (submitted[("nl", "bob", "week")], submitted[("nl", "bob", "last_week")]) == (0, 1)
    assert (submitted[("nl", "cas", "week")], submitted[("nl", "cas", "last_week")]) == (1, 0)


def test_new_york_reaches_the_new_week_at_its_own_midnight() -> None:
    # Monday 2026-11-30 05:00 UTC is 00:00 in New York: kim's 2026-W49 report is this week's.
    registry = make_registry(now=datetime(2026, 11, 30, 5, tzinfo=UTC), self_reports=SELF_REPORTS)
    us = {k: v for k, v in series(registry, "salespulse_self_reported_actions", TRAW).items() if k[0] == "us"}
    assert us == {("us", "kim", "call", "week"): 1, ("us", "joe", "call", "last_week"): 7}


def test_only_owned_reps_get_self_report_series() -> None:
    registry = make_registry(owns={("nl", "ann")}, self_reports=SELF_REPORTS)
    assert set(series(registry, "salespulse_self_report_submitted", TRW)) == {
        ("nl", "ann", "week"),
        ("nl", "ann", "last_week"),
    }
    assert {k[:2] for k in series(registry, "salespulse_self_reported_actions", TRAW)} == {("nl", "ann")}
