"""`salespulse simulate`: a sales floor that publishes realistic events.

Each rep works the team's office hours in the team's timezone at the weekly rates of an
inside-sales funnel (`FUNNEL`): a rep has a level of their own, from a weak to a strong
performer, and each week each action's rate is drawn around that level within the funnel's
range, so that against targets near the top of the ranges a floor shows a mix of reps ahead,
close to and behind pace. Activities are spread over the working time of the week: by any
moment a rep has done about the week's rate times the share of the week's working time gone
(all of the week's time with `--always-open`). Deals move through the stages over days and end
won, or lost, often quickly. Before a stage change a rep usually, not always, does what the stage's
process checklist asks for the deal (a summary e-mail, a meeting). Now and then a teammate
listens in or reads along and reviews the rep's work, scoring each configured theme on the
configured scale. Each working day the month's mystery checker checks one of the deals drawn
for them, and every rep updates the week's self-report (their own, slightly rounded, figures and
a lesson learned). The simulator first back-fills some days of history, so that dashboards show
weeks and velocity at once, then keeps publishing live at the chosen rate. Before the history,
each team gets a few deals nobody has moved on since well before it (`stalled_deals`): the
stale deals of the pipeline board and its alerts.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from salespulse.models.config import KafkaSettings, Settings, Team, TERMINAL_STAGES
from salespulse.models.events import EVENT_ADAPTER
from salespulse.models.targets import iso_week_of
from salespulse.streams.kpi.mystery import draw_sample, month_of
from salespulse.streams.kpi.pacing import in_working_time, week_bounds, working_seconds
from salespulse.streams.topics import TopicNames, ensure_topics, event_key
from salespulse.publisher import make_producer

LESSONS = (
    "Asking about the budget in the first call saved two meetings.",
    "Calls before 10:00 reached more decision makers.",
    "A short summary e-mail after each call got faster replies.",
    "I should qualify out earlier: two deals stalled for weeks.",
    "Sharing a customer story made the demo land better.",
)
# Local times of the daily rituals: a mystery check after lunch, the self-report before leaving.
MYSTERY_AT = (14, 0)
SELF_REPORT_AT = (16, 30)

# Weekly rates of one inside-sales rep, (fewest, most) a week; the demo's targets
# (examples/targets.yaml) sit near the top of each range.
FUNNEL: dict[str, tuple[int, int]] = {
    "call": (40, 60),
    "cold_call": (20, 30),
    "outbound_email": (40, 60),
    "summary_email": (10, 20),
    "meeting": (6, 10),
    "demo": (3, 6),
    "proposal_sent": (2, 5),
    "follow_up": (15, 25),
}
# A configured action the funnel does not name.
OTHER_ACTION = (5, 15)
# How far a rep's week strays from their level, as a share of the range (standard deviation).
WEEKLY_SPREAD = 0.2
# A cold call that opens a deal: about 2-3 new deals a rep a week.
DEAL_PER_COLD_CALL = 0.1

DEMO_FLOOR: dict[str, dict[str, Any]] = {
    "amsterdam": {"timezone": "Europe/Amsterdam", "reps": {"anna": "Anna de Vries", "bram": "Bram Jansen", "sara": "Sara Bakker"}},
    "new-york": {"timezone": "America/New_York", "reps": {"mike": "Mike Chen", "olivia": "Olivia Brown", "raj": "Raj Patel"}},
}


@dataclass
class SimRep:
    team: str
    rep: str
    tz: ZoneInfo
    # Where in each funnel range the rep's weeks centre: 0 the weakest, 1 the strongest.
    level: float


def funnel_range(action: str) -> tuple[int, int]:
    """Return the (fewest, most) weekly count of an action for one rep."""
    return FUNNEL.get(action, OTHER_ACTION)


def weekly_rates(actions: Iterable[str], level: float, rng: random.Random) -> dict[str, float]:
    """Draw one rep's rate of each action for one week, around their level, inside the funnel."""
    rates = {}
    for action in actions:
        fewest, most = funnel_range(action)
        position = min(1.0, max(0.0, rng.gauss(level, WEEKLY_SPREAD)))
        rates[action] = fewest + (most - fewest) * position
    return rates


@dataclass
class SimDeal:
    deal_id: str
    rep: SimRep
    stage_index: int = 0
    next_at: datetime | None = None


@dataclass
class Floor:
    """The simulated reps and their open deals."""

    settings: Settings
    rng: random.Random
    reps: list[SimRep] = field(default_factory=list)
    deals: list[SimDeal] = field(default_factory=list)
    serial: int = 0
    office_hours_only: bool = True
    # (team, month) -> rep -> deals active that month, as the worker records them for the draw
    active: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)
    checked: set[tuple[str, str]] = field(default_factory=set)  # (month, deal id)
    # (team, rep, ISO week) -> action -> count, for the reps' own figures and the funnel's budget
    week_counts: dict[tuple[str, str, str], Counter[str]] = field(default_factory=dict)
    seed: int = 0
    # (team, rep, ISO week) -> action -> the week's drawn rate
    rates: dict[tuple[str, str, str], dict[str, float]] = field(default_factory=dict)
    # (team, rep, ISO week, action, occurred_at) of the activities of the step being made
    step_activities: list[tuple[str, str, str, str, datetime]] = field(default_factory=list)
    # The seed fixes the floor's behaviour; ids must still differ between runs, or a restarted
    # simulator's new events would be dropped as duplicates of the previous run's.
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # Deal currencies come from a stream of their own, so that the rest of the floor stays as it was.
    money_rng: random.Random = field(default_factory=lambda: random.Random(0))
    # The stalled deals, likewise.
    stall_rng: random.Random = field(default_factory=lambda: random.Random(0))

    @classmethod
    def create(cls, settings: Settings, seed: int) -> "Floor":
        """Use the configured teams, or a demo floor when the configuration names none."""
        rng = random.Random(seed)
        teams: dict[str, Team] = dict(settings.teams) or {
            name: Team.model_validate({"timezone": t["timezone"], "reps": {r: {"name": n} for r, n in t["reps"].items()}})
            for name, t in DEMO_FLOOR.items()
        }
        floor = cls(settings, rng, seed=seed, money_rng=random.Random(seed + 1), stall_rng=random.Random(seed + 2))
        for team_id, team in sorted(teams.items()):
            tz = ZoneInfo(team.timezone or settings.defaults.timezone)
            for rep_id in sorted(team.reps):
                floor.reps.append(SimRep(team_id, rep_id, tz, rng.uniform(0.0, 1.0)))
        return floor

    def rates_of(self, rep: SimRep, week: str) -> dict[str, float]:
        """Return the rep's rate of each action in an ISO week, the same whatever order weeks are asked in."""
        key = (rep.team, rep.rep, week)
        if key not in self.rates:
            rng = random.Random(f"{self.seed}|{rep.team}|{rep.rep}|{week}")
            self.rates[key] = weekly_rates(self.settings.actions, rep.level, rng)
        return self.rates[key]

    def _week_share(self, rep: SimRep, at: datetime) -> float:
        """Return the share of the rep's week gone by `at`: working time, or all time when always open."""
        start, end = week_bounds(at, rep.tz)
        if not self.office_hours_only:
            return (at - start) / (end - start)
        schedule = self.settings.working_time_of(rep.team)
        total = working_seconds(start, end, schedule, rep.tz)
        return working_seconds(start, at, schedule, rep.tz) / total if total else 0.0

    def _due(self, rep: SimRep, end: datetime) -> list[str]:
        """Return the activities the rep still owes by `end` to keep to the week's rates, shuffled."""
        # The week of the step's last instant; a step ending on Monday 00:00 closes the week before.
        week = iso_week_of((end - timedelta(microseconds=1)).astimezone(rep.tz).date())
        share = self._week_share(rep, end) if week_bounds(end, rep.tz)[0] < end else 1.0
        done = self.week_counts.get((rep.team, rep.rep, week), Counter())
        due = []
        for action, rate in self.rates_of(rep, week).items():
            owed = rate * share - done[action]
            whole = int(owed) if owed > 0 else 0
            # The fraction is drawn, so that a week ends on whole counts around the rate.
            whole += 1 if owed > whole and self.rng.random() < owed - whole else 0
            due += [action] * whole
        self.rng.shuffle(due)
        return due

    def _event(self, kind: str, rep: SimRep, at: datetime, **fields: Any) -> dict[str, Any]:
        self.serial += 1
        body = {
            "event_id": f"sim-{self.run_id}-{self.serial}",
            "type": kind,
            "occurred_at": at.astimezone(rep.tz).isoformat(),
            "team_id": rep.team,
            "rep_id": rep.rep,
            "source": "simulator",
            "schema_version": 1,
            **fields,
        }
        return body

    def _deal_event(self, kind: str, rep: SimRep, at: datetime, deal_id: str, **fields: Any) -> dict[str, Any]:
        month = month_of(at, rep.tz)
        self.active.setdefault((rep.team, month), {}).setdefault(rep.rep, set()).add(deal_id)
        return self._event(kind, rep, at, deal_id=deal_id, **fields)

    def _activity(self, rep: SimRep, at: datetime, action: str, **fields: Any) -> dict[str, Any]:
        week = iso_week_of(at.astimezone(rep.tz).date())
        self.week_counts.setdefault((rep.team, rep.rep, week), Counter())[action] += 1
        self.step_activities.append((rep.team, rep.rep, week, action, at))
        if "deal_id" in fields:
            return self._deal_event("activity", rep, at, action=action, **fields)
        return self._event("activity", rep, at, action=action, **fields)

    def _working(self, rep: SimRep, at: datetime) -> bool:
        if not self.office_hours_only:
            return True
        return in_working_time(at, self.settings.working_time_of(rep.team), rep.tz)

    def step(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Yield the events of [start, end), in time order per rep."""
        seconds = (end - start).total_seconds()
        self.step_activities.clear()
        for rep in self.reps:
            due = self._due(rep, end)
            # Placed at random in the step's working time; none when the step holds none.
            tries = (start + timedelta(seconds=self.rng.uniform(0, seconds)) for _ in range(20 * len(due)))
            working = [at for at in tries if self._working(rep, at)][: len(due)]
            for action, at in zip(due, sorted(working)):
                fields: dict[str, Any] = {"outcome": self.rng.choice(["connected", "voicemail", "sent", "held"])}
                if action in ("call", "cold_call", "meeting", "demo"):
                    fields["duration_s"] = round(self.rng.uniform(30, 1800), 1)
                yield self._activity(rep, at, action, **fields)
                if action == "cold_call" and self.rng.random() < DEAL_PER_COLD_CALL:
                    yield from self._open_deal(rep, at)
                if self.rng.random() < 0.03:
                    yield from self._review(rep, at)
        yield from self._advance_deals(end)
        for rep in self.reps:
            for at in _daily(start, end, rep.tz, SELF_REPORT_AT):
                if self._working(rep, at):
                    yield self._self_report(rep, at)
        for rep in self.reps:
            for at in _daily(start, end, rep.tz, MYSTERY_AT):
                if self._working(rep, at):
                    yield from self._mystery_check(rep, at)

    def _self_report(self, rep: SimRep, at: datetime) -> dict[str, Any]:
        week = iso_week_of(at.astimezone(rep.tz).date())
        # What the rep had done by the time of the report, not what the rest of the step brings.
        counts = self.week_counts.get((rep.team, rep.rep, week), Counter()) - Counter(
            action for team, rep_id, of, action, done_at in self.step_activities
            if (team, rep_id, of) == (rep.team, rep.rep, week) and done_at >= at
        )
        # Reps report from memory: mostly right, sometimes a little generous or modest.
        figures = {action: max(0, n + self.rng.choice((-1, 0, 0, 0, 1, 2))) for action, n in sorted(counts.items())}
        return self._event("self_report", rep, at, week=week, figures=figures, lessons=self.rng.choice(LESSONS))

    def _mystery_check(self, checker: SimRep, at: datetime) -> Iterator[dict[str, Any]]:
        """The month's checker checks one drawn deal a day, if any is left unchecked."""
        month = month_of(at, checker.tz)
        if self.settings.checker_of(checker.team, month) != checker.rep:
            return
        mystery = self.settings.mystery
        drawn = draw_sample(
            self.active.get((checker.team, month), {}), mystery.deals_per_rep, mystery.seed, checker.team, month, checker.rep
        )
        todo = [(rep, deal) for rep, deals in drawn.items() for deal in deals if (month, deal) not in self.checked]
        if not todo:
            return
        rep_id, deal_id = todo[0]
        self.checked.add((month, deal_id))
        rep = next(r for r in self.reps if (r.team, r.rep) == (checker.team, rep_id))
        points = {
            item: worth if self.rng.random() < 0.8 else self.rng.randint(0, worth)
            for item, worth in mystery.rubric.items()
        }
        yield self._event("mystery_check", rep, at, checker_id=checker.rep, month=month, deal_id=deal_id, points=points)

    def _review(self, rep: SimRep, at: datetime) -> Iterator[dict[str, Any]]:
        teammates = [r.rep for r in self.reps if r.team == rep.team and r.rep != rep.rep]
        if not teammates:
            return  # nobody to review a rep who works alone; never a self review
        reviews = self.settings.reviews
        subject = self.rng.choice(sorted(reviews.themes))
        # A rep's scores hover around their level, as their activity does.
        level = reviews.scale_min + (reviews.scale_max - reviews.scale_min) * rep.level
        scores = {
            theme: max(reviews.scale_min, min(reviews.scale_max, round(level + self.rng.uniform(-1.5, 1.5))))
            for theme in reviews.themes[subject]
        }
        yield self._event("review", rep, at, reviewer_id=self.rng.choice(teammates), subject=subject, scores=scores)

    def _open_deal(self, rep: SimRep, at: datetime) -> Iterator[dict[str, Any]]:
        deal = SimDeal(f"deal-{rep.team}-{self.rng.getrandbits(40):010x}", rep)
        deal.next_at = at + timedelta(hours=self.rng.uniform(2, 72))
        self.deals.append(deal)
        stage = self.settings.stages[0]
        yield self._deal_event("deal_stage", rep, at, deal.deal_id, stage=stage, fields=self._crm_fields(stage),
                               amount=round(self.rng.uniform(1_000, 50_000), 2), currency=self._currency())

    def stalled_deals(self, now: datetime, per_team: int = 2) -> Iterator[dict[str, Any]]:
        """Open `per_team` deals per team that nobody moves on: each went from the first stage to a
        later open one over a few days, its last change 2 to 30 days beyond `deals.stale_days`
        before `now`, so stale from the start."""
        stale_days = self.settings.deals.stale_days
        stages = self.settings.stages
        for team in sorted({rep.team for rep in self.reps}):
            reps = [rep for rep in self.reps if rep.team == team]
            for _ in range(per_team):
                rep = self.stall_rng.choice(reps)
                deal_id = f"deal-{team}-stalled-{self.stall_rng.getrandbits(40):010x}"
                last = now - timedelta(days=stale_days + self.stall_rng.uniform(2, 30))
                path = stages[: self.stall_rng.randint(min(2, len(stages)), len(stages))]
                for number, stage in enumerate(path):
                    at = last - timedelta(days=1.5) * (len(path) - 1 - number)
                    fields = self._crm_fields(stage, self.stall_rng, filled=1.0)
                    money = {"amount": round(self.stall_rng.uniform(1_000, 50_000), 2), "currency": "EUR"} if number == 0 else {}
                    # Not `_deal_event`: kept out of the months' mystery draws, so that the rest of the
                    # floor (its draws, and the random stream they consume) stays as it was.
                    yield self._event("deal_stage", rep, at, deal_id=deal_id, stage=stage, fields=fields, **money)

    def _currency(self) -> str:
        # Most deals are priced in EUR; some in USD or GBP, converted with examples/rates.yaml.
        return self.money_rng.choice(("EUR", "EUR", "EUR", "EUR", "USD", "GBP"))

    def _crm_fields(self, stage: str, rng: random.Random | None = None, filled: float = 0.85) -> dict[str, str]:
        # Most reps fill in most of the checklist, most of the time.
        checklist = self.settings.checklists.get(stage)
        items = checklist.content if checklist else ()
        draw = (rng or self.rng).random
        return {item: ("filled" if draw() < filled else "") for item in items}

    def _process_steps(self, deal: SimDeal, stage: str, at: datetime) -> Iterator[dict[str, Any]]:
        # Most of the time the rep does what the stage asks for, a little before moving the deal.
        checklist = self.settings.checklists.get(stage)
        for action in checklist.process if checklist else ():
            if self.rng.random() >= 0.85:
                continue
            # Within the day before, in the rep's working time (stage changes may come at night).
            tries = (at - timedelta(minutes=self.rng.uniform(10, 24 * 60)) for _ in range(20))
            done_at = next((t for t in tries if self._working(deal.rep, t)), None)
            if done_at is not None:
                yield self._activity(deal.rep, done_at, action, deal_id=deal.deal_id, outcome="sent")

    def _advance_deals(self, until: datetime) -> Iterator[dict[str, Any]]:
        stages = self.settings.stages
        still_open = []
        for deal in self.deals:
            while deal.next_at is not None and deal.next_at < until:
                at = deal.next_at
                # A fast "no" is common; otherwise the deal moves on, and at the end is won or lost.
                if self.rng.random() < 0.2 or deal.stage_index + 1 >= len(stages):
                    stage = self.rng.choice(TERMINAL_STAGES) if deal.stage_index + 1 >= len(stages) else "lost"
                    deal.next_at = None
                else:
                    deal.stage_index += 1
                    stage = stages[deal.stage_index]
                    deal.next_at = at + timedelta(hours=self.rng.uniform(4, 96))
                yield from self._process_steps(deal, stage, at)
                yield self._deal_event("deal_stage", deal.rep, at, deal.deal_id, stage=stage,
                                       fields=self._crm_fields(stage))
            if deal.next_at is not None:
                still_open.append(deal)
        self.deals = still_open


def _daily(start: datetime, end: datetime, tz: ZoneInfo, hour_minute: tuple[int, int]) -> list[datetime]:
    """Return the instants in [start, end) at the given local time of day."""
    first = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    hour, minute = hour_minute
    candidates = (datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz) for d in days)
    return [at for at in candidates if start <= at < end]


async def run_simulation(
    settings: Settings,
    kafka: KafkaSettings,
    *,
    rate: float,
    backfill_days: float,
    duration_s: float | None,
    seed: int,
    now: datetime,
    always_open: bool = False,
) -> int:
    """Back-fill history, then publish live until `duration_s` has passed (forever if None).

    Live, the floor keeps to the funnel's rates in real time; `rate` caps the events published in
    a second (the rest wait for the next seconds), which only a large floor reaches.
    """
    floor = Floor.create(settings, seed)
    topics = TopicNames(settings.kafka.app_id)
    await ensure_topics(kafka, settings.kafka)
    producer = make_producer(kafka)
    await producer.start()
    sent = 0

    async def publish(events: Iterator[dict[str, Any]]) -> None:
        nonlocal sent
        for body in events:
            event = EVENT_ADAPTER.validate_python(body)
            await producer.send(topics.ingest_topic(event), key=event_key(event).encode(), value=json.dumps(body).encode())
            sent += 1
        await producer.flush()

    try:
        await publish(floor.stalled_deals(now))
        cursor = now - timedelta(days=backfill_days)
        while cursor < now:
            step_end = min(cursor + timedelta(hours=1), now)
            await publish(floor.step(cursor, step_end))
            cursor = step_end
        print(f"back-filled {backfill_days:g} days: {sent} events", flush=True)
        floor.office_hours_only = not always_open
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiting: deque[dict[str, Any]] = deque()
        allowance = 0.0
        while duration_s is None or loop.time() - started < duration_s:
            await asyncio.sleep(1.0)
            step_end = cursor + timedelta(seconds=1)
            waiting.extend(floor.step(cursor, step_end))
            allowance = min(allowance + rate, max(rate, 1.0))
            ready = min(len(waiting), int(allowance))
            allowance -= ready
            await publish(iter([waiting.popleft() for _ in range(ready)]))
            cursor = step_end
    finally:
        await producer.stop()
    return sent
