"""What a team sets up once and changes now and then: `targets`, `alerts build`, `dashboards build`."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path

from salespulse.cli import common
from salespulse.models.config import KafkaSettings


def cmd_targets_apply(args: argparse.Namespace) -> int:
    """Validate a targets file and publish the sets that changed."""
    from salespulse.models.targets import load_targets
    from salespulse.streams.targets import publish_targets, read_targets
    from salespulse.streams.topics import TopicNames, ensure_topics

    settings = common.settings_of(args)
    sets = load_targets(Path(args.file), settings)
    kafka = KafkaSettings.from_env()
    topic = TopicNames(settings.kafka.app_id).targets

    async def apply() -> int:
        await ensure_topics(kafka, settings.kafka)
        current = (await read_targets(kafka, topic)).sets
        changed = [s for s in sets if current.get(s.key) != s]
        await publish_targets(kafka, topic, changed)
        return len(changed)

    changed = asyncio.run(apply())
    print(f"{args.file}: {len(sets)} target sets valid; published {changed} changed, {len(sets) - changed} unchanged")
    return 0


def cmd_targets_show(args: argparse.Namespace) -> int:
    """Print the targets in force in a week."""
    from salespulse.models.targets import in_force, iso_week_of
    from salespulse.streams.targets import read_targets
    from salespulse.streams.topics import TopicNames, ensure_topics

    settings = common.settings_of(args)
    kafka = KafkaSettings.from_env()
    week = args.week or iso_week_of(date.today())
    monday = common.week_monday(week)

    async def read() -> list:
        await ensure_topics(kafka, settings.kafka)
        return list((await read_targets(kafka, TopicNames(settings.kafka.app_id).targets)).sets.values())

    sets = asyncio.run(read())
    teams = sorted({s.team for s in sets})
    if not teams:
        print("no targets have been applied")
    for team in teams:
        chosen = in_force(sets, team, monday)
        if chosen is None:
            print(f"{team}: no targets in force in {week}")
            continue
        print(f"{team}: in force in {week} (from {chosen.effective_from})")
        for action, value in sorted(chosen.actions.items()):
            print(f"  {action}: {value}")
        for rep, overrides in sorted(chosen.reps.items()):
            for action, value in sorted(overrides.items()):
                print(f"  {rep} {action}: {value}")
    return 0


def cmd_alerts_build(args: argparse.Namespace) -> int:
    """Write the Prometheus alert rules for the configuration."""
    from salespulse.exporters.alert_rules import render_rules

    text = render_rules(common.settings_of(args).alerts)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(args.out)
    else:
        print(text, end="")
    return 0


def cmd_dashboards_build(args: argparse.Namespace) -> int:
    """Write the Grafana dashboards, provisioning files and playlist; print the kiosk URLs."""
    from salespulse.dashboards.build import kiosk_urls, write_provisioning

    settings = common.settings_of(args)
    written = write_provisioning(Path(args.out), settings, prometheus_url=args.prometheus_url)
    for path in written:
        print(path)
    print("\nOn a TV (kiosk mode, no variable bar):")
    for title, url in kiosk_urls(settings, args.grafana_url):
        print(f"  {title}: {url}")
    return 0


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this group's commands to the parser."""
    targets = sub.add_parser("targets", help="weekly action targets").add_subparsers(dest="targets", required=True)
    apply = targets.add_parser("apply", help="validate a targets file and publish what changed")
    apply.add_argument("file")
    apply.set_defaults(func=cmd_targets_apply)
    show = targets.add_parser("show", help="print the targets in force")
    show.add_argument("--week", help="ISO week such as 2026-W48 (default: this week)")
    show.set_defaults(func=cmd_targets_show)

    alerts = sub.add_parser("alerts", help="alert rules").add_subparsers(dest="alerts", required=True)
    build = alerts.add_parser("build", help="write the Prometheus rules file for the configuration")
    build.add_argument("--out", help="file to write (default: stdout)")
    build.set_defaults(func=cmd_alerts_build)

    dashboards = sub.add_parser("dashboards", help="Grafana dashboards").add_subparsers(dest="dashboards", required=True)
    dash_build = dashboards.add_parser("build", help="write dashboards and Grafana provisioning for the configuration")
    dash_build.add_argument("--out", default="grafana", help="folder to write into (default: grafana)")
    dash_build.add_argument("--prometheus-url", default="http://prometheus:9090", help="Prometheus URL for the data source")
    dash_build.add_argument(
        "--grafana-url", default="http://localhost:3000", help="Grafana's address in the printed kiosk URLs"
    )
    dash_build.set_defaults(func=cmd_dashboards_build)
