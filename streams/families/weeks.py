"""Week closing: when a team's week ends, judge each rep's actions against that week's targets.

A timer on every worker sends one `week closed` record per rep it owns onto a topic keyed like
the rep's activities, so the `judge_weeks` agent runs next to the rep's buckets and writes the
verdict into a changelog-backed table. Verdicts are idempotent (a week is judged once), so a
restarted worker, or two workers during a rebalance, may send the same record safely.

Verdicts are folded in batches like the KPI families' counts: a floor of 2,000 reps closes its
week at once, and a table write per verdict filled the producer's buffer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from faust.types import Message

from salespulse.models.targets import iso_week_of, named_reps
from salespulse.streams.families.actions import ActionCounts
from salespulse.streams.engine.batch import Batch
from salespulse.streams.kpi.actions import count_in_slots, iso_week_slots, split_rep_action_key
from salespulse.streams.kpi.weeks import last_closed_week, missed_actions
from salespulse.streams.pacing import Pacing
from salespulse.streams.topics import rep_key
from salespulse.streams.family import KpiFamily, Wiring


class WeekClosing(KpiFamily):
    """Owns the week-closings topic, the verdicts table, the ticker and the `judge_weeks` agent.

    Its agent records, once per rep and week, the actions that ended the week below target.
    """

    reads = ("week_closings",)
    agent = "judge_weeks"

    def __init__(
        self, wiring: Wiring, *, actions: ActionCounts, pacing: Pacing, owns_rep: Callable[[str, str], bool]
    ) -> None:
        self.actions = actions
        self.pacing = pacing
        self.owns_rep = owns_rep
        self.sent: set[tuple[str, str, date]] = set()
        super().__init__(wiring)

    def declare(self) -> None:
        self.reps_to_verdicts = self.table("reps_to_verdicts", default=dict)
        self.engine.timer(15.0, "close_weeks")(self.close_weeks)

    def known_reps(self) -> set[tuple[str, str]]:
        """Return the reps in the configuration, in any target set, or with counted actions."""
        counted = {split_rep_action_key(key)[:2] for key in self.actions.rep_actions_to_total.keys()}
        return named_reps(self.settings, self.pacing.target_sets()) | counted

    async def close_weeks(self) -> None:
        """Ask for a verdict on each owned rep's last closed week, once per process."""
        if not self.pacing.book.caught_up.is_set():
            return  # judging before the targets are known would record "no target"
        now = self.clock()
        for team, rep in sorted(self.known_reps()):
            week = last_closed_week(now, self.settings.timezone_of(team))
            if (team, rep, week) in self.sent or not self.owns_rep(team, rep):
                continue
            await self.topic.send(key=rep_key(team, rep), value=json.dumps({"week_monday": week.isoformat()}).encode())
            self.sent.add((team, rep, week))

    def fold_events(self, records: list[Message], batch: Batch) -> None:
        batch.fold_each(records, "judge_weeks", lambda record: self.judge((record.key or b"").decode(), record.value or b"", batch))

    def judge(self, key: str, value: bytes, batch: Batch) -> None:
        team, rep = key.split("|")
        week = date.fromisoformat(json.loads(value)["week_monday"])
        label = iso_week_of(week)
        if label in self.reps_to_verdicts.memory.get(key, {}):
            return
        first, end = iso_week_slots(week, self.settings.timezone_of(team))
        missed = missed_actions(
            team,
            rep,
            week,
            self.pacing.target_sets(),
            self.settings.actions,
            lambda action: count_in_slots(self.actions.slots_to_count, team, rep, action, first, end),
        )
        batch.update(self.reps_to_verdicts, key, lambda verdicts: {**(verdicts or {}), label: missed})
