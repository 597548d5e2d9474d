"""The collector that turns table state into metrics at scrape time.

It works out once per scrape what several concerns read (`collectors.scrape.Scrape`), runs the
collector of each concern (`exporters.collectors`) and cuts every family to the series cap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CollectorRegistry, Metric
from prometheus_client.registry import Collector

from salespulse.exporters.action_index import ActionIndex
from salespulse.exporters.collectors.actions import ActionCollector
from salespulse.exporters.collectors.counters import CounterCollector
from salespulse.exporters.collectors.deals import ChecklistCollector, VelocityCollector
from salespulse.exporters.collectors.money import MoneyCollector
from salespulse.exporters.collectors.pacing import PacingCollector
from salespulse.exporters.collectors.quality import MysteryCollector, ReviewCollector, SelfReportCollector
from salespulse.exporters.collectors.scrape import Scrape
from salespulse.exporters.metrics import SERIES_DROPPED, RowFamily
from salespulse.models.config import Settings
from salespulse.models.targets import TargetSet, named_reps
from salespulse.streams.kpi.actions import ActionWindow, split_rep_action_key, window_bounds
from salespulse.streams.kpi.checklists import StageCheck
from salespulse.streams.kpi.money import MoneyFigures
from salespulse.streams.kpi.mystery import MonthChecks
from salespulse.streams.kpi.reviews import DayCell, ReviewDayKey
from salespulse.streams.kpi.self_reports import split_report_key
from salespulse.streams.kpi.velocity import DealHistory

if TYPE_CHECKING:
    from salespulse.streams.family import Exports

log = logging.getLogger(__name__)


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
    # The money and stage figures of the deals this worker holds, as of a time; None: no such series.
    money: Callable[[datetime], MoneyFigures] | None = None
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
        exports: Sequence[Exports] = (),
    ) -> None:
        """`exports`: the collectors families declare beside the exporter's own concerns."""
        self.state = state
        self.settings = settings
        self.clock = clock
        self.index = ActionIndex(state.slot_counts, state.slot_changes)
        self.collectors: tuple[Exports, ...] = (
            ActionCollector(settings, state.action_totals),
            PacingCollector(settings, state.week_verdicts, state.owns_teams),
            VelocityCollector(state.deals),
            ChecklistCollector(state.stage_checks),
            *([MoneyCollector(settings, state.money)] if state.money is not None else []),
            ReviewCollector(settings, state.review_days),
            MysteryCollector(settings, state.mystery_months),
            SelfReportCollector(settings, state.self_reports),
            *exports,
            CounterCollector(state.rejections, state.duplicates, state.consumer_lag),
        )
        # Families over the series cap at the last scrape: warned about once, not at every scrape.
        self.capped: set[str] = set()
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        """Build every family afresh from the current state, each cut to the series cap."""
        cap = self.settings.limits.max_series_per_family
        dropped = SERIES_DROPPED.family()
        scrape = self.scrape()
        for family in (family for collector in self.collectors for family in collector.families(scrape)):
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

    def scrape(self) -> Scrape:
        """Work out what several collectors read: the reps this worker answers for, their windows."""
        now = self.clock()
        sets = list(self.state.target_sets())
        candidates = named_reps(self.settings, sets) | self._reps_in_state()
        reps = sorted((team, rep) for team, rep in candidates if self.state.owns_rep(team, rep))
        return Scrape(now, sets, reps, self._window_counts(now, reps))

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
