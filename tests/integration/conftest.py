"""Shared real parts: one Apache Kafka broker for the session, and a way to run workers.

A test that needs the broker fails when the broker cannot start; it never skips. When a test
fails, its workers' logs are kept in `.test-logs/<test>/` and their last lines shown in the report.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import json
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from pathlib import Path

import pytest
import yaml

from salespulse.kafka.launcher import LocalKafka, free_port

REPO = Path(__file__).resolve().parents[2]
KEPT_LOGS = REPO / ".test-logs"
LOG_TAIL_LINES = 40


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, keep the test's worker logs and show their last lines with the report."""
    report = yield
    pipelines: list[Pipeline] = getattr(item, "salespulse_pipelines", [])
    if report.failed and pipelines:
        kept = KEPT_LOGS / item.name.replace("/", "_")
        kept.mkdir(parents=True, exist_ok=True)
        for pipeline in pipelines:
            for log in sorted(pipeline.workdir.glob("*.log")):
                shutil.copy(log, kept / f"{pipeline.app_id}-{log.name}")
                tail = log.read_bytes().decode(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                report.sections.append((f"{log.name} of {pipeline.app_id} (last {len(tail)} lines)", "\n".join(tail)))
        report.sections.append(("worker logs", f"kept in {kept}"))
    return report


@pytest.fixture(scope="session")
def kafka() -> Iterator[LocalKafka]:
    """Start one KRaft broker on loopback for the whole session."""
    broker = LocalKafka().start()
    print(f"\nApache Kafka started in {broker.startup_s:.1f} s at {broker.bootstrap}")
    try:
        yield broker
    finally:
        broker.stop()


class Pipeline:
    """A config file, an app id of its own, and helpers to run CLI commands and workers on it."""

    def __init__(self, kafka: LocalKafka, workdir: Path, config: dict) -> None:
        self.app_id = f"t{uuid.uuid4().hex[:10]}"
        config = {**config, "kafka": {**config.get("kafka", {}), "app_id": self.app_id}}
        self.config_path = workdir / "salespulse.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.workdir = workdir
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "SALESPULSE_CONFIG": str(self.config_path),
        }
        self.workers: list[subprocess.Popen[bytes]] = []

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `salespulse ARGS` against this pipeline's broker and config."""
        return subprocess.run(
            [sys.executable, "-m", "salespulse.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def apply_rates(self, rates_yaml: str) -> None:
        """Apply a rates file (`salespulse rates apply`), as a team does before its money figures count."""
        path = self.workdir / "rates.yaml"
        path.write_text(rates_yaml)
        applied = self.cli("rates", "apply", str(path))
        assert applied.returncode == 0, applied.stdout + applied.stderr

    def start_worker(self, *options: str, env: Mapping[str, str] | None = None, data_dir: str | None = None) -> str:
        """Start a worker with extra command-line `options` and environment variables `env`;
        return its /metrics URL. Each worker has a data directory of its own unless `data_dir`
        names one a stopped worker had (a restart on the same disk, with its tables' local copy)."""
        port = free_port()
        log = open(self.workdir / f"worker-{len(self.workers)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "salespulse.cli", "worker", "--port", str(port),
             "--data-dir", str(self.workdir / (data_dir or f"worker-{len(self.workers)}")), *options],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(proc)
        return f"http://127.0.0.1:{port}/metrics"

    def stop_workers(self) -> None:
        """Stop every worker gracefully, so it leaves the consumer group at once."""
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def make_pipeline(kafka: LocalKafka, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[dict], Pipeline]]:
    """Return a factory of isolated pipelines on the session broker."""
    made: list[Pipeline] = []
    request.node.salespulse_pipelines = made  # their logs are kept if the test fails

    def factory(config: dict) -> Pipeline:
        pipeline = Pipeline(kafka, tmp_path, config)
        made.append(pipeline)
        return pipeline

    yield factory
    for pipeline in made:
        pipeline.stop_workers()


def scrape(url: str) -> str | None:
    """Return the exposition text, or None while the worker is not serving yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


def wait_for(predicate: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    """Poll until `predicate` holds; fail with `what` when the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1.0)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what() if callable(what) else what}")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Any]:
    binary = shutil.which("prometheus")
    assert binary, "prometheus not found: install Debian's prometheus package (.ci/run does)"
    procs: list[subprocess.Popen[bytes]] = []

    def start(config: Path) -> str:
        port = free_port()
        log = open(tmp_path / "prometheus.log", "wb")
        procs.append(
            subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def api(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)["data"]
    except OSError:
        return None
