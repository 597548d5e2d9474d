"""The metric declarations and the reference table rendered from them."""

from __future__ import annotations

import pytest

from pathlib import Path

from salespulse.exporters.metrics import ALL_METRICS, metrics_reference

DOCS = Path(__file__).resolve().parents[3] / "docs"

SAMPLE_NAMES = {
    "salespulse_actions": "gauge",
    "salespulse_actions_total": "counter",
    "salespulse_deals_decided": "gauge",
    "salespulse_deal_decision_seconds_avg": "gauge",
    "salespulse_deal_decision_seconds_combined": "gauge",
    "salespulse_events_rejected_total": "counter",
    "salespulse_events_duplicate_total": "counter",
    "salespulse_rep_info": "gauge",
    "salespulse_action_target": "gauge",
    "salespulse_action_expected": "gauge",
    "salespulse_action_pace_ratio": "gauge",
    "salespulse_action_shortfall": "gauge",
    "salespulse_action_target_missed_total": "counter",
    "salespulse_reviews": "gauge",
    "salespulse_review_score_avg": "gauge",
    "salespulse_review_score_combined": "gauge",
    "salespulse_consumer_lag": "gauge",
    "salespulse_stage_changes": "gauge",
    "salespulse_checklist_missing": "gauge",
    "salespulse_in_working_time": "gauge",
    "salespulse_mystery_points": "gauge",
    "salespulse_mystery_points_max": "gauge",
    "salespulse_mystery_share": "gauge",
    "salespulse_team_reward_earned": "gauge",
    "salespulse_self_reported_actions": "gauge",
    "salespulse_self_report_submitted": "gauge",
    "salespulse_series_dropped": "gauge",
    "salespulse_worker_ready": "gauge",
    "salespulse_recovery_remaining": "gauge",
}


def rows() -> list[list[str]]:
    lines = metrics_reference().splitlines()
    start = lines.index("| metric | type | labels | meaning |")
    assert lines[start + 1] == "| --- | --- | --- | --- |"
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[start + 2 :]]


def test_reference_lists_every_sample_name_with_its_type() -> None:
    assert {r[0]: r[1] for r in rows()} == {f"`{n}`": t for n, t in SAMPLE_NAMES.items()}
    assert len(rows()) == len(SAMPLE_NAMES)


def test_reference_ends_with_a_newline() -> None:
    assert metrics_reference().endswith("|\n")


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("`salespulse_actions`", "`team`, `rep`, `action`, `window`"),
        ("`salespulse_actions_total`", "`team`, `rep`, `action`"),
        ("`salespulse_events_rejected_total`", "`reason`"),
        ("`salespulse_events_duplicate_total`", "`type`"),
        ("`salespulse_rep_info`", "`team`, `rep`, `name`"),
        ("`salespulse_deals_decided`", "`team`, `rep`, `outcome`, `window`"),
        ("`salespulse_reviews`", "`team`, `rep`, `subject`"),
        ("`salespulse_review_score_avg`", "`team`, `rep`, `subject`, `theme`"),
        ("`salespulse_review_score_combined`", "`team`, `rep`, `subject`, `theme`"),
    ],
)
def test_reference_labels(name: str, labels: str) -> None:
    assert {r[0]: r[2] for r in rows()}[name] == labels


def test_every_name_has_the_prefix_and_no_millisecond_unit() -> None:
    for spec in ALL_METRICS:
        assert spec.name.startswith("salespulse_")
        assert "_ms" not in spec.name
        assert spec.help


def test_docs_page_is_the_generated_reference() -> None:
    """docs/metrics.md is regenerated with `make docs`; a stale page fails here."""
    assert (DOCS / "metrics.md").read_text() == metrics_reference()
