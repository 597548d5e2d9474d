"""The whole pipeline on a real broker: publish, count, export, restart, recover."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from tests.integration import dataset
from tests.integration.conftest import scrape, wait_for

pytestmark = pytest.mark.integration


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Index an exposition by sample name and label set."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def observed_kpis(text: str) -> dict[tuple[str, ...], float]:
    """Reshape scraped series into the keys the data set's expectations use."""
    out: dict[tuple[str, ...], float] = {}
    for (name, labels), value in samples(text).items():
        lab = dict(labels)
        if name == "salespulse_actions":
            out[(lab["team"], lab["rep"], lab["action"], lab["window"])] = value
        elif name == "salespulse_actions_total":
            out[(lab["team"], lab["rep"], lab["action"])] = value
        elif name == "salespulse_deals_decided":
            out[("decided", lab["team"], lab["rep"], lab["outcome"], lab["window"])] = value
        elif name == "salespulse_deal_decision_seconds_combined":
            out[("combined", lab["team"], lab["rep"], lab["outcome"], lab["window"])] = value
        elif name in MONEY_SERIES:
            short = name.removeprefix("salespulse_")
            # A team's series have no rep label; the data set names them rep "".
            where = [lab.get("rep", "")] if "rep" in MONEY_SERIES[name] else []
            rest = [float(lab[key]) if key == "le" else lab[key] for key in MONEY_SERIES[name][1:] if key != "rep"]
            out[(short, lab["team"], *where, *rest)] = value
    return out


# Every money series, and its labels in the order the data set's keys hold them.
MONEY_SERIES = {
    "salespulse_sales_velocity": ("team", "rep", "window", "currency"),
    "salespulse_win_rate": ("team", "rep", "window"),
    "salespulse_deal_value_won_avg": ("team", "rep", "window", "currency"),
    "salespulse_sales_cycle_seconds_avg": ("team", "rep", "window"),
    "salespulse_open_deals": ("team", "rep", "stage"),
    "salespulse_open_deals_stale": ("team", "rep", "stage"),
    "salespulse_stage_seconds_avg": ("team", "stage", "window"),
    "salespulse_stage_exits": ("team", "stage", "window"),
    "salespulse_stage_seconds_count": ("team", "stage", "window"),
    "salespulse_stage_seconds_sum": ("team", "stage", "window"),
    "salespulse_stage_seconds_bucket": ("team", "stage", "window", "le"),
    "salespulse_funnel_reached_ratio": ("team", "stage", "window"),
    "salespulse_funnel_deals": ("team", "window"),
    "salespulse_deals_without_rate": ("team",),
}


def expected_kpis(ds: dataset.DataSet, now: datetime) -> dict[tuple[str, ...], float]:
    return {**dataset.expected_actions(ds, now), **dataset.expected_velocity(ds, now), **dataset.expected_money(ds, now)}


def same(observed: dict[tuple[str, ...], float], expected: dict[tuple[str, ...], float]) -> bool:
    return observed.keys() == expected.keys() and all(
        observed[k] == pytest.approx(v, rel=1e-9, abs=1e-6) for k, v in expected.items()
    )


def matches_at_scrape_time(url: str, ds: dataset.DataSet, last: dict) -> bool:
    """Scrape once; windows move with the clock, so accept the expectation of either side."""
    before = datetime.now(UTC)
    text = scrape(url)
    after = datetime.now(UTC)
    if text is None:
        return False
    observed = observed_kpis(text)
    last["observed"], last["text"] = observed, text
    return same(observed, expected_kpis(ds, before)) or same(observed, expected_kpis(ds, after))


async def produce_raw(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 30) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    records: list = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


def test_published_file_gives_exact_kpis_and_survives_restart(make_pipeline, kafka, tmp_path: Path) -> None:
    ds = dataset.generate(datetime.now(UTC))
    pipeline = make_pipeline(dataset.CONFIG)
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_bytes(b"\n".join(ds.lines) + b"\n")

    started = time.monotonic()
    published = pipeline.cli("publish", str(jsonl), "--quiet")
    assert published.returncode == 1, published.stderr
    reported = {}
    for line in published.stderr.splitlines():
        if ": rejected (" in line:
            where, rest = line.split(": rejected (", 1)
            reported[int(where.rsplit(":", 1)[1])] = rest.split(")", 1)[0]
    assert reported == ds.bad
    valid = len(ds.lines) - len(ds.bad)
    assert f"published {valid} events, rejected {len(ds.bad)}" in published.stdout

    # A producer that bypasses the CLI: the worker validates again.
    bypass = [(b"<xml/>", "not_json"), (json.dumps({"type": "activity"}).encode(), "invalid")]
    asyncio.run(produce_raw(kafka.bootstrap, f"{pipeline.app_id}-activities", [v for v, _ in bypass]))

    pipeline.apply_rates(ds.rates_yaml())
    url = pipeline.start_worker()
    last: dict = {}
    wait_for(lambda: matches_at_scrape_time(url, ds, last), 120, "metrics equal to the independent computation")
    first_match_s = time.monotonic() - started

    expected_rejections = Counter(ds.bad.values()) + Counter(reason for _, reason in bypass)
    def rejections() -> Counter[str]:
        scraped = samples(scrape(url) or "")
        last["rejected"] = Counter(
            {dict(labels)["reason"]: v for (name, labels), v in scraped.items() if name == "salespulse_events_rejected_total" and v}
        )
        return last["rejected"]

    wait_for(
        lambda: rejections() == expected_rejections,
        60,
        lambda: f"rejection counters {dict(expected_rejections)}; last seen {dict(last['rejected'])}",
    )
    scraped = samples(last["text"])
    for event_type, count in ds.duplicates.items():
        assert scraped[("salespulse_events_duplicate_total", frozenset({("type", event_type)}))] == count
    for (team, rep), name in dataset.NAMES.items():
        assert scraped[("salespulse_rep_info", frozenset({("team", team), ("rep", rep), ("name", name)}))] == 1

    letters = asyncio.run(read_topic(kafka.bootstrap, f"{pipeline.app_id}-dead-letter", sum(expected_rejections.values())))
    by_reason = Counter(dict(r.headers)["salespulse.reason"].decode() for r in letters)
    assert by_reason == expected_rejections
    assert {r.value for r in letters} == {ds.lines[n - 1] for n in ds.bad} | {v for v, _ in bypass}
    assert all(r.key.decode() == dict(r.headers)["salespulse.reason"].decode() for r in letters)

    # Restart: a new worker process recovers every table from its changelog.
    pipeline.stop_workers()
    restarted = time.monotonic()
    url = pipeline.start_worker()
    wait_for(lambda: matches_at_scrape_time(url, ds, last), 120, "metrics after restart")
    # Nothing was consumed twice: the figures came back from the changelogs, not from re-reading input.
    after_restart = samples(last["text"])
    for event_type in ("activity", "deal_stage"):
        assert after_restart[("salespulse_events_duplicate_total", frozenset({("type", event_type)}))] == 0
    print(f"\nfirst exact scrape after {first_match_s:.1f} s; recovered after restart in {time.monotonic() - restarted:.1f} s")
