"""The quality of execution: review scores, mystery checks and the team reward, self-reports."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import Metric

from salespulse.exporters.collectors.scrape import Scrape
from salespulse.exporters.metrics import (
    MYSTERY_POINTS,
    MYSTERY_POINTS_MAX,
    MYSTERY_SHARE,
    REVIEW_SCORE_AVG,
    REVIEW_SCORE_COMBINED,
    REVIEWS,
    SELF_REPORT_SUBMITTED,
    SELF_REPORTED_ACTIONS,
    TEAM_REWARD_EARNED,
)
from salespulse.models.config import Settings
from salespulse.streams.kpi.mystery import MonthChecks, month_scores, reward_earned, split_month_key
from salespulse.streams.kpi.reviews import REVIEWS as REVIEW_COUNT, DayCell, ScoreSum, rolling_sums
from salespulse.streams.kpi.self_reports import report_key, window_weeks


class ReviewCollector:
    """Reviews in the rolling 30 days per rep and subject, and each theme's scores."""

    def __init__(self, settings: Settings, review_days: Mapping[str, DayCell]) -> None:
        self.settings = settings
        self.review_days = review_days

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        sums = rolling_sums(self.review_days.items(), scrape.now)
        reviews = REVIEWS.family()
        average = REVIEW_SCORE_AVG.family()
        combined = REVIEW_SCORE_COMBINED.family()
        empty = ScoreSum()
        for team, rep in scrape.reps:
            for subject, themes in self.settings.reviews.themes.items():
                count = sums.get((team, rep, subject, REVIEW_COUNT), empty).count
                if not count:
                    continue  # never reviewed in the window: no series rather than zeros
                reviews.add_metric([team, rep, subject], count)
                for theme in themes:
                    cell = sums.get((team, rep, subject, theme), empty)
                    combined.add_metric([team, rep, subject, theme], cell.sum)
                    if cell.average is not None:
                        average.add_metric([team, rep, subject, theme], cell.average)
        yield reviews
        yield average
        yield combined


class MysteryCollector:
    """Each month's mystery-check points and share per rep, and whether the team earned its reward."""

    def __init__(self, settings: Settings, mystery_months: Mapping[str, MonthChecks]) -> None:
        self.settings = settings
        self.mystery_months = mystery_months

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        points = MYSTERY_POINTS.family()
        maximum = MYSTERY_POINTS_MAX.family()
        share = MYSTERY_SHARE.family()
        reward = TEAM_REWARD_EARNED.family()
        rubric_total = sum(self.settings.mystery.rubric.values())
        for key, checks in sorted(self.mystery_months.items()):
            team, month = split_month_key(key)
            scores = month_scores(checks, rubric_total)
            for rep, score in scores.items():
                points.add_metric([team, rep, month], score.points)
                maximum.add_metric([team, rep, month], score.maximum)
                share.add_metric([team, rep, month], score.share)
            configured = self.settings.teams.get(team)
            checker = self.settings.checker_of(team, month)
            due = {rep for rep in (configured.reps if configured else ()) if rep != checker}
            earned = reward_earned(scores, due, self.settings.mystery.reward_share)
            reward.add_metric([team, month], 1 if earned else 0)
        yield points
        yield maximum
        yield share
        yield reward


class SelfReportCollector:
    """Whether each rep filed a self-report for this week and last, and the figures filed."""

    def __init__(self, settings: Settings, self_reports: Mapping[str, Mapping[str, Any]]) -> None:
        self.settings = settings
        self.self_reports = self_reports

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        figures = SELF_REPORTED_ACTIONS.family()
        submitted = SELF_REPORT_SUBMITTED.family()
        teams = {team for team, _ in scrape.reps}
        weeks_by_team = {team: window_weeks(scrape.now, self.settings.timezone_of(team)) for team in teams}
        for team, rep in scrape.reps:
            for window, week in weeks_by_team[team].items():
                report = self.self_reports.get(report_key(team, rep, week))
                submitted.add_row(team, rep, window, 0 if report is None else 1)
                for action, count in sorted((report or {}).get("figures", {}).items()):
                    figures.add_metric([team, rep, action, window], count)
        yield figures
        yield submitted
