"""`salespulse worker`, and what integrators read from the code: `schema`, `metrics`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from salespulse.cli import common
from salespulse.models.config import KafkaSettings


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the Faust worker with the /metrics endpoint."""
    from salespulse.worker.allocator import fix_thresholds
    from salespulse.models.web_config import load_web_config
    from salespulse.worker.pipeline import PipelineWorker, build_pipeline
    from salespulse.streams.topics import ensure_topics

    fix_thresholds()
    settings = common.settings_of(args)
    kafka = KafkaSettings.from_env()
    web = load_web_config(args.web_config) if args.web_config else None
    pipeline = build_pipeline(
        settings, kafka, port=args.port, bind=args.bind, data_dir=args.data_dir, instance_id=args.instance_id, web=web
    )
    pipeline.engine.use_local_copy(Path(pipeline.app.conf.tabledir) / "local-copy")
    asyncio.run(ensure_topics(kafka, settings.kafka, pipeline.changelog_topics()))
    worker = PipelineWorker(pipeline.app, loglevel=args.loglevel, quiet=True)
    worker.execute_from_commandline()
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Write the JSON Schema of every event type."""
    from salespulse.models.events import json_schemas

    schemas = json_schemas()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, schema in schemas.items():
            (out / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
            print(out / f"{name}.schema.json")
    else:
        print(json.dumps(schemas, indent=2))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    """Print the reference table of exported metrics."""
    from salespulse.exporters.metrics import metrics_reference

    print(metrics_reference(), end="")
    return 0


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this group's commands to the parser."""
    worker = sub.add_parser("worker", help="run the stream worker and its /metrics endpoint")
    worker.add_argument("--port", type=int, help="metrics port (default: metrics_port, 6066)")
    worker.add_argument(
        "--bind", help="address to listen on (default: metrics_bind, 127.0.0.1; 0.0.0.0 for every interface)"
    )
    worker.add_argument("--data-dir", help="folder for the worker's local files")
    worker.add_argument(
        "--instance-id",
        default=os.environ.get("SALESPULSE_INSTANCE_ID") or None,
        help="a stable name for this worker among the group's (env SALESPULSE_INSTANCE_ID), e.g. the pod "
        "name of a StatefulSet: a restart under the same name within 10 s takes its partitions back "
        "without a rebalance; unique per running worker",
    )
    worker.add_argument(
        "--web-config",
        help="web configuration file for /metrics: TLS and basic auth, in the Prometheus exporter-toolkit format "
        "(see docs/cli.md)",
    )
    worker.add_argument("--loglevel", default="warn", choices=["crit", "error", "warn", "info", "debug"])
    worker.set_defaults(func=cmd_worker)

    schema = sub.add_parser("schema", help="write the JSON Schema of every event type")
    schema.add_argument("--out", help="folder to write <type>.schema.json files into (default: stdout)")
    schema.set_defaults(func=cmd_schema)

    metrics = sub.add_parser("metrics", help="print the reference table of exported metrics")
    metrics.set_defaults(func=cmd_metrics)
