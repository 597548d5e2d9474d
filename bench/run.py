"""Benchmarks of the hot paths, each against a baseline measured in the same run.

    .venv/bin/python bench/run.py [--repeat 7]

- validation: `parse_event` on a realistic activity line, against a bare `json.loads` of it;
- scrape: one `collect()` of the exporter over a full sales floor's retained state, against
  one pass over the same table entries that only decodes each key.

Figures are medians of repeated runs, reported as ratios to the baseline: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402

from exporters.collector import PipelineCollector, PipelineState  # noqa: E402
from models.config import Settings  # noqa: E402
from models.events import parse_event  # noqa: E402
from streams.kpi.actions import SlotKey, slot_of  # noqa: E402

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


def median_seconds(fn: Callable[[], object], repeat: int, number: int) -> float:
    """Return the median time of one call over `repeat` timed batches of `number` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def floor_state(reps: int, per_rep_day: int, days: int) -> dict[str, int]:
    """Build bucket counts as a floor of `reps` reps would leave them after `days` days."""
    rng = random.Random(1)
    settings = Settings()
    slots: dict[str, int] = {}
    for r in range(reps):
        for d in range(days):
            for _ in range(per_rep_day):
                at = NOW - timedelta(days=d, seconds=rng.uniform(0, 8 * 3600))
                key = SlotKey(f"team{r % 5}", f"rep{r}", rng.choice(settings.actions), slot_of(at)).encode()
                slots[key] = slots.get(key, 0) + 1
    return slots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    settings = Settings()
    line = json.dumps(
        {"event_id": "aircall-81723", "type": "activity", "occurred_at": "2026-11-25T09:15:00+01:00",
         "team_id": "amsterdam", "rep_id": "anna", "source": "aircall", "schema_version": 1,
         "action": "cold_call", "duration_s": 184, "outcome": "connected"}
    ).encode()
    baseline = median_seconds(lambda: json.loads(line), args.repeat, 20_000)
    parse = median_seconds(lambda: parse_event(line, settings, NOW), args.repeat, 20_000)
    print(f"validation: parse_event {parse * 1e6:.1f} us/event, json.loads {baseline * 1e6:.2f} us/event, "
          f"ratio {parse / baseline:.1f}x; {1 / parse:,.0f} events/s on one core")

    slots = floor_state(reps=50, per_rep_day=60, days=35)
    state = PipelineState(slots, {}, list, {}, {})
    registry = CollectorRegistry()
    PipelineCollector(state, settings, lambda: NOW, registry)
    scan = median_seconds(lambda: [SlotKey.decode(k) for k in slots], args.repeat, 5)
    scrape = median_seconds(lambda: generate_latest(registry), args.repeat, 5)
    print(f"scrape: 50 reps, {len(slots):,} buckets: {scrape * 1e3:.1f} ms per /metrics, "
          f"key scan {scan * 1e3:.1f} ms, ratio {scrape / scan:.1f}x")


if __name__ == "__main__":
    main()
