"""The collector that turns table state into metrics at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.core import CollectorRegistry, Metric
from prometheus_client.registry import Collector

from salespulse.exporters.action_index import ActionIndex
from salespulse.exporters.metrics import (
    ACTION_EXPECTED,
    ACTION_PACE_RATIO,
    ACTION_SHORTFALL,
    ACTION_TARGET,
    ACTION_TARGET_MISSED,
    ACTIONS,
    ACTIONS_TOTAL,
    CHECKLIST_MISSING,
    CONSUMER_LAG,
    DEALS_DECIDED,
    DECISION_SECONDS_AVG,
    DECISION_SECONDS_COMBINED,
    EVENTS_DUPLICATE,
    EVENTS_REJECTED,
    REP_INFO,
    STAGE_CHANGES,
    REVIEW_SCORE_AVG,
    REVIEW_SCORE_COMBINED,
    REVIEWS,
    IN_WORKING_TIME,
    MYSTERY_POINTS,
    MYSTERY_POINTS_MAX,
    MYSTERY_SHARE,
    SELF_REPORT_SUBMITTED,
    SELF_REPORTED_ACTIONS,
    SERIES_DROPPED,
    TEAM_REWARD_EARNED,
    RowFamily,
)
from salespulse.models.config import Settings
from salespulse.models.errors import REJECT_REASONS
from salespulse.models.routes import ROUTES
from salespulse.models.targets import TargetSet, in_force, named_reps
from salespulse.streams.topics import rep_key
from salespulse.streams.kpi.actions import (
    ActionWindow,
    rep_action_key,
    split_rep_action_key,
    window_bounds,
)
from salespulse.streams.kpi.checklists import StageCheck, checks_in_window
from salespulse.streams.kpi.mystery import MonthChecks, month_scores, reward_earned, split_month_key
from salespulse.streams.kpi.self_reports import report_key, split_report_key, window_weeks
from salespulse.streams.kpi.pacing import expected_by_now, in_working_time, missing_to_pace, pace_ratio, week_progress
from salespulse.streams.kpi.reviews import REVIEWS as REVIEW_COUNT, DayCell, ReviewDayKey, ScoreSum, rolling_sums
from salespulse.streams.kpi.velocity import DealHistory, velocity_windows

log = logging.getLogger(__name__)

EVENT_TYPES = tuple(route.name for route in ROUTES)  # the route table's order


@dataclass(frozen=True)
class PipelineState:
    """Read-only views of the worker's state; tables in production, dicts in tests."""

    slot_counts: Mapping[str, int]
    action_totals: Mapping[str, int]
    deals: Callable[[], Iterable[DealHistory]]
    rejections: Mapping[str, int]
    duplicates: Mapping[str, int]
    target_sets: Callable[[], Iterable[TargetSet]] = list
    # Which (team, rep) this worker answers for; with several workers each rep has one owner.
    owns_rep: Callable[[str, str], bool] = lambda team, rep: True
    # Whether this worker exports the series of no rep (a team's working time): one worker does.
    owns_teams: Callable[[], bool] = lambda: True
    # "team|rep" -> {ISO week: actions that ended it below target}
    week_verdicts: Mapping[str, Mapping[str, list[str]]] = field(default_factory=dict)
    consumer_lag: Callable[[], Mapping[tuple[str, int], int]] = dict
    stage_checks: Callable[[], Iterable[StageCheck]] = list
    # ReviewDayKey -> {"sum": int, "count": int}
    review_days: Mapping[str, DayCell] = field(default_factory=dict)
    # "team|month" -> that month's mystery checks
    mystery_months: Mapping[str, MonthChecks] = field(default_factory=dict)
    # "team|rep|week" -> {"at", "event_id", "figures", "lessons"}
    self_reports: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The bucket keys changed since the last call; None reads every bucket at every scrape.
    slot_changes: Callable[[], Iterable[str]] | None = None


class PipelineCollector(Collector):
    """Exports action windows, totals, deal velocity, review scores and pipeline counters.

    Sample exposition, for a team in Europe/Amsterdam at Wednesday 10:00:

        salespulse_actions{action="cold_call",rep="ann",team="nl",window="today"} 12.0
        salespulse_actions{action="cold_call",rep="ann",team="nl",window="week"} 41.0
        salespulse_actions_total{action="cold_call",rep="ann",team="nl"} 958.0
        salespulse_deals_decided{outcome="lost",rep="ann",team="nl",window="rolling_30d"} 3.0
        salespulse_deal_decision_seconds_avg{outcome="lost",rep="ann",team="nl",window="rolling_30d"} 86400.0
        salespulse_events_rejected_total{reason="future"} 2.0
        salespulse_rep_info{name="Ann de Vries",rep="ann",team="nl"} 1.0
        salespulse_reviews{rep="ann",subject="call",team="nl"} 2.0
        salespulse_review_score_avg{rep="ann",subject="call",team="nl",theme="opening"} 3.5
        salespulse_review_score_combined{rep="ann",subject="call",team="nl",theme="opening"} 7.0
    """

    def __init__(
        self,
        state: PipelineState,
        settings: Settings,
        clock: Callable[[], datetime],
        registry: CollectorRegistry,
    ) -> None:
        self.state = state
        self.settings = settings
        self.clock = clock
        self.index = ActionIndex(state.slot_counts, state.slot_changes)
        # Families over the series cap at the last scrape: warned about once, not at every scrape.
        self.capped: set[str] = set()
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        """Build every family afresh from the current state, each cut to the series cap."""
        cap = self.settings.limits.max_series_per_family
        dropped = SERIES_DROPPED.family()
        for family in self._families():
            if not isinstance(family, RowFamily):
                yield family
                continue
            name, over = family.row_name, len(family.rows) - cap
            if over > 0:
                # Rows are in label order: the cut keeps whole teams and reps where it can.
                del family.rows[cap:]
                if name not in self.capped:
                    log.warning("%s has %d series more than limits.max_series_per_family (%d)", name, over, cap)
                    self.capped.add(name)
            else:
                self.capped.discard(name)
            dropped.add_metric([name], max(over, 0))
            yield family
        yield dropped

    def _families(self) -> Iterator[Metric]:
        now = self.clock()
        sets = list(self.state.target_sets())
        candidates = named_reps(self.settings, sets) | self._reps_in_state()
        reps = sorted((team, rep) for team, rep in candidates if self.state.owns_rep(team, rep))
        counts = self._window_counts(now, reps)
        yield from self._actions(reps, counts)
        yield from self._pacing(now, reps, counts, sets)
        yield from self._velocity(now)
        yield from self._checklists(now)
        yield from self._reviews(now, reps)
        yield from self._mystery()
        yield from self._self_reports(now, reps)
        yield from self._pipeline()

    def _reps_in_state(self) -> set[tuple[str, str]]:
        reps = set()
        for key in self.state.action_totals:
            team, rep, _ = split_rep_action_key(key)
            reps.add((team, rep))
        for key in self.state.review_days:
            day = ReviewDayKey.decode(key)
            reps.add((day.team, day.rep))
        for key in self.state.self_reports:
            team, rep, _ = split_report_key(key)
            reps.add((team, rep))
        return reps

    def _window_counts(
        self, now: datetime, reps: list[tuple[str, str]]
    ) -> dict[tuple[str, str, str], Mapping[ActionWindow, int]]:
        """Return each rep action's windows, in the order of `reps`, then of the configured actions."""
        self.index.refresh()
        bounds_by_team = {team: window_bounds(now, self.settings.timezone_of(team)) for team in {t for t, _ in reps}}
        return {
            (team, rep, action): self.index.windows((team, rep, action), bounds_by_team[team])
            for team, rep in reps
            for action in self.settings.actions
        }

    def _actions(
        self, reps: list[tuple[str, str]], counts: Mapping[tuple[str, str, str], Mapping[ActionWindow, int]]
    ) -> Iterator[Metric]:
        windows = ACTIONS.family()
        totals = ACTIONS_TOTAL.family()
        info = REP_INFO.family()
        for team, rep in reps:
            info.add_row(team, rep, self.settings.rep_name(team, rep), 1)
        # The largest family of a scrape, a row per rep, action and window: add_row rather than
        # add_metric, without a list of labels and a copy of it per row.
        all_time = self.state.action_totals
        add_window, add_total = windows.add_row, totals.add_row
        for (team, rep, action), by_window in counts.items():
            for window, value in by_window.items():
                add_window(team, rep, action, window, value)
            add_total(team, rep, action, all_time.get(rep_action_key(team, rep, action), 0))
        yield windows
        yield totals
        yield info

    def _pacing(
        self,
        now: datetime,
        reps: list[tuple[str, str]],
        counts: Mapping[tuple[str, str, str], Mapping[ActionWindow, int]],
        sets: list[TargetSet],
    ) -> Iterator[Metric]:
        target = ACTION_TARGET.family()
        expected = ACTION_EXPECTED.family()
        ratio = ACTION_PACE_RATIO.family()
        shortfall = ACTION_SHORTFALL.family()
        working = IN_WORKING_TIME.family()
        targeted: set[tuple[str, str, str]] = set()
        owns_teams = self.state.owns_teams()
        reps_of: dict[str, list[str]] = {}  # each in order, as `reps` is
        for team, rep in reps:
            reps_of.setdefault(team, []).append(rep)
        teams = set(reps_of) | {s.team for s in sets} | (set(self.settings.teams) if owns_teams else set())
        for team in sorted(teams):
            tz = self.settings.timezone_of(team)
            schedule = self.settings.working_time_of(team)
            if owns_teams:
                working.add_metric([team], 1 if in_working_time(now, schedule, tz) else 0)
            in_force_now = in_force(sets, team, now.astimezone(tz).date())
            if in_force_now is None:
                continue
            elapsed, total = week_progress(now, schedule, tz)
            for rep in reps_of.get(team, []):
                for action in self.settings.actions:
                    weekly = in_force_now.target_for(rep, action)
                    if weekly is None:
                        continue
                    targeted.add((team, rep, action))
                    due = expected_by_now(weekly, elapsed, total)
                    labels = [team, rep, action]
                    target.add_metric(labels, weekly)
                    expected.add_metric(labels, due)
                    done = counts[(team, rep, action)]["week"]
                    shortfall.add_metric(labels, missing_to_pace(done, due))
                    pace = pace_ratio(done, due)
                    if pace is not None:
                        ratio.add_metric(labels, pace)
        yield target
        yield expected
        yield ratio
        yield shortfall
        missed = ACTION_TARGET_MISSED.family()
        for team, rep in reps:
            verdicts = self.state.week_verdicts.get(rep_key(team, rep))
            if verdicts is None:
                continue
            for action in self.settings.actions:
                weeks = sum(action in week for week in verdicts.values())
                # A zero says something only where there is a target to miss.
                if weeks or (team, rep, action) in targeted:
                    missed.add_metric([team, rep, action], weeks)
        yield missed
        yield working

    def _checklists(self, now: datetime) -> Iterator[Metric]:
        changes = STAGE_CHANGES.family()
        missing = CHECKLIST_MISSING.family()
        for (team, rep, stage), cell in sorted(checks_in_window(self.state.stage_checks(), now).items()):
            changes.add_metric([team, rep, stage, "complete"], cell.complete)
            changes.add_metric([team, rep, stage, "incomplete"], cell.incomplete)
            for (kind, item), count in sorted((cell.missing or {}).items()):
                missing.add_metric([team, rep, stage, kind, item], count)
        yield changes
        yield missing

    def _velocity(self, now: datetime) -> Iterator[Metric]:
        decided = DEALS_DECIDED.family()
        average = DECISION_SECONDS_AVG.family()
        combined = DECISION_SECONDS_COMBINED.family()
        for (team, rep, outcome, window), cell in sorted(velocity_windows(self.state.deals(), now).items()):
            labels = [team, rep, outcome, window]
            decided.add_metric(labels, cell.count)
            combined.add_metric(labels, cell.seconds_sum)
            if cell.seconds_avg is not None:
                average.add_metric(labels, cell.seconds_avg)
        yield decided
        yield average
        yield combined

    def _reviews(self, now: datetime, reps: list[tuple[str, str]]) -> Iterator[Metric]:
        sums = rolling_sums(self.state.review_days.items(), now)
        reviews = REVIEWS.family()
        average = REVIEW_SCORE_AVG.family()
        combined = REVIEW_SCORE_COMBINED.family()
        empty = ScoreSum()
        for team, rep in reps:
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

    def _mystery(self) -> Iterator[Metric]:
        points = MYSTERY_POINTS.family()
        maximum = MYSTERY_POINTS_MAX.family()
        share = MYSTERY_SHARE.family()
        reward = TEAM_REWARD_EARNED.family()
        rubric_total = sum(self.settings.mystery.rubric.values())
        for key, checks in sorted(self.state.mystery_months.items()):
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

    def _self_reports(self, now: datetime, reps: list[tuple[str, str]]) -> Iterator[Metric]:
        figures = SELF_REPORTED_ACTIONS.family()
        submitted = SELF_REPORT_SUBMITTED.family()
        weeks_by_team = {team: window_weeks(now, self.settings.timezone_of(team)) for team in {t for t, _ in reps}}
        for team, rep in reps:
            for window, week in weeks_by_team[team].items():
                report = self.state.self_reports.get(report_key(team, rep, week))
                submitted.add_row(team, rep, window, 0 if report is None else 1)
                for action, count in sorted((report or {}).get("figures", {}).items()):
                    figures.add_metric([team, rep, action, window], count)
        yield figures
        yield submitted

    def _pipeline(self) -> Iterator[Metric]:
        rejected = EVENTS_REJECTED.family()
        for reason in sorted(set(REJECT_REASONS) | set(self.state.rejections)):
            rejected.add_metric([reason], self.state.rejections.get(reason, 0))
        duplicate = EVENTS_DUPLICATE.family()
        for event_type in EVENT_TYPES:
            duplicate.add_metric([event_type], self.state.duplicates.get(event_type, 0))
        yield rejected
        yield duplicate
        lag = CONSUMER_LAG.family()
        for (topic, partition), records in sorted(self.state.consumer_lag().items()):
            lag.add_metric([topic, str(partition)], records)
        yield lag
