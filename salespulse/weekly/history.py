"""Weeks gone by: each rep's weekly action counts, and the targets then in force.

The worker serves only the team's current ISO week and the one before on /metrics
(`salespulse_actions`, windows `week` and `last_week`). Older weeks come from two places:

- the worker's own weekly totals (`rep_weeks_to_count`, one per rep, action and team-local ISO
  week, kept for `retention.weekly_days`), read from the table's changelog. They hold every week
  since the worker first counted an activity of the team, back-filled and imported weeks
  included; a week held there without a rep's action is a count of 0;
- Prometheus, for what the worker no longer holds (or held only in part: a worker upgraded
  mid-week). The count of week w for a (rep, action) is the highest value of
  - the `week` window, sampled during w: the count as it grew through the week, and
  - the `last_week` window, sampled during the week after w (up to now): the closed week,
    including activities logged after it ended,
  since a week's count only grows. Week bounds are the team's local Mondays 00:00, so a week
  with a clock change lasts 167 or 169 hours. Series of several workers or instances are merged
  with `max`, never summed: a rep's counts come from the one worker that holds the rep, and a
  rep who moved between workers during a week leaves two series that both hold the count so far.

    # 2026-W46 of a team in Amsterdam: 8 Nov 23:00 UTC to 15 Nov 23:00 UTC; the week after ends 22 Nov
    max by (rep, action) (
        max_over_time(salespulse_actions{team="nl", window="week"}[604799999ms] @ 1794783599.999)
      or
        max_over_time(salespulse_actions{team="nl", window="last_week"}[604799999ms] @ 1795388399.999)
    )

Where both hold a week, the higher count stands (a count only grows). A week neither holds is
unknown (None), not zero.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from salespulse.exporters.metrics import ACTIONS
from salespulse.models.config import KafkaSettings
from salespulse.models.errors import ConfigError
from salespulse.models.targets import TargetSet, in_force, iso_week_of, week_start
from salespulse.streams.changelogs import changelog_topic, read_table
from salespulse.streams.kpi.actions import WEEKS_TABLE, split_week_key

# (rep, action) -> count in the week
WeekCounts = dict[tuple[str, str], int]


def week_bounds_of(week: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the team-local Monday 00:00 of an ISO week and of the week after it."""
    monday = week_start(week)
    return (
        datetime.combine(monday, time(), tzinfo=tz),
        datetime.combine(monday + timedelta(days=7), time(), tzinfo=tz),
    )


def weeks_up_to(week: str, count: int) -> list[str]:
    """Return the `count` ISO weeks before `week` and `week` itself, oldest first."""
    monday = week_start(week)
    return [iso_week_of(monday - timedelta(days=7 * n)) for n in range(count, -1, -1)]


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def week_query(team: str, week: str, tz: ZoneInfo, now: datetime) -> str | None:
    """Return the PromQL of a team's counts in `week` by rep and action; None for a week not begun."""
    start, end = week_bounds_of(week, tz)
    if start >= now:
        return None
    selector = f'{ACTIONS.sample_name}{{team="{team}", window="%s"}}'
    # Ranges and evaluation times in whole milliseconds, the resolution of Prometheus' clock.
    until = min(_ms(end.timestamp()), _ms(now.timestamp())) - 1
    parts = [f"max_over_time({selector % 'week'}[{until - _ms(start.timestamp())}ms] @ {until / 1000:.3f})"]
    if end < now:
        next_end = week_bounds_of(iso_week_of(end.date()), tz)[1]
        after = min(_ms(next_end.timestamp()), _ms(now.timestamp())) - 1
        if after > _ms(end.timestamp()):
            parts.append(f"max_over_time({selector % 'last_week'}[{after - _ms(end.timestamp())}ms] @ {after / 1000:.3f})")
    return "max by (rep, action) (" + " or ".join(parts) + ")"


def query_prometheus(base_url: str, promql: str, at: datetime, timeout_s: float = 30.0) -> list[dict]:
    """Run an instant query; return its vector; an unreachable or failing server is the user's error."""
    url = f"{base_url.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": promql, "time": f"{at.timestamp():.3f}"})
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (the user's URL)
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise ConfigError(f"--prometheus-url {base_url}: the query failed ({exc.code}): {detail}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--prometheus-url {base_url}: cannot query Prometheus: {exc}") from None
    if body.get("status") != "success" or body["data"]["resultType"] != "vector":
        raise ConfigError(f"--prometheus-url {base_url}: unexpected answer: {str(body)[:300]}")
    result: list[dict] = body["data"]["result"]
    return result


def read_week_counts(base_url: str, team: str, weeks: Iterable[str], tz: ZoneInfo, now: datetime) -> dict[str, WeekCounts]:
    """Return each week's counts by (rep, action); a week Prometheus has nothing of maps to {}."""
    counts: dict[str, WeekCounts] = {}
    for week in weeks:
        promql = week_query(team, week, tz, now)
        rows = query_prometheus(base_url, promql, now) if promql else []
        counts[week] = {
            (row["metric"]["rep"], row["metric"]["action"]): int(round(float(row["value"][1]))) for row in rows
        }
    return counts


def week_totals(table: dict, team: str) -> dict[str, WeekCounts]:
    """Return a team's weekly totals by week and (rep, action), from the weekly-totals table."""
    counts: dict[str, WeekCounts] = {}
    for key, value in table.items():
        if not isinstance(key, str) or key.count("|") != 3 or not isinstance(value, int):
            continue  # not a key of this table's making; nothing to count
        key_team, rep, action, week = split_week_key(key)
        if key_team == team:
            counts.setdefault(week, {})[(rep, action)] = value
    return counts


async def read_week_totals(kafka: KafkaSettings, app_id: str, team: str) -> dict[str, WeekCounts]:
    """Return a team's weekly totals as the worker holds them, read from the table's changelog."""
    return week_totals(await read_table(kafka, changelog_topic(app_id, WEEKS_TABLE)), team)


def held_weeks(totals: dict[str, WeekCounts], weeks: Iterable[str]) -> frozenset[str]:
    """Return the weeks among `weeks` that the worker's totals cover: from the first it holds on.

    ISO week labels YYYY-Www sort in time order.
    """
    if not totals:
        return frozenset()
    first = min(totals)
    return frozenset(week for week in weeks if week >= first)


def merged(*sources: dict[str, WeekCounts]) -> dict[str, WeekCounts]:
    """Return the counts of every source, the highest where several hold the same count."""
    counts: dict[str, WeekCounts] = {}
    for source in sources:
        for week, found in source.items():
            into = counts.setdefault(week, {})
            for key, value in found.items():
                into[key] = max(value, into.get(key, value))
    return counts


@dataclass(frozen=True)
class History:
    """What the report knows of past weeks: counts from the worker's totals and Prometheus, and
    the target sets."""

    counts: dict[str, WeekCounts]
    target_sets: Sequence[TargetSet]
    source: str | None  # where the counts came from, in words; None: nowhere
    held: frozenset[str] = frozenset()  # weeks the worker's totals cover: a missing count is 0

    def count(self, week: str, rep: str, action: str) -> int | None:
        """Return the rep's count of the action in the week, None when no source holds the week."""
        found = self.counts.get(week, {}).get((rep, action))
        return 0 if found is None and week in self.held else found

    def target(self, team: str, week: str, rep: str, action: str) -> int | None:
        """Return the rep's target for the action in force in the week."""
        chosen = in_force(self.target_sets, team, week_start(week))
        return chosen.target_for(rep, action) if chosen else None
