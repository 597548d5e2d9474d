"""What a team sets up once and changes now and then: `targets`, `rates`, `alerts build`, `dashboards build`."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from salespulse.cli import common
from salespulse.models.config import KafkaSettings
from salespulse.models.errors import ConfigError

if TYPE_CHECKING:
    from salespulse.models.rates import Rate


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


def cmd_rates_apply(args: argparse.Namespace) -> int:
    """Validate a rates file and publish the rates that changed (with --prune, withdraw the others)."""
    from salespulse.models.rates import load_rates
    from salespulse.streams.rates import publish_rates, read_rates, withdraw_rates
    from salespulse.streams.topics import TopicNames, ensure_topics

    settings = common.settings_of(args)
    rates = load_rates(Path(args.file))
    kafka = KafkaSettings.from_env()
    topic = TopicNames(settings.kafka.app_id).rates
    in_file = {rate.key for rate in rates}

    async def apply() -> tuple[list[Rate], dict[str, Rate], list[Rate]]:
        await ensure_topics(kafka, settings.kafka)
        current = (await read_rates(kafka, topic)).rates
        changed = [r for r in rates if current.get(r.key) != r]
        await publish_rates(kafka, topic, changed)
        pruned = [rate for key, rate in current.items() if key not in in_file] if args.prune else []
        await withdraw_rates(kafka, topic, pruned)
        return changed, current, pruned

    changed, before, pruned = asyncio.run(apply())
    print(f"{args.file}: {len(rates)} rates valid; published {len(changed)} changed, {len(rates) - len(changed)} unchanged"
          + (f"; withdrew {len(pruned)} not in the file" if args.prune else ""))
    for rate in changed:
        was = before.get(rate.key)
        print(f"  {rate.currency} to {rate.to} from {rate.effective_from}: {rate.rate}"
              f"{f', was {was.rate}' if was else ', new'}")
    for rate in pruned:
        print(f"  {rate.currency} to {rate.to} from {rate.effective_from}: withdrawn (was {rate.rate})")
    if not args.prune and (stray := sorted(key for key in before if key not in in_file)):
        print(f"  {len(stray)} applied rates are not in the file and stay in force ({', '.join(stray)}); "
              "--prune withdraws them")
    return 0


def rates_text(rates: list[Rate], on: date) -> list[str]:
    """Return the lines of `rates show`: per currency pair, the rate in force on a day."""
    from salespulse.models.rates import in_force

    if not rates:
        return ["no rates have been applied"]
    lines = [f"rates in force on {on}:"]
    for currency, to in sorted({(r.currency, r.to) for r in rates}):
        chosen = in_force(rates, currency, to, on)
        if chosen is None:
            first = min(r.effective_from for r in rates if (r.currency, r.to) == (currency, to))
            lines.append(f"  {currency} to {to}: none in force yet (the first from {first})")
        else:
            lines.append(f"  {currency} to {to}: {chosen.rate} (from {chosen.effective_from})")
    return lines


def cmd_rates_show(args: argparse.Namespace) -> int:
    """Print the rates in force on a day."""
    from salespulse.streams.rates import read_rates
    from salespulse.streams.topics import TopicNames, ensure_topics

    settings = common.settings_of(args)
    kafka = KafkaSettings.from_env()
    try:
        on = date.fromisoformat(args.on) if args.on else date.today()
    except ValueError:
        raise ConfigError(f"--on: {args.on!r} is not a date such as 2026-07-01") from None

    async def read() -> list[Rate]:
        await ensure_topics(kafka, settings.kafka)
        return list((await read_rates(kafka, TopicNames(settings.kafka.app_id).rates)).rates.values())

    print("\n".join(rates_text(asyncio.run(read()), on)))
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

    rates = sub.add_parser("rates", help="exchange rates into the teams' currencies").add_subparsers(
        dest="rates", required=True
    )
    rates_apply = rates.add_parser("apply", help="validate a rates file and publish what changed")
    rates_apply.add_argument("file")
    rates_apply.add_argument(
        "--prune", action="store_true", help="also withdraw applied rates that are not in the file"
    )
    rates_apply.set_defaults(func=cmd_rates_apply)
    rates_show = rates.add_parser("show", help="print the rates in force")
    rates_show.add_argument("--on", metavar="DATE", help="day such as 2026-07-01 (default: today)")
    rates_show.set_defaults(func=cmd_rates_show)

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
