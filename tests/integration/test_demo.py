"""`salespulse demo` stopped by SIGTERM, as a service manager or `kill` stops it: nothing left running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from salespulse.kafka.launcher import free_port
from tests.integration.conftest import REPO, wait_for

pytestmark = pytest.mark.integration


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path: Path) -> None:
    ports = {"--port": free_port(), "--web-port": free_port(), "--prometheus-port": free_port()}
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if k != "SALESPULSE_CONFIG"}
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "salespulse.cli", "demo", *(f"{k}={v}" for k, v in ports.items())],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for(lambda: all(listening(port) for port in ports.values()) or demo.poll() is not None, 180,
                 lambda: f"the demo's worker, web pages and Prometheus to listen; {log.read_text()[-2000:]}")
        assert demo.poll() is None, log.read_text()[-2000:]
        started = time.monotonic()
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=90) == 0, log.read_text()[-2000:]
        stopped_in = time.monotonic() - started
        # Its children stop with it: nothing answers on their ports, and none is left in its session.
        wait_for(lambda: not any(listening(port) for port in ports.values()), 10, "the demo's ports to close")
        left = subprocess.run(["pgrep", "-s", str(demo.pid)], capture_output=True, text=True).stdout.split()
        assert left == [], f"processes of the demo still running after SIGTERM: {left}"
        print(f"demo stopped by SIGTERM in {stopped_in:.1f} s")
    finally:
        # Whatever is left of its session (the demo and what it started share its process group).
        try:
            os.killpg(demo.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
