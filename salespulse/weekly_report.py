"""`salespulse report weekly`: the weekly review of a team, as Markdown and HTML.

Every figure comes from the workers' /metrics pages, scraped once, so the report says what the
wallboard says at the same moment; only the lessons learned (free text, not a metric) are read
from the self-report table's changelog. /metrics holds the team's current ISO week and the one
before, so a report is for one of those two weeks: for the current week each action is shown
against last week, for last week the week before is not available.

Series that several workers export (deal-keyed figures) are summed over the pages, as Prometheus
would sum them over instances.
"""

from __future__ import annotations

import html
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from salespulse.exporters.metrics import (
    ACTION_TARGET,
    ACTIONS,
    CHECKLIST_MISSING,
    DEALS_DECIDED,
    DECISION_SECONDS_COMBINED,
    MYSTERY_POINTS,
    MYSTERY_POINTS_MAX,
    MYSTERY_SHARE,
    REP_INFO,
    REVIEW_SCORE_AVG,
    REVIEWS,
    SELF_REPORTED_ACTIONS,
    STAGE_CHANGES,
    TEAM_REWARD_EARNED,
)
from salespulse.models.config import Settings
from salespulse.models.errors import ConfigError
from salespulse.models.targets import week_start
from salespulse.streams.kpi.self_reports import report_key, window_weeks

Labels = frozenset[tuple[str, str]]


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
        """▲ more than the week before, ▼ fewer, = the same, empty when unknown."""
        if self.previous is None:
            return ""
        return "▲" if self.this > self.previous else "▼" if self.this < self.previous else "="

    @property
    def attainment(self) -> float | None:
        """This week's count over the target, when a positive target is set."""
        return self.this / self.target if self.target else None

    @property
    def difference(self) -> int | None:
        """Self-reported minus measured: positive when the rep remembers more than was logged."""
        return None if self.reported is None else self.reported - self.this


@dataclass
class RepReview:
    """Everything the review shows for one rep."""

    rep: str
    name: str
    actions: list[ActionRow]
    # outcome -> (deals decided in the rolling 30 days, their summed seconds to decision)
    decided: dict[str, tuple[int, float]] = field(default_factory=dict)
    stage_changes: int = 0
    complete: int = 0
    missing: list[tuple[str, str, int]] = field(default_factory=list)
    # subject -> (reviews, {theme: average})
    reviews: dict[str, tuple[int, dict[str, float]]] = field(default_factory=dict)
    mystery: tuple[int, int, float] | None = None
    lessons: str | None = None  # None: no self-report on the week; "": one without lessons

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


def _int(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def build_review(
    settings: Settings, team: str, week: str, now: datetime, samples: Samples, reports: Mapping[str, Any]
) -> WeeklyReview:
    """Assemble the review of `week` from scraped samples and the self-report table."""
    tz = settings.timezone_of(team)
    weeks = window_weeks(now, tz)
    if week == weeks["week"]:
        this, previous, previous_week = "week", "last_week", weeks["last_week"]
    elif week == weeks["last_week"]:
        this, previous, previous_week = "last_week", None, None
    else:
        raise ConfigError(
            f"--week: {week} is neither team {team}'s current week ({weeks['week']}) nor last week "
            f"({weeks['last_week']}); /metrics holds only those two (older weeks: the weekly review dashboard)"
        )
    month = (week_start(week) + timedelta(days=6)).strftime("%Y-%m")
    configured = settings.teams.get(team)
    reps = set(configured.reps if configured else ()) | {lab["rep"] for lab, _ in samples.select(REP_INFO.name, team=team)}
    reviews = []
    for rep in sorted(reps):
        who = {"team": team, "rep": rep}
        rows = [
            ActionRow(
                action,
                _int(samples.one(ACTIONS.name, **who, action=action, window=this)) or 0,
                _int(samples.one(ACTIONS.name, **who, action=action, window=previous)) if previous else None,
                _int(samples.one(ACTION_TARGET.name, **who, action=action)),
                _int(samples.one(SELF_REPORTED_ACTIONS.name, **who, action=action, window=this)),
            )
            for action in settings.actions
        ]
        review = RepReview(rep, settings.rep_name(team, rep), rows)
        for outcome in ("won", "lost"):
            window = {"outcome": outcome, "window": "rolling_30d"}
            count = _int(samples.one(DEALS_DECIDED.name, **who, **window)) or 0
            review.decided[outcome] = (count, samples.one(DECISION_SECONDS_COMBINED.name, **who, **window) or 0.0)
        review.stage_changes = _int(samples.one(STAGE_CHANGES.name, **who)) or 0
        review.complete = _int(samples.one(STAGE_CHANGES.name, **who, completeness="complete")) or 0
        missing: dict[tuple[str, str], int] = defaultdict(int)
        for lab, value in samples.select(CHECKLIST_MISSING.name, **who):
            missing[(lab["kind"], lab["item"])] += int(value)
        review.missing = [(kind, item, n) for (kind, item), n in sorted(missing.items()) if n]
        for subject, themes in settings.reviews.themes.items():
            count = _int(samples.one(REVIEWS.name, **who, subject=subject)) or 0
            averages = {
                theme: avg
                for theme in themes
                if (avg := samples.one(REVIEW_SCORE_AVG.name, **who, subject=subject, theme=theme)) is not None
            }
            review.reviews[subject] = (count, averages)
        points = samples.one(MYSTERY_POINTS.name, **who, month=month)
        maximum = samples.one(MYSTERY_POINTS_MAX.name, **who, month=month)
        share = samples.one(MYSTERY_SHARE.name, **who, month=month)
        if points is not None and maximum is not None and share is not None:
            review.mystery = (int(points), int(maximum), share)
        report = reports.get(report_key(team, rep, week))
        review.lessons = str(report.get("lessons", "")) if isinstance(report, dict) else None
        reviews.append(review)
    reward = samples.one(TEAM_REWARD_EARNED.name, team=team, month=month)
    return WeeklyReview(team, week, previous_week, month, None if reward is None else reward >= 1, reviews)


def _num(value: int | None) -> str:
    return "–" if value is None else str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _signed(value: int | None) -> str:
    return "–" if value is None else f"{value:+d}"


def _action_table(review: WeeklyReview, rep: RepReview) -> tuple[list[str], list[list[str]]]:
    head = ["action", review.week, review.previous_week or "week before", "", "target", "attainment", "self-reported", "difference"]
    body = [
        [row.action, str(row.this), _num(row.previous), row.trend, _num(row.target), _pct(row.attainment),
         _num(row.reported), _signed(row.difference)]
        for row in rep.actions
    ]
    return head, body


def _velocity_line(rep: RepReview) -> str:
    parts = []
    for outcome, (count, seconds) in rep.decided.items():
        average = f", {seconds / count / 86400:.1f} days to decision on average" if count else ""
        parts.append(f"{count} {outcome}{average}")
    return "Deals decided (30 days): " + "; ".join(parts)


def _quality_lines(review: WeeklyReview, rep: RepReview) -> list[str]:
    lines = [
        _velocity_line(rep),
        f"Checklist completeness (30 days): {_pct(rep.completeness)} of {rep.stage_changes} stage changes"
        + (f"; missing: {', '.join(f'{item} ({kind}) ×{n}' for kind, item, n in rep.missing)}" if rep.missing else "")
    ]
    for subject, (count, averages) in rep.reviews.items():
        scores = ", ".join(f"{theme} {avg:.1f}" for theme, avg in averages.items()) or "no scores"
        lines.append(f"Review scores, {subject} (30 days, {count} reviews): {scores}")
    if rep.mystery:
        points, maximum, share = rep.mystery
        lines.append(f"Mystery check {review.month}: {points} of {maximum} points ({_pct(share)})")
    else:
        lines.append(f"Mystery check {review.month}: not checked")
    return lines


def _reward_line(review: WeeklyReview) -> str:
    if review.reward is None:
        return f"Team reward {review.month}: no mystery checks yet"
    return f"Team reward {review.month}: {'earned' if review.reward else 'not earned (yet)'}"


def output_paths(folder: Path, team: str, week: str) -> tuple[Path, Path]:
    """Return the Markdown and HTML paths of a team's review (not with_suffix: ids may hold dots)."""
    return tuple(folder / f"weekly-review-{team}-{week}.{ext}" for ext in ("md", "html"))  # type: ignore[return-value]


def _lessons(rep: RepReview) -> str:
    if rep.lessons is None:
        return "(no self-report for the week)"
    return rep.lessons.strip() or "(a self-report without lessons learned)"


def _markdown_quote(text: str) -> str:
    # Every line stays inside the quote, and a rep's "<word>" is shown, not taken for an HTML tag.
    return "\n".join(f"> {line}".rstrip().replace("<", "\\<") for line in text.splitlines())


def render_markdown(review: WeeklyReview) -> str:
    """Return the review as Markdown."""
    out = [f"# Weekly review: {review.team}, {review.week}", "", _reward_line(review), ""]
    for rep in review.reps:
        out += [f"## {rep.name} ({rep.rep})", ""]
        head, body = _action_table(review, rep)
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(" --- " for _ in head) + "|")
        out += ["| " + " | ".join(row) + " |" for row in body]
        out.append("")
        out += [f"- {line}" for line in _quality_lines(review, rep)]
        out += ["", "Lessons learned:", "", _markdown_quote(_lessons(rep)), ""]
    return "\n".join(out)


def render_html(review: WeeklyReview) -> str:
    """Return the review as a standalone HTML page."""
    e = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Weekly review: {e(review.team)}, {e(review.week)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
        "blockquote{color:#444;border-left:4px solid #ccc;margin-left:0;padding-left:1em}</style>",
        "</head><body>",
        f"<h1>Weekly review: {e(review.team)}, {e(review.week)}</h1>",
        f"<p>{e(_reward_line(review))}</p>",
    ]
    for rep in review.reps:
        head, body = _action_table(review, rep)
        out.append(f"<h2>{e(rep.name)} ({e(rep.rep)})</h2>")
        out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
        out += ["<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>" for row in body]
        out.append("</table>")
        out.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in _quality_lines(review, rep)) + "</ul>")
        lessons = e(_lessons(rep)).replace("\n", "<br>")
        out.append(f"<p>Lessons learned:</p><blockquote>{lessons}</blockquote>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
