"""`salespulse report weekly`: scraped /metrics pages to a team's review, as Markdown and HTML.

The pages are written by hand in the exposition format the worker serves (names and labels of
exporters/metrics.py), as two workers would: rep-keyed series on the rep's owner only,
deal-keyed series (decisions, stage changes) split over both and summed by the report.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from salespulse.models.config import Settings
from salespulse.models.errors import ConfigError
from salespulse.models.targets import TargetSet
from salespulse.weekly.page import render_html
from salespulse.weekly.text import render_markdown, velocity_cells
from salespulse.weekly.history import History
from salespulse.weekly.review import (
    ActionRow,
    DealMoney,
    RepReview,
    Samples,
    WeekCell,
    WeeklyReview,
    build_review,
    output_paths,
)
from salespulse.weekly.team import behind_on, ranked, rep_attainment, team_rows, team_weeks

SETTINGS = Settings.model_validate(
    {
        "actions": ["call", "meeting"],
        "teams": {
            "nl": {
                "timezone": "Europe/Amsterdam",
                "reps": {"ann": {"name": "Ann de Vries"}, "bob": {"name": "Bob <&> Jansen"}, "dan": {"name": "Dan Visser"}},
            },
            "us": {"timezone": "America/New_York", "reps": {"joe": {"name": "Joe Smith"}}},
        },
        "reviews": {"themes": {"call": ["opening", "closing", "pain_points"]}},
    }
)
# Wednesday 25 November 2026, 10:00 in Amsterdam: ISO week 2026-W48 (Mon 23 - Sun 29 November).
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)

WORKER_1 = """\
# HELP salespulse_actions Activities in a window by event time.
# TYPE salespulse_actions gauge
salespulse_actions{action="call",rep="ann",team="nl",window="today"} 1.0
salespulse_actions{action="call",rep="ann",team="nl",window="week"} 3.0
salespulse_actions{action="call",rep="ann",team="nl",window="last_week"} 1.0
salespulse_actions{action="call",rep="ann",team="nl",window="rolling_7d"} 4.0
salespulse_actions{action="meeting",rep="ann",team="nl",window="today"} 0.0
salespulse_actions{action="meeting",rep="ann",team="nl",window="week"} 2.0
salespulse_actions{action="meeting",rep="ann",team="nl",window="last_week"} 2.0
salespulse_actions{action="meeting",rep="ann",team="nl",window="rolling_7d"} 3.0
salespulse_actions{action="call",rep="ann",team="us",window="week"} 50.0
salespulse_actions{action="call",rep="ann",team="us",window="last_week"} 40.0
# HELP salespulse_actions_total Accepted, de-duplicated activity events since the pipeline began.
# TYPE salespulse_actions_total counter
salespulse_actions_total{action="call",rep="ann",team="nl"} 958.0
salespulse_actions_total{action="meeting",rep="ann",team="nl"} 77.0
# HELP salespulse_rep_info Always 1; carries the rep's display name from the configuration.
# TYPE salespulse_rep_info gauge
salespulse_rep_info{name="Ann de Vries",rep="ann",team="nl"} 1.0
salespulse_rep_info{name="ann",rep="ann",team="us"} 1.0
# HELP salespulse_action_target This week's target for the action.
# TYPE salespulse_action_target gauge
salespulse_action_target{action="call",rep="ann",team="nl"} 10.0
salespulse_action_target{action="meeting",rep="ann",team="nl"} 0.0
# HELP salespulse_deals_decided Deals decided (won or lost) within the window.
# TYPE salespulse_deals_decided gauge
salespulse_deals_decided{outcome="won",rep="ann",team="nl",window="rolling_30d"} 1.0
salespulse_deals_decided{outcome="won",rep="ann",team="nl",window="rolling_90d"} 4.0
# HELP salespulse_deal_decision_seconds_avg Average time from a deal's first event to its decision.
# TYPE salespulse_deal_decision_seconds_avg gauge
salespulse_deal_decision_seconds_avg{outcome="won",rep="ann",team="nl",window="rolling_30d"} 172800.0
# HELP salespulse_deal_decision_seconds_combined Sum of the times to decision.
# TYPE salespulse_deal_decision_seconds_combined gauge
salespulse_deal_decision_seconds_combined{outcome="won",rep="ann",team="nl",window="rolling_30d"} 172800.0
salespulse_deal_decision_seconds_combined{outcome="won",rep="ann",team="nl",window="rolling_90d"} 999999.0
# HELP salespulse_stage_changes Deal stage changes in the rolling 30 days.
# TYPE salespulse_stage_changes gauge
salespulse_stage_changes{completeness="complete",rep="ann",stage="qualified",team="nl"} 3.0
salespulse_stage_changes{completeness="incomplete",rep="ann",stage="qualified",team="nl"} 1.0
# HELP salespulse_checklist_missing Stage changes in the rolling 30 days that lacked the checklist item.
# TYPE salespulse_checklist_missing gauge
salespulse_checklist_missing{item="budget",kind="content",rep="ann",stage="qualified",team="nl"} 1.0
# HELP salespulse_reviews Reviews of the rep's work on the subject in the rolling 30 days.
# TYPE salespulse_reviews gauge
salespulse_reviews{rep="ann",subject="call",team="nl"} 2.0
# HELP salespulse_review_score_avg Average score of the theme over the reviews in the rolling 30 days.
# TYPE salespulse_review_score_avg gauge
salespulse_review_score_avg{rep="ann",subject="call",team="nl",theme="opening"} 3.5
salespulse_review_score_avg{rep="ann",subject="call",team="nl",theme="closing"} 4.0
# HELP salespulse_mystery_points Mystery-check points of the rep's checked deals.
# TYPE salespulse_mystery_points gauge
salespulse_mystery_points{month="2026-10",rep="ann",team="nl"} 30.0
salespulse_mystery_points{month="2026-11",rep="ann",team="nl"} 120.0
# HELP salespulse_mystery_points_max Most points the rep could have had for the month.
# TYPE salespulse_mystery_points_max gauge
salespulse_mystery_points_max{month="2026-10",rep="ann",team="nl"} 150.0
salespulse_mystery_points_max{month="2026-11",rep="ann",team="nl"} 150.0
# HELP salespulse_mystery_share salespulse_mystery_points / salespulse_mystery_points_max, 0 to 1.
# TYPE salespulse_mystery_share gauge
salespulse_mystery_share{month="2026-10",rep="ann",team="nl"} 0.2
salespulse_mystery_share{month="2026-11",rep="ann",team="nl"} 0.8
# HELP salespulse_team_reward_earned 1 when every rep due a mystery check reached the reward share.
# TYPE salespulse_team_reward_earned gauge
salespulse_team_reward_earned{month="2026-10",team="nl"} 0.0
salespulse_team_reward_earned{month="2026-11",team="nl"} 1.0
salespulse_team_reward_earned{month="2026-11",team="us"} 0.0
# HELP salespulse_self_reported_actions The rep's own count of the action in their self-report.
# TYPE salespulse_self_reported_actions gauge
salespulse_self_reported_actions{action="call",rep="ann",team="nl",window="week"} 5.0
salespulse_self_reported_actions{action="call",rep="ann",team="nl",window="last_week"} 1.0
# HELP salespulse_self_report_submitted 1 when the rep has filed a self-report on the week.
# TYPE salespulse_self_report_submitted gauge
salespulse_self_report_submitted{rep="ann",team="nl",window="week"} 1.0
salespulse_self_report_submitted{rep="ann",team="nl",window="last_week"} 1.0
# HELP salespulse_events_rejected_total Events sent to the dead-letter topic, by reason.
# TYPE salespulse_events_rejected_total counter
salespulse_events_rejected_total{reason="future"} 2.0
"""

WORKER_2 = """\
# HELP salespulse_actions Activities in a window by event time.
# TYPE salespulse_actions gauge
salespulse_actions{action="call",rep="bob",team="nl",window="week"} 0.0
salespulse_actions{action="call",rep="bob",team="nl",window="last_week"} 4.0
salespulse_actions{action="meeting",rep="bob",team="nl",window="week"} 1.0
salespulse_actions{action="meeting",rep="bob",team="nl",window="last_week"} 0.0
salespulse_actions{action="call",rep="cy",team="nl",window="week"} 7.0
salespulse_actions{action="call",rep="cy",team="nl",window="last_week"} 7.0
salespulse_actions{action="meeting",rep="cy",team="nl",window="week"} 0.0
salespulse_actions{action="meeting",rep="cy",team="nl",window="last_week"} 0.0
# HELP salespulse_rep_info Always 1; carries the rep's display name from the configuration.
# TYPE salespulse_rep_info gauge
salespulse_rep_info{name="Bob <&> Jansen",rep="bob",team="nl"} 1.0
salespulse_rep_info{name="cy",rep="cy",team="nl"} 1.0
# HELP salespulse_action_target This week's target for the action.
# TYPE salespulse_action_target gauge
salespulse_action_target{action="call",rep="bob",team="nl"} 20.0
salespulse_action_target{action="meeting",rep="bob",team="nl"} 4.0
# HELP salespulse_deals_decided Deals decided (won or lost) within the window.
# TYPE salespulse_deals_decided gauge
salespulse_deals_decided{outcome="won",rep="ann",team="nl",window="rolling_30d"} 1.0
salespulse_deals_decided{outcome="lost",rep="ann",team="nl",window="rolling_30d"} 0.0
salespulse_deals_decided{outcome="lost",rep="bob",team="nl",window="rolling_30d"} 2.0
# HELP salespulse_deal_decision_seconds_combined Sum of the times to decision.
# TYPE salespulse_deal_decision_seconds_combined gauge
salespulse_deal_decision_seconds_combined{outcome="won",rep="ann",team="nl",window="rolling_30d"} 345600.0
salespulse_deal_decision_seconds_combined{outcome="lost",rep="ann",team="nl",window="rolling_30d"} 0.0
salespulse_deal_decision_seconds_combined{outcome="lost",rep="bob",team="nl",window="rolling_30d"} 216000.0
# HELP salespulse_stage_changes Deal stage changes in the rolling 30 days.
# TYPE salespulse_stage_changes gauge
salespulse_stage_changes{completeness="complete",rep="ann",stage="qualified",team="nl"} 1.0
salespulse_stage_changes{completeness="complete",rep="ann",stage="proposal",team="nl"} 2.0
salespulse_stage_changes{completeness="incomplete",rep="ann",stage="proposal",team="nl"} 2.0
# HELP salespulse_checklist_missing Stage changes in the rolling 30 days that lacked the checklist item.
# TYPE salespulse_checklist_missing gauge
salespulse_checklist_missing{item="budget",kind="content",rep="ann",stage="proposal",team="nl"} 2.0
salespulse_checklist_missing{item="timeline",kind="content",rep="ann",stage="proposal",team="nl"} 0.0
salespulse_checklist_missing{item="summary_email",kind="process",rep="ann",stage="proposal",team="nl"} 1.0
# HELP salespulse_reviews Reviews of the rep's work on the subject in the rolling 30 days.
# TYPE salespulse_reviews gauge
salespulse_reviews{rep="bob",subject="call",team="nl"} 0.0
salespulse_reviews{rep="cy",subject="call",team="nl"} 0.0
"""

REPORTS: dict[str, Any] = {
    "nl|ann|2026-W48": {
        "at": 1_795_600_000.0,
        "event_id": "sr-1",
        "figures": {"call": 5},
        "lessons": "Ask for the <budget> & timeline first",
    },
    "nl|ann|2026-W47": {"at": 1_795_000_000.0, "event_id": "sr-0", "figures": {"call": 1}, "lessons": "Call earlier"},
    "us|ann|2026-W48": {"at": 1_795_600_000.0, "event_id": "sr-9", "figures": {}, "lessons": "another team's ann"},
    "nl|bob|2026-W48": "not a report",  # an undecodable changelog value
}


def samples() -> Samples:
    return Samples([WORKER_1, WORKER_2])


# --- Samples ----------------------------------------------------------------------------------


def test_samples_parse_a_page_into_labels_and_values() -> None:
    page = Samples([WORKER_1])
    assert page.select("salespulse_rep_info") == [
        ({"name": "Ann de Vries", "rep": "ann", "team": "nl"}, 1.0),
        ({"name": "ann", "rep": "ann", "team": "us"}, 1.0),
    ]
    # Counter samples keep the _total name they are exposed under, apart from the gauge.
    assert page.select("salespulse_actions_total", action="call") == [
        ({"action": "call", "rep": "ann", "team": "nl"}, 958.0)
    ]
    assert page.select("salespulse_events_rejected_total") == [({"reason": "future"}, 2.0)]
    assert page.one("salespulse_actions", team="nl", rep="ann", action="call", window="week") == 3.0


def test_identical_series_on_two_pages_are_summed_and_others_kept_apart() -> None:
    both = samples()
    won = {"team": "nl", "rep": "ann", "outcome": "won", "window": "rolling_30d"}
    # 1 deal on each worker; 2 + 4 days to decision.
    assert both.select("salespulse_deals_decided", **won) == [(won, 2.0)]
    assert both.select("salespulse_deal_decision_seconds_combined", **won) == [(won, 518_400.0)]
    qualified = {"team": "nl", "rep": "ann", "stage": "qualified", "completeness": "complete"}
    assert both.select("salespulse_stage_changes", **qualified) == [(qualified, 4.0)]
    # A series on one page only is not doubled.
    assert both.one("salespulse_actions", team="nl", rep="ann", action="call", window="week") == 3.0
    assert len(both.select("salespulse_stage_changes", team="nl", rep="ann")) == 4


def test_the_same_page_twice_doubles_every_value() -> None:
    page = "# TYPE salespulse_reviews gauge\nsalespulse_reviews{rep=\"ann\",subject=\"call\",team=\"nl\"} 2.0\n"
    assert Samples([page, page]).one("salespulse_reviews") == 4.0


def test_select_matches_a_subset_of_the_labels() -> None:
    both = samples()
    ann_nl = both.select("salespulse_actions", team="nl", rep="ann", action="call")
    assert sorted((labels["window"], value) for labels, value in ann_nl) == [
        ("last_week", 1.0),
        ("rolling_7d", 4.0),
        ("today", 1.0),
        ("week", 3.0),
    ]
    # Without the team label, the other team's ann matches too.
    assert len(both.select("salespulse_actions", rep="ann", action="call", window="week")) == 2
    assert both.select("salespulse_actions", team="nl", rep="ann", window="yesterday") == []
    assert both.select("salespulse_actions", team="nl", colour="red") == []
    assert both.select("salespulse_no_such_metric") == []


def test_one_sums_the_matches_and_is_none_only_without_a_match() -> None:
    both = samples()
    # All of ann's stage changes: 3 + 1 (worker 1) + 1 + 2 + 2 (worker 2).
    assert both.one("salespulse_stage_changes", team="nl", rep="ann") == 9.0
    assert both.one("salespulse_stage_changes", team="nl", rep="ann", completeness="complete") == 6.0
    # A series at 0 is a 0, not an absence.
    assert both.one("salespulse_actions", team="nl", rep="bob", action="call", window="week") == 0.0
    assert both.one("salespulse_actions", team="nl", rep="dan", action="call", window="week") is None
    assert both.one("salespulse_review_score_avg", team="nl", rep="ann", theme="pain_points") is None
    assert both.one("salespulse_no_such_metric") is None


def test_label_values_are_unescaped() -> None:
    page = '# TYPE salespulse_rep_info gauge\nsalespulse_rep_info{name="Ann \\"AJ\\" \\\\ Co",rep="ann",team="nl"} 1.0\n'
    assert Samples([page]).select("salespulse_rep_info") == [({"name": 'Ann "AJ" \\ Co', "rep": "ann", "team": "nl"}, 1.0)]


def test_no_page_no_samples() -> None:
    assert Samples([]).one("salespulse_actions") is None
    assert Samples([""]).select("salespulse_actions") == []


# --- ActionRow --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("this", "previous", "trend"),
    [(3, 1, "▲"), (1, 3, "▼"), (2, 2, "="), (0, 0, "="), (1, 0, "▲"), (0, 1, "▼"), (5, None, "–")],
)
def test_trend_against_the_week_before(this: int, previous: int | None, trend: str) -> None:
    assert ActionRow("call", this, previous, None, None).trend == trend


@pytest.mark.parametrize(
    ("this", "target", "attainment"),
    [(3, 10, 0.3), (0, 5, 0.0), (15, 10, 1.5), (3, None, None), (3, 0, None), (0, 0, None)],
)
def test_attainment_needs_a_positive_target(this: int, target: int | None, attainment: float | None) -> None:
    assert ActionRow("call", this, None, target, None).attainment == attainment


@pytest.mark.parametrize(("this", "reported", "difference"), [(3, 5, 2), (4, 1, -3), (2, 2, 0), (0, 0, 0), (3, None, None)])
def test_difference_is_reported_minus_measured(this: int, reported: int | None, difference: int | None) -> None:
    assert ActionRow("call", this, None, None, reported).difference == difference


# --- build_review -----------------------------------------------------------------------------


def test_the_current_week_against_last_week() -> None:
    review = build_review(SETTINGS, "nl", "2026-W48", NOW, samples(), REPORTS)

    assert (review.team, review.week, review.previous_week) == ("nl", "2026-W48", "2026-W47")
    # The week's Sunday, 29 November 2026, is in November.
    assert review.month == "2026-11"
    assert review.reward is True
    # Configured reps (ann, bob, dan) and the reps of rep_info for the team (ann, bob, cy), sorted.
    assert [(r.rep, r.name) for r in review.reps] == [
        ("ann", "Ann de Vries"),
        ("bob", "Bob <&> Jansen"),
        ("cy", "cy"),
        ("dan", "Dan Visser"),
    ]
    ann, bob, cy, dan = review.reps

    assert ann.actions == [
        ActionRow("call", 3, 1, 10, 5),
        ActionRow("meeting", 2, 2, 0, None),
    ]
    # Worker 1 + worker 2: 1 + 1 won in 172800 + 345600 s; the lost series are 0 (and absent on worker 1).
    assert ann.decided == {"won": (2, 518_400.0), "lost": (0, 0.0)}
    # complete 3 + 1 (qualified) + 2 (proposal) over all 3 + 1 + 1 + 2 + 2 stage changes.
    assert (ann.complete, ann.stage_changes) == (6, 9)
    assert ann.completeness == pytest.approx(6 / 9)
    # budget: 1 (qualified) + 2 (proposal); timeline's 0 is dropped; content before process.
    assert ann.missing == [("content", "budget", 3), ("process", "summary_email", 1)]
    assert ann.reviews == {"call": (2, {"opening": 3.5, "closing": 4.0})}
    assert ann.mystery == (120, 150, 0.8)
    assert ann.lessons == "Ask for the <budget> & timeline first"

    assert bob.actions == [ActionRow("call", 0, 4, 20, None), ActionRow("meeting", 1, 0, 4, None)]
    assert bob.decided == {"won": (0, 0.0), "lost": (2, 216_000.0)}
    assert (bob.complete, bob.stage_changes, bob.completeness, bob.missing) == (0, 0, None, [])
    assert bob.reviews == {"call": (0, {})}
    assert bob.mystery is None
    assert bob.lessons is None  # the table value is not a report

    assert cy.actions == [ActionRow("call", 7, 7, None, None), ActionRow("meeting", 0, 0, None, None)]
    assert cy.lessons is None

    # A configured rep without a single series: zeros this week, nothing known about the one before.
    assert dan.actions == [ActionRow("call", 0, None, None, None), ActionRow("meeting", 0, None, None, None)]
    assert dan.decided == {"won": (0, 0.0), "lost": (0, 0.0)}
    assert dan.reviews == {"call": (0, {})}
    assert (dan.mystery, dan.lessons) == (None, None)


def test_last_week_has_no_week_before() -> None:
    review = build_review(SETTINGS, "nl", "2026-W47", NOW, samples(), REPORTS)

    assert (review.week, review.previous_week, review.month) == ("2026-W47", None, "2026-11")
    assert (review.current, review.trend_weeks, review.history_source) == (False, ["2026-W47"], None)
    ann = review.reps[0]
    # /metrics has this week's targets only: last week's is unknown without the targets' history.
    assert ann.actions == [ActionRow("call", 1, None, None, 1), ActionRow("meeting", 2, None, None, None)]
    assert [row.trend for row in ann.actions] == ["–", "–"]
    assert ann.lessons == "Call earlier"
    bob = review.reps[1]
    assert bob.actions == [ActionRow("call", 4, None, None, None), ActionRow("meeting", 0, None, None, None)]
    # A closed week is judged on target, not on this week's pace.
    assert ann.pace == {} and bob.pace == {}


def test_reps_of_another_team_stay_out() -> None:
    review = build_review(SETTINGS, "us", "2026-W48", NOW, samples(), REPORTS)

    # joe is configured; ann only appears in the team's rep_info.
    assert [r.rep for r in review.reps] == ["ann", "joe"]
    ann = review.reps[0]
    assert ann.name == "ann"
    assert ann.actions[0] == ActionRow("call", 50, 40, None, None)
    assert ann.decided == {"won": (0, 0.0), "lost": (0, 0.0)}
    assert (ann.stage_changes, ann.mystery) == (0, None)
    assert ann.lessons == "another team's ann"
    assert review.reward is False


def test_a_team_without_mystery_figures_has_no_reward_verdict() -> None:
    review = build_review(SETTINGS, "nl", "2026-W48", NOW, Samples([WORKER_2]), {})
    assert review.reward is None
    assert [r.rep for r in review.reps] == ["ann", "bob", "cy", "dan"]


def test_an_unconfigured_team_takes_its_reps_from_rep_info() -> None:
    page = (
        "# TYPE salespulse_rep_info gauge\n"
        'salespulse_rep_info{name="zoe",rep="zoe",team="de"} 1.0\n'
        'salespulse_rep_info{name="ann",rep="ann",team="nl"} 1.0\n'
    )
    review = build_review(SETTINGS, "de", "2026-W48", NOW, Samples([page]), {})
    assert [(r.rep, r.name) for r in review.reps] == [("zoe", "zoe")]


NEW_YORK_SUNDAY_2300 = datetime(2026, 11, 30, 4, tzinfo=UTC)  # Sunday 29 November 23:00 EST = Monday 04:00 UTC


def test_the_weeks_are_the_teams_local_weeks() -> None:
    # In New York it is still Sunday of 2026-W48, in UTC (and Amsterdam) already Monday of 2026-W49.
    review = build_review(SETTINGS, "us", "2026-W48", NEW_YORK_SUNDAY_2300, samples(), {})
    assert (review.week, review.previous_week, review.month) == ("2026-W48", "2026-W47", "2026-11")
    last = build_review(SETTINGS, "us", "2026-W47", NEW_YORK_SUNDAY_2300, samples(), {})
    assert (last.week, last.previous_week) == ("2026-W47", None)

    with pytest.raises(ConfigError) as caught:
        build_review(SETTINGS, "us", "2026-W49", NEW_YORK_SUNDAY_2300, samples(), {})
    message = str(caught.value)
    assert message.startswith("--week: 2026-W49 is neither team us's current week (2026-W48) nor last week (2026-W47)")

    # The same instant in Amsterdam: 05:00 on Monday, 2026-W49.
    amsterdam = build_review(SETTINGS, "nl", "2026-W49", NEW_YORK_SUNDAY_2300, samples(), {})
    assert (amsterdam.week, amsterdam.previous_week, amsterdam.month) == ("2026-W49", "2026-W48", "2026-12")
    with pytest.raises(ConfigError, match=r"current week \(2026-W49\) nor last week \(2026-W48\)"):
        build_review(SETTINGS, "nl", "2026-W47", NEW_YORK_SUNDAY_2300, samples(), {})


@pytest.mark.parametrize("week", ["2026-W46", "2026-W49", "2025-W48", "2026-w48"])
def test_any_other_week_is_refused_naming_the_two_valid_ones(week: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_review(SETTINGS, "nl", week, NOW, samples(), REPORTS)
    message = str(caught.value)
    assert message.startswith(f"--week: {week} is neither team nl's current week (2026-W48) nor last week (2026-W47)")


MYSTERY_BY_MONTH = """\
# TYPE salespulse_mystery_points gauge
salespulse_mystery_points{month="2026-11",rep="ann",team="nl"} 100.0
salespulse_mystery_points{month="2026-12",rep="ann",team="nl"} 150.0
salespulse_mystery_points{month="2027-01",rep="ann",team="nl"} 75.0
# TYPE salespulse_mystery_points_max gauge
salespulse_mystery_points_max{month="2026-11",rep="ann",team="nl"} 300.0
salespulse_mystery_points_max{month="2026-12",rep="ann",team="nl"} 150.0
salespulse_mystery_points_max{month="2027-01",rep="ann",team="nl"} 150.0
# TYPE salespulse_mystery_share gauge
salespulse_mystery_share{month="2026-11",rep="ann",team="nl"} 0.3333333333333333
salespulse_mystery_share{month="2026-12",rep="ann",team="nl"} 1.0
salespulse_mystery_share{month="2027-01",rep="ann",team="nl"} 0.5
# TYPE salespulse_team_reward_earned gauge
salespulse_team_reward_earned{month="2026-11",team="nl"} 0.0
salespulse_team_reward_earned{month="2026-12",team="nl"} 1.0
salespulse_team_reward_earned{month="2027-01",team="nl"} 0.0
"""


@pytest.mark.parametrize(
    ("now", "week", "month", "mystery", "reward"),
    [
        # 2026-W49 runs Monday 30 November to Sunday 6 December: December's figures.
        (datetime(2026, 12, 2, 9, tzinfo=UTC), "2026-W49", "2026-12", (150, 150, 1.0), True),
        # Its week before ends on Sunday 29 November.
        (datetime(2026, 12, 2, 9, tzinfo=UTC), "2026-W48", "2026-11", (100, 300, 0.3333333333333333), False),
        # 2026 has 53 ISO weeks; 2026-W53 ends on Sunday 3 January 2027.
        (datetime(2026, 12, 30, 9, tzinfo=UTC), "2026-W53", "2027-01", (75, 150, 0.5), False),
        (datetime(2027, 1, 5, 9, tzinfo=UTC), "2026-W53", "2027-01", (75, 150, 0.5), False),
    ],
)
def test_the_mystery_month_is_the_month_of_the_weeks_sunday(
    now: datetime, week: str, month: str, mystery: tuple[int, int, float], reward: bool
) -> None:
    review = build_review(SETTINGS, "nl", week, now, Samples([MYSTERY_BY_MONTH]), {})
    assert review.month == month
    assert review.reps[0].rep == "ann"
    assert review.reps[0].mystery == mystery
    assert review.reward is reward


def test_a_partial_mystery_score_counts_as_not_checked() -> None:
    page = "# TYPE salespulse_mystery_points gauge\nsalespulse_mystery_points{month=\"2026-11\",rep=\"ann\",team=\"nl\"} 100.0\n"
    assert build_review(SETTINGS, "nl", "2026-W48", NOW, Samples([page]), {}).reps[0].mystery is None


MONEY = """\
# HELP salespulse_sales_velocity Sales velocity per day.
# TYPE salespulse_sales_velocity gauge
salespulse_sales_velocity{currency="EUR",rep="ann",team="nl",window="rolling_30d"} 4800.0
salespulse_sales_velocity{currency="EUR",rep="",team="nl",window="rolling_30d"} 5760.0
salespulse_sales_velocity{currency="EUR",rep="",team="nl",window="rolling_90d"} 999.0
salespulse_sales_velocity{currency="USD",rep="",team="nl",window="rolling_30d"} 111.0
# HELP salespulse_win_rate Deals won / deals decided.
# TYPE salespulse_win_rate gauge
salespulse_win_rate{rep="ann",team="nl",window="rolling_30d"} 0.6666666666666666
salespulse_win_rate{rep="bob",team="nl",window="rolling_30d"} 0.0
salespulse_win_rate{rep="",team="nl",window="rolling_30d"} 0.4
salespulse_win_rate{rep="",team="us",window="rolling_30d"} 0.9
# HELP salespulse_deal_value_won_avg Average value of the deals won.
# TYPE salespulse_deal_value_won_avg gauge
salespulse_deal_value_won_avg{currency="EUR",rep="ann",team="nl",window="rolling_30d"} 12000.0
salespulse_deal_value_won_avg{currency="EUR",rep="",team="nl",window="rolling_30d"} 12000.0
# HELP salespulse_sales_cycle_seconds_avg Sales cycle.
# TYPE salespulse_sales_cycle_seconds_avg gauge
salespulse_sales_cycle_seconds_avg{rep="ann",team="nl",window="rolling_30d"} 432000.0
salespulse_sales_cycle_seconds_avg{rep="",team="nl",window="rolling_30d"} 432000.0
"""


def test_deal_money_is_each_reps_and_the_teams_own_over_30_days() -> None:
    review = build_review(SETTINGS, "nl", "2026-W48", NOW, Samples([MONEY]), {})
    ann, bob, dan = review.reps
    # ann: 3 open deals x 12,000 average won value x 2 of 3 decided won / 5 days = 4,800 a day.
    assert ann.money == DealMoney("EUR", 3 * 12_000 * (2 / 3) / 5, 2 / 3, 12_000.0, 5 * 86_400.0)
    # bob lost both his deals: a win rate of 0, nothing won to value, time or multiply: absent.
    assert bob.money == DealMoney("EUR", None, 0.0, None, None)
    assert dan.money == DealMoney("EUR")
    # The team's own series (rep=""), not the reps' added up: 6 open x 12,000 x 0.4 / 5 days;
    # the 90 days and a currency the team does not use stay out.
    assert review.team_money == DealMoney("EUR", 6 * 12_000 * 0.4 / 5, 0.4, 12_000.0, 5 * 86_400.0)
    # The end of the 30 days: the report's time, in the team's timezone (Amsterdam, UTC+1).
    assert review.at is not None and review.at.strftime("%Y-%m-%d %H:%M") == "2026-11-25 10:00"
    lines = render_markdown(review).split("\n")
    assert "| Ann de Vries (ann) | € 4,800 / day | 67% | € 12,000 | 5.0 days |" in lines
    assert "| Bob \\<&> Jansen (bob) | – | 0% | – | – |" in lines
    assert "| Whole team | € 5,760 / day | 40% | € 12,000 | 5.0 days |" in lines
    assert "- Deal velocity (30 days): sales velocity –, win rate 0%, average won value –, sales cycle –" in lines
    assert lines.count("- Deal velocity (30 days): –") == 1  # dan


def test_deal_money_is_in_the_teams_currency() -> None:
    settings = Settings.model_validate({**SETTINGS.model_dump(), "teams": {"nl": {"currency": "USD"}}})
    team = build_review(settings, "nl", "2026-W48", NOW, Samples([MONEY]), {}).team_money
    assert team == DealMoney("USD", 111.0, 0.4, None, 432_000.0)
    assert velocity_cells(team)[0] == "$ 111 / day"


# --- render_markdown / render_html --------------------------------------------------------------


def small_review(previous_week: str | None = "2026-W47", reward: bool | None = True) -> WeeklyReview:
    trend = ["2026-W46", "2026-W47", "2026-W48"]

    def weeks(*cells: tuple[int | None, int | None]) -> list[WeekCell]:
        return [WeekCell(week, count, target) for week, (count, target) in zip(trend, cells)]

    ann = RepReview(
        "ann",
        "Ann de Vries",
        [ActionRow("call", 3, 1, 10, 5), ActionRow("meeting", 2, 2, 0, None)],
        weeks={"call": weeks((2, 8), (1, 10), (3, 10)), "meeting": weeks((None, 0), (2, 0), (2, 0))},
        pace={"call": (0.75, 4.0)},
        decided={"won": (2, 518_400.0), "lost": (0, 0.0)},
        stage_changes=9,
        complete=6,
        missing=[("content", "budget", 3), ("process", "summary_email", 1)],
        reviews={"call": (2, {"opening": 3.5, "closing": 4.0})},
        mystery=(120, 150, 0.8),
        lessons="Ask for the <budget> & timeline first",
        # 3 open deals x 12,000 x 2/3 won / 5 days = 4,800 a day.
        money=DealMoney("EUR", 4_800.0, 2 / 3, 12_000.0, 5 * 86_400.0),
    )
    bob = RepReview(
        "bob",
        "Bob <&> Jansen",
        [ActionRow("call", 0, 4, 20, None), ActionRow("meeting", 1, None, None, 3)],
        weeks={"call": weeks((5, 20), (4, 20), (0, 20)), "meeting": weeks((None, None), (None, None), (1, None))},
        pace={"call": (0.0, 8.0)},
        decided={"won": (0, 0.0), "lost": (1, 129_600.0)},
        reviews={"call": (0, {})},
    )
    return WeeklyReview(
        "nl", "2026-W48", previous_week, "2026-11", reward, [ann, bob],
        trend_weeks=trend, history_source="Prometheus (http://prometheus:9090)", metrics_weeks=trend[1:],
        # 5 open deals x 12,000 x 2 won of 4 decided / 5 days = 6,000 a day.
        team_money=DealMoney("EUR", 6_000.0, 0.5, 12_000.0, 5 * 86_400.0),
        at=datetime(2026, 11, 25, 10, 0),
    )


def test_render_markdown_exactly() -> None:
    assert render_markdown(small_review()).split("\n") == [
        "# Weekly review: nl, 2026-W48",
        "",
        "## Team",
        "",
        "Team reward 2026-11: earned",
        "",
        "| action | 2026-W48 | 2026-W47 | change | target | attainment |",
        "| --- | --- | --- | --- | --- | --- |",
        # 3 + 0 calls against 10 + 20; 1 + 4 the week before.
        "| call | 3 | 5 | -2 ▼ | 30 | 10% |",
        # bob has no meeting target: the team has none; his meetings the week before are unknown.
        "| meeting | 3 | 2 | +1 ▲ | – | – |",
        "",
        "### Reps by attainment",
        "",
        "| rep | 2026-W48 | 2026-W47 | behind pace on |",
        "| --- | --- | --- | --- |",
        # Over the actions with a positive target: ann's calls 3 of 10, 1 of 10 the week before.
        "| Ann de Vries (ann) | 30% | 10% | call 3 of 4.0 due by now (75%) |",
        "| Bob \\<&> Jansen (bob) | 0% | 20% | call 0 of 8.0 due by now (0%) |",
        "",
        "### Lessons learned",
        "",
        "- Ann de Vries: Ask for the \\<budget> & timeline first",
        "- Bob \\<&> Jansen: (no self-report for the week)",
        "",
        "### Trends",
        "",
        "Weeks 2026-W46 to 2026-W48: 2026-W47 and 2026-W48 from /metrics, the weeks before from Prometheus "
        "(http://prometheus:9090); in brackets the attainment against the targets in force in each week; "
        "– where nothing holds the week.",
        "",
        "| action | W46 | W47 | W48 |",
        "| --- | --- | --- | --- |",
        # 2 + 5 of 8 + 20; 1 + 4 of 10 + 20; 3 + 0 of 10 + 20.
        "| call | 7 (25%) | 5 (17%) | 3 (10%) |",
        "| meeting | – | 2 | 3 |",
        "",
        "### Deal velocity (30 days)",
        "",
        "The 30 days up to 2026-11-25 10:00. Sales velocity: open deals × average won value × win rate ÷ sales "
        "cycle in days; sales cycle: first event to decision, over the deals won. The whole team's row is the "
        "team's own figure, not a sum of the reps'; – where nothing was decided, won, or won with an amount.",
        "",
        "| rep | sales velocity | win rate | average won value | sales cycle |",
        "| --- | --- | --- | --- | --- |",
        "| Ann de Vries (ann) | € 4,800 / day | 67% | € 12,000 | 5.0 days |",
        # bob has no money figures: absent, never 0.
        "| Bob \\<&> Jansen (bob) | – | – | – | – |",
        "| Whole team | € 6,000 / day | 50% | € 12,000 | 5.0 days |",
        "",
        "## Ann de Vries (ann)",
        "",
        "| action | 2026-W48 | 2026-W47 | trend | target | attainment | self-reported | difference |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        "| call | 3 | 1 | ▲ | 10 | 30% | 5 | +2 |",
        "| meeting | 2 | 2 | = | 0 | – | – | – |",
        "",
        "Weeks:",
        "",
        "| action | W46 | W47 | W48 |",
        "| --- | --- | --- | --- |",
        "| call | 2 (25%) | 1 (10%) | 3 (30%) |",
        "| meeting | – | 2 | 2 |",
        "",
        # 518400 s / 2 deals / 86400 = 3.0 days.
        "- Deals decided (30 days): 2 won, 3.0 days to decision on average; 0 lost",
        "- Deal velocity (30 days): sales velocity € 4,800 / day, win rate 67%, average won value € 12,000, "
        "sales cycle 5.0 days",
        # 6 / 9 = 66.7 %.
        "- Checklist completeness (30 days): 67% of 9 stage changes; missing: budget (content) ×3, summary_email (process) ×1",
        "- Review scores, call (30 days, 2 reviews): opening 3.5, closing 4.0",
        "- Mystery check 2026-11: 120 of 150 points (80%)",
        "",
        "Lessons learned:",
        "",
        "> Ask for the \\<budget> & timeline first",
        "",
        "## Bob <&> Jansen (bob)",
        "",
        "| action | 2026-W48 | 2026-W47 | trend | target | attainment | self-reported | difference |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        "| call | 0 | 4 | ▼ | 20 | 0% | – | – |",
        "| meeting | 1 | – | – | – | – | 3 | +2 |",
        "",
        "Weeks:",
        "",
        "| action | W46 | W47 | W48 |",
        "| --- | --- | --- | --- |",
        "| call | 5 (25%) | 4 (20%) | 0 (0%) |",
        "| meeting | – | – | 1 |",
        "",
        # 129600 s / 1 deal = 1.5 days.
        "- Deals decided (30 days): 0 won; 1 lost, 1.5 days to decision on average",
        "- Deal velocity (30 days): –",
        "- Checklist completeness (30 days): – of 0 stage changes",
        "- Review scores, call (30 days, 0 reviews): no scores",
        "- Mystery check 2026-11: not checked",
        "",
        "Lessons learned:",
        "",
        "> (no self-report for the week)",
        "",
    ]


@pytest.mark.parametrize(
    ("reward", "line"),
    [
        (True, "Team reward 2026-11: earned"),
        (False, "Team reward 2026-11: not earned (yet)"),
        (None, "Team reward 2026-11: no mystery checks yet"),
    ],
)
def test_the_reward_line(reward: bool | None, line: str) -> None:
    assert render_markdown(small_review(reward=reward)).split("\n")[4] == line
    assert f"<p>{line}</p>" in render_html(small_review(reward=reward)).split("\n")


def test_last_weeks_table_has_no_week_before() -> None:
    lines = render_markdown(small_review(previous_week=None)).split("\n")
    assert lines[6] == "| action | 2026-W48 | week before | change | target | attainment |"
    assert "| action | 2026-W48 | week before | trend | target | attainment | self-reported | difference |" in lines


def test_markdown_of_a_built_review() -> None:
    text = render_markdown(build_review(SETTINGS, "nl", "2026-W48", NOW, samples(), REPORTS))
    lines = text.split("\n")
    assert "| call | 3 | 1 | ▲ | 10 | 30% | 5 | +2 |" in lines
    assert "| call | 0 | 4 | ▼ | 20 | 0% | – | – |" in lines
    # bob: 1 meeting against a target of 4, none the week before.
    assert "| meeting | 1 | 0 | ▲ | 4 | 25% | – | – |" in lines
    assert "| call | 7 | 7 | = | – | – | – | – |" in lines
    assert "| call | 0 | – | – | – | – | – | – |" in lines
    assert [line for line in lines if line.startswith("## ")] == [
        "## Team",
        "## Ann de Vries (ann)",
        "## Bob <&> Jansen (bob)",
        "## cy (cy)",
        "## Dan Visser (dan)",
    ]
    assert "- Deals decided (30 days): 0 won; 2 lost, 1.2 days to decision on average" in lines  # 216000 / 2 / 86400 = 1.25
    assert lines.count("> (no self-report for the week)") == 3


def test_render_html_escapes_names_and_lessons() -> None:
    page = render_html(small_review())
    lines = page.split("\n")

    assert page.startswith("<!doctype html>\n")
    assert page.endswith("</body></html>\n")
    assert "<title>Weekly review: nl, 2026-W48</title>" in lines
    assert "<h1>Weekly review: nl, 2026-W48</h1>" in lines
    assert '<section class="rep"><h2>Ann de Vries (ann)</h2>' in page
    assert '<section class="rep"><h2>Bob &lt;&amp;&gt; Jansen (bob)</h2>' in page
    assert (
        "<table><tr><th>action</th><th>2026-W48</th><th>2026-W47</th><th>trend</th><th>target</th>"
        "<th>attainment</th><th>self-reported</th><th>difference</th></tr>"
    ) in page
    # The Markdown's cells, the attainment coloured: 30 % is below the wallboard's amber bound.
    assert '<tr><td>call</td><td>3</td><td>1</td><td>▲</td><td>10</td><td class="red">30%</td><td>5</td><td>+2</td></tr>' in page
    assert "<tr><td>meeting</td><td>1</td><td>–</td><td>–</td><td>–</td><td>–</td><td>3</td><td>+2</td></tr>" in page
    assert (
        "<ul><li>Deals decided (30 days): 2 won, 3.0 days to decision on average; 0 lost</li>"
        "<li>Deal velocity (30 days): sales velocity € 4,800 / day, win rate 67%, average won value € 12,000, "
        "sales cycle 5.0 days</li>"
        "<li>Checklist completeness (30 days): 67% of 9 stage changes; missing: budget (content) ×3, "
        "summary_email (process) ×1</li>"
        "<li>Review scores, call (30 days, 2 reviews): opening 3.5, closing 4.0</li>"
        "<li>Mystery check 2026-11: 120 of 150 points (80%)</li></ul>"
    ) in page
    assert "<p>Lessons learned:</p><blockquote>Ask for the &lt;budget&gt; &amp; timeline first</blockquote>" in page
    assert "<p>Lessons learned:</p><blockquote>(no self-report for the week)</blockquote>" in page
    assert "<li><b>Bob &lt;&amp;&gt; Jansen</b>: (no self-report for the week)</li>" in page
    # Nothing of the rep's text gets through as markup.
    assert "<budget>" not in page
    assert "<&>" not in page
    assert page.count("<h2>") == 3
    # The team's deal velocity after its trends, the whole team's row in bold.
    assert (
        "<h3>Deal velocity (30 days)</h3>" in page
        and "<tr><td>Bob &lt;&amp;&gt; Jansen (bob)</td><td>–</td><td>–</td><td>–</td><td>–</td></tr>" in page
        and '<tr><td class="team">Whole team</td><td class="team">€ 6,000 / day</td><td class="team">50%</td>'
        '<td class="team">€ 12,000</td><td class="team">5.0 days</td></tr>' in page
    )


def test_lessons_over_several_lines_stay_inside_the_quote() -> None:
    review = small_review()
    review.reps[0].lessons = "one\n\n- two <b>"
    lines = render_markdown(review).split("\n")
    start = lines.index("Lessons learned:") + 2
    assert lines[start : start + 3] == ["> one", ">", "> - two \\<b>"]
    assert "<blockquote>one<br><br>- two &lt;b&gt;</blockquote>" in render_html(review)


def test_a_self_report_without_lessons_is_not_a_missing_report() -> None:
    review = small_review()
    review.reps[0].lessons = ""
    review.reps[1].lessons = None
    markdown = render_markdown(review)
    assert "> (a self-report without lessons learned)" in markdown
    assert "> (no self-report for the week)" in markdown


def test_output_paths_keep_a_dotted_team_id_whole(tmp_path) -> None:
    assert output_paths(tmp_path, "nl.north", "2026-W48") == (
        tmp_path / "weekly-review-nl.north-2026-W48.md",
        tmp_path / "weekly-review-nl.north-2026-W48.html",
    )


def test_a_recovering_worker_is_not_reported_on() -> None:
    import http.server
    import threading

    from salespulse.models.errors import ConfigError
    from salespulse.weekly.review import fetch_pages

    class Recovering(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the handler's API)
            body = b"# HELP salespulse_worker_ready x\n# TYPE salespulse_worker_ready gauge\nsalespulse_worker_ready 0.0\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recovering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        with pytest.raises(ConfigError, match="still recovering its tables"):
            fetch_pages([url])
    finally:
        server.shutdown()


# --- with the history: Prometheus' weeks and the targets then in force ------------------------


def history() -> History:
    sets = [
        TargetSet(team="nl", effective_from="2026-W01", actions={"call": 8, "meeting": 2}),
        TargetSet(team="nl", effective_from="2026-W47", actions={"call": 10}, reps={"ann": {"call": 12}}),
    ]
    counts = {
        "2026-W45": {("ann", "call"): 6, ("bob", "call"): 9},
        "2026-W46": {("ann", "call"): 2, ("bob", "call"): 5, ("bob", "meeting"): 3},
        # What Prometheus says of the weeks /metrics holds is not used: /metrics says it now.
        "2026-W47": {("ann", "call"): 99},
        "2026-W48": {("ann", "call"): 99},
    }
    return History(counts, sets, "http://prometheus:9090")


def test_last_week_against_the_week_before_from_prometheus_and_its_own_targets() -> None:
    review = build_review(SETTINGS, "nl", "2026-W47", NOW, samples(), REPORTS, history(), trend_weeks=2)

    assert (review.week, review.previous_week, review.current) == ("2026-W47", "2026-W46", False)
    assert (review.trend_weeks, review.history_source) == (["2026-W45", "2026-W46", "2026-W47"], "http://prometheus:9090")
    # /metrics holds 2026-W48 and 2026-W47; the trend ends with the reviewed week.
    assert review.metrics_weeks == ["2026-W47"]
    ann, bob = review.reps[0], review.reps[1]
    # 1 call last week (/metrics), 2 the week before (Prometheus), against ann's own 12 in force from W47.
    assert ann.actions == [ActionRow("call", 1, 2, 12, 1), ActionRow("meeting", 2, None, None, None)]
    assert ann.weeks["call"] == [WeekCell("2026-W45", 6, 8), WeekCell("2026-W46", 2, 8), WeekCell("2026-W47", 1, 12)]
    assert ann.weeks["meeting"] == [WeekCell("2026-W45", None, 2), WeekCell("2026-W46", None, 2), WeekCell("2026-W47", 2, None)]
    assert bob.actions == [ActionRow("call", 4, 5, 10, None), ActionRow("meeting", 0, 3, None, None)]
    assert bob.weeks["call"] == [WeekCell("2026-W45", 9, 8), WeekCell("2026-W46", 5, 8), WeekCell("2026-W47", 4, 10)]


def test_the_current_week_takes_both_weeks_of_metrics_and_older_ones_from_prometheus() -> None:
    review = build_review(SETTINGS, "nl", "2026-W48", NOW, samples(), REPORTS, history(), trend_weeks=3)

    assert review.trend_weeks == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    ann = review.reps[0]
    assert ann.actions[0] == ActionRow("call", 3, 1, 12, 5)
    assert [(c.count, c.target) for c in ann.weeks["call"]] == [(6, 8), (2, 8), (1, 12), (3, 12)]


def test_team_totals_trends_and_who_is_behind_on_a_closed_week() -> None:
    review = build_review(SETTINGS, "nl", "2026-W47", NOW, samples(), REPORTS, history(), trend_weeks=2)
    rows = {row.action: row for row in team_rows(review)}
    # ann 1 + bob 4 + cy 7 + dan 0 calls; the week before 2 + 5 (cy and dan unknown to Prometheus).
    assert (rows["call"].this, rows["call"].previous, rows["call"].change) == (12, 7, 5)
    # Targets 12 + 10 + 10 + 10: every rep has one from the team's set.
    assert (rows["call"].target, rows["call"].attainment) == (42, 12 / 42)
    assert (rows["meeting"].this, rows["meeting"].previous, rows["meeting"].target) == (2, 3, None)
    call_weeks = team_weeks(review)["call"]
    assert [(c.count, c.target) for c in call_weeks] == [(15, 32), (7, 32), (12, 42)]
    # A closed week is judged against its target: ann 1 of 12, bob 4 of 10, cy 7 of 10, dan 0 of 10.
    ann, bob, cy, dan = review.reps
    assert [(b.action, b.done, b.due) for b in behind_on(review, ann)] == [("call", 1, 12)]
    assert [rep.rep for rep in ranked(review)] == ["cy", "bob", "ann", "dan"]
    assert rep_attainment(cy) == 0.7 and rep_attainment(dan) == 0.0
    # The week before: bob 5 + 3 of 8 + 2; ann's meetings and cy's calls, targeted then, are
    # unknown to Prometheus, so they have no attainment.
    assert (rep_attainment(bob, -2), rep_attainment(ann, -2), rep_attainment(cy, -2)) == (0.8, None, None)


def test_the_current_week_is_judged_on_pace() -> None:
    page = WORKER_1 + (
        "# TYPE salespulse_action_pace_ratio gauge\n"
        'salespulse_action_pace_ratio{action="call",rep="ann",team="nl"} 0.75\n'
        'salespulse_action_pace_ratio{action="meeting",rep="ann",team="nl"} 1.5\n'
        "# TYPE salespulse_action_expected gauge\n"
        'salespulse_action_expected{action="call",rep="ann",team="nl"} 4.0\n'
        'salespulse_action_expected{action="meeting",rep="ann",team="nl"} 1.333\n'
    )
    review = build_review(SETTINGS, "nl", "2026-W48", NOW, Samples([page]), {}, history())
    ann = review.reps[0]
    assert ann.pace == {"call": (0.75, 4.0), "meeting": (1.5, 1.333)}
    assert [(b.action, b.done, b.due, b.ratio) for b in behind_on(review, ann)] == [("call", 3, 4.0, 0.75)]
