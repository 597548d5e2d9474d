"""Cardinality on a real broker: 5,000 made-up reps must not become 5,000 x N series."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from tests.integration import dataset
from tests.integration.conftest import scrape, wait_for
from tests.integration.test_pipeline import read_topic, samples

pytestmark = pytest.mark.integration

STRANGERS = 5_000
NAMED = {("amsterdam", "anna"), ("amsterdam", "bram"), ("new-york", "mike")}


def floor_with_strangers(now: datetime) -> tuple[list[bytes], Counter[tuple[str, str]]]:
    """One activity of each of 5,000 unknown reps (half in an unknown team) and 30 of named reps.

    Returns the lines and, independently of the worker, the calls each (team, rep) made.
    """
    rng = random.Random(11)
    lines, calls = [], Counter[tuple[str, str]]()
    people = [("amsterdam" if i % 2 else f"team-{i}", f"stranger-{i}") for i in range(STRANGERS)]
    people += [rng.choice(sorted(NAMED)) for _ in range(30)]
    for number, (team, rep) in enumerate(people):
        at = now - timedelta(minutes=rng.uniform(1, 600))
        lines.append(json.dumps({"event_id": f"e{number}", "type": "activity", "occurred_at": at.isoformat(),
                                 "team_id": team, "rep_id": rep, "source": "test", "action": "call"}).encode())
        calls[(team, rep)] += 1
    return lines, calls


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=10)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, value) for value in values])
    finally:
        await producer.stop()


def people_in(scraped: dict) -> set[tuple[str, str]]:
    return {(dict(labels)["team"], dict(labels)["rep"]) for _, labels in scraped if "rep" in dict(labels)}


@pytest.mark.parametrize("policy", ["reject", "collect"])
def test_unknown_reps_do_not_add_series(make_pipeline, kafka, policy: str) -> None:
    config = {key: value for key, value in dataset.CONFIG.items() if key != "limits"}
    if policy == "collect":
        config["limits"] = {"unknown_reps": "collect"}
    pipeline = make_pipeline(config)
    assert pipeline.cli("publish", "/dev/null").returncode == 0
    lines, calls = floor_with_strangers(datetime.now(UTC))
    asyncio.run(produce(kafka.bootstrap, f"{pipeline.app_id}-activities", lines))
    named_calls = {who: n for who, n in calls.items() if who in NAMED}
    if policy == "reject":
        expected = named_calls
        expected_rejected = STRANGERS
    else:
        # Strangers of amsterdam count for amsterdam's `other`; strangers of unknown teams for other/other.
        expected = {**named_calls, ("amsterdam", "other"): STRANGERS // 2, ("other", "other"): STRANGERS // 2}
        expected_rejected = 0

    url = pipeline.start_worker()
    last: dict = {}

    def counted() -> dict[tuple[str, str], float]:
        return {
            (dict(labels)["team"], dict(labels)["rep"]): value
            for (name, labels), value in last["scraped"].items()
            if name == "salespulse_actions_total" and dict(labels)["action"] == "call" and value
        }

    def settled() -> bool:
        last["scraped"] = samples(scrape(url) or "")
        rejected = last["scraped"].get(("salespulse_events_rejected_total", frozenset({("reason", "unknown_rep")})))
        return counted() == expected and rejected == expected_rejected

    wait_for(settled, 180, lambda: f"{expected} counted, {expected_rejected} unknown_rep; counted {counted()}")
    scraped = last["scraped"]
    allowed = NAMED | ({("amsterdam", "other"), ("other", "other")} if policy == "collect" else set())
    assert people_in(scraped) <= allowed
    # A handful of reps, not thousands: every per-rep family has at most that many series per rep.
    assert len(scraped) < 40 * len(allowed) + 200, len(scraped)
    if policy == "reject":
        letters = asyncio.run(read_topic(kafka.bootstrap, f"{pipeline.app_id}-dead-letter", STRANGERS, timeout_s=60))
        assert len(letters) == STRANGERS
        assert {dict(r.headers)["salespulse.reason"] for r in letters} == {b"unknown_rep"}
        assert sorted(json.loads(r.value)["rep_id"] for r in letters) == sorted(f"stranger-{i}" for i in range(STRANGERS))
