"""Commands that put events on Kafka: `publish`, `import csv`, `dead-letter replay`, `simulate`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from salespulse.cli import common
from salespulse.models.config import KafkaSettings

if TYPE_CHECKING:
    from salespulse.web.gateway.redrive import Redrive


def cmd_publish(args: argparse.Namespace) -> int:
    """Validate a JSONL file and publish it."""
    from salespulse.publisher import publish_file

    settings = common.settings_of(args)
    report = asyncio.run(
        publish_file(Path(args.file), settings, KafkaSettings.from_env(), common.now, show_progress=not args.quiet)
    )
    for bad in report.rejected:
        print(f"{args.file}:{bad.line}: rejected ({bad.reason}): {bad.detail}", file=sys.stderr)
    print(
        f"published {report.accepted} events, rejected {len(report.rejected)} "
        f"(sent to the dead-letter topic), skipped {report.blank} blank lines"
    )
    return 1 if report.rejected else 0


def _print_redrive(report: "Redrive", verb: str) -> int:
    for where, reason, detail in report.problems:
        print(f"{where}: not sent ({reason}): {detail}", file=sys.stderr)
    print(f"{verb} {report.sent} events, {len(report.problems)} not sent, {report.ignored} ignored by the mapping")
    return 1 if report.problems else 0


def cmd_dead_letter_replay(args: argparse.Namespace) -> int:
    """Send dead-letter records of some reasons again, mapped with the configuration as it is now."""
    from salespulse.web.gateway.redrive import replay_dead_letters

    report = asyncio.run(
        replay_dead_letters(common.settings_of(args), KafkaSettings.from_env(), common.now, set(args.reason), source=args.source)
    )
    return _print_redrive(report, "replayed")


def cmd_import_csv(args: argparse.Namespace) -> int:
    """Import a vendor's CSV export of history."""
    from salespulse.web.gateway.redrive import import_csv

    report = asyncio.run(
        import_csv(Path(args.file), args.source, common.settings_of(args), KafkaSettings.from_env(), common.now, show_progress=not args.quiet)
    )
    return _print_redrive(report, "imported")


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the simulated sales floor."""
    from salespulse.simulator import run_simulation

    sent = asyncio.run(
        run_simulation(
            common.settings_of(args),
            KafkaSettings.from_env(),
            rate=args.rate,
            backfill_days=args.backfill_days,
            duration_s=args.duration,
            seed=args.seed,
            now=common.now(),
            always_open=args.always_open,
        )
    )
    print(f"published {sent} simulated events")
    return 0


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this group's commands to the parser."""
    publish = sub.add_parser("publish", help="validate a JSONL file of events and publish it")
    publish.add_argument("file")
    publish.add_argument("--quiet", action="store_true", help="no progress bar")
    publish.set_defaults(func=cmd_publish)

    dead_letter = sub.add_parser("dead-letter", help="the dead-letter topic").add_subparsers(dest="dead_letter", required=True)
    replay = dead_letter.add_parser("replay", help="send records of the given reasons again, e.g. after a mapping fix")
    replay.add_argument("--reason", action="append", required=True, help="a reason to replay, e.g. unmapped_owner (repeatable)")
    replay.add_argument("--source", choices=["hubspot", "pipedrive", "aircall", "salesforce", "generic"],
                        help="only records the gateway received from this source")
    replay.set_defaults(func=cmd_dead_letter_replay)

    importer = sub.add_parser("import", help="import history").add_subparsers(dest="import_kind", required=True)
    import_csv = importer.add_parser("csv", help="import a vendor's CSV export through the gateway's mapping")
    import_csv.add_argument("file", help="the CSV file")
    import_csv.add_argument("--source", required=True, choices=["hubspot", "pipedrive", "aircall", "generic"])
    import_csv.add_argument("--quiet", action="store_true", help="no progress bar")
    import_csv.set_defaults(func=cmd_import_csv)

    simulate = sub.add_parser("simulate", help="publish a simulated sales floor")
    simulate.add_argument("--rate", type=float, default=2.0, help="live events per second for the floor")
    simulate.add_argument("--backfill-days", type=float, default=14.0, help="days of history to publish first")
    simulate.add_argument("--duration", type=float, help="seconds of live events (default: until stopped)")
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--always-open", action="store_true", help="live events outside office hours too")
    simulate.set_defaults(func=cmd_simulate)
