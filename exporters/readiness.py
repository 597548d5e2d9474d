"""Whether this worker's tables are complete, and the gate that keeps half-recovered state out.

While a worker recovers its tables from their changelogs, counts climb from zero; served as
they are, Prometheus would read every counter as reset and count history again. Until recovery
is complete the worker serves only this collector's families:

    salespulse_worker_ready 0.0
    salespulse_recovery_remaining 5210.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CollectorRegistry, Metric
from prometheus_client.registry import Collector

from salespulse.exporters.metrics import RECOVERY_REMAINING, WORKER_READY


class ReadinessCollector(Collector):
    """Exports readiness; `remaining` returns the changelog records left, None when ready."""

    def __init__(self, remaining: Callable[[], int | None], *registries: CollectorRegistry) -> None:
        self.remaining = remaining
        for registry in registries:
            registry.register(self)

    def ready(self) -> bool:
        return self.remaining() is None

    def collect(self) -> Iterator[Metric]:
        left = self.remaining()
        ready = WORKER_READY.family()
        ready.add_metric([], 1 if left is None else 0)
        records = RECOVERY_REMAINING.family()
        records.add_metric([], left or 0)
        yield ready
        yield records
