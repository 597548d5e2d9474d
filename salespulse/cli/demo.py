"""`demo` (a broker, the worker, the simulated floor, the web pages and Prometheus together) and `dev-kafka`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from aiokafka.errors import KafkaError

from salespulse.cli import common
from salespulse.cli.web import WEB_PORT
from salespulse.models.config import KafkaSettings, Settings, load_settings


DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo.yaml"


def cmd_dev_kafka(args: argparse.Namespace) -> int:
    """Run a local KRaft broker in the foreground."""
    from salespulse.kafka.launcher import LocalKafka

    broker = LocalKafka(port=args.port, data_dir=Path(args.data_dir) if args.data_dir else None)
    if broker.data_dir:
        broker.data_dir.mkdir(parents=True, exist_ok=True)
    broker.start()
    print(broker.bootstrap, flush=True)
    print(f"Apache Kafka is up after {broker.startup_s:.1f} s; Ctrl-C stops it.", file=sys.stderr, flush=True)
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        assert broker.process is not None
        broker.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


async def _demo_broker_ready(settings: Settings, kafka: KafkaSettings, timeout_s: float = 60.0) -> None:
    """Make a fresh broker ready before the worker, `targets apply` and `rates apply` meet it half-made.

    On a broker seconds old, three things are still being made, and the Kafka clients log each at
    ERROR while they wait for it: a topic's partition leader (`targets apply`'s fetch of offsets),
    the group coordinator (the `__consumer_offsets` topic, made on the first lookup) and Faust's
    leader-assignor topic (subscribed to before its creation has reached the metadata). Here they
    are made, and waited for, first.
    """
    from aiokafka import AIOKafkaClient
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.client import CoordinationType
    from aiokafka.errors import TopicAlreadyExistsError

    from salespulse.streams.topics import TopicNames, ensure_topics, kafka_client_options

    await ensure_topics(kafka, settings.kafka)
    app_id = settings.kafka.app_id
    # Faust's LeaderAssignor topic, as Faust declares it: one partition, the app's replication factor.
    leader_topic = f"{app_id}-__assignor-__leader"
    admin = AIOKafkaAdminClient(**kafka_client_options(kafka))  # type: ignore[arg-type]
    await admin.start()
    try:
        if leader_topic not in set(await admin.list_topics()):
            try:
                await admin.create_topics([NewTopic(leader_topic, 1, settings.kafka.replication_factor)])
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    names = TopicNames(app_id)
    topics = {*names.all(), *names.compacted(), leader_topic}
    client = AIOKafkaClient(**kafka_client_options(kafka))  # type: ignore[arg-type]
    await client.bootstrap()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            cluster = await client.fetch_all_metadata()
            led = all(topic in cluster.topics() and cluster.available_partitions_for_topic(topic)
                      == cluster.partitions_for_topic(topic) for topic in topics)
            try:
                # The first lookup makes __consumer_offsets; it answers once that has a leader.
                await client.coordinator_lookup(CoordinationType.GROUP, app_id)
            except KafkaError:
                led = False
            if led:
                return
            await asyncio.sleep(0.2)
    finally:
        await client.close()


def _install_prometheus() -> str | None:
    """Install Debian's prometheus package as .ci/run does, when running as root with apt-get; else say how."""
    import shutil

    if shutil.which("prometheus"):
        return shutil.which("prometheus")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("Prometheus is not installed: `sudo apt-get install prometheus` (or see https://prometheus.io/download/) "
              "to see graphs and alerts beside the TV", flush=True)
        return None
    print("installing Debian's prometheus package (apt-get), as .ci/run does", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"]):
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, env=env)
    # The package starts a Prometheus service of its own on :9090; the demo runs its own.
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "stop", "prometheus"], check=False, capture_output=True)
    return shutil.which("prometheus")


def _demo_prometheus(settings: Settings, metrics_port: int, port: int, data_dir: Path) -> subprocess.Popen[bytes] | None:
    """Start Prometheus on loopback, scraping the demo worker with the generated rules; None without it."""
    import yaml

    from salespulse.exporters.alert_rules import render_rules

    binary = _install_prometheus()
    if binary is None:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    rules = data_dir / "salespulse.rules.yml"
    rules.write_text(render_rules(settings.alerts))
    config = data_dir / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                # The interval of deploy/prometheus/prometheus.yml; the job name the dashboards read.
                "global": {"scrape_interval": "10s", "evaluation_interval": "10s"},
                "rule_files": [str(rules)],
                "scrape_configs": [
                    {"job_name": "salespulse", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}
                ],
            }
        )
    )
    log = open(data_dir / "prometheus.log", "wb")
    return subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={data_dir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _stop_as_on_ctrl_c(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_demo(args: argparse.Namespace) -> int:
    """Run broker, worker, simulator and the web pages together, and Prometheus when it is installed."""
    import secrets

    # `kill`, a closed terminal or a service manager stops the demo as Ctrl-C does: its children
    # and its broker with it, not left running on their ports.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _stop_as_on_ctrl_c)

    from salespulse.kafka.launcher import LocalKafka
    from salespulse.web.links import SECRET_ENV, SignInLinks, web_secret
    from salespulse.web.people import find_person

    config = args.config or os.environ.get("SALESPULSE_CONFIG") or str(DEMO_CONFIG)
    settings = load_settings(config)
    team = next(iter(settings.teams), "<team>")
    # The demo's own secrets where the environment gives none: its links and hooks live as long as it does.
    demo_secrets = {SECRET_ENV: secrets.token_urlsafe(32)}
    if settings.sources.generic is not None:
        demo_secrets[settings.sources.generic.secret_env] = secrets.token_urlsafe(24)
    with LocalKafka() as broker:
        env = {**demo_secrets, **os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "SALESPULSE_CONFIG": config}
        asyncio.run(_demo_broker_ready(settings, KafkaSettings(bootstrap_servers=broker.bootstrap)))
        base = [sys.executable, "-m", "salespulse.cli"]
        worker = subprocess.Popen(
            base + ["worker", "--port", str(args.port), "--data-dir", str(broker.data_dir / "worker")], env=env
        )
        if config == str(DEMO_CONFIG):
            # The demo floor's targets, so the wallboard shows pace from the start, and its exchange rates.
            subprocess.run(base + ["targets", "apply", str(DEMO_CONFIG.parent / "targets.yaml")], env=env, check=True)
            subprocess.run(base + ["rates", "apply", str(DEMO_CONFIG.parent / "rates.yaml")], env=env, check=True)
        simulator = subprocess.Popen(
            base + ["simulate", "--rate", str(args.rate), "--always-open"], env=env
        )
        prometheus = (
            None
            if args.no_prometheus
            else _demo_prometheus(settings, args.port, args.prometheus_port, broker.data_dir / "prometheus")
        )
        web_url = f"http://127.0.0.1:{args.web_port}"
        # The TV page asks Prometheus the wallboard's queries, when there is one.
        tv_source = ["--prometheus-url", f"http://127.0.0.1:{args.prometheus_port}"] if prometheus is not None else []
        web = subprocess.Popen(
            base + ["web", "--port", str(args.web_port), "--metrics-url", f"http://127.0.0.1:{args.port}/metrics",
                    *tv_source, "--loglevel", "warning"],
            env=env,
        )
        links = SignInLinks(settings, web_secret(env))
        people = [
            person for team_id, spec in list(settings.teams.items())[:1]
            for person in [find_person(settings, team_id, next(iter(spec.reps), "")),
                           find_person(settings, team_id, next(iter(spec.managers), ""))]
            if person is not None
        ]
        # The demo's own secret is shown so that more links can be made; one from the environment is not.
        shown_secret = f"${SECRET_ENV}" if SECRET_ENV in os.environ else env[SECRET_ENV]
        signins = "".join(
            f"    {person.name} ({person.role}): {web_url}/signin?token={links.make(person)}\n" for person in people
        )
        if prometheus is not None:
            url = f"http://127.0.0.1:{args.prometheus_port}"
            graphs = (
                f"  Prometheus: {url}  (scrapes the worker every 10 s with the generated alert rules)\n"
                f"    pacing alerts, pending then firing: {url}/alerts\n"
                f"    a graph: {url}/graph?g0.expr=salespulse_action_pace_ratio&g0.tab=0\n"
            )
        else:
            graphs = "  Prometheus: not started (install Debian's `prometheus` package to see graphs and alerts)\n"
        week = common.now().strftime("%G-W%V")
        trends = f" --prometheus-url http://127.0.0.1:{args.prometheus_port}" if prometheus is not None else ""
        tv = (f"  TV:       {web_url}/tv/{team}  (every team in turn: {web_url}/tv; open on this machine, "
              f"or with a link from `web link --tv {team}`)\n")
        print(
            f"\nSalespulse demo\n{tv}  Kafka:    {broker.bootstrap}\n"
            f"  metrics:  http://127.0.0.1:{args.port}/metrics\n  config:   {config}\n"
            f"  pages:    {web_url}/  (My week, reviews, mystery checks; each link signs in once, within 24 h)\n"
            f"{signins}"
            f"    more links, in another shell:\n"
            f"      {SECRET_ENV}={shown_secret} SALESPULSE_CONFIG={config} \\\n"
            f"        {sys.argv[0]} web link <team>/<person> --base-url {web_url}\n{graphs}"
            "The same wallboard in Grafana: `docker compose up` brings it, with the dashboards\n"
            "provisioned, at http://localhost:3000.\n"
            "The weekly review of a team, in another shell once the floor is back-filled:\n"
            f"  KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap} SALESPULSE_CONFIG={config} \\\n"
            f"    {sys.argv[0]} report weekly --team {team} --week {week} "
            f"--metrics-url http://127.0.0.1:{args.port}/metrics{trends}\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        children = [web, simulator, worker] + ([prometheus] if prometheus is not None else [])
        try:
            while worker.poll() is None and simulator.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            for proc in children:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in children:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 0


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this group's commands to the parser."""
    demo = sub.add_parser(
        "demo", help="run a local broker, the worker, the simulator and, when installed, Prometheus together"
    )
    demo.add_argument("--port", type=int, default=6066)
    demo.add_argument("--rate", type=float, default=2.0)
    demo.add_argument("--web-port", type=int, default=WEB_PORT, help=f"port of salespulse web (default {WEB_PORT})")
    demo.add_argument("--prometheus-port", type=int, default=9090, help="port of the local Prometheus (default 9090)")
    demo.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus even when installed")
    demo.set_defaults(func=cmd_demo)

    dev_kafka = sub.add_parser("dev-kafka", help="run a local Apache Kafka broker (KRaft) on loopback")
    dev_kafka.add_argument("--port", type=int, help="listener port (default: a free one)")
    dev_kafka.add_argument("--data-dir", help="keep broker storage here instead of a temporary folder")
    dev_kafka.set_defaults(func=cmd_dev_kafka)
