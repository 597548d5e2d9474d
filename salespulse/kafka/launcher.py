"""A single-node Apache Kafka broker in KRaft mode on loopback, for development and tests.

The broker's jars come from Maven Central through `mvn` into a cache outside the repository
(SALESPULSE_CACHE, default ~/.cache/salespulse); nothing is built.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from importlib import resources
from pathlib import Path
from types import TracebackType

from salespulse.models.errors import KafkaLauncherError

KAFKA_VERSION = "4.1.1"
START_TIMEOUT_S = 90.0


def cache_dir() -> Path:
    """Return the folder that holds downloaded broker jars."""
    return Path(os.environ.get("SALESPULSE_CACHE", Path.home() / ".cache" / "salespulse"))


def _resource(name: str) -> Path:
    return Path(str(resources.files("salespulse.kafka").joinpath(name)))


def fetch_kafka(quiet: bool = False) -> Path:
    """Resolve the broker's jars with Maven once; return the folder that holds them."""
    libs = cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"
    if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaLauncherError("mvn was not found on PATH; install Maven (apt-get install maven)")
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    if not quiet:
        print(f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central into {libs} ...", flush=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(_resource("pom.xml")), "dependency:copy-dependencies",
         f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise KafkaLauncherError(f"mvn could not fetch Apache Kafka {KAFKA_VERSION}:\n{tail}")
    # Rename last, so an interrupted download never looks like a complete cache.
    staging.rename(libs)
    return libs


def free_port() -> int:
    """Return a TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class LocalKafka:
    """A broker process; use as a context manager or call start() and stop()."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.controller_port = free_port()
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="salespulse-kafka-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None

    @property
    def bootstrap(self) -> str:
        """Return the address clients connect to."""
        return f"127.0.0.1:{self.port}"

    def _write_properties(self) -> Path:
        props = self.data_dir / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={self.data_dir / 'logs'}",
                    "num.partitions=4",
                    # Topics are created on purpose, with the partition count the tables need.
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=4",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "log.retention.check.interval.ms=60000",
                ]
            )
            + "\n"
        )
        return props

    def start(self) -> "LocalKafka":
        """Fetch if needed, format storage, start the broker and wait until it accepts connections."""
        libs = fetch_kafka()
        java = shutil.which("java")
        if java is None:
            raise KafkaLauncherError("java was not found on PATH; Apache Kafka needs Java 17 or later")
        props = self._write_properties()
        classpath = f"{libs}/*"
        log_config = f"-Dlog4j2.configurationFile={_resource('log4j2.yaml')}"
        began = time.monotonic()
        if not (self.data_dir / "logs" / "meta.properties").exists():
            fmt = subprocess.run(
                [java, log_config, "-cp", classpath, "kafka.tools.StorageTool", "format",
                 "-t", uuid.uuid4().hex[:22], "-c", str(props), "--ignore-formatted"],
                capture_output=True,
                text=True,
            )
            if fmt.returncode != 0:
                raise KafkaLauncherError(f"formatting KRaft storage failed:\n{fmt.stdout}{fmt.stderr}")
        log = open(self.data_dir / "broker.log", "wb")
        self.process = subprocess.Popen(
            [java, "-Xms256m", "-Xmx1g", log_config, "-cp", classpath, "kafka.Kafka", str(props)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = began + START_TIMEOUT_S
        while not _accepts(self.port):
            if self.process.poll() is not None:
                tail = (self.data_dir / "broker.log").read_text(errors="replace")[-3000:]
                raise KafkaLauncherError(f"the broker exited with code {self.process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise KafkaLauncherError(f"the broker did not accept connections within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        self.startup_s = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop the broker and remove its storage if this launcher created it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "LocalKafka":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
