"""The sales floor's TV: `/tv/<team>` renders the wallboard declared in `dashboards.board`.

    board.board() ── each panel's queries, for team="<team>" ── Prometheus, instant, at `now`
        └── answers {panel key: [(labels, value)]} ── tv_view() ── tv.html (first render, no script)
                                                                └── /tv/<team>/figures (JSON, every 10 s)

The queries are the Grafana wallboard's own (the same declaration), so the TV and Grafana show
the same numbers, and several workers show as one floor. Without --prometheus-url,
`answers_of_samples()` works the same sums out from the workers' /metrics; a unit test runs both
through Prometheus' engine (promtool) so that they cannot drift apart.

Kiosk tokens: a TV is signed in by a read-only token in its URL, for one team or for every team
(`*`, the rotation at `/tv`), signed with the secret of the sign-in links: rotating the secret
revokes every token. A token opens the TV pages only.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.numbers import format_decimal
from itsdangerous import BadSignature, URLSafeSerializer

from salespulse.dashboards import board
from salespulse.dashboards.board import BoardPanel, colour_of, pace_words
from salespulse.dashboards.common import NOTHING_DUE
from salespulse.models.config import Settings
from salespulse.models.errors import ConfigError
from salespulse.models.targets import iso_week_of
from salespulse.weekly.history import query_prometheus
from salespulse.weekly.review import Samples, fetch_pages
from salespulse.weekly.text import money
from salespulse.web.i18n import DEFAULT_LANGUAGE, N_, translations

ALL_TEAMS = "*"
DEFAULT_DWELL_S = 30
REFRESH_S = 10
_KIOSK_SALT = "salespulse.web.tv-kiosk"
Answers = dict[str, list[tuple[dict[str, str], float]]]


class KioskTokens:
    """Makes and checks the read-only tokens that open a team's TV page without a sign-in."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=_KIOSK_SALT)

    def make(self, team: str) -> str:
        """Return the token of `team`'s TV, or of every team's with ALL_TEAMS."""
        return str(self._serializer.dumps({"tv": team}))

    def opens(self, token: str, team: str) -> bool:
        """Return whether `token` is a valid kiosk token for `team`."""
        try:
            data = self._serializer.loads(token)
        except BadSignature:
            return False
        return isinstance(data, dict) and data.get("tv") in (team, ALL_TEAMS)


def team_selector(team: str) -> str:
    """Return the PromQL label matcher of one team (team ids are identifiers: nothing to escape)."""
    return f'team="{team}"'


async def read_answers(prometheus_url: str, panels: Sequence[BoardPanel], team: str, now: datetime,
                       timeout_s: float = 5.0) -> Answers:
    """Run every query of `panels` for `team` at `now`; return the series by panel key and query index."""
    jobs = [(f"{panel.key}/{n}", query.expr(team_selector(team)))
            for panel in panels for n, query in enumerate(panel.queries)]
    rows = await asyncio.gather(*(asyncio.to_thread(query_prometheus, prometheus_url, expr, now, timeout_s)
                                  for _, expr in jobs))
    return {key: [({k: v for k, v in row["metric"].items() if k != "__name__"}, float(row["value"][1])) for row in found]
            for (key, _), found in zip(jobs, rows)}


def _sum_by(rows: Sequence[tuple[dict[str, str], float]], *keys: str) -> dict[tuple[str, ...], float]:
    summed: dict[tuple[str, ...], float] = defaultdict(float)
    for labels, value in rows:
        summed[tuple(labels.get(key, "") for key in keys)] += value
    return dict(summed)


def _reward_month(months: set[str], now: datetime) -> str | None:
    # As board.reward_month(): this UTC month where the team has one, else last month's.
    this = now.astimezone(UTC).strftime("%Y-%m")
    last = (now.astimezone(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return this if this in months else last if last in months else None


def answers_of_samples(samples: Samples, team: str, now: datetime) -> Answers:
    """Return what each declared query answers for `team`, computed from a worker's /metrics samples.

    The same sums and ratios as the PromQL of `dashboards.board`, for a TV without Prometheus; a
    unit test holds the two against each other in Prometheus' own engine (promtool).
    """
    def rows(name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        return samples.select(name, team=team, **labels)

    def per_rep(values: Mapping[tuple[str, ...], float]) -> list[tuple[dict[str, str], float]]:
        return [({"team": team, "rep": rep}, value) for (rep,), value in values.items()]

    def pace(*keys: str) -> dict[tuple[str, ...], float]:
        expected = rows("salespulse_action_expected")
        targeted = {(lab["rep"], lab["action"]) for lab, _ in expected}
        done = _sum_by([(lab, v) for lab, v in rows("salespulse_actions", window="week")
                        if (lab["rep"], lab["action"]) in targeted], *keys)
        due = _sum_by(expected, *keys)
        # board.pace_or_nothing_due(): done / due where due > 0, NOTHING_DUE where due is 0.
        return {group: (done[group] / total if total > 0 else float(NOTHING_DUE))
                for group, total in due.items() if (total > 0 and group in done) or total == 0}

    def single(values: Mapping[tuple[str, ...], float]) -> list[tuple[dict[str, str], float]]:
        return [({"team": team}, value) for value in values.values()]

    def deals(outcome: str) -> list[tuple[dict[str, str], float]]:
        found = rows("salespulse_deals_decided", outcome=outcome, window=board.DEALS_WINDOW)
        return [({}, sum(v for _, v in found))] if found else []

    def team_money(name: str, *keys: str) -> list[tuple[dict[str, str], float]]:
        # board.team_money(): the team's own series (rep="", or no rep label), summed by `keys`.
        found = [(lab, v) for lab, v in rows(name, window=board.MONEY_WINDOW) if not lab.get("rep")]
        return [(dict(zip(keys, group)), value) for group, value in _sum_by(found, *keys).items()]

    combined = _sum_by(rows("salespulse_deal_decision_seconds_combined", window=board.DEALS_WINDOW), "outcome")
    decided = _sum_by(rows("salespulse_deals_decided", window=board.DEALS_WINDOW), "outcome")
    changes = _sum_by(rows("salespulse_stage_changes"), "rep")
    complete = _sum_by(rows("salespulse_stage_changes", completeness="complete"), "rep")
    month = _reward_month({lab.get("month", "") for lab, _ in rows("salespulse_team_reward_earned")}, now)
    scores = _sum_by(rows("salespulse_review_score_combined"), "subject", "theme")
    reviews = _sum_by(rows("salespulse_reviews"), "subject")
    by_subject: dict[str, list[float]] = defaultdict(list)
    for (subject, _), total in scores.items():
        if reviews.get((subject,), 0) > 0:
            by_subject[subject].append(total / reviews[(subject,)])
    return {
        "team_actions/0": single(_sum_by(rows("salespulse_actions", window="today"))),
        "team_actions/1": single(_sum_by(rows("salespulse_actions", window="week"))),
        "team_pace/0": single(pace()),
        "deals/0": deals("won"),
        "deals/1": deals("lost"),
        "time_to_decision/0": [({"outcome": outcome}, combined[(outcome,)] / count)
                               for (outcome,), count in decided.items() if count > 0 and (outcome,) in combined],
        "actions_today/0": per_rep(_sum_by(rows("salespulse_actions", window="today"), "rep")),
        "actions_week/0": per_rep(_sum_by(rows("salespulse_actions", window="week"), "rep")),
        "weekly_target/0": per_rep(_sum_by(rows("salespulse_action_target"), "rep")),
        "pace/0": per_rep(pace("rep")),
        "checklists/0": per_rep({rep: complete[rep] / total for rep, total in changes.items() if rep in complete}),
        "mystery/0": [] if month is None else [
            ({"team": team, "rep": lab["rep"], "month": month}, v) for lab, v in rows("salespulse_mystery_share", month=month)],
        "team_reward/0": [] if month is None else [
            ({"team": team, "month": month}, v) for _, v in rows("salespulse_team_reward_earned", month=month)],
        "review_score/0": [({"subject": subject}, sum(means) / len(means)) for subject, means in by_subject.items()],
        "sales_velocity/0": team_money("salespulse_sales_velocity", "currency"),
        "win_rate/0": team_money("salespulse_win_rate"),
    }


def decimal(value: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """Return a number with one decimal as `lang` writes it: "3.8", "3,8"."""
    return str(format_decimal(value, "0.0", locale=lang))


def duration_words(seconds: float | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """Return a time to decision as the floor says it in `lang`: "12.3 days", "12,3 dagen", "–"."""
    if seconds is None or math.isnan(seconds):
        return "–"
    gettext = translations(lang).gettext
    if seconds >= 86_400:
        return gettext(N_("%(amount)s days")) % {"amount": decimal(seconds / 86_400, lang)}
    return gettext(N_("%(amount)s hours")) % {"amount": decimal(seconds / 3_600, lang)}


def _one(answers: Answers, key: str, **labels: str) -> float | None:
    for found, value in answers.get(key, []):
        if labels.items() <= found.items():
            return value
    return None


def _count(value: float | None) -> int:
    return 0 if value is None else int(round(value))


def _share(value: float | None, steps: board.Steps, none: str) -> dict[str, Any]:
    if value is None:
        return {"text": none, "colour": "grey"}
    return {"text": f"{value:.0%}".replace("%", " %"), "colour": colour_of(value, steps)}


def _velocity(answers: Answers, currency: str) -> dict[str, Any] | None:
    # The series in the team's configured currency: a currency changed in the configuration
    # leaves the old one in Prometheus for a few minutes.
    per_day = _one(answers, "sales_velocity/0", currency=currency)
    return None if per_day is None else {"per_day": round(per_day), "currency": currency}


def _leaderboard_order(rep: dict[str, Any]) -> tuple[bool, float, int, str]:
    attainment: float | None = rep["attainment"]
    return attainment is None, -(attainment or 0.0), -int(rep["week"]), str(rep["name"])


def tv_view(settings: Settings, team: str, now: datetime, answers: Answers) -> dict[str, Any]:
    """Return what the TV shows for `team`: the JSON of /tv/<team>/figures and the template's context."""
    reward_share = settings.mystery.reward_share
    mystery = board.mystery_panel(reward_share)
    local = now.astimezone(settings.timezone_of(team))
    team_pace, team_pace_colour = pace_words(_one(answers, "team_pace/0"))
    decided = {q.legend.lower(): _count(_one(answers, f"deals/{n}")) for n, q in enumerate(board.DEALS.queries)}
    reps = []
    for rep_id, rep in settings.teams[team].reps.items():
        week = _count(_one(answers, "actions_week/0", rep=rep_id))
        target_value = _one(answers, "weekly_target/0", rep=rep_id)
        pace, pace_colour = pace_words(_one(answers, "pace/0", rep=rep_id))
        reps.append({
            "id": rep_id, "name": rep.name,
            "today": _count(_one(answers, "actions_today/0", rep=rep_id)),
            "week": week,
            "target": None if target_value is None else _count(target_value),
            "pace": {"text": pace, "colour": pace_colour},
            "checklists": _share(_one(answers, "checklists/0", rep=rep_id), board.CHECKLISTS.steps, "–"),
            "mystery": _share(_one(answers, "mystery/0", rep=rep_id), mystery.steps, "–"),
            # The leaderboard's order: attainment of the weekly target, reps without one last.
            "attainment": None if not target_value else week / target_value,
        })
    reps.sort(key=_leaderboard_order)
    reward = answers.get("team_reward/0", [])
    return {
        "team": team, "week": iso_week_of(local.date()), "at": now.timestamp(), "time": local.strftime("%H:%M"),
        "today": _count(_one(answers, "team_actions/0")), "this_week": _count(_one(answers, "team_actions/1")),
        "pace": {"text": team_pace, "colour": team_pace_colour},
        "won": decided["won"], "lost": decided["lost"],
        # Seconds; the page words them in its language (the `duration` filter).
        "decision": {outcome: _one(answers, "time_to_decision/0", outcome=outcome) for outcome in ("won", "lost")},
        "decided_any": bool(answers.get("time_to_decision/0")),
        "reps": reps,
        "reward": ({"text": "earned" if reward[0][1] == 1 else "not yet", "month": reward[0][0].get("month", ""),
                    "colour": "green" if reward[0][1] == 1 else "amber"} if reward else
                   {"text": board.TEAM_REWARD.no_value, "month": "", "colour": "grey"}),
        # Mean scores; the page writes them with its language's decimal sign (the `decimal` filter).
        "reviews": [{"subject": labels.get("subject", ""), "score": value}
                    for labels, value in sorted(answers.get("review_score/0", []), key=lambda found: found[0].get("subject", ""))],
        # Money per day in whole units of the team's currency, worded in the page's language; None: "–".
        "velocity": _velocity(answers, settings.currency_of(team)),
        "win_rate": _share(_one(answers, "win_rate/0"), board.WIN_RATE.steps, board.WIN_RATE.no_value),
    }


# Words the view carries in English and tv_board.html translates (`_(rep.pace.text)`), for the catalogue.
VIEW_WORDS = (N_("no target set"),)


# The panel keys each part of tv.html shows: the parity test holds them against the declaration.
TV_PANELS = {
    "headline": ("team_actions", "team_pace", "deals", "time_to_decision"),
    "reps": ("actions_today", "actions_week", "weekly_target", "pace", "checklists", "mystery"),
    "quality": ("team_reward", "review_score"),
    "money": ("sales_velocity", "win_rate"),
}
# The template filters tv_board.html uses beside gettext: `amount|money(currency, lang)`,
# `seconds|duration(lang)`, `score|decimal(lang)`.
FILTERS: dict[str, Callable[..., str]] = {"money": money, "duration": duration_words, "decimal": decimal}


class TvFigures:
    """Reads the board of a team from Prometheus, or from the workers' /metrics without one."""

    def __init__(self, settings: Settings, prometheus_url: str | None, metrics_urls: Sequence[str] = (),
                 timeout_s: float = 5.0) -> None:
        self.settings = settings
        self.prometheus_url = prometheus_url
        self.metrics_urls = list(metrics_urls)
        self.timeout_s = timeout_s
        # Called with each view read (the newsflash compares them: who reached the weekly target).
        self.listeners: list[Callable[[dict[str, Any], datetime], None]] = []

    async def view(self, team: str, now: datetime) -> tuple[dict[str, Any], str | None]:
        """Return the team's TV view, and what went wrong when its figures are missing."""
        answers: Answers = {}
        problem = None
        reward_share = self.settings.mystery.reward_share
        try:
            if self.prometheus_url:
                answers = await read_answers(self.prometheus_url, board.board(reward_share), team, now, self.timeout_s)
            else:
                pages = await asyncio.to_thread(fetch_pages, self.metrics_urls, self.timeout_s)
                answers = answers_of_samples(Samples(pages), team, now)
        except ConfigError as exc:
            problem = str(exc)
        view = tv_view(self.settings, team, now, answers)
        for listener in self.listeners:
            listener(view, now)
        return view, problem


def rotation(teams: Sequence[str], now: datetime, dwell_s: float) -> tuple[str, float]:
    """Return the team `/tv` shows at `now`, and the seconds until the next one."""
    slot, into = divmod(now.timestamp(), dwell_s)
    return teams[int(slot) % len(teams)], dwell_s - into


def shown_keys(parts: Mapping[str, Sequence[str]] = TV_PANELS) -> set[str]:
    """Return every panel key the TV page shows."""
    return {key for keys in parts.values() for key in keys}
