"""Faults on a real broker: a worker killed with SIGKILL in the middle of a batched backlog.

Every series is compared afterwards with the data set's independent computation: an event lost
(its de-duplication marker written, its count not) or counted twice (its count written, its
offset not committed) shows as a mismatch.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from tests.integration import dataset
from tests.integration.conftest import scrape, wait_for
from tests.integration.test_pipeline import expected_kpis, matches_at_scrape_time

pytestmark = pytest.mark.integration

KILLS = 4


async def produce_backlog(bootstrap: str, app_id: str, lines: list[bytes], seed: int) -> None:
    """Put the good lines on the ingest topics: most keyed as `salespulse publish` keys them
    (the worker folds those where they land), a third with no key (the worker re-keys them)."""
    rng = random.Random(seed)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=10)
    await producer.start()
    try:
        sent = []
        for line in lines:
            body = json.loads(line)
            topic = f"{app_id}-activities" if body["type"] == "activity" else f"{app_id}-deal-stages"
            key = f"{body['team_id']}|{body['rep_id']}" if body["type"] == "activity" else body["deal_id"]
            sent.append(await producer.send(topic, line, key=key.encode() if rng.random() < 0.67 else None))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def test_sigkill_during_a_backlog_loses_nothing_and_counts_nothing_twice(make_pipeline, kafka) -> None:
    now = datetime.now(UTC)
    ds = dataset.generate(now, seed=7, activities_per_rep=5_000, deals=600)
    good = [line for number, line in enumerate(ds.lines, start=1) if number not in ds.bad]
    pipeline = make_pipeline(dataset.CONFIG)
    # Topics first, so that the backlog is there before any worker starts.
    assert pipeline.cli("publish", "/dev/null").returncode == 0
    asyncio.run(produce_backlog(kafka.bootstrap, pipeline.app_id, good, seed=7))

    rng = random.Random()
    counted_at_kill = []
    for _ in range(KILLS):
        url = pipeline.start_worker()
        before = counted_at_kill[-1] if counted_at_kill else 0
        # Once this worker has counted something of its own, somewhere in the middle of whatever
        # batch it is folding or writing.
        wait_for(lambda: counted(url) > before, 120, "the worker to make progress on the backlog")
        time.sleep(rng.uniform(0.0, 1.5))
        seen = counted(url, default=before)
        worker = pipeline.workers[-1]
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        counted_at_kill.append(seen)
    # The kills fell inside the backlog, not after it.
    assert counted_at_kill[-1] < len(ds.activities), counted_at_kill

    restarted = time.monotonic()
    url = pipeline.start_worker()
    last: dict = {}
    served: list[tuple[bool, int]] = []  # (ready, activities counted) of every page served

    def recovered_and_equal() -> bool:
        text = scrape(url)
        if text is not None:
            served.append(("salespulse_worker_ready 1.0" in text, counted_in(text)))
        return matches_at_scrape_time(url, ds, last)

    wait_for(
        recovered_and_equal,
        300,
        lambda: "every series equal to the independent count; differences: "
        + str(_differences(last.get("observed", {}), expected_kpis(ds, datetime.now(UTC)))),
    )
    compared = len(expected_kpis(ds, datetime.now(UTC)))
    # While the tables recover, no count is served at all; once they are, never less than was
    # seen before the kill: Prometheus must never read a counter reset.
    assert all(n == 0 for ready, n in served if not ready), served
    assert all(n >= counted_at_kill[-1] for ready, n in served if ready), served
    # Only /metrics is served: Faust's pages would show table contents to anyone on the port.
    base = url.rsplit("/", 1)[0]
    for page in ("/table/activity_ids_to_seen_at/", "/router/", "/graph/", "/stats/"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + page, timeout=5)
        assert refused.value.code == 404, page
    print(
        f"\n{KILLS} SIGKILLs at {counted_at_kill} of {len(ds.activities)} activities counted, {len(good)} events ({sum(ds.duplicates.values())} duplicates), "
        f"{compared} series equal after {time.monotonic() - restarted:.1f} s"
    )


def counted(url: str, default: int = 0) -> int:
    """Return the activities counted so far, from /metrics (`default` when it does not answer)."""
    text = scrape(url)
    return default if text is None else counted_in(text)


def counted_in(text: str) -> int:
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("salespulse_actions_total{")))


def _differences(observed: dict, expected: dict) -> dict:
    keys = set(observed) | set(expected)
    return {k: (observed.get(k), expected.get(k)) for k in sorted(keys, key=str) if observed.get(k) != expected.get(k)}
