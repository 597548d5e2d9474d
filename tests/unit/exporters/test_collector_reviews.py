"""Review-score series: rolling 30-day averages, counts and sums, from plain-dict state."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from prometheus_client import CollectorRegistry

from salespulse.exporters.collector import PipelineCollector, PipelineState
from salespulse.models.config import Settings
from salespulse.streams.kpi.reviews import REVIEWS, ReviewDayKey

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)  # window: the UTC days 2026-10-27 .. 2026-11-25

SETTINGS = Settings.model_validate(
    {
        "actions": ["call"],
        "teams": {
            "nl": {"reps": {"ann": {"name": "Ann de Vries"}, "bob": {"name": "Bob Jansen"}}},
            "us": {"reps": {"joe": {"name": "Joe Smith"}}},
        },
    }
)


def cell(rep: str, subject: str, theme: str, day: date, total: int, count: int, team: str = "nl") -> tuple[str, dict[str, int]]:
    return ReviewDayKey(team, rep, subject, theme, day).encode(), {"sum": total, "count": count}


REVIEW_DAYS = dict(
    [
        # ann, call: two reviews on 2026-11-24 (opening 4 and 3, closing 5 and 2, pain points 1 and 2) ...
        cell("ann", "call", "opening", date(2026, 11, 24), 7, 2),
        cell("ann", "call", "closing", date(2026, 11, 24), 7, 2),
        cell("ann", "call", "pain_points", date(2026, 11, 24), 3, 2),
        cell("ann", "call", REVIEWS, date(2026, 11, 24), 0, 2),
        # ... one on the oldest day of the window (opening 5, closing 4, pain points 3) ...
        cell("ann", "call", "opening", date(2026, 10, 27), 5, 1),
        cell("ann", "call", "closing", date(2026, 10, 27), 4, 1),
        cell("ann", "call", "pain_points", date(2026, 10, 27), 3, 1),
        cell("ann", "call", REVIEWS, date(2026, 10, 27), 0, 1),
        # ... and one the day before, outside the window.
        cell("ann", "call", "opening", date(2026, 10, 26), 1, 1),
        cell("ann", "call", "closing", date(2026, 10, 26), 1, 1),
        cell("ann", "call", "pain_points", date(2026, 10, 26), 1, 1),
        cell("ann", "call", REVIEWS, date(2026, 10, 26), 0, 1),
        # bob, proposal: one review today.
        cell("bob", "proposal", "clarity", date(2026, 11, 25), 2, 1),
        cell("bob", "proposal", "value", date(2026, 11, 25), 3, 1),
        cell("bob", "proposal", "next_steps", date(2026, 11, 25), 4, 1),
        cell("bob", "proposal", REVIEWS, date(2026, 11, 25), 0, 1),
        # A subject no longer configured is not exported.
        cell("ann", "demo", "story", date(2026, 11, 24), 5, 1),
        cell("ann", "demo", REVIEWS, date(2026, 11, 24), 0, 1),
        # A rep absent from the configuration, known from a review alone.
        cell("kim", "call", "opening", date(2026, 11, 20), 2, 1),
        cell("kim", "call", "closing", date(2026, 11, 20), 2, 1),
        cell("kim", "call", "pain_points", date(2026, 11, 20), 2, 1),
        cell("kim", "call", REVIEWS, date(2026, 11, 20), 0, 1),
    ]
)


def make_registry(owns: tuple[tuple[str, str], ...] | None = None) -> CollectorRegistry:
    registry = CollectorRegistry()
    state = PipelineState(
        slot_counts={},
        action_totals={},
        deals=list,
        rejections={},
        duplicates={"review": 1},
        owns_rep=(lambda team, rep: True) if owns is None else (lambda team, rep: (team, rep) in owns),
        review_days=REVIEW_DAYS,
    )
    PipelineCollector(state, SETTINGS, lambda: NOW, registry)
    return registry


@pytest.fixture(scope="module")
def registry() -> CollectorRegistry:
    return make_registry()


def series(registry: CollectorRegistry, name: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(s.labels[label] for label in ("team", "rep", "subject", "theme") if label in s.labels): s.value
        for m in registry.collect()
        for s in m.samples
        if s.name == name
    }


def test_review_counts(registry: CollectorRegistry) -> None:
    # A rep and subject never reviewed in the window has no series (no zeros that say nothing).
    assert series(registry, "salespulse_reviews") == {
        ("nl", "ann", "call"): 3,
        ("nl", "bob", "proposal"): 1,
        ("nl", "kim", "call"): 1,
    }


def test_review_score_averages_only_where_reviewed(registry: CollectorRegistry) -> None:
    assert series(registry, "salespulse_review_score_avg") == pytest.approx(
        {
            ("nl", "ann", "call", "opening"): 4.0,  # (4 + 3 + 5) / 3
            ("nl", "ann", "call", "closing"): 11 / 3,  # (5 + 2 + 4) / 3
            ("nl", "ann", "call", "pain_points"): 2.0,  # (1 + 2 + 3) / 3
            ("nl", "bob", "proposal", "clarity"): 2.0,
            ("nl", "bob", "proposal", "value"): 3.0,
            ("nl", "bob", "proposal", "next_steps"): 4.0,
            ("nl", "kim", "call", "opening"): 2.0,
            ("nl", "kim", "call", "closing"): 2.0,
            ("nl", "kim", "call", "pain_points"): 2.0,
        }
    )


def test_review_score_sums_only_where_reviewed(registry: CollectorRegistry) -> None:
    combined = series(registry, "salespulse_review_score_combined")
    assert combined == {
        ("nl", "ann", "call", "opening"): 12,
        ("nl", "ann", "call", "closing"): 11,
        ("nl", "ann", "call", "pain_points"): 6,
        ("nl", "bob", "proposal", "clarity"): 2,
        ("nl", "bob", "proposal", "value"): 3,
        ("nl", "bob", "proposal", "next_steps"): 4,
        ("nl", "kim", "call", "opening"): 2,
        ("nl", "kim", "call", "closing"): 2,
        ("nl", "kim", "call", "pain_points"): 2,
    }


def test_team_average_is_sum_over_sum(registry: CollectorRegistry) -> None:
    # sum(combined) / sum(reviews) over team nl, call, opening: (12 + 0 + 2) / (3 + 0 + 1).
    combined = series(registry, "salespulse_review_score_combined")
    reviews = series(registry, "salespulse_reviews")
    team_sum = sum(v for (team, _, subject, theme), v in combined.items() if (team, subject, theme) == ("nl", "call", "opening"))
    team_count = sum(v for (team, _, subject), v in reviews.items() if (team, subject) == ("nl", "call"))
    assert team_sum / team_count == 3.5


def test_rep_known_from_reviews_gets_rep_info(registry: CollectorRegistry) -> None:
    assert registry.get_sample_value("salespulse_rep_info", {"team": "nl", "rep": "kim", "name": "kim"}) == 1


def test_review_duplicates_are_counted(registry: CollectorRegistry) -> None:
    assert registry.get_sample_value("salespulse_events_duplicate_total", {"type": "review"}) == 1


def test_only_owned_reps_are_exported() -> None:
    registry = make_registry(owns=(("nl", "bob"),))
    assert series(registry, "salespulse_reviews") == {("nl", "bob", "proposal"): 1}
    assert set(series(registry, "salespulse_review_score_avg")) == {
        ("nl", "bob", "proposal", "clarity"),
        ("nl", "bob", "proposal", "value"),
        ("nl", "bob", "proposal", "next_steps"),
    }
    assert {k[:2] for k in series(registry, "salespulse_review_score_combined")} == {("nl", "bob")}


def test_no_review_state_exports_no_review_series() -> None:
    registry = CollectorRegistry()
    PipelineCollector(PipelineState({}, {}, list, {}, {}), SETTINGS, lambda: NOW, registry)
    assert series(registry, "salespulse_reviews") == {}
    assert series(registry, "salespulse_review_score_combined") == {}
    assert series(registry, "salespulse_review_score_avg") == {}
