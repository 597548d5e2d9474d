"""End to end on the local broker: the worker on a backlog, beside a bare consumer and peers.

    .venv/bin/python bench/e2e.py                       # 200,000 mixed events, 2,000 reps
    .venv/bin/python bench/e2e.py --events 20000 --mix activities --skip quix
    PYTHONPATH=/tmp/old .venv/bin/python bench/e2e.py --open-deals 50000   # the code of another tree

Each run starts its own Apache Kafka broker on loopback, puts one backlog on the ingest topics and
reads it, in the same run, with: a bare aiokafka consumer (the transport limit), a Faust agent that
does nothing, Quix Streams counting the same (team, rep, action, quarter hour) buckets when its
virtual environment is there (`bench/quix/requirements.txt`), and `salespulse worker` until every
distinct event is counted on /metrics. Results go to stdout as a Markdown table and, with --out,
as JSON. Timings are figures to compare within a run, never test assertions.

The code under test is the `salespulse` that this interpreter imports: PYTHONPATH pointing at
another work tree runs the same backlog through that tree's code, worker included (it starts
in the run's directory, where no `salespulse/` of the current directory comes first). Where that
code has money velocity, the in-process scrape holds open and decided deals as well.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from prometheus_client import CollectorRegistry

import salespulse
from salespulse.exporters.collector import PipelineCollector, PipelineState
from salespulse.exporters.exposition import render
from salespulse.kafka.launcher import LocalKafka, free_port
from salespulse.models.config import KafkaSettings, Settings
from salespulse.streams.kpi.actions import SlotKey, rep_action_key, slot_of
from salespulse.streams.topics import TopicNames, ensure_topics

try:  # money velocity; the versions before it have none of this
    from salespulse.models.rates import Rate, RateBook
    from salespulse.streams.kpi.money import STAGE_SECONDS_BUCKETS, MoneyIndex, add_event, summarise
    HAS_MONEY = True
except ImportError:
    HAS_MONEY = False

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor import (  # noqa: E402
    CURRENCIES, TERMINAL, Record, distinct_deal_events, expected_open_deals, expected_stage_changes,
    expected_totals, floor_config, floor_events, utc_now,
)

BENCH = Path(__file__).resolve().parent
QUIX_PYTHON = BENCH / "quix" / ".venv" / "bin" / "python"
TOTAL = re.compile(r"^salespulse_actions_total\{[^}]*\} ([0-9.e+]+)$", re.M)
STAGE_CHANGES = re.compile(r"^salespulse_stage_changes\{[^}]*\} ([0-9.e+]+)$", re.M)
# Per rep only: a team's copy of each deal carries rep="".
OPEN_DEALS = re.compile(r'^salespulse_open_deals\{(?![^}]*rep="")[^}]*\} ([0-9.e+]+)$', re.M)
SCRAPES = 5


async def produce(bootstrap: str, topics: TopicNames, records: list[Record]) -> float:
    """Send the backlog keyed as `salespulse publish` keys it; return the seconds it took."""
    topic_of = {"activity": topics.activities, "deal_stage": topics.deal_stages, "review": topics.reviews}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    start = time.perf_counter()
    try:
        futures = [await producer.send(topic_of[r.kind], key=r.key, value=r.value) for r in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - start


async def bare_consume(bootstrap: str, topics: list[str], n: int) -> float:
    """Read `n` records with a plain consumer and no work; return records per second."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
        group_id=f"bare-{time.time_ns()}",
    )
    await consumer.start()
    try:
        got = 0
        start = 0.0
        while got < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not start and batch:
                start = time.perf_counter()
            got += sum(len(records) for records in batch.values())
        return n / (time.perf_counter() - start)
    finally:
        await consumer.stop()


def run_peer(command: list[str], timeout: float) -> dict[str, Any] | None:
    """Run a peer that prints one JSON line with its rate; None if it did not finish."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    for line in done.stdout.splitlines():
        if "{" in line:  # the worker may put terminal control codes before it
            return dict(json.loads(line[line.index("{"):]))
    print(done.stderr[-2000:], file=sys.stderr)
    return None


def kinds_on_topic(records: list[Record], kind: str) -> int:
    """Return how many records (duplicates included) go to the topic of one kind."""
    return sum(1 for record in records if record.kind == kind)


def scrape(url: str) -> str | None:
    """Return /metrics, or None while the worker does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read().decode()
    except OSError:
        return None


# (activities counted, stage changes judged in the rolling 30 days, open deals or None without money velocity)
Counts = tuple[int, int, int | None]


def counted(text: str) -> Counts:
    """Return what the worker counted, from an exposition."""
    return (
        int(sum(float(v) for v in TOTAL.findall(text))),
        int(sum(float(v) for v in STAGE_CHANGES.findall(text))),
        int(sum(float(v) for v in OPEN_DEALS.findall(text))) if HAS_MONEY else None,
    )


def has_counted(seen: Counts, want: Counts) -> bool:
    """Whether `seen` holds every count of `want` (stage changes: at least, as the window may hold more)."""
    return seen[0] >= want[0] and seen[1] >= want[1] and (want[2] is None or seen[2] == want[2])


async def group_lag(bootstrap: str, group: str, topics: list[str], partitions: int) -> int:
    """Return how many records of `topics` the consumer group has not committed yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        tps = [TopicPartition(topic, p) for topic in topics for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        return sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


async def writes_span(bootstrap: str, app_id: str, partitions: int) -> tuple[float, float] | None:
    """Return when the worker wrote its first event ids and its last table record (epoch seconds).

    Each batch's changes are written right after its fold, its event ids first among them: the
    last record of the tables events change is the moment the last event was counted. Committed offsets come up to a commit
    interval (2.8 s) later, and polling /metrics would load the worker.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        # Every table but the week verdicts, which the week-closing timer writes every 15 s.
        topics = [t for t in await consumer.topics()
                  if t.startswith(f"{app_id}-") and t.endswith("-changelog") and t != f"{app_id}-reps_to_verdicts-changelog"]
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        starts, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        written = [tp for tp in tps if ends[tp] > starts[tp]]
        if not written:
            return None
        consumer.assign(written)
        stamps: list[tuple[float, float]] = []
        for tp in written:
            consumer.seek(tp, starts[tp])
            first = await consumer.getone(tp)
            consumer.seek(tp, ends[tp] - 1)
            last = await consumer.getone(tp)
            stamps.append((first.timestamp / 1000, last.timestamp / 1000))
        return (min(first for (first, _), tp in zip(stamps, written) if tp.topic.endswith("_ids_to_seen_at-changelog")),
                max(last for _, last in stamps))
    finally:
        await consumer.stop()


async def records_written(bootstrap: str, app_id: str, inputs: list[str]) -> dict[str, int]:
    """Return how many records each of the worker's topics holds (not the producer-facing ones)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(f"{app_id}-") and t not in inputs]
        tps = [TopicPartition(t["topic"], p["partition"])
               for t in await admin.describe_topics(topics) for p in t["partitions"]]
        written: dict[str, int] = {}
        for tp, end in (await consumer.end_offsets(tps)).items():
            name = tp.topic.removeprefix(f"{app_id}-")
            written[name] = written.get(name, 0) + end
        return {name: n for name, n in sorted(written.items()) if n}
    finally:
        await consumer.stop()
        await admin.close()


class Worker:
    """A `salespulse worker` process of the benchmark."""

    def __init__(self, env: dict[str, str], workdir: Path, profile: Path | None = None, data: str = "worker-data") -> None:
        port = free_port()
        command = [sys.executable, "-m", "salespulse.cli", "worker", "--port", str(port),
                   "--data-dir", str(workdir / data)]
        if profile:
            command = [str(Path(sys.executable).parent / "py-spy"), "record", "--rate", "100", "--format", "raw",
                       "-o", str(profile), "--", *command]
        self.profiled = profile is not None
        self.started = time.perf_counter()
        self.started_at = time.time()
        # In the run's directory: `-m` puts the current directory first, whose salespulse/ would
        # come before PYTHONPATH's.
        self.proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=open(workdir / "worker.log", "ab"),
                                     stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}/metrics"

    def peak_rss_bytes(self) -> int | None:
        """Return the worker's peak resident memory (not known when it runs under py-spy)."""
        if self.profiled:
            return None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return None

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT if self.profiled else signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def until_serving(worker: Worker, timeout: float) -> float | None:
    """Wait until /metrics answers; return seconds since the worker started."""
    while time.perf_counter() - worker.started < timeout:
        if scrape(worker.url) is not None:
            return time.perf_counter() - worker.started
        time.sleep(0.2)
    return None


def run_backlog(
    worker: Worker, bootstrap: str, group: str, topics: list[str], partitions: int, want: Counts,
    timeout: float,
) -> dict[str, Any]:
    """Wait until the worker has read the backlog; return its timings, what it counted and its scrapes.

    Progress is read from the group's committed offsets, not from /metrics, so that the
    benchmark does not load the worker with scrapes while it works. Then /metrics is read
    `SCRAPES` + 1 times back to back: the first brings what the scrape reads up to the tables
    (everything the backlog changed), the others cost what a scrape of a settled worker costs.
    """
    ready = until_serving(worker, timeout)
    progress: list[tuple[float, int]] = []
    while time.perf_counter() - worker.started < timeout:
        try:
            lag = asyncio.run(group_lag(bootstrap, group, topics, partitions))
        except KafkaError:  # the group's coordinator is not there yet
            lag = -1
        progress.append((round(time.perf_counter() - worker.started, 2), lag))
        if lag == 0:
            break
        time.sleep(0.5)
    done = time.perf_counter() - worker.started
    times = []
    for _ in range(SCRAPES + 1):
        scrape_start = time.perf_counter()
        text = scrape(worker.url) or ""
        times.append(time.perf_counter() - scrape_start)
    seen = counted(text)
    return {
        "ready_s": ready,
        "done_s": done,
        "counted": seen,
        "wanted": want,
        "complete": seen[0] == want[0] and has_counted(seen, want),
        "scrape_first_s": times[0],
        "scrape_s": statistics.median(times[1:]),
        "scrapes_s": times,
        "scrape_bytes": len(text.encode()),
        "series": sum(1 for line in text.splitlines() if line and not line.startswith("#")),
        "lag": progress,
    }


def run_restart(
    env: dict[str, str], workdir: Path, want: Counts, timeout: float, profile: Path | None = None,
    data: str = "worker-data",
) -> dict[str, Any]:
    """Start a worker on recovered state; return seconds until /metrics holds every count.

    In its own data directory the worker loads its tables' local copy and reads the changelogs'
    tail; in a new one (a new machine) it reads them whole.
    """
    worker = Worker(env, workdir, profile, data)
    try:
        serving = until_serving(worker, timeout)
        while time.perf_counter() - worker.started < timeout:
            if has_counted(counted(scrape(worker.url) or ""), want):
                return {"serving_s": serving, "complete_s": time.perf_counter() - worker.started}
            time.sleep(0.5)
        return {"serving_s": serving, "complete_s": None}
    finally:
        worker.stop()


def run_latency(
    bootstrap: str, app_id: str, topics: TopicNames, config: dict[str, Any], rate: float, seconds: float
) -> dict[str, Any]:
    """Send activities at `rate` per second; return how long a probe takes to be counted.

    A probe is one more activity for a rep of its own. It is counted when the worker writes the
    rep's new total to the changelog, which happens after the fold: from then on every scrape of
    /metrics shows it. Watching the changelog, not polling /metrics, keeps the measurement from
    loading the worker with back-to-back scrapes of a large floor.
    """
    team = next(iter(config["teams"]))
    reps = list(config["teams"][team]["reps"])
    probe_rep, load_reps = reps[0], reps[1:]
    probe_key = json.dumps(f"{team}|{probe_rep}|call").encode()
    changelog = f"{app_id}-rep_actions_to_total-changelog"
    stop = threading.Event()
    loaded = [0]
    timeline: list[tuple[float, float]] = []  # (seconds into the run, latency) per probe

    def activity(rep: str, event_id: str, action: str) -> bytes:
        return json.dumps({"event_id": event_id, "type": "activity", "occurred_at": utc_now().isoformat(),
                           "team_id": team, "rep_id": rep, "source": "bench", "schema_version": 1,
                           "action": action}).encode()

    async def load() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        await producer.start()
        try:
            n = 0
            begin = time.perf_counter()
            while not stop.is_set():
                n += 1
                rep = load_reps[n % len(load_reps)]
                await producer.send(topics.activities, activity(rep, f"load-{n}", "cold_call"), key=f"{team}|{rep}".encode())
                loaded[0] = n
                await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
        finally:
            await producer.stop()

    async def probe() -> tuple[list[float], int]:
        consumer = AIOKafkaConsumer(changelog, bootstrap_servers=bootstrap, auto_offset_reset="latest", group_id=None)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await consumer.start()
        await producer.start()
        latencies: list[float] = []
        try:
            await consumer.seek_to_end()
            begin = time.perf_counter()
            end = begin + seconds
            n = 0
            while time.perf_counter() < end:
                n += 1
                sent = time.perf_counter()
                await producer.send_and_wait(topics.activities, activity(probe_rep, f"probe-{n}", "call"),
                                             key=f"{team}|{probe_rep}".encode())
                deadline = sent + 30
                seen = False
                while not seen and time.perf_counter() < deadline:
                    batch = await consumer.getmany(timeout_ms=50)
                    seen = any(record.key == probe_key for records in batch.values() for record in records)
                if seen:
                    latencies.append(time.perf_counter() - sent)
                    timeline.append((round(sent - begin, 2), round(latencies[-1], 3)))
                await asyncio.sleep(0.2)
            return latencies, n
        finally:
            await producer.stop()
            await consumer.stop()

    loader = threading.Thread(target=lambda: asyncio.run(load()), daemon=True)
    loader.start()
    try:
        latencies, probes_sent = asyncio.run(probe())
        latencies.sort()
    finally:
        stop.set()
        loader.join(timeout=30)
    return {
        "rate_per_s": rate,
        "load_sent": loaded[0],
        "probes_sent": probes_sent,
        "probes": len(latencies),
        "p50_s": latencies[len(latencies) // 2] if latencies else None,
        "p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None,
        "timeline": timeline,
    }


def money_index(
    named: list[tuple[str, str]], open_deals: int, decided_deals: int, now: datetime, stages: tuple[str, ...]
) -> MoneyIndex:
    """Return the index of deal summaries a worker would hold for these reps, as `DealFigures` keeps it.

    Open deals went through one to three open stages in the last 60 days, with an amount in EUR or
    USD; decided ones were won or lost in the last 120 days, after the same, so that some fall out
    of the 90-day window. Each deal is indexed for its rep and for its team.
    """
    rng = random.Random(5)
    index = MoneyIndex(stages, STAGE_SECONDS_BUCKETS)
    for n in range(open_deals + decided_deals):
        team, rep = named[n % len(named)]
        decided = n >= open_deals
        end = now - timedelta(seconds=rng.uniform(60, (120 if decided else 60) * 86_400))
        steps = [*stages[: rng.randint(1, len(stages))], *([rng.choice(TERMINAL)] if decided else [])]
        gap = timedelta(days=rng.uniform(1, 20))  # in each stage
        path = None
        for number, stage in enumerate(steps):
            path = add_event(path, occurred_at=end - (len(steps) - 1 - number) * gap, event_id=f"m{n}-{number}",
                             stage=stage, team=team, rep=rep,
                             amount=round(rng.uniform(1_000, 250_000), 2) if number == 0 else None,
                             currency=rng.choice(CURRENCIES) if number == 0 else None)
        summary = summarise(path, stages)
        index.set(f"money|{team}|{rep}|m{n}", summary)
        index.set(f"money|{team}||m{n}", summary.for_team())
    return index


def scrape_figures(
    reps: int, per_rep_day: int, days: int = 14, repeat: int = 5, open_deals: int = 0, decided_deals: int = 0
) -> dict[str, Any]:
    """Time /metrics over a floor's state, in process: the first scrape, then steady ones.

    Between steady scrapes 1,000 buckets change, as live events change them; every other one
    comes a quarter hour later, when the rolling 7-day window moves for every rep action. Where the
    code under test has money velocity, the state holds `open_deals` and `decided_deals` too.
    """
    rng = random.Random(3)
    settings = Settings.model_validate(floor_config(max(1, reps // 100), 100))
    named = [(team, rep) for team, spec in settings.teams.items() for rep in spec.reps]
    now = utc_now()
    slots: dict[str, int] = {}
    totals: dict[str, int] = {}
    for team, rep in named[:reps]:
        for _ in range(days * per_rep_day):
            at = now - timedelta(seconds=rng.uniform(0, days * 86_400))
            action = rng.choice(settings.actions)
            key = SlotKey(team, rep, action, slot_of(at)).encode()
            slots[key] = slots.get(key, 0) + 1
            total_key = rep_action_key(team, rep, action)
            totals[total_key] = totals.get(total_key, 0) + 1
    changed: set[str] = set()

    def take_changed() -> set[str]:
        nonlocal changed
        taken, changed = changed, set()
        return taken

    clock = [now]
    registry = CollectorRegistry()
    money: dict[str, Any] = {}
    if HAS_MONEY:
        index = money_index(named[:reps], open_deals, decided_deals, now, settings.stages)
        # A rate of each pair from long before the windows: every amount converts.
        rates = RateBook([Rate(currency="USD", to="EUR", rate=0.92, effective_from=(now - timedelta(days=400)).date()),
                          Rate(currency="EUR", to="USD", rate=1.08, effective_from=(now - timedelta(days=400)).date())])
        money["money"] = lambda at: index.figures(at, rates=rates, currency_of=settings.currency_of,
                                                  retention_days=400, stale_days=14)
    PipelineCollector(PipelineState(slots, totals, list, {}, {}, slot_changes=take_changed, **money), settings,
                      lambda: clock[0], registry)
    start = time.perf_counter()
    text = render(registry)
    first = time.perf_counter() - start
    keys = list(slots)
    steady: list[float] = []
    quarter: list[float] = []
    for i in range(2 * repeat):
        for key in rng.sample(keys, 1_000):
            slots[key] += 1
            changed.add(key)
        if i % 2:
            clock[0] += timedelta(minutes=15)
        start = time.perf_counter()
        text = render(registry)
        (quarter if i % 2 else steady).append(time.perf_counter() - start)
    return {
        "reps": reps,
        "buckets": len(slots),
        "money": HAS_MONEY,
        "open_deals": open_deals if HAS_MONEY else 0,
        "decided_deals": decided_deals if HAS_MONEY else 0,
        "first_s": first,
        "steady_s": statistics.median(steady),
        "quarter_s": statistics.median(quarter),
        "slowest_s": max(steady + quarter),
        "bytes": len(text),
        "series": text.count(b"\n") - 2 * text.count(b"# TYPE"),
    }


def markdown(results: dict[str, Any]) -> str:
    """Return the results as a Markdown table, rates as ratios to the bare consumer of the run."""
    bare = results.get("bare_per_s")

    def rate(name: str, value: float | None) -> str:
        if value is None:
            return f"| {name} | – | – |"
        ratio = f"{value / bare:.4f} ×" if bare else "–"
        return f"| {name} | {value:,.0f} | {ratio} |"

    lines = [
        f"{results['events']:,} events ({results['distinct']}, {results.get('open_deals', 0):,} of them opening a deal "
        f"each), {results['cpus']} CPUs; code under test: {results.get('code', '?')}",
        "",
        "| reader of the same backlog | events/s | × bare consume |",
        "| --- | ---: | ---: |",
        rate("bare aiokafka consumer, no work", bare),
        rate("Quix Streams, same count (RocksDB + changelog)", results.get("quix_per_s")),
        rate("Faust agent, no work (one event at a time)", results.get("faust_each_per_s")),
        rate("Faust agent, no work (take_events batches)", results.get("faust_take_per_s")),
        rate("Faust agent, one table write per event", results.get("faust_table_per_s")),
        rate("salespulse worker, start to last event counted", results.get("worker_per_s")),
        rate("salespulse worker, first table write to last", results.get("worker_counting_per_s")),
    ]
    written = results.get("written")
    if written:
        lines += ["", f"records the worker wrote per event: {sum(written.values()) / results['events']:.2f} ("
                  + ", ".join(f"{name} {n / results['events']:.2f}" for name, n in written.items()) + ")"]
    latency = results.get("latency")
    if latency and latency.get("p50_s") is not None:
        lines += ["", f"produce to counted (changelog written) at {latency['rate_per_s']:.0f} events/s: "
                  f"p50 {latency['p50_s']:.2f} s, p99 {latency['p99_s']:.2f} s ({latency['probes']} probes)"]
    worker = results.get("worker")
    if worker and "scrape_first_s" in worker:
        lines.append(f"worker's /metrics after the backlog: first {worker['scrape_first_s'] * 1e3:.0f} ms, then "
                     f"{worker['scrape_s'] * 1e3:.0f} ms (median of {len(worker['scrapes_s']) - 1}), "
                     f"{worker['scrape_bytes'] / 1e6:.1f} MB, {worker['series']:,} series; counted {worker['counted']}, "
                     f"wanted {worker['wanted']} (activities, stage changes in 30 days, open deals)")
    if results.get("worker_peak_rss_bytes"):
        lines.append(f"worker peak RSS: {results['worker_peak_rss_bytes'] / 2**20:.0f} MiB")
    for key, title in (("restart", "restart on its own disk (local copy, changelog tail)"),
                       ("restart_new_disk", "restart on a new disk (whole changelogs)")):
        restart = results.get(key)
        if restart:
            complete = restart["complete_s"]
            lines.append(f"{title}: serving after {restart['serving_s']:.1f} s, every count back after "
                         + (f"{complete:.1f} s" if complete is not None else "– (timed out)"))
    for figures in results.get("scrape", []):
        deals = (f", {figures['open_deals']:,} open and {figures['decided_deals']:,} decided deals"
                 if figures.get("money") else ", no money velocity")
        lines.append(f"scrape, {figures['reps']:,} reps, {figures['buckets']:,} buckets{deals}: first "
                     f"{figures['first_s'] * 1e3:.0f} ms, then {figures['steady_s'] * 1e3:.0f} ms (median), "
                     f"{figures['quarter_s'] * 1e3:.0f} ms when the rolling window moves (median), "
                     f"slowest {figures['slowest_s'] * 1e3:.0f} ms, "
                     f"{figures['bytes'] / 1e6:.1f} MB, {figures['series']:,} series")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--mix", choices=("mixed", "activities"), default="mixed")
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--reps", type=int, default=100, help="reps per team")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--skip", action="append", default=[], choices=("bare", "faust", "quix", "worker", "latency", "restart", "restart-new-disk", "scrape"))
    parser.add_argument("--latency-s", type=float, default=30, help="seconds of steady load for the latency probes")
    parser.add_argument("--open-deals", type=int, default=0,
                        help="deal-stage events more, each opening a deal of its own (amount, last 60 days)")
    parser.add_argument("--scrape-reps", type=int, action="append", help="floor sizes for the scrape figures")
    parser.add_argument("--scrape-open-deals", type=int, default=50_000,
                        help="open deals in the scrape figures, where the code under test has money velocity")
    parser.add_argument("--scrape-decided-deals", type=int, default=20_000,
                        help="decided deals in the scrape figures, as --scrape-open-deals")
    parser.add_argument("--profile", type=Path, help="py-spy raw profile of the worker to this file (pip install py-spy)")
    parser.add_argument("--profile-restart", type=Path, help="py-spy raw profile of the restarted worker to this file")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument("--workdir", type=Path, help="keep the configuration and worker logs here")
    args = parser.parse_args()

    config = floor_config(args.teams, args.reps)
    config["kafka"] = {"app_id": f"bench{time.time_ns() % 10**8}", "partitions": args.partitions}
    now = utc_now()
    records = floor_events(config, args.events, now=now, mix=args.mix, open_deals=args.open_deals)
    kinds = expected_totals(records)
    deal_events = distinct_deal_events(records)
    # What /metrics must show at the end: every distinct activity, the stage changes of the rolling
    # 30 days, and (with money velocity) every deal not decided.
    want: Counts = (kinds["activity"], expected_stage_changes(deal_events, now),
                    expected_open_deals(deal_events) if HAS_MONEY else None)
    results: dict[str, Any] = {"events": len(records), "distinct": dict(kinds), "open_deals": args.open_deals,
                               "cpus": os.cpu_count(), "code": str(Path(salespulse.__file__).parent.parent)}
    if "scrape" not in args.skip:
        results["scrape"] = [scrape_figures(reps, per_rep_day=40, open_deals=args.scrape_open_deals,
                                            decided_deals=args.scrape_decided_deals)
                             for reps in args.scrape_reps or (1_000, 10_000)]

    with tempfile.TemporaryDirectory(prefix="salespulse-e2e-") as tmp, LocalKafka() as broker:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "salespulse.yaml").write_text(yaml.safe_dump(config))
        settings = Settings.model_validate(config)
        topics = TopicNames(settings.kafka.app_id)
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap)
        asyncio.run(ensure_topics(kafka, settings.kafka))
        results["produce_s"] = asyncio.run(produce(broker.bootstrap, topics, records))
        ingest = [topics.activities, topics.deal_stages, topics.reviews]
        if "bare" not in args.skip:
            results["bare_per_s"] = asyncio.run(bare_consume(broker.bootstrap, ingest, len(records)))
        if "faust" not in args.skip:
            for mode in ("each", "take", "table"):
                peer = run_peer(
                    [sys.executable, str(BENCH / "faust_peer.py"), "--bootstrap", broker.bootstrap,
                     "--topics", ",".join(ingest), "--events", str(len(records)), "--mode", mode, "--partitions", str(args.partitions)],
                    min(args.timeout, 600),
                )
                results[f"faust_{mode}_per_s"] = peer and peer["per_s"]
        if "quix" not in args.skip:
            if QUIX_PYTHON.exists():
                peer = run_peer(
                    [str(QUIX_PYTHON), str(BENCH / "quix" / "count.py"), "--bootstrap", broker.bootstrap,
                     "--topic", topics.activities, "--events", str(kinds_on_topic(records, "activity"))],
                    min(args.timeout, 600),
                )
                results["quix_per_s"] = peer and peer["per_s"]
            else:
                print(f"quix: no {QUIX_PYTHON}; make bench-e2e sets it up", file=sys.stderr)
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
               "SALESPULSE_CONFIG": str(workdir / "salespulse.yaml")}
        if "worker" not in args.skip:
            results["worker_code"] = subprocess.run(
                [sys.executable, "-c", "import salespulse, pathlib; print(pathlib.Path(salespulse.__file__).parent.parent)"],
                env=env, cwd=workdir, capture_output=True, text=True, check=True).stdout.strip()
            if results["worker_code"] != results["code"]:
                raise SystemExit(f"the worker would run {results['worker_code']}, the bench {results['code']}")
            internal = [topics.activities_by_rep, topics.deal_stages_by_deal, topics.deal_activities_by_deal,
                        topics.reviews_by_rep, topics.deal_figures_by_rep]
            worker = Worker(env, workdir, args.profile)
            try:
                run = run_backlog(worker, broker.bootstrap, settings.kafka.app_id, ingest + internal,
                                  args.partitions, want, args.timeout)
                results["worker"] = run
                span = asyncio.run(writes_span(broker.bootstrap, settings.kafka.app_id, args.partitions))
                if run["complete"] and span:
                    first, last = span
                    run["counted_s"] = last - worker.started_at
                    results["worker_per_s"] = len(records) / run["counted_s"]
                    results["worker_counting_per_s"] = len(records) / (last - first)
                results["written"] = asyncio.run(records_written(broker.bootstrap, settings.kafka.app_id, ingest))
                if "latency" not in args.skip:
                    results["latency"] = run_latency(broker.bootstrap, settings.kafka.app_id, topics, config, 500,
                                                     args.latency_s)
                results["worker_peak_rss_bytes"] = worker.peak_rss_bytes()
            finally:
                worker.stop()
            if "restart" not in args.skip and results["worker"]["complete"]:
                latency = results.get("latency", {})
                sent = latency.get("probes_sent", 0) + latency.get("load_sent", 0)
                restarted = (want[0] + sent, want[1], want[2])
                results["restart"] = run_restart(env, workdir, restarted, args.timeout, args.profile_restart)
                if "restart-new-disk" not in args.skip:
                    results["restart_new_disk"] = run_restart(env, workdir, restarted, args.timeout,
                                                              data="worker-data-new")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
