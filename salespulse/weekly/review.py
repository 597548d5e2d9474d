"""`salespulse report weekly`: the weekly review of a team, as Markdown and HTML.

The review opens with the team (totals against the team's targets, the reps by attainment and
what each is behind on, the team reward, the week's lessons learned), then shows each rep.

The figures of the team's current ISO week and the one before come from the workers' /metrics
pages, scraped once, so the report says what the wallboard says at the same moment; a report is
for one of those two weeks. Older weeks (the week before last week, the trends) come from the
worker's weekly totals and, for what it no longer holds, from Prometheus
(`salespulse.weekly.history`); each week's attainment is against the targets in force in that
week, read from the targets topic. The lessons learned (free text, not a metric)
are read from the self-report table's changelog.

Deal velocity in money (sales velocity, win rate, average won value, sales cycle) is read from the
same pages, rolling 30 days as of the report: each rep's series and the team's own (rep="", not
a sum of the reps'), in the team's currency; a figure the worker does not export (nothing decided,
won, or won with an amount) stays None.

Series that several workers export (deal-keyed figures) are summed over the pages, as Prometheus
would sum them over instances.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from salespulse.exporters.metrics import (
    ACTION_EXPECTED,
    ACTION_PACE_RATIO,
    ACTION_TARGET,
    ACTIONS,
    CHECKLIST_MISSING,
    DEAL_VALUE_WON_AVG,
    DEALS_DECIDED,
    DECISION_SECONDS_COMBINED,
    MYSTERY_POINTS,
    MYSTERY_POINTS_MAX,
    MYSTERY_SHARE,
    REP_INFO,
    REVIEW_SCORE_AVG,
    REVIEWS,
    SALES_CYCLE_SECONDS_AVG,
    SALES_VELOCITY,
    SELF_REPORTED_ACTIONS,
    STAGE_CHANGES,
    TEAM_REWARD_EARNED,
    WIN_RATE,
)
from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.errors import ConfigError
from salespulse.models.targets import week_start
from salespulse.streams.kpi.self_reports import report_key, window_weeks
from salespulse.weekly.history import History, held_weeks, merged, read_week_counts, read_week_totals, weeks_up_to

Labels = frozenset[tuple[str, str]]
# The deal figures of the review, decisions and money alike: a month of deals.
DEALS_WINDOW = "rolling_30d"


class Samples:
    """Samples of one or more /metrics pages, identical series summed."""

    def __init__(self, pages: Iterable[str]) -> None:
        summed: dict[tuple[str, Labels], float] = defaultdict(float)
        for page in pages:
            for family in text_string_to_metric_families(page):
                for sample in family.samples:
                    summed[(sample.name, frozenset(sample.labels.items()))] += sample.value
        self.by_name: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for (name, labels), value in summed.items():
            self.by_name[name].append((dict(labels), value))

    def select(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        """Return the samples of `name` whose labels include `labels`."""
        return [(lab, v) for lab, v in self.by_name.get(name, []) if all(lab.get(k) == w for k, w in labels.items())]

    def one(self, name: str, **labels: str) -> float | None:
        """Return the sum of the matching samples, or None when there is none."""
        found = self.select(name, **labels)
        return sum(v for _, v in found) if found else None


def fetch_pages(urls: Iterable[str], timeout_s: float = 10.0) -> list[str]:
    """Return the text of each /metrics URL; an unreachable one is a user's error, named."""
    pages = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (the user's URL)
                page = response.read().decode()
        except OSError as exc:
            raise ConfigError(f"--metrics-url {url}: cannot read the worker's metrics: {exc}") from None
        if "\nsalespulse_worker_ready 0.0\n" in f"\n{page}":
            raise ConfigError(
                f"--metrics-url {url}: the worker is still recovering its tables from Kafka; "
                "run the report again when salespulse_worker_ready is 1"
            )
        pages.append(page)
    return pages


@dataclass(frozen=True)
class ActionRow:
    """One action of one rep: this week, the week before, the target and the rep's own count."""

    action: str
    this: int
    previous: int | None
    target: int | None
    reported: int | None

    @property
    def trend(self) -> str:
        """▲ more than the week before, ▼ fewer, = the same, – when unknown."""
        return arrow(self.this, self.previous)

    @property
    def attainment(self) -> float | None:
        """This week's count over the target, when a positive target is set."""
        return self.this / self.target if self.target else None

    @property
    def difference(self) -> int | None:
        """Self-reported minus measured: positive when the rep remembers more than was logged."""
        return None if self.reported is None else self.reported - self.this


def arrow(this: int, previous: int | None) -> str:
    """Return ▲ for a rise from `previous`, ▼ for a fall, = for the same, – when unknown."""
    if previous is None:
        return "–"
    return "▲" if this > previous else "▼" if this < previous else "="


@dataclass(frozen=True)
class WeekCell:
    """One action's count in one week of the trend, and the target in force in that week."""

    week: str
    count: int | None
    target: int | None

    @property
    def attainment(self) -> float | None:
        """The count over the target, when both are known and the target is positive."""
        return self.count / self.target if self.count is not None and self.target else None


@dataclass(frozen=True)
class DealMoney:
    """What a rep's or the team's deals bring, over the rolling 30 days; None where none is exported."""

    currency: str  # the team's, which every amount is in
    velocity: float | None = None  # per day: open deals x average won value x win rate / cycle in days
    win_rate: float | None = None  # won / decided
    won_value_avg: float | None = None
    cycle_seconds: float | None = None  # first event to decision, over the deals won


@dataclass
class RepReview:
    """Everything the review shows for one rep."""

    rep: str
    name: str
    actions: list[ActionRow]
    # action -> the weeks of the trend, oldest first, ending with the review's week
    weeks: dict[str, list[WeekCell]] = field(default_factory=dict)
    # action -> (done this week over expected by now, expected by now), in the team's current week
    pace: dict[str, tuple[float, float]] = field(default_factory=dict)
    # outcome -> (deals decided in the rolling 30 days, their summed seconds to decision)
    decided: dict[str, tuple[int, float]] = field(default_factory=dict)
    stage_changes: int = 0
    complete: int = 0
    missing: list[tuple[str, str, int]] = field(default_factory=list)
    # subject -> (reviews, {theme: average})
    reviews: dict[str, tuple[int, dict[str, float]]] = field(default_factory=dict)
    mystery: tuple[int, int, float] | None = None
    lessons: str | None = None  # None: no self-report on the week; "": one without lessons
    money: DealMoney | None = None

    @property
    def completeness(self) -> float | None:
        """Share of the rolling-30-day stage changes made with complete checklists."""
        return self.complete / self.stage_changes if self.stage_changes else None


@dataclass
class WeeklyReview:
    """A team's weekly review."""

    team: str
    week: str
    previous_week: str | None
    month: str
    reward: bool | None
    reps: list[RepReview]
    current: bool = True  # the week is the team's current one (figures so far, judged on pace)
    trend_weeks: list[str] = field(default_factory=list)
    history_source: str | None = None  # the Prometheus the older weeks came from
    metrics_weeks: list[str] = field(default_factory=list)  # the weeks of the trend read from /metrics
    team_money: DealMoney | None = None  # the team's own figures, not a sum of the reps'
    at: datetime | None = None  # when /metrics was read, in the team's timezone: the end of the 30 days


def _int(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def build_review(
    settings: Settings,
    team: str,
    week: str,
    now: datetime,
    samples: Samples,
    reports: Mapping[str, Any],
    history: History | None = None,
    trend_weeks: int = 8,
) -> WeeklyReview:
    """Assemble the review of `week` from scraped samples, the self-report table and the history.

    Without `history`, targets come from /metrics (the current week's only); without counts from
    Prometheus (`history.source`), the trends hold only the weeks /metrics holds.
    """
    tz = settings.timezone_of(team)
    weeks = window_weeks(now, tz)
    if week == weeks["week"]:
        this, previous = "week", "last_week"
    elif week == weeks["last_week"]:
        this, previous = "last_week", None
    else:
        raise ConfigError(
            f"--week: {week} is neither team {team}'s current week ({weeks['week']}) nor last week "
            f"({weeks['last_week']}); /metrics holds only those two (older weeks: the weekly review dashboard)"
        )
    current = this == "week"
    trend = weeks_up_to(week, trend_weeks)
    previous_week = trend[-2]
    # The weeks /metrics holds, by window; older ones come from the history.
    scraped = {weeks["week"]: "week", weeks["last_week"]: "last_week"}
    prometheus = history is not None and history.source is not None
    if not prometheus:
        trend = [w for w in trend if w in scraped]
    month = (week_start(week) + timedelta(days=6)).strftime("%Y-%m")
    configured = settings.teams.get(team)
    reps = set(configured.reps if configured else ()) | {lab["rep"] for lab, _ in samples.select(REP_INFO.name, team=team)}

    def count(rep: str, action: str, of: str) -> int | None:
        if of in scraped:
            found = samples.one(ACTIONS.name, team=team, rep=rep, action=action, window=scraped[of])
            # A rep without series (named but never seen): nothing in the reviewed week, any other unknown.
            return _int(found) if found is not None or of == week else None
        return history.count(of, rep, action) if history else None

    def target(rep: str, action: str, of: str) -> int | None:
        if history is not None:
            return history.target(team, of, rep, action)
        return _int(samples.one(ACTION_TARGET.name, team=team, rep=rep, action=action)) if of == weeks["week"] else None

    currency = settings.currency_of(team)

    def deal_money(rep: str) -> DealMoney:
        # rep "" is the team's own series. The team's currency only: a currency changed in the
        # configuration is the only one the worker exports from then on.
        who = {"team": team, "rep": rep, "window": DEALS_WINDOW}
        return DealMoney(
            currency,
            samples.one(SALES_VELOCITY.name, **who, currency=currency),
            samples.one(WIN_RATE.name, **who),
            samples.one(DEAL_VALUE_WON_AVG.name, **who, currency=currency),
            samples.one(SALES_CYCLE_SECONDS_AVG.name, **who),
        )

    reviews = []
    for rep in sorted(reps):
        who = {"team": team, "rep": rep}
        rows = [
            ActionRow(
                action,
                count(rep, action, week) or 0,
                count(rep, action, previous_week) if previous or prometheus else None,
                target(rep, action, week),
                _int(samples.one(SELF_REPORTED_ACTIONS.name, **who, action=action, window=this)),
            )
            for action in settings.actions
        ]
        review = RepReview(rep, settings.rep_name(team, rep), rows)
        for row in rows:
            review.weeks[row.action] = [
                WeekCell(of, row.this if of == week else count(rep, row.action, of), target(rep, row.action, of))
                for of in trend
            ]
            ratio = samples.one(ACTION_PACE_RATIO.name, **who, action=row.action)
            expected = samples.one(ACTION_EXPECTED.name, **who, action=row.action)
            if current and ratio is not None and expected is not None:
                review.pace[row.action] = (ratio, expected)
        for outcome in ("won", "lost"):
            window = {"outcome": outcome, "window": DEALS_WINDOW}
            decided = _int(samples.one(DEALS_DECIDED.name, **who, **window)) or 0
            review.decided[outcome] = (decided, samples.one(DECISION_SECONDS_COMBINED.name, **who, **window) or 0.0)
        review.stage_changes = _int(samples.one(STAGE_CHANGES.name, **who)) or 0
        review.complete = _int(samples.one(STAGE_CHANGES.name, **who, completeness="complete")) or 0
        missing: dict[tuple[str, str], int] = defaultdict(int)
        for lab, value in samples.select(CHECKLIST_MISSING.name, **who):
            missing[(lab["kind"], lab["item"])] += int(value)
        review.missing = [(kind, item, n) for (kind, item), n in sorted(missing.items()) if n]
        for subject, themes in settings.reviews.themes.items():
            reviewed = _int(samples.one(REVIEWS.name, **who, subject=subject)) or 0
            averages = {
                theme: avg
                for theme in themes
                if (avg := samples.one(REVIEW_SCORE_AVG.name, **who, subject=subject, theme=theme)) is not None
            }
            review.reviews[subject] = (reviewed, averages)
        points = samples.one(MYSTERY_POINTS.name, **who, month=month)
        maximum = samples.one(MYSTERY_POINTS_MAX.name, **who, month=month)
        share = samples.one(MYSTERY_SHARE.name, **who, month=month)
        if points is not None and maximum is not None and share is not None:
            review.mystery = (int(points), int(maximum), share)
        report = reports.get(report_key(team, rep, week))
        review.lessons = str(report.get("lessons", "")) if isinstance(report, dict) else None
        review.money = deal_money(rep)
        reviews.append(review)
    reward = samples.one(TEAM_REWARD_EARNED.name, team=team, month=month)
    return WeeklyReview(
        team,
        week,
        previous_week if (previous or prometheus) else None,
        month,
        None if reward is None else reward >= 1,
        reviews,
        current=current,
        trend_weeks=trend,
        history_source=history.source if history else None,
        metrics_weeks=[w for w in trend if w in scraped],
        team_money=deal_money(""),
        at=now.astimezone(tz),
    )


def output_paths(folder: Path, team: str, week: str) -> tuple[Path, Path]:
    """Return the Markdown and HTML paths of a team's review (not with_suffix: ids may hold dots)."""
    return tuple(folder / f"weekly-review-{team}-{week}.{ext}" for ext in ("md", "html"))  # type: ignore[return-value]


async def gather_review(
    settings: Settings,
    kafka: KafkaSettings,
    team: str,
    week: str,
    now: datetime,
    metrics_urls: list[str],
    prometheus_url: str | None = None,
    trend_weeks: int = 8,
) -> WeeklyReview:
    """Read everything the review of `week` needs and assemble it (the CLI's and the page's way in).

    /metrics pages for this week and last; from Kafka the lessons learned, the targets in force
    and the worker's weekly totals; from Prometheus (when given) the weeks the totals do not hold,
    and the first week they hold, which a worker upgraded mid-week holds only in part.
    """
    from salespulse.streams.changelogs import changelog_topic, read_table
    from salespulse.streams.families.self_reports import REPORTS_TABLE
    from salespulse.streams.targets import read_targets
    from salespulse.streams.topics import TopicNames

    samples = Samples(await asyncio.to_thread(fetch_pages, metrics_urls))
    app_id = settings.kafka.app_id
    reports = await read_table(kafka, changelog_topic(app_id, REPORTS_TABLE))
    targets = await read_targets(kafka, TopicNames(app_id).targets)
    weeks = weeks_up_to(week, trend_weeks)
    totals = await read_week_totals(kafka, app_id, team)
    held = held_weeks(totals, weeks)
    sources = ["the worker's weekly totals"] if held else []
    counts = totals
    if prometheus_url:
        asked = [w for w in weeks if w not in held or w == min(held)]
        found = await asyncio.to_thread(read_week_counts, prometheus_url, team, asked, settings.timezone_of(team), now)
        counts = merged(totals, found)
        sources.append(f"Prometheus ({prometheus_url})")
    history = History(counts, list(targets.sets.values()), " and ".join(sources) or None, held)
    return build_review(settings, team, week, now, samples, {str(k): v for k, v in reports.items()}, history, trend_weeks)
