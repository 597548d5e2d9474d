"""The gateway's HTTP answers with a producer that records what it is given (the broker path is in
tests/integration/test_gateway.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaConnectionError

from salespulse.web.gateway.adapters import ADAPTERS
from salespulse.web.gateway.adapters.generic import signature
from salespulse.web.gateway.adapters.hubspot import signature as hubspot_signature
from salespulse.web.gateway.server import Gateway, ReplayCache
from salespulse.models.config import KafkaSettings
from tests.unit.web.gateway.adapters.support import NOW, body, settings

SECRETS = {"generic": "s3cret", "aircall": "45XXYYZZa08", "hubspot": "hubspot-secret"}
OPENAPI = Path(__file__).resolve().parents[4] / "docs" / "gateway-openapi.yaml"


class Producer:
    """Keeps each record it is given; `failing` makes every send fail as an unreachable broker does."""

    def __init__(self, failing: bool = False) -> None:
        self.records: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]] | None]] = []
        self.failing = failing

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> "asyncio.Future[None]":
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failing:
            future.set_exception(KafkaConnectionError("no broker"))
        else:
            self.records.append((topic, value, key, headers))
            future.set_result(None)
        return future


def generic(events: list[dict[str, Any]], at: datetime = NOW) -> tuple[bytes, dict[str, str]]:
    data = json.dumps(events).encode()
    stamp = str(int(at.timestamp()))
    return data, {"Content-Type": "application/json", "X-Salespulse-Timestamp": stamp,
                  "X-Salespulse-Signature": signature(SECRETS["generic"], stamp, data)}


EVENT = {"event_id": "crm-1", "type": "activity", "occurred_at": "2026-11-27T10:00:00+00:00", "team_id": "amsterdam",
         "rep_id": "anna", "source": "crm", "schema_version": 1, "action": "call"}


def serve(producer: Producer, test: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    gateway = Gateway(settings(), KafkaSettings(), SECRETS, lambda: NOW, producer_factory=lambda _: producer)  # type: ignore[arg-type,return-value]

    async def run() -> None:
        async with TestClient(TestServer(gateway.application())) as client:
            await test(client)

    asyncio.run(run())


def test_an_event_is_acknowledged_once_on_its_topic_and_the_same_signature_is_refused_after() -> None:
    producer = Producer()

    async def test(client: TestClient[Any, Any]) -> None:
        data, headers = generic([EVENT])
        first = await client.post("/hooks/generic", data=data, headers=headers)
        assert (first.status, await first.json()) == (200, {"accepted": 1, "unmapped": 0, "ignored": 0, "duplicate": 0})
        again = await client.post("/hooks/generic", data=data, headers=headers)
        assert (again.status, (await again.json())["error"]) == (401, "replayed")

    serve(producer, test)
    app_id = settings().kafka.app_id
    assert [(topic, key) for topic, _, key, _ in producer.records] == [(f"{app_id}-activities", b"amsterdam|anna")]
    assert json.loads(producer.records[0][1]) == EVENT


def test_an_unsigned_body_sent_again_is_acknowledged_again_and_sends_nothing() -> None:
    producer = Producer()
    call = body("aircall", "call_ended_outbound_unanswered.json")

    async def test(client: TestClient[Any, Any]) -> None:
        for _ in range(2):
            answer = await client.post("/hooks/aircall", data=call, headers={"Content-Type": "application/json"})
            assert answer.status == 200

    serve(producer, test)
    assert len(producer.records) == 1


def test_a_hubspot_retry_signed_anew_sends_nothing_again_and_an_exact_resend_is_unauthorized() -> None:
    producer = Producer()
    events = json.loads(body("hubspot", "deal_batch.json"))

    def signed(url: str, attempt: int, at_ms: int) -> tuple[bytes, dict[str, str]]:
        data = json.dumps([{**event, "attemptNumber": attempt} for event in events]).encode()
        stamp = str(at_ms)
        return data, {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": stamp,
                      "X-HubSpot-Signature-v3": hubspot_signature(SECRETS["hubspot"], "POST", url, data, stamp)}

    async def test(client: TestClient[Any, Any]) -> None:
        url = str(client.make_url("/hooks/hubspot"))
        now_ms = int(NOW.timestamp() * 1000)
        first = signed(url, 0, now_ms)
        answer = await client.post("/hooks/hubspot", data=first[0], headers=first[1])
        # deal_batch.json: 2 stage changes mapped, 2 unmapped (owner, stage), 1 owner change.
        assert (answer.status, await answer.json()) == (200, {"accepted": 2, "unmapped": 2, "ignored": 1, "duplicate": 0})
        retry = signed(url, 1, now_ms + 60_000)
        answer = await client.post("/hooks/hubspot", data=retry[0], headers=retry[1])
        assert (answer.status, await answer.json()) == (200, {"accepted": 0, "unmapped": 0, "ignored": 0, "duplicate": 5})
        resend = await client.post("/hooks/hubspot", data=first[0], headers=first[1])
        assert (resend.status, (await resend.json())["error"]) == (401, "replayed")
        metrics = await (await client.get("/metrics")).text()
        for outcome in ("accepted", "replayed", "unauthorized"):
            assert f'salespulse_gateway_requests_total{{outcome="{outcome}",source="hubspot"}} 1.0' in metrics, metrics

    serve(producer, test)
    app_id = settings().kafka.app_id
    assert sorted(topic for topic, *_ in producer.records) == [f"{app_id}-dead-letter"] * 2 + [f"{app_id}-deal-stages"] * 2
    items = [dict(headers or [])["salespulse.item_id"] for topic, _, _, headers in producer.records if topic.endswith("dead-letter")]
    assert items == [b"hubspot:deal:6002:closedlost", b"hubspot:deal:6003:decisionmakerboughtin"]


def test_without_kafka_nothing_is_acknowledged_and_the_retry_gets_through_later() -> None:
    producer = Producer(failing=True)

    async def test(client: TestClient[Any, Any]) -> None:
        data, headers = generic([EVENT])
        down = await client.post("/hooks/generic", data=data, headers=headers)
        assert (down.status, down.headers["Retry-After"]) == (503, "30")
        producer.failing = False
        # The same signed request, retried within its 5 minutes: not a replay, it was never acknowledged.
        back = await client.post("/hooks/generic", data=data, headers=headers)
        assert back.status == 200

    serve(producer, test)
    assert len(producer.records) == 1


def test_unknown_sources_bad_types_and_big_bodies_are_refused_with_their_status() -> None:
    producer = Producer()

    async def test(client: TestClient[Any, Any]) -> None:
        data, headers = generic([EVENT])
        assert (await client.post("/hooks/zoho", data=data, headers=headers)).status == 404
        assert (await client.post("/hooks/generic", data=data, headers={**headers, "Content-Type": "text/csv"})).status == 415
        assert (await client.post("/hooks/generic", data=data + b" ", headers=headers)).status == 401
        assert (await client.post("/hooks/generic", data=b"[" + b" " * 600_000 + b"]", headers=headers)).status == 413
        metrics = await (await client.get("/metrics")).text()
        for outcome in ("not_found", "unsupported_media_type", "unauthorized", "too_large"):
            assert f'outcome="{outcome}"' in metrics, outcome

    serve(producer, test)
    assert producer.records == []


def test_replay_keys_expire_after_their_window_and_the_cache_is_bounded() -> None:
    cache = ReplayCache(window_s=600, max_keys=2)
    cache.remember("a", now=0)
    assert cache.seen("a", now=599)
    assert not cache.seen("a", now=601)
    for key, at in (("b", 700), ("c", 701), ("d", 702)):
        cache.remember(key, now=at)
    assert [cache.seen(k, now=703) for k in "bcd"] == [False, True, True]


def test_the_openapi_description_names_every_route_and_source() -> None:
    described = yaml.safe_load(OPENAPI.read_text())
    gateway = Gateway(settings(), KafkaSettings(), SECRETS, lambda: datetime.now(UTC))
    routes = {route.resource.canonical for route in gateway.application().router.routes()
              if route.resource is not None}
    assert routes == set(described["paths"])
    enum = described["paths"]["/hooks/{source}"]["post"]["parameters"][0]["schema"]["enum"]
    assert enum == list(ADAPTERS)
