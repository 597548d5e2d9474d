"""Pacing: each rep's weekly target, what is due by now, the pace and the weeks ended below target."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import Metric

from salespulse.exporters.collectors.scrape import Scrape
from salespulse.exporters.metrics import (
    ACTION_EXPECTED,
    ACTION_PACE_RATIO,
    ACTION_SHORTFALL,
    ACTION_TARGET,
    ACTION_TARGET_MISSED,
    IN_WORKING_TIME,
)
from salespulse.models.config import Settings
from salespulse.models.routes import rep_key
from salespulse.models.targets import in_force
from salespulse.streams.kpi.pacing import expected_by_now, in_working_time, missing_to_pace, pace_ratio, week_progress


class PacingCollector:
    """Targets, pace and missed weeks per rep and action; working time per team."""

    def __init__(
        self,
        settings: Settings,
        week_verdicts: Mapping[str, Mapping[str, list[str]]],
        owns_teams: Callable[[], bool],
    ) -> None:
        self.settings = settings
        self.week_verdicts = week_verdicts
        self.owns_teams = owns_teams

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        now, reps, counts, sets = scrape.now, scrape.reps, scrape.counts, scrape.target_sets
        target = ACTION_TARGET.family()
        expected = ACTION_EXPECTED.family()
        ratio = ACTION_PACE_RATIO.family()
        shortfall = ACTION_SHORTFALL.family()
        working = IN_WORKING_TIME.family()
        targeted: set[tuple[str, str, str]] = set()
        owns_teams = self.owns_teams()
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
            verdicts = self.week_verdicts.get(rep_key(team, rep))
            if verdicts is None:
                continue
            for action in self.settings.actions:
                weeks = sum(action in week for week in verdicts.values())
                # A zero says something only where there is a target to miss.
                if weeks or (team, rep, action) in targeted:
                    missed.add_metric([team, rep, action], weeks)
        yield missed
        yield working
