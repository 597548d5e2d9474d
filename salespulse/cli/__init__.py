"""The `salespulse` command line, one module per group of commands:

    worker    worker, schema, metrics
    events    publish, import csv, dead-letter replay, simulate
    web       web (and web link), web-password, gateway
    setup     targets apply|show, rates apply|show, alerts build, dashboards build
    review    report weekly, mystery sample
    demo      demo, dev-kafka
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from aiokafka.errors import KafkaError

from salespulse.cli import demo, events, review, setup, web, worker
from salespulse.models.config import KafkaSettings
from salespulse.models.errors import SalespulseError


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="salespulse", description="The open, self-hosted KPI pipeline for sales teams.")
    parser.add_argument("--config", help="YAML configuration file (default: $SALESPULSE_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (worker, events, web, demo, setup, review):
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user mistakes end with a message and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SalespulseError as exc:
        print(f"salespulse: error: {exc}", file=sys.stderr)
        return 2
    except KafkaError as exc:
        servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", KafkaSettings().bootstrap_servers)
        print(f"salespulse: error: Kafka at {servers} (KAFKA_BOOTSTRAP_SERVERS): {exc}", file=sys.stderr)
        return 3
