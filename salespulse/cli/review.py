"""The weekly review and the month's mystery draw: `report weekly`, `mystery sample`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from salespulse.cli import common
from salespulse.models.config import KafkaSettings
from salespulse.models.errors import ConfigError


def cmd_mystery_sample(args: argparse.Namespace) -> int:
    """Print the month's deal draw as a checklist for the mystery checker."""
    from salespulse.mystery_sample import check_team_and_month, read_active_deals, render_sample

    settings = common.settings_of(args)
    check_team_and_month(settings, args.team, args.month)
    active = asyncio.run(read_active_deals(settings, KafkaSettings.from_env(), args.team, args.month))
    print(render_sample(settings, args.team, args.month, active), end="")
    return 0


def cmd_report_weekly(args: argparse.Namespace) -> int:
    """Write a team's weekly review as Markdown and HTML."""
    from salespulse.weekly.page import render_html
    from salespulse.weekly.text import render_markdown
    from salespulse.streams.topics import ensure_topics
    from salespulse.weekly.review import WeeklyReview, gather_review, output_paths

    settings = common.settings_of(args)
    settings.require_team(args.team)
    common.week_monday(args.week)
    if not 1 <= args.trend_weeks <= 26:
        raise ConfigError(f"--trend-weeks: {args.trend_weeks} is not between 1 and 26")
    now = common.now()
    kafka = KafkaSettings.from_env()

    async def gather() -> "WeeklyReview":
        await ensure_topics(kafka, settings.kafka)
        return await gather_review(
            settings, kafka, args.team, args.week, now,
            args.metrics_url or [f"http://127.0.0.1:{settings.metrics_port}/metrics"],
            args.prometheus_url, args.trend_weeks,
        )

    review = asyncio.run(gather())
    if review.history_source is None:
        print("the worker holds no weekly totals of the team and no --prometheus-url was given: "
              "the review holds only the weeks /metrics holds, without older trends", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    markdown, page = output_paths(out, args.team, args.week)
    markdown.write_text(render_markdown(review), encoding="utf-8")
    page.write_text(render_html(review), encoding="utf-8")
    print(f"wrote {markdown} and {page} ({len(review.reps)} reps)")
    return 0


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this group's commands to the parser."""
    mystery = sub.add_parser("mystery", help="monthly mystery checks").add_subparsers(dest="mystery", required=True)
    sample = mystery.add_parser("sample", help="draw the month's deals for the checker and print the checklist")
    sample.add_argument("--team", required=True)
    sample.add_argument("--month", required=True, help="the month checked, e.g. 2026-12")
    sample.set_defaults(func=cmd_mystery_sample)

    report = sub.add_parser("report", help="reports").add_subparsers(dest="report", required=True)
    weekly = report.add_parser("weekly", help="write a team's weekly review as Markdown and HTML")
    weekly.add_argument("--team", required=True)
    weekly.add_argument("--week", required=True, help="the team's current or last ISO week, e.g. 2026-W48")
    weekly.add_argument(
        "--metrics-url", action="append", help="a worker's /metrics URL; repeat for each worker (default: this host's)"
    )
    weekly.add_argument(
        "--prometheus-url",
        help="Prometheus that scrapes the workers, e.g. http://127.0.0.1:9090: the weeks before last week "
        "and the trends come from there (without it the review holds only this week and last week)",
    )
    weekly.add_argument(
        "--trend-weeks", type=int, default=8, help="weeks before the reviewed one in the trends (default: 8)"
    )
    weekly.add_argument("--out", default=".", help="folder to write into (default: the current one)")
    weekly.set_defaults(func=cmd_report_weekly)
