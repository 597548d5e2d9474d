"""Readiness: what a worker says while its tables recover, and once they are complete."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from salespulse.exporters.exposition import render
from salespulse.exporters.readiness import ReadinessCollector


def test_recovering_worker_says_so_and_how_much_is_left() -> None:
    registry = CollectorRegistry()
    readiness = ReadinessCollector(lambda: 5_210, registry)
    assert not readiness.ready()
    assert registry.get_sample_value("salespulse_worker_ready") == 0
    assert registry.get_sample_value("salespulse_recovery_remaining") == 5_210


def test_ready_worker() -> None:
    registry = CollectorRegistry()
    readiness = ReadinessCollector(lambda: None, registry)
    assert readiness.ready()
    assert registry.get_sample_value("salespulse_worker_ready") == 1
    assert registry.get_sample_value("salespulse_recovery_remaining") == 0


def test_one_collector_serves_both_registries() -> None:
    full, recovering = CollectorRegistry(), CollectorRegistry()
    left = [12]
    ReadinessCollector(lambda: left[0] or None, full, recovering)
    assert render(recovering) == render(full)
    assert b"salespulse_recovery_remaining 12.0\n" in render(recovering)
    left[0] = 0
    assert b"salespulse_worker_ready 1.0\n" in render(full)
