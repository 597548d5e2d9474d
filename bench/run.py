"""Benchmarks of the hot paths, each against a baseline measured in the same run.

    .venv/bin/python bench/run.py [--repeat 7]

- validation: `parse_event` on a realistic activity line, against a bare `json.loads` of it;
- scrape: one `collect()` of the exporter over a full sales floor's retained state, against
  one pass over the same table entries that only decodes each key;
- quality: the same scrape with a month of stage checks, five weeks of self-reports and a year
  of mystery checks added, against the scrape without them: what execution quality adds.

Figures are medians of repeated runs, reported as ratios to the baseline: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from salespulse.exporters.collector import PipelineCollector, PipelineState
from salespulse.models.config import Settings
from salespulse.models.events import parse_event
from salespulse.streams.kpi.actions import SlotKey, rep_action_key, slot_of
from salespulse.streams.kpi.checklists import StageCheck
from salespulse.streams.kpi.self_reports import report_key
from salespulse.models.targets import iso_week_of

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


def quality_state(reps: int, changes_per_rep_day: int) -> tuple[list[StageCheck], dict, dict]:
    """Build stage checks (30 days), self-reports (5 weeks) and mystery checks (13 months)."""
    rng = random.Random(2)
    settings = Settings()
    checks = [
        StageCheck((NOW - timedelta(days=rng.uniform(0, 30))).timestamp(), f"team{r % 5}", f"rep{r}",
                   rng.choice(settings.stages), tuple(rng.sample(["budget", "timeline"], rng.randint(0, 2))),
                   tuple(rng.sample(["summary_email"], rng.randint(0, 1))))
        for r in range(reps) for _ in range(30 * changes_per_rep_day)
    ]
    reports = {
        report_key(f"team{r % 5}", f"rep{r}", iso_week_of((NOW - timedelta(weeks=w)).date())): {
            "at": 0.0, "event_id": "x", "figures": {a: rng.randint(0, 60) for a in settings.actions}, "lessons": "..."}
        for r in range(reps) for w in range(5)
    }
    months = {
        f"team{t}|{2025 + (m + 10) // 12}-{(m + 10) % 12 + 1:02d}": {
            f"rep{r}": {f"deal{r}-{d}": [0.0, "x", rng.randint(0, 150)] for d in range(2)}
            for r in range(reps) if r % 5 == t
        }
        for t in range(5) for m in range(13)
    }
    return checks, reports, months


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
    # Totals make the reps known, as they are in a running worker.
    totals: dict[str, int] = {}
    for key, count in slots.items():
        bucket = SlotKey.decode(key)
        total_key = rep_action_key(bucket.team, bucket.rep, bucket.action)
        totals[total_key] = totals.get(total_key, 0) + count
    state = PipelineState(slots, totals, list, {}, {})
    registry = CollectorRegistry()
    PipelineCollector(state, settings, lambda: NOW, registry)
    scan = median_seconds(lambda: [SlotKey.decode(k) for k in slots], args.repeat, 5)
    scrape = median_seconds(lambda: generate_latest(registry), args.repeat, 5)
    print(f"scrape: 50 reps, {len(slots):,} buckets: {scrape * 1e3:.1f} ms per /metrics, "
          f"key scan {scan * 1e3:.1f} ms, ratio {scrape / scan:.1f}x")

    checks, reports, months = quality_state(reps=50, changes_per_rep_day=4)
    with_quality = CollectorRegistry()
    PipelineCollector(
        PipelineState(slots, totals, list, {}, {}, stage_checks=lambda: checks, self_reports=reports, mystery_months=months),
        settings, lambda: NOW, with_quality,
    )
    quality = median_seconds(lambda: generate_latest(with_quality), args.repeat, 5)
    print(f"quality: + {len(checks):,} stage checks, {len(reports)} self-reports, {len(months)} mystery months: "
          f"{quality * 1e3:.1f} ms per /metrics, without {scrape * 1e3:.1f} ms, ratio {quality / scrape:.2f}x")


if __name__ == "__main__":
    main()
