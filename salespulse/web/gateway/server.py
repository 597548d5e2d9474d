"""`salespulse gateway`: vendor webhooks in, canonical events on Kafka.

    POST /hooks/<source> ── size (413) ── adapter.verify (401/415/400) ── replay cache (401)
        ── adapter.map (400) ── items acknowledged before left out ── parse_event per event
        ── produce, acks=all ── 200
                         └── Kafka unreachable or slow ── 503 Retry-After

A request is answered 2xx only once Kafka holds every record it produced: the vendor retries
anything else. What cannot be mapped (unknown owner, stage, object) goes to the dead-letter topic
with the raw body and is answered 2xx too, so the vendor does not retry it forever;
`salespulse dead-letter replay` sends it again once the mapping is fixed.

A vendor's retry differs from the first delivery in delivery fields only (an attempt number, a
timestamp, a signature), and its items keep their identity (`adapters.common`). The gateway
remembers the items it acknowledged for ITEM_WINDOW_S, in memory, and sends none of them again:
a retry puts nothing new on the ingest topics nor in the dead-letter topic. After a restart the
worker still counts each item once: events by event id, dead-letter records by `ITEM_HEADER`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST

from salespulse.exporters.metrics import gateway_metrics
from salespulse.web.gateway.adapters import ADAPTERS
from salespulse.web.gateway.adapters.common import Mapped, Refused, Request, signed
from salespulse.web.gateway.adapters.salesforce import ack_response
from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.errors import RejectedEvent
from salespulse.models.events import parse_event
from salespulse.publisher import make_producer
from salespulse.streams.families.deadletter import ITEM_HORIZON_DAYS, dead_letter_headers
from salespulse.streams.topics import TopicNames, event_key

log = logging.getLogger(__name__)

# Headers of a gateway dead-letter record, beside reason, detail and origin: what
# `dead-letter replay` needs to map the body again.
SOURCE_HEADER = "salespulse.source"
CONTENT_TYPE_HEADER = "salespulse.content_type"
URL_HEADER = "salespulse.url"
RECEIVED_HEADER = "salespulse.received_at"
VENDOR_ID_HEADER = "salespulse.vendor_id"
# How long acknowledged items are remembered: HubSpot and Salesforce retry for up to a day. The
# worker's own memory of dead-lettered items (ITEM_HORIZON_DAYS) is longer, for restarts.
ITEM_WINDOW_S = 25 * 3600
assert ITEM_WINDOW_S < ITEM_HORIZON_DAYS * 86_400


class ReplayCache:
    """Keys of what was acknowledged, for `window_s` and at most `max_keys` of them.

    Holds the signatures of acknowledged requests (for as long as a signature is fresh) and the
    identities of acknowledged items. Only acknowledged ones are remembered: a vendor's retry of
    a request answered 503 must get through.
    """

    def __init__(self, window_s: float, max_keys: int = 100_000) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._keys: OrderedDict[str, float] = OrderedDict()

    def seen(self, key: str, now: float) -> bool:
        self._expire(now)
        return key in self._keys

    def remember(self, key: str, now: float) -> None:
        self._keys[key] = now
        self._keys.move_to_end(key)
        self._expire(now)

    def _expire(self, now: float) -> None:
        keys = self._keys
        while keys and (len(keys) > self.max_keys or next(iter(keys.values())) < now - self.window_s):
            keys.popitem(last=False)


class Gateway:
    """The HTTP application and its producer."""

    def __init__(
        self,
        settings: Settings,
        kafka: KafkaSettings,
        secrets: dict[str, str | None],
        clock: Callable[[], datetime],
        *,
        public_url: str | None = None,
        max_body_bytes: int = 512 * 1024,
        max_age_s: int = 300,
        ack_timeout_s: float = 10.0,
        max_items: int = 500_000,
        producer_factory: Callable[[KafkaSettings], AIOKafkaProducer] = make_producer,
    ) -> None:
        self.settings = settings
        self.kafka = kafka
        self.mappings = settings.sources.configured()
        self.secrets = secrets
        self.clock = clock
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_body_bytes = max_body_bytes
        self.max_age_s = max_age_s
        self.ack_timeout_s = ack_timeout_s
        self.producer_factory = producer_factory
        self.topics = TopicNames(settings.kafka.app_id)
        self.replays = ReplayCache(window_s=2 * max_age_s)
        self.items = ReplayCache(window_s=ITEM_WINDOW_S, max_keys=max_items)
        self.registry = CollectorRegistry()
        self.requests, self.seconds, self.events = gateway_metrics(self.registry)
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application) -> None:
        """Add the webhook, health and metrics routes to `app`, and stop the producer with it."""
        app.router.add_post("/hooks/{source}", self.hook)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        app.on_cleanup.append(self._stop)

    async def _stop(self, _: web.Application) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def producer(self) -> AIOKafkaProducer:
        """Return the started producer, starting it first if needed (KafkaError if Kafka is unreachable)."""
        async with self._starting:
            if self._producer is None:
                producer = self.producer_factory(self.kafka)
                try:
                    await asyncio.wait_for(producer.start(), self.ack_timeout_s)
                except (KafkaError, OSError, asyncio.TimeoutError) as exc:
                    await producer.stop()
                    raise KafkaError(f"cannot reach Kafka at {self.kafka.bootstrap_servers}: {exc!r}") from exc
                self._producer = producer
            return self._producer

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            producer = await self.producer()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), self.ack_timeout_s)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            return web.json_response({"status": "unavailable", "kafka": str(exc)}, status=503)
        return web.json_response({"status": "ok", "sources": sorted(self.mappings)})

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def hook(self, request: web.Request) -> web.Response:
        source = request.match_info["source"]
        started = time.perf_counter()
        outcome, response = await self._answer(source, request)
        label = source if source in ADAPTERS else "unknown"
        self.requests.labels(label, outcome).inc()
        self.seconds.labels(label).observe(time.perf_counter() - started)
        return response

    async def _answer(self, source: str, request: web.Request) -> tuple[str, web.Response]:
        adapter, mapping = ADAPTERS.get(source), self.mappings.get(source)
        if adapter is None or mapping is None:
            return "not_found", _error(404, "unknown_source", f"no source {source!r} is configured under sources")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return "too_large", _error(413, "too_large", f"bodies over {self.max_body_bytes} bytes are refused")
        received_at = self.clock()
        call = Request(request.method, self._url(request), request.headers, body, received_at)
        try:
            replay_key = adapter.verify(call, self.secrets.get(source), max_age_s=self.max_age_s)
            # A signed request sent again unchanged is not a vendor's retry (a retry is signed
            # anew): it is refused. Unsigned sources resend the same body when our answer was
            # lost; that is a retry, and its items are known.
            if signed(replay_key) and self.replays.seen(replay_key, time.monotonic()):
                raise Refused(401, "replayed", "this signature was accepted before and is refused when sent again")
            mapped = adapter.map(call, mapping, self.settings)
        except Refused as refused:
            log.info("%s: refused %s (%s): %s", source, refused.status, refused.reason, refused.detail)
            outcome = {400: "bad_request", 401: "unauthorized", 415: "unsupported_media_type"}.get(refused.status, "refused")
            return outcome, _error(refused.status, refused.reason, refused.detail)
        now = time.monotonic()
        fresh = mapped.only(lambda item: not self.items.seen(item, now))
        known = mapped.items() - fresh.items()
        if known and not fresh.items():
            self.events.labels(source, "duplicate").inc(len(known))
            return "replayed", self._acknowledge(source, fresh, len(known))
        try:
            await asyncio.wait_for(self._produce(source, call, fresh, len(known)), self.ack_timeout_s)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            log.warning("%s: Kafka did not acknowledge, answering 503: %r", source, exc)
            return "unavailable", _error(503, "kafka_unavailable", "events not stored; retry later", retry_after=30)
        now = time.monotonic()
        if signed(replay_key):
            self.replays.remember(replay_key, now)
        for item in fresh.items():
            self.items.remember(item, now)
        return "accepted", self._acknowledge(source, fresh, len(known))

    def _acknowledge(self, source: str, mapped: Mapped, duplicate: int) -> web.Response:
        if source == "salesforce":
            return web.Response(body=ack_response(), content_type="text/xml", charset="utf-8")
        counts = {"accepted": len(mapped.events), "unmapped": len(mapped.unmapped), "ignored": mapped.ignored}
        return web.json_response({**counts, "duplicate": duplicate})

    def _url(self, request: web.Request) -> str:
        """The URL the vendor called: behind a proxy that ends TLS, the configured public URL."""
        if self.public_url is None:
            return str(request.url)
        return self.public_url + str(request.rel_url)

    async def _produce(self, source: str, call: Request, mapped: Mapped, duplicate: int) -> None:
        """Send every event, rejection and unmapped item, and wait until Kafka holds them all."""
        producer = await self.producer()
        sends = []
        tally = {
            "accepted": 0, "rejected": 0, "unmapped": len(mapped.unmapped), "ignored": mapped.ignored, "duplicate": duplicate,
        }
        for event, item_id in zip(mapped.events, mapped.event_items, strict=True):
            raw = json.dumps(event, separators=(",", ":")).encode()
            try:
                parsed = parse_event(raw, self.settings, call.received_at)
            except RejectedEvent as rejection:
                tally["rejected"] += 1
                value = raw[: self.settings.limits.max_event_bytes]
                headers = dead_letter_headers(rejection, f"gateway:{source}", item_id)
                sends.append(await producer.send(self.topics.dead_letter, value, key=rejection.reason.encode(), headers=headers))
                continue
            tally["accepted"] += 1
            sends.append(await producer.send(self.topics.ingest_topic(parsed), raw, key=event_key(parsed).encode()))
        for item in mapped.unmapped:
            headers = dead_letter_headers(RejectedEvent(item.reason, item.detail), f"gateway:{source}", item.item) + [
                (SOURCE_HEADER, source.encode()),
                (CONTENT_TYPE_HEADER, (call.headers.get("Content-Type") or "").encode()),
                (URL_HEADER, call.url.encode()),
                (RECEIVED_HEADER, call.received_at.isoformat().encode()),
                (VENDOR_ID_HEADER, item.vendor_id.encode()),
            ]
            sends.append(await producer.send(self.topics.dead_letter, call.body, key=item.reason.encode(), headers=headers))
        await asyncio.gather(*sends)
        for result, count in tally.items():
            if count:
                self.events.labels(source, result).inc(count)


def _error(status: int, reason: str, detail: str, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return web.json_response({"error": reason, "detail": detail}, status=status, headers=headers)


def read_secrets(settings: Settings) -> dict[str, str | None]:
    """Read each configured source's secret from the environment variable the file names."""
    return {source: mapping.credential() for source, mapping in settings.sources.configured().items()}
