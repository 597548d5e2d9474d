"""The webhook gateway under load, beside a bare aiohttp handler, on the local broker.

    .venv/bin/python bench/gateway.py                     # 3 rounds of 4,000 requests, 32 at a time
    .venv/bin/python bench/gateway.py --requests 2000 --concurrency 8 --rounds 5

Each round sends the same number of signed requests (our own `generic` source, one activity each)
to `salespulse gateway`, which answers only once Kafka (acks=all) holds the event, and to a bare
aiohttp handler that reads the body and answers 200 (the HTTP limit in Python on this machine).
Both run as processes of their own; the client is a third. Results are medians over the rounds:
requests per second and p50/p99 time to the answer. Figures to compare within a run, never test
assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import yaml

from salespulse.web.gateway.adapters.generic import signature
from salespulse.kafka.launcher import LocalKafka, free_port

SECRET = "bench-secret"
BARE = """
import sys
from aiohttp import web

async def hook(request):
    await request.read()
    return web.json_response({"accepted": 1})

app = web.Application()
app.router.add_post("/hooks/{source}", hook)
app.router.add_get("/metrics", lambda request: web.Response(text="ok"))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def wait_up(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout_s:g} s")


def signed(n: int, run: str) -> tuple[bytes, dict[str, str]]:
    event = {"event_id": f"bench-{run}-{n}", "type": "activity", "occurred_at": datetime.now(UTC).isoformat(),
             "team_id": "bench", "rep_id": f"rep{n % 200}", "source": "bench", "schema_version": 1, "action": "call"}
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    return body, {"Content-Type": "application/json", "X-Salespulse-Timestamp": stamp,
                  "X-Salespulse-Signature": signature(SECRET, stamp, body)}


async def load(url: str, requests: int, concurrency: int, run: str) -> tuple[float, list[float]]:
    """Send `requests` signed requests, `concurrency` at a time; return requests/s and latencies."""
    bodies = [signed(n, run) for n in range(requests)]
    latencies: list[float] = []
    queue = iter(bodies)

    async def client(session: aiohttp.ClientSession) -> None:
        for body, headers in queue:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    raise SystemExit(f"{url}: {answer.status} {await answer.text()}")
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return requests / elapsed, latencies


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000, help="requests per round and server")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="salespulse-gateway-bench-") as tmp, LocalKafka() as broker:
        config = Path(tmp) / "salespulse.yaml"
        config.write_text(yaml.safe_dump({
            "teams": {"bench": {"reps": {f"rep{n}": {"name": f"Rep {n}"} for n in range(200)}}},
            "kafka": {"app_id": "gwbench"},
            "sources": {"generic": {"secret_env": "BENCH_GATEWAY_SECRET"}},
        }))
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "SALESPULSE_CONFIG": str(config),
               "BENCH_GATEWAY_SECRET": SECRET}
        subprocess.run([sys.executable, "-m", "salespulse.cli", "publish", "/dev/null"], env=env, check=True,
                       capture_output=True)  # creates the topics
        gateway_port, bare_port = free_port(), free_port()
        servers = {
            "salespulse gateway (verify, map, validate, acks=all)": (
                [sys.executable, "-m", "salespulse.cli", "gateway", "--port", str(gateway_port), "--loglevel", "warning"],
                f"http://127.0.0.1:{gateway_port}"),
            "bare aiohttp handler (read body, answer 200)": ([sys.executable, "-c", BARE, str(bare_port)],
                                                             f"http://127.0.0.1:{bare_port}"),
        }
        processes = []
        try:
            for command, base in servers.values():
                processes.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                wait_up(base + "/metrics")
            results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, (_, base) in servers.items():
                    rate, latencies = asyncio.run(load(base + "/hooks/generic", args.requests, args.concurrency,
                                                       uuid.uuid4().hex[:8]))
                    results[name].append((rate, quantile(latencies, 0.5), quantile(latencies, 0.99)))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)

    bare = statistics.median(r[0] for r in results[list(servers)[1]])
    print(f"\n{args.rounds} rounds of {args.requests} requests, {args.concurrency} in flight; medians\n")
    print("| server | requests/s | × bare | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, rows in results.items():
        rate = statistics.median(r[0] for r in rows)
        p50 = statistics.median(r[1] for r in rows) * 1000
        p99 = statistics.median(r[2] for r in rows) * 1000
        print(f"| {name} | {rate:,.0f} | {rate / bare:.2f} | {p50:.1f} | {p99:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
