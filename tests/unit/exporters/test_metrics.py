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
    "salespulse_sales_velocity": "gauge",
    "salespulse_win_rate": "gauge",
    "salespulse_deal_value_won_avg": "gauge",
    "salespulse_sales_cycle_seconds_avg": "gauge",
    "salespulse_open_deals": "gauge",
    "salespulse_open_deals_stale": "gauge",
    "salespulse_stage_seconds_avg": "gauge",
    "salespulse_stage_exits": "gauge",
    "salespulse_stage_seconds": "histogram",
    "salespulse_funnel_reached_ratio": "gauge",
    "salespulse_funnel_deals": "gauge",
    "salespulse_deals_without_rate": "gauge",
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


def rows(section: int = 0) -> list[list[str]]:
    """The rows of the reference's `section`-th table (0: the worker's, 1: the gateway's)."""
    lines = metrics_reference().splitlines()
    starts = [i for i, line in enumerate(lines) if line == "| metric | type | labels | meaning |"]
    start = starts[section]
    assert lines[start + 1] == "| --- | --- | --- | --- |"
    table = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return table


def test_reference_lists_every_sample_name_with_its_type() -> None:
    def shown(name: str, kind: str) -> str:
        return f"`{name}_bucket`, `{name}_sum`, `{name}_count`" if kind == "histogram" else f"`{name}`"

    assert {r[0]: r[1] for r in rows()} == {shown(n, t): t for n, t in SAMPLE_NAMES.items()}
    assert len(rows()) == len(SAMPLE_NAMES)


def test_reference_lists_the_gateways_metrics_in_a_table_of_their_own() -> None:
    assert {r[0]: (r[1], r[2]) for r in rows(1)} == {
        "`salespulse_gateway_requests_total`": ("counter", "`source`, `outcome`"),
        "`salespulse_gateway_request_seconds_bucket`, `salespulse_gateway_request_seconds_sum`, "
        "`salespulse_gateway_request_seconds_count`": ("histogram", "`source`"),
        "`salespulse_gateway_events_total`": ("counter", "`source`, `result`"),
    }


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
