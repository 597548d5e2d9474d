"""The `salespulse` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aiokafka.errors import KafkaError

from salespulse.models.config import KafkaSettings, Settings, load_settings
from salespulse.models.errors import ConfigError, SalespulseError

if TYPE_CHECKING:
    from salespulse.gateway.redrive import Redrive

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"


def _now() -> datetime:
    return datetime.now(UTC)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _week_monday(week: str) -> date:
    """Return the Monday of a --week argument, or refuse it."""
    from salespulse.models.targets import week_start

    try:
        if not re.fullmatch(r"\d{4}-W\d{2}", week):
            raise ValueError(week)
        return week_start(week)
    except ValueError:
        raise ConfigError(f"--week: {week!r} is not an ISO week such as 2026-W48") from None


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the Faust worker with the /metrics endpoint."""
    from salespulse.allocator import fix_thresholds
    from salespulse.models.web_config import load_web_config
    from salespulse.pipeline import PipelineWorker, build_pipeline
    from salespulse.streams.topics import ensure_topics

    fix_thresholds()
    settings = _settings(args)
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


def cmd_publish(args: argparse.Namespace) -> int:
    """Validate a JSONL file and publish it."""
    from salespulse.publisher import publish_file

    settings = _settings(args)
    report = asyncio.run(
        publish_file(Path(args.file), settings, KafkaSettings.from_env(), _now, show_progress=not args.quiet)
    )
    for bad in report.rejected:
        print(f"{args.file}:{bad.line}: rejected ({bad.reason}): {bad.detail}", file=sys.stderr)
    print(
        f"published {report.accepted} events, rejected {len(report.rejected)} "
        f"(sent to the dead-letter topic), skipped {report.blank} blank lines"
    )
    return 1 if report.rejected else 0


def cmd_gateway(args: argparse.Namespace) -> int:
    """Serve the vendors' webhooks and put their events on Kafka."""
    from aiohttp import web

    from salespulse.gateway.server import Gateway, read_secrets

    settings = _settings(args)
    if not settings.sources.configured():
        raise ConfigError(f"{args.config}: sources: no source is configured; see docs/sources")
    gateway = Gateway(
        settings, KafkaSettings.from_env(), read_secrets(settings), _now,
        public_url=args.public_url, max_body_bytes=args.max_body_bytes,
    )
    logging.basicConfig(level=args.loglevel.upper(), format="[%(asctime)s] [%(levelname)s] %(message)s")
    print(f"gateway on http://{args.bind}:{args.port}/hooks/<source> for {', '.join(sorted(settings.sources.configured()))}")
    web.run_app(gateway.application(), host=args.bind, port=args.port, print=None)
    return 0


def _print_redrive(report: "Redrive", verb: str) -> int:
    for where, reason, detail in report.problems:
        print(f"{where}: not sent ({reason}): {detail}", file=sys.stderr)
    print(f"{verb} {report.sent} events, {len(report.problems)} not sent, {report.ignored} ignored by the mapping")
    return 1 if report.problems else 0


def cmd_dead_letter_replay(args: argparse.Namespace) -> int:
    """Send dead-letter records of some reasons again, mapped with the configuration as it is now."""
    from salespulse.gateway.redrive import replay_dead_letters

    report = asyncio.run(
        replay_dead_letters(_settings(args), KafkaSettings.from_env(), _now, set(args.reason), source=args.source)
    )
    return _print_redrive(report, "replayed")


def cmd_import_csv(args: argparse.Namespace) -> int:
    """Import a vendor's CSV export of history."""
    from salespulse.gateway.redrive import import_csv

    report = asyncio.run(
        import_csv(Path(args.file), args.source, _settings(args), KafkaSettings.from_env(), _now, show_progress=not args.quiet)
    )
    return _print_redrive(report, "imported")


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the simulated sales floor."""
    from salespulse.simulator import run_simulation

    sent = asyncio.run(
        run_simulation(
            _settings(args),
            KafkaSettings.from_env(),
            rate=args.rate,
            backfill_days=args.backfill_days,
            duration_s=args.duration,
            seed=args.seed,
            now=_now(),
            always_open=args.always_open,
        )
    )
    print(f"published {sent} simulated events")
    return 0


WEB_PORT = 8090


def cmd_web(args: argparse.Namespace) -> int:
    """Serve the people's pages and the vendors' webhooks."""
    if args.web_command == "link":
        return cmd_web_link(args)
    from aiohttp import web

    from salespulse.gateway.server import Gateway, read_secrets
    from salespulse.models.web_config import load_web_config
    from salespulse.web.figures import Figures
    from salespulse.web.links import SignInLinks, session_key, web_secret
    from salespulse.web.server import WebServer
    from salespulse.web.tv import KioskTokens

    settings = _settings(args)
    secret = web_secret()
    if args.tv_dwell_s <= 0:
        raise ConfigError(f"--tv-dwell-s: {args.tv_dwell_s:g} is not a positive number of seconds")
    web_config = load_web_config(args.web_config) if args.web_config else None
    if web_config is not None and web_config.basic_auth_users:
        # Refused rather than ignored: the file would look as if it guarded the pages.
        raise ConfigError(
            f"{args.web_config}: basic_auth_users is not used by `salespulse web`, where people sign in with "
            "links or --trust-header; keep only tls_server_config"
        )
    tls = web_config.ssl_context() if web_config is not None else None
    gateway = Gateway(
        settings, KafkaSettings.from_env(), read_secrets(settings), _now,
        public_url=args.public_url, max_body_bytes=args.max_body_bytes,
    )
    metrics_urls = args.metrics_url or [f"http://127.0.0.1:{settings.metrics_port}/metrics"]
    server = WebServer(
        settings, gateway, SignInLinks(settings, secret), session_key(secret),
        Figures(metrics_urls, args.prometheus_url), _now,
        trust_header=args.trust_header,
        secure_cookies=tls is not None or (args.public_url or "").startswith("https://"),
        kiosk=KioskTokens(secret), tv_dwell_s=args.tv_dwell_s,
        # Behind a proxy (an SSO header or a public URL), every request arrives from loopback.
        loopback_opens_tv=not (args.trust_header or args.public_url),
    )
    logging.basicConfig(level=args.loglevel.upper(), format="[%(asctime)s] [%(levelname)s] %(message)s")
    scheme = "https" if tls is not None else "http"
    print(f"salespulse web on {scheme}://{args.bind}:{args.port}/ (figures from {args.prometheus_url or ', '.join(metrics_urls)})",
          flush=True)
    web.run_app(server.application(), host=args.bind, port=args.port, ssl_context=tls, print=None)
    return 0


def cmd_web_link(args: argparse.Namespace) -> int:
    """Print a one-time sign-in link for a person of the configuration."""
    from salespulse.web.links import SignInLinks, web_secret
    from salespulse.web.people import find_person
    from salespulse.web.tv import ALL_TEAMS, KioskTokens

    settings = _settings(args)
    if args.tv is not None:
        if args.person is not None:
            raise ConfigError("web link: give either <team>/<person> or --tv <team>, not both")
        if args.tv != ALL_TEAMS:
            settings.require_team(args.tv, "--tv")
        path = "/tv" if args.tv == ALL_TEAMS else f"/tv/{args.tv}"
        print(f"{args.base_url.rstrip('/')}{path}?token={KioskTokens(web_secret()).make(args.tv)}")
        print(f"read-only TV link of {'every team' if args.tv == ALL_TEAMS else args.tv}; valid until "
              "SALESPULSE_WEB_SECRET changes", file=sys.stderr)
        return 0
    if args.person is None:
        raise ConfigError("web link: give <team>/<person>, or --tv <team> for a TV")
    team, _, person_id = args.person.partition("/")
    person = find_person(settings, team, person_id)
    if person is None:
        known = [f"{t}/{p}" for t, spec in settings.teams.items() for p in [*spec.reps, *spec.managers]]
        raise ConfigError(
            f"{args.person!r} is not a rep or manager of the configuration; "
            f"give <team>/<person>, one of: {', '.join(known) or '(the file lists no people)'}"
        )
    token = SignInLinks(settings, web_secret()).make(person, args.valid_hours)
    print(f"{args.base_url.rstrip('/')}/signin?token={token}")
    print(f"signs in {person.name} ({person.key}, {person.role}) once, within {args.valid_hours:g} hours", file=sys.stderr)
    return 0


def cmd_web_password(args: argparse.Namespace) -> int:
    """Print the bcrypt hash of a password, for basic_auth_users in the web configuration."""
    import getpass

    from salespulse.exporters.web_auth import hash_password

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("password: ")
    if not password:
        raise ConfigError("web-password: empty password")
    print(hash_password(password))
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


def cmd_targets_apply(args: argparse.Namespace) -> int:
    """Validate a targets file and publish the sets that changed."""
    from salespulse.models.targets import load_targets
    from salespulse.streams.targets import publish_targets, read_targets
    from salespulse.streams.topics import TopicNames, ensure_topics

    settings = _settings(args)
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

    settings = _settings(args)
    kafka = KafkaSettings.from_env()
    week = args.week or iso_week_of(date.today())
    monday = _week_monday(week)

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

    text = render_rules(_settings(args).alerts)
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

    settings = _settings(args)
    written = write_provisioning(Path(args.out), settings, prometheus_url=args.prometheus_url)
    for path in written:
        print(path)
    print("\nOn a TV (kiosk mode, no variable bar):")
    for title, url in kiosk_urls(settings, args.grafana_url):
        print(f"  {title}: {url}")
    return 0


def cmd_dev_kafka(args: argparse.Namespace) -> int:
    """Run a local KRaft broker in the foreground."""
    from salespulse.kafka_launcher import LocalKafka

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
    """Make a fresh broker ready before the worker and `targets apply` meet it half-made.

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
    topics = {*names.all(), names.targets, leader_topic}
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
    import shutil

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


def cmd_demo(args: argparse.Namespace) -> int:
    """Run broker, worker, simulator and the web pages together, and Prometheus when it is installed."""
    import secrets

    from salespulse.kafka_launcher import LocalKafka
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
            # The demo floor's targets, so the wallboard shows pace from the start.
            subprocess.run(base + ["targets", "apply", str(DEMO_CONFIG.parent / "targets.yaml")], env=env, check=True)
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
        week = _now().strftime("%G-W%V")
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


def cmd_mystery_sample(args: argparse.Namespace) -> int:
    """Print the month's deal draw as a checklist for the mystery checker."""
    from salespulse.mystery_sample import check_team_and_month, read_active_deals, render_sample

    settings = _settings(args)
    check_team_and_month(settings, args.team, args.month)
    active = asyncio.run(read_active_deals(settings, KafkaSettings.from_env(), args.team, args.month))
    print(render_sample(settings, args.team, args.month, active), end="")
    return 0


def cmd_report_weekly(args: argparse.Namespace) -> int:
    """Write a team's weekly review as Markdown and HTML."""
    from salespulse.report_html import render_html
    from salespulse.report_text import render_markdown
    from salespulse.streams.topics import ensure_topics
    from salespulse.weekly_report import WeeklyReview, gather_review, output_paths

    settings = _settings(args)
    settings.require_team(args.team)
    _week_monday(args.week)
    if not 1 <= args.trend_weeks <= 26:
        raise ConfigError(f"--trend-weeks: {args.trend_weeks} is not between 1 and 26")
    now = _now()
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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="salespulse", description=__doc__)
    parser.add_argument("--config", help="YAML configuration file (default: $SALESPULSE_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

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

    publish = sub.add_parser("publish", help="validate a JSONL file of events and publish it")
    publish.add_argument("file")
    publish.add_argument("--quiet", action="store_true", help="no progress bar")
    publish.set_defaults(func=cmd_publish)

    gateway = sub.add_parser("gateway", help="receive CRM and dialer webhooks and put their events on Kafka")
    gateway.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    gateway.add_argument("--port", type=int, default=8088, help="port to listen on (default 8088)")
    gateway.add_argument(
        "--public-url", help="the base URL vendors call, e.g. https://hooks.example.com, when a proxy ends TLS "
        "(HubSpot signs the URL it called)"
    )
    gateway.add_argument("--max-body-bytes", type=int, default=512 * 1024, help="larger requests get 413 (default 524288)")
    gateway.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    gateway.set_defaults(func=cmd_gateway)

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

    demo = sub.add_parser(
        "demo", help="run a local broker, the worker, the simulator and, when installed, Prometheus together"
    )
    demo.add_argument("--port", type=int, default=6066)
    demo.add_argument("--rate", type=float, default=2.0)
    demo.add_argument("--web-port", type=int, default=WEB_PORT, help=f"port of salespulse web (default {WEB_PORT})")
    demo.add_argument("--prometheus-port", type=int, default=9090, help="port of the local Prometheus (default 9090)")
    demo.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus even when installed")
    demo.set_defaults(func=cmd_demo)

    web_cmd = sub.add_parser("web", help="serve the people's pages (My week, reviews, mystery checks) and the webhooks")
    web_cmd.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web_cmd.add_argument("--port", type=int, default=WEB_PORT, help=f"port to listen on (default {WEB_PORT})")
    web_cmd.add_argument(
        "--metrics-url", action="append",
        help="a worker's /metrics URL for the measured figures; repeat for each worker (default: this host's)",
    )
    web_cmd.add_argument("--prometheus-url", help="read the measured figures from this Prometheus instead of /metrics")
    web_cmd.add_argument(
        "--trust-header", metavar="NAME",
        help="a header set by a single sign-on proxy in front, naming the user's e-mail (e.g. X-Forwarded-Email); "
        "ignored unless given: give it only when every request passes the proxy",
    )
    web_cmd.add_argument("--web-config", help="TLS for the pages, in the format of the worker's --web-config")
    web_cmd.add_argument(
        "--public-url", help="the base URL people and vendors call, e.g. https://sales.example.com, when a proxy "
        "ends TLS (an https URL makes the session cookie Secure)"
    )
    web_cmd.add_argument("--max-body-bytes", type=int, default=512 * 1024, help="larger requests get 413 (default 524288)")
    web_cmd.add_argument(
        "--tv-dwell-s", type=float, default=30.0, help="seconds /tv shows each team before the next (default 30)"
    )
    web_cmd.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    web_cmd.set_defaults(func=cmd_web, web_command=None)
    web_sub = web_cmd.add_subparsers(dest="web_command")
    link = web_sub.add_parser("link", help="print a one-time sign-in link for <team>/<person>, or a TV's link")
    link.add_argument("person", nargs="?", help="<team>/<person>, a rep or manager of the configuration")
    link.add_argument(
        "--tv", metavar="TEAM", help="print instead the read-only link of TEAM's TV page, or of /tv (every team in "
        "turn) with '*'; it holds until SALESPULSE_WEB_SECRET changes"
    )
    link.add_argument("--base-url", default=f"http://127.0.0.1:{WEB_PORT}", help="where `salespulse web` is reached")
    link.add_argument("--valid-hours", type=float, default=24.0, help="hours the link signs in (default 24, at most 168)")

    web_password = sub.add_parser(
        "web-password", help="print the bcrypt hash of a password (read from stdin) for --web-config basic_auth_users"
    )
    web_password.set_defaults(func=cmd_web_password)

    schema = sub.add_parser("schema", help="write the JSON Schema of every event type")
    schema.add_argument("--out", help="folder to write <type>.schema.json files into (default: stdout)")
    schema.set_defaults(func=cmd_schema)

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

    metrics = sub.add_parser("metrics", help="print the reference table of exported metrics")
    metrics.set_defaults(func=cmd_metrics)

    dev_kafka = sub.add_parser("dev-kafka", help="run a local Apache Kafka broker (KRaft) on loopback")
    dev_kafka.add_argument("--port", type=int, help="listener port (default: a free one)")
    dev_kafka.add_argument("--data-dir", help="keep broker storage here instead of a temporary folder")
    dev_kafka.set_defaults(func=cmd_dev_kafka)
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


if __name__ == "__main__":
    sys.exit(main())
