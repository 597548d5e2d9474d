"""A small run of the end-to-end benchmark: it completes and its figures hang together.

Timings are not asserted (the machine is shared); what is asserted is that every stage ran and
that the worker counted exactly the backlog's distinct events.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_e2e_smoke_run(tmp_path: Path) -> None:
    out = tmp_path / "e2e.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "e2e.py"), "--events", "20000", "--teams", "4", "--reps", "50",
         "--skip", "quix", "--latency-s", "5", "--scrape-reps", "200", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    worker = results["worker"]
    assert worker["complete"], worker
    assert worker["counted"][0] == results["distinct"]["activity"]
    assert results["bare_per_s"] > 0 and results["faust_each_per_s"] > 0 and results["worker_per_s"] > 0
    # The last table write comes before the commit that shows the backlog read.
    assert 0 < worker["counted_s"] <= worker["done_s"]
    assert results["worker_counting_per_s"] >= results["worker_per_s"]
    assert results["latency"]["probes"] >= 1
    assert results["restart"]["complete_s"] is not None
    assert results["restart_new_disk"]["complete_s"] is not None
    assert results["scrape"][0]["reps"] == 200 and results["scrape"][0]["series"] > 200
    assert "| salespulse worker, start to last event counted |" in done.stdout
