"""The Faust application: topics, tables and agents of every KPI family, and /metrics."""

from __future__ import annotations

import importlib
import logging
import ssl

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import faust
from aiokafka.helpers import create_ssl_context
from aiohttp.web import StreamResponse
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry

from salespulse.exporters.collector import PipelineCollector, PipelineState
from salespulse.exporters.exposition import chunks
from salespulse.exporters.readiness import ReadinessCollector
from salespulse.exporters.web_auth import BasicAuth
from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.web_config import WebConfig
from salespulse.worker.repeated_logs import RepeatedLines
from salespulse.streams.families.actions import ActionCounts
from salespulse.streams.families.checklists import StageChecklists
from salespulse.streams.families.deal_events import DealEvents
from salespulse.streams.family import KpiFamily, Wiring
from salespulse.models.routes import ROUTES, Route
from salespulse.streams.engine import Engine
from salespulse.streams.families.deal_figures import DealFigures
from salespulse.streams.families.deadletter import DeadLetter
from salespulse.streams.engine.frozen_state import FrozenState
from salespulse.streams.engine.in_order import use_in_order_consumer
from salespulse.streams.families.ingest import Ingest
from salespulse.streams.engine.lag import ConsumerLag
from salespulse.streams.engine.recovery import TablesDefinedAtStart
from salespulse.streams.families.mystery import MysteryChecks
from salespulse.streams.families.money import DealMoney
from salespulse.streams.pacing import Pacing
from salespulse.streams.rates import Rates
from salespulse.streams.families.reviews import ReviewScores
from salespulse.streams.families.self_reports import SelfReports
from salespulse.streams.engine.settled import NotSettled
from salespulse.streams.topics import TopicNames, partition_of, rep_key
from salespulse.streams.families.velocity import DealVelocity
from salespulse.streams.families.weeks import WeekClosing

log = logging.getLogger(__name__)


class PipelineWorker(faust.Worker):
    """Faust's worker, whose log holds back repeated warnings (see `salespulse.worker.repeated_logs`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Faust's progress spinner turns each log call into a tick, so it sets the root logger to
        # DEBUG at any --loglevel: every debug line of Faust and aiokafka was then formatted and
        # handled, 11 % of a restart's recovery in a profile.
        self.spinner = None

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        for handler in logger.handlers:
            # One filter per handler: a record passes every handler, and each must count it once.
            handler.addFilter(RepeatedLines())


def family_class(route: Route) -> type[KpiFamily]:
    """Return the family class a route names (`module:Class` in salespulse.streams.families)."""
    module, name = route.family.split(":")
    found = getattr(importlib.import_module(f"salespulse.streams.families.{module}"), name)
    if not (isinstance(found, type) and issubclass(found, KpiFamily)):
        raise TypeError(f"route {route.name}: {route.family} is not a KPI family")
    return found


def utc_now() -> datetime:
    """Return the current time; the one clock read of the worker."""
    return datetime.now(UTC)


@dataclass
class Pipeline:
    """A configured Faust app and the KPI families it runs."""

    engine: Engine
    actions: ActionCounts
    velocity: DealVelocity
    reviews: ReviewScores
    dead_letter: DeadLetter
    registry: CollectorRegistry

    @property
    def app(self) -> faust.App:
        """The Faust app the engine runs on."""
        return self.engine.app

    def changelog_topics(self) -> dict[str, dict[str, str]]:
        """Return each table's changelog topic name and its topic configs."""
        return {
            table.changelog_topic.get_topic_name(): {
                "cleanup.policy": "compact",
                **{k: str(v) for k, v in table.extra_topic_configs.items()},
            }
            for table in self.app.tables.values()
        }


def rep_owner(engine: Engine, topics: TopicNames, partitions: int) -> Callable[[str, str], bool]:
    """Return a test of whether this worker holds a rep's partition of the re-keyed activities.

    Per-rep series (zeros for quiet reps, pace, names) come only from the rep's owner, so that
    several workers never export the same series and PromQL joins stay one-to-one. Reviews are
    re-keyed by rep onto a topic with as many partitions, and Faust assigns such co-partitioned
    topics together, so the same worker holds the rep's review scores.
    """
    assigned = engine.assigned_partitions(topics.activities_by_rep)

    def owns(team: str, rep: str) -> bool:
        # The partition the ingest agent (or a producer keying by rep) sent the rep's records to.
        return partition_of(rep_key(team, rep), partitions) in assigned()

    return owns


def team_owner(engine: Engine, topics: TopicNames) -> Callable[[], bool]:
    """Return a test of whether this worker exports the series of no rep (a team's working time).

    The holder of the first partition of the re-keyed activities does, so that with several
    workers each such series has one exporter, like every per-rep series.
    """
    assigned = engine.assigned_partitions(topics.activities_by_rep)

    def owns() -> bool:
        return 0 in assigned()

    return owns


def _credentials(kafka: KafkaSettings) -> faust.SASLCredentials | ssl.SSLContext | None:
    context = (
        create_ssl_context(cafile=kafka.ssl_cafile) if kafka.security_protocol in ("SSL", "SASL_SSL") else None
    )
    if not kafka.sasl_mechanism:
        return context
    return faust.SASLCredentials(
        username=kafka.sasl_username,
        password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
        mechanism=kafka.sasl_mechanism,
        ssl_context=context,
    )


def build_pipeline(
    settings: Settings,
    kafka: KafkaSettings,
    *,
    port: int | None = None,
    bind: str | None = None,
    data_dir: str | None = None,
    instance_id: str | None = None,
    web: WebConfig | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Pipeline:
    """Create the Faust app with every topic, table and agent, and the /metrics page."""
    engine = Engine.create(
        settings.kafka.app_id,
        broker=kafka.broker_url,
        broker_credentials=_credentials(kafka),
        store="memory://",
        TableManager=TablesDefinedAtStart,
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        # Standby copies would make a worker export partitions another worker owns.
        table_standby_replicas=0,
        web_port=port or settings.metrics_port,
        web_bind=bind or settings.metrics_bind,
        # Faust's own pages would show table contents (a rep's lessons learned) and routing to
        # anyone who can reach the port: only /metrics is served.
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_ssl_context=web.ssl_context() if web else None,
        datadir=data_dir or f"{settings.kafka.app_id}-data",
        autodiscover=False,
        # Agents take records in batches of thousands: let each inbox keep that many in hand, and
        # let one producer batch carry a whole partition's share of a batch's records.
        stream_buffer_maxsize=32_768,
        producer_max_batch_size=512 * 1024,
        # A killed worker's partitions go to the others after the session times out: 10 s, not
        # Kafka's 45 s, so a crash costs seconds of lag, not a minute. Not shorter: a broker that
        # restarts takes longer than 6 s, and a session that lapses meanwhile makes the group
        # rebalance while agents still wait for the broker to take their changelog records, which
        # stalled a worker for good in the broker fault test. A restart under --instance-id does
        # not wait for the session at all.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        # Static membership: a worker restarted under the same id within the session timeout
        # gets its partitions back without a rebalance of the whole group.
        consumer_group_instance_id=instance_id,
        # The broker hands a restarted static member the assignment made for its last run, and
        # Faust's assignor refuses one made for another URL; the URL defaults to host and web
        # port, so a restart on another port would never consume. Faust's router is off: the
        # URL names the worker and nothing connects to it.
        canonical_url=f"http://{instance_id}" if instance_id else None,
    )
    app = engine.app
    use_in_order_consumer(app)
    duplicates: Counter[str] = Counter()
    topics = TopicNames(settings.kafka.app_id)
    wiring = Wiring(engine, settings, topics, clock, duplicates)
    dead_letter = DeadLetter(wiring)
    # The families others read are built here; every other route's family from its route.
    actions = ActionCounts(wiring)
    deal_figures = DealFigures(wiring)
    velocity = DealVelocity(wiring, figures=deal_figures)
    checklists = StageChecklists(wiring, figures=deal_figures)
    money = DealMoney(wiring, figures=deal_figures)
    mystery = MysteryChecks(wiring)
    # A deal's stage changes and activities, read together by the families that judge deals.
    deals = DealEvents(wiring, families=(velocity, checklists, money, mystery.deal_months))
    by_route: dict[str, KpiFamily] = {"activity": actions, "deal_stage": deals, "mystery_check": mystery}
    for route in ROUTES:
        if route.name not in by_route:
            by_route[route.name] = family_class(route)(wiring)
    reviews = cast(ReviewScores, by_route["review"])
    self_reports = cast(SelfReports, by_route["self_report"])
    ingest = Ingest(wiring, actions=actions, deals=deals)
    pacing = Pacing(engine, kafka, topics)
    rates = Rates(engine, kafka, topics)
    owns_rep = rep_owner(engine, topics, settings.kafka.partitions)
    weeks = WeekClosing(wiring, actions=actions, pacing=pacing, owns_rep=owns_rep)
    families = (ingest, *by_route.values(), deal_figures, weeks)
    for family in families:
        family.reject_to(dead_letter)
    lag = ConsumerLag(app, topics)

    registry = CollectorRegistry()
    collector = PipelineCollector(
        PipelineState(
            slot_counts=actions.slots_to_count,
            action_totals=actions.rep_actions_to_total,
            deals=deal_figures.histories,
            rejections=dead_letter.reasons_to_rejected,
            duplicates=duplicates,
            target_sets=pacing.target_sets,
            owns_rep=owns_rep,
            owns_teams=team_owner(engine, topics),
            week_verdicts=weeks.reps_to_verdicts,
            consumer_lag=lambda: lag.partitions_to_lag,
            review_days=reviews.review_days_to_scores,
            stage_checks=deal_figures.checks,
            money=lambda now: deal_figures.money_figures(now, rates.book()),
            mystery_months=mystery.months_to_checks,
            self_reports=self_reports.rep_weeks_to_reports,
            slot_changes=actions.slots_to_count.follow().take,
        ),
        settings,
        clock,
        registry,
        [exports for family in families for exports in family.exports()],
    )

    recovering_registry = CollectorRegistry()
    remaining = engine.tables_remaining()
    readiness = ReadinessCollector(remaining, registry, recovering_registry)

    @engine.timer(1.0, "index_action_buckets")
    async def index_action_buckets() -> None:
        # Once the tables are whole, index the buckets a slice at a time, before a scrape has to
        # do it all at once.
        if remaining() is None:
            await collector.index.load()

    heap = FrozenState(lambda: remaining() is None, lambda: (app.consumer_generation_id, collector.index.loaded))

    @engine.timer(1.0, "freeze_state")
    async def freeze_state() -> None:
        heap.maybe_freeze()

    gate = engine.gate
    auth = BasicAuth(web.basic_auth_users) if web and web.basic_auth_users else None

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            if auth is not None and not auth.allows(request.headers.get("Authorization")):
                return self.text(
                    "unauthorized\n", status=401, headers={"WWW-Authenticate": 'Basic realm="salespulse"'}
                )
            if not readiness.ready():
                return await self.metrics(request, list(chunks(recovering_registry)))
            try:
                async with gate.reading():
                    page = list(chunks(registry))
            except NotSettled as exc:
                log.warning("/metrics answered 503: %s", exc)
                return self.text(f"not settled: {exc}\n", status=503)
            return await self.metrics(request, page)

        async def metrics(self, request: Request, page: list[bytes]) -> Response:
            # Written chunk by chunk: joined, a 10,000-rep page would be held twice more at once.
            # aiohttp refuses a charset inside content_type, so the full type goes in as a header.
            response = StreamResponse(headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})
            response.content_length = sum(map(len, page))
            await response.prepare(request)  # type: ignore[arg-type]
            if request.method != "HEAD":
                for chunk in page:
                    await response.write(chunk)
            await response.write_eof()
            return response  # type: ignore[return-value]

    return Pipeline(engine, actions, velocity, reviews, dead_letter, registry)
