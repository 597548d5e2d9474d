"""The measured figures the pages show, from the worker's /metrics or from Prometheus.

Either way they come back as `Samples` (the weekly review's reader), so a page selects
`salespulse_actions{rep=..., window="week"}` the same way whichever the source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from salespulse.models.errors import ConfigError
from salespulse.weekly.history import query_prometheus
from salespulse.weekly.review import Samples, fetch_pages

# The families a page shows; one Prometheus query fetches them all for a team.
PAGE_FAMILIES = (
    "salespulse_actions",
    "salespulse_action_target",
    "salespulse_action_expected",
    "salespulse_action_pace_ratio",
    "salespulse_self_reported_actions",
    "salespulse_self_report_submitted",
    "salespulse_reviews",
    "salespulse_review_score_avg",
    "salespulse_mystery_points",
    "salespulse_mystery_points_max",
    "salespulse_team_reward_earned",
)


def team_query(team: str) -> str:
    """Return the PromQL that selects the page families of one team."""
    names = "|".join(PAGE_FAMILIES)
    return f'{{__name__=~"{names}", team="{team}"}}'


def samples_of_vector(rows: Sequence[dict]) -> Samples:
    """Return a Prometheus instant vector as Samples, without the scrape's job and instance labels."""
    samples = Samples(())
    for row in rows:
        labels = {k: v for k, v in row["metric"].items() if k not in ("__name__", "job", "instance")}
        samples.by_name[row["metric"]["__name__"]].append((labels, float(row["value"][1])))
    return samples


class Figures:
    """Reads a team's figures from the workers' /metrics pages, or from Prometheus when given."""

    def __init__(self, metrics_urls: Sequence[str], prometheus_url: str | None = None, timeout_s: float = 5.0) -> None:
        self.metrics_urls = list(metrics_urls)
        self.prometheus_url = prometheus_url
        self.timeout_s = timeout_s

    async def read(self, team: str, now: datetime) -> tuple[Samples, str | None]:
        """Return the team's samples, and what went wrong when they are missing (shown on the page)."""
        try:
            if self.prometheus_url:
                rows = await asyncio.to_thread(query_prometheus, self.prometheus_url, team_query(team), now, self.timeout_s)
                return samples_of_vector(rows), None
            pages = await asyncio.to_thread(fetch_pages, self.metrics_urls, self.timeout_s)
            return Samples(pages), None
        except ConfigError as exc:
            return Samples(()), str(exc)
