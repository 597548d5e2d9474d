"""Without Prometheus the TV works its figures out from /metrics: the same answers as the board's PromQL.

Every declared query runs in Prometheus' own engine (promtool) over the same series that
`answers_of_samples()` reads, and must give what it gives.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from salespulse.dashboards import board
from salespulse.web.tv import answers_of_samples, team_selector
from salespulse.weekly.review import Samples
from tests.unit.exporters.test_alert_rules import promtool
from tests.unit.web.support import floor

# promtool evaluates at 00:05 on 1 January 1970: this month is 1970-01, last month 1969-12.
AT = datetime(1970, 1, 1, 0, 5, tzinfo=UTC)
SERIES: list[tuple[str, dict[str, str], float]] = [
    *[("salespulse_rep_info", {"team": "amsterdam", "rep": r, "name": r.title()}, 1) for r in ("anna", "bram", "sara")],
    ("salespulse_actions", {"rep": "anna", "action": "call", "window": "today"}, 3),
    ("salespulse_actions", {"rep": "anna", "action": "call", "window": "week"}, 5),
    ("salespulse_actions", {"rep": "anna", "action": "cold_call", "window": "today"}, 1),
    ("salespulse_actions", {"rep": "anna", "action": "cold_call", "window": "week"}, 2),
    ("salespulse_actions", {"rep": "bram", "action": "call", "window": "week"}, 4),
    ("salespulse_actions", {"rep": "bram", "action": "outbound_email", "window": "today"}, 2),
    ("salespulse_actions", {"rep": "bram", "action": "outbound_email", "window": "week"}, 7),
    ("salespulse_actions", {"rep": "sara", "action": "call", "window": "week"}, 0),
    ("salespulse_action_expected", {"rep": "anna", "action": "call"}, 10),
    ("salespulse_action_expected", {"rep": "anna", "action": "cold_call"}, 5),
    ("salespulse_action_expected", {"rep": "bram", "action": "call"}, 0),
    ("salespulse_action_expected", {"rep": "sara", "action": "call"}, 4),
    ("salespulse_action_target", {"rep": "anna", "action": "call"}, 40),
    ("salespulse_action_target", {"rep": "anna", "action": "cold_call"}, 20),
    ("salespulse_action_target", {"rep": "bram", "action": "call"}, 40),
    ("salespulse_deals_decided", {"rep": "anna", "outcome": "won", "window": "rolling_30d"}, 2),
    ("salespulse_deals_decided", {"rep": "anna", "outcome": "won", "window": "rolling_90d"}, 5),
    ("salespulse_deals_decided", {"rep": "bram", "outcome": "lost", "window": "rolling_30d"}, 3),
    ("salespulse_deal_decision_seconds_combined", {"rep": "anna", "outcome": "won", "window": "rolling_30d"}, 864_000),
    ("salespulse_deal_decision_seconds_combined", {"rep": "bram", "outcome": "lost", "window": "rolling_30d"}, 10_800),
    ("salespulse_stage_changes", {"rep": "anna", "stage": "lead", "completeness": "complete"}, 3),
    ("salespulse_stage_changes", {"rep": "anna", "stage": "lead", "completeness": "incomplete"}, 1),
    ("salespulse_stage_changes", {"rep": "bram", "stage": "proposal", "completeness": "incomplete"}, 2),
    ("salespulse_mystery_share", {"rep": "anna", "month": "1970-01"}, 0.9),
    ("salespulse_mystery_share", {"rep": "bram", "month": "1969-12"}, 0.5),
    ("salespulse_team_reward_earned", {"month": "1970-01"}, 1),
    ("salespulse_team_reward_earned", {"month": "1969-12"}, 0),
    ("salespulse_review_score_combined", {"rep": "anna", "subject": "call", "theme": "opening"}, 8),
    ("salespulse_review_score_combined", {"rep": "anna", "subject": "call", "theme": "closing"}, 5),
    ("salespulse_review_score_combined", {"rep": "bram", "subject": "call", "theme": "opening"}, 3),
    ("salespulse_review_score_combined", {"rep": "bram", "subject": "call", "theme": "closing"}, 2),
    ("salespulse_reviews", {"rep": "anna", "subject": "call"}, 2),
    ("salespulse_reviews", {"rep": "bram", "subject": "call"}, 1),
    # The team's own money series carry rep="" on /metrics (no rep label in Prometheus); a rep's
    # series and the other window are not the team's 90 days.
    ("salespulse_sales_velocity", {"rep": "", "window": "rolling_90d", "currency": "EUR"}, 2_000.5),
    ("salespulse_sales_velocity", {"rep": "", "window": "rolling_30d", "currency": "EUR"}, 900),
    ("salespulse_sales_velocity", {"rep": "anna", "window": "rolling_90d", "currency": "EUR"}, 1_500),
    ("salespulse_win_rate", {"rep": "", "window": "rolling_90d"}, 0.4),
    ("salespulse_win_rate", {"rep": "anna", "window": "rolling_90d"}, 0.75),
    ("salespulse_win_rate", {"rep": "", "window": "rolling_30d"}, 0.5),
    # Another team's series, which no answer may count.
    ("salespulse_actions", {"team": "utrecht", "rep": "umar", "action": "call", "window": "week"}, 9),
    ("salespulse_team_reward_earned", {"team": "utrecht", "month": "1970-01"}, 0),
    ("salespulse_win_rate", {"team": "utrecht", "rep": "", "window": "rolling_90d"}, 0.9),
]
# The labels each panel's answers are told apart by; the rest (names, team) is the renderer's.
KEYS = {"time_to_decision": ("outcome",), "team_reward": ("month",), "review_score": ("subject",),
        "sales_velocity": ("currency",)}


def labelled(labels: dict[str, str]) -> dict[str, str]:
    return {"team": "amsterdam", **labels}


def samples() -> Samples:
    found = Samples(())
    for name, labels, value in SERIES:
        found.by_name[name].append((labelled(labels), float(value)))
    return found


def keys_of(panel: board.BoardPanel) -> tuple[str, ...]:
    return ("rep",) if panel.per_rep else KEYS.get(panel.key, ())


def test_the_sums_from_metrics_are_what_the_board_promql_answers(tmp_path: Path) -> None:
    answers = answers_of_samples(samples(), "amsterdam", AT)
    cases: list[dict[str, Any]] = []
    for panel in board.board(floor().mystery.reward_share):
        keys = keys_of(panel)
        for n, query in enumerate(panel.queries):
            reduced: dict[tuple[str, ...], float] = defaultdict(float)
            for labels, value in answers[f"{panel.key}/{n}"]:
                reduced[tuple(labels[k] for k in keys)] += value
            expr = query.expr(team_selector("amsterdam"))
            cases.append({
                "expr": f"sum by ({', '.join(keys)}) ({expr})" if keys else f"sum({expr})",
                "eval_time": "5m",
                "exp_samples": [
                    {"labels": "{" + ",".join(f'{k}="{v}"' for k, v in zip(keys, group)) + "}", "value": value}
                    for group, value in sorted(reduced.items())
                ],
            })
    # Prometheus keeps no label with an empty value: rep="" is scraped as no rep label.
    inputs = [{"series": name + "{" + ",".join(f'{k}="{v}"' for k, v in labelled(labels).items() if v) + "}",
               "values": f"{value}x10"} for name, labels, value in SERIES]
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(
        {"tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": cases}]}, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_answers_from_metrics_are_the_hand_computed_ones() -> None:
    answers = answers_of_samples(samples(), "amsterdam", AT)

    def values(key: str, label: str = "rep") -> dict[str, float]:
        return {labels.get(label, ""): value for labels, value in answers[key]}

    assert values("team_actions/0", "team") == {"amsterdam": 3 + 1 + 2}
    assert values("team_actions/1", "team") == {"amsterdam": 5 + 2 + 4 + 7 + 0}
    # Team pace: targeted actions done (anna 5 + 2, bram's call 4, sara 0) over due (10 + 5 + 0 + 4).
    assert values("team_pace/0", "team") == {"amsterdam": 11 / 19}
    assert values("pace/0") == {"anna": 7 / 15, "bram": -1, "sara": 0.0}
    assert values("weekly_target/0") == {"anna": 60, "bram": 40}
    assert values("checklists/0") == {"anna": 0.75}
    assert values("time_to_decision/0", "outcome") == {"won": 432_000, "lost": 3_600}
    assert values("mystery/0") == {"anna": 0.9}
    assert values("team_reward/0", "month") == {"1970-01": 1}
    # Per theme sum over reviews (opening 11/3, closing 7/3), then the mean of the themes.
    assert values("review_score/0", "subject") == {"call": (11 / 3 + 7 / 3) / 2}
    # The team's own 90-day series, never the reps' nor the 30 days.
    assert values("sales_velocity/0", "currency") == {"EUR": 2_000.5}
    assert values("win_rate/0", "team") == {"": 0.4}
