"""The money and stage series of a generated floor, against the definitions computed deal by deal.

The data set's own computation (`tests.integration.dataset.expected_money`) reads the events as
the README defines each figure; here the same events go, shuffled, through the paths, the index
and the collector, and the exposition is compared series by series. The integration tests do the
same through Kafka.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from salespulse.exporters.collectors.money import MoneyCollector
from salespulse.exporters.collectors.scrape import Scrape
from salespulse.exporters.exposition import chunks
from salespulse.models.config import Settings
from salespulse.models.events import EVENT_ADAPTER, DealStageEvent
from salespulse.models.rates import Rate, RateBook
from salespulse.streams.kpi.money import STAGE_SECONDS_BUCKETS, DealPath, MoneyIndex, add_event, summarise
from tests.integration import dataset
from tests.integration.test_pipeline import observed_kpis

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize("seed,reversals", [(42, False), (7, True), (1234, True)])
def test_the_series_of_a_generated_floor_equal_the_definitions(seed: int, reversals: bool) -> None:
    ds = dataset.generate(NOW, seed=seed, deals=300, reversals=reversals)
    # Good lines only: an event in the future would be rejected by the worker, not counted.
    assert max(datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")) for e in ds.deal_events) <= NOW
    settings = Settings.model_validate(dataset.CONFIG)
    rates = RateBook(Rate.model_validate(entry) for entry in ds.rates)
    events = list(ds.deal_events)
    random.Random(seed).shuffle(events)  # any order of arrival gives the same paths
    paths: dict[str, DealPath] = {}
    for body in events:
        event = EVENT_ADAPTER.validate_python(body)
        assert isinstance(event, DealStageEvent)
        paths[event.deal_id] = add_event(
            paths.get(event.deal_id), occurred_at=event.occurred_at, event_id=event.event_id, stage=event.stage,
            team=event.team_id, rep=event.rep_id, amount=event.amount, currency=event.currency,
        )
    index = MoneyIndex(settings.stages, STAGE_SECONDS_BUCKETS)
    for deal, path in paths.items():
        summary = summarise(path, settings.stages)
        assert summary is not None
        index.set(f"money|{summary.team}|{summary.rep}|{deal}", summary)
        index.set(f"money|{summary.team}||{deal}", summary.for_team())
    collector = MoneyCollector(settings, lambda now: index.figures(
        now, rates=rates, currency_of=settings.currency_of,
        retention_days=dataset.RETENTION_DAYS, stale_days=dataset.STALE_DAYS,
    ))

    class Once:
        def collect(self):  # type: ignore[no-untyped-def]
            return collector.families(Scrape(NOW, [], [], {}))

    registry = CollectorRegistry()
    registry.register(Once())  # type: ignore[arg-type]
    observed = observed_kpis(b"".join(chunks(registry)).decode())
    expected = dataset.expected_money(ds, NOW)
    assert observed.keys() == expected.keys()
    assert observed == {key: pytest.approx(value, rel=1e-9, abs=1e-6) for key, value in expected.items()}
    # The set covers what the definitions turn on: a currency without a rate, stale deals, skipped stages.
    assert sum(v for k, v in expected.items() if k[0] == "deals_without_rate") > 0
    assert sum(v for k, v in expected.items() if k[0] == "open_deals_stale") > 0
    assert any(v < expected[("funnel_reached_ratio", k[1], "lead", k[3])]
               for k, v in expected.items() if k[0] == "funnel_reached_ratio" and k[2] == "qualified")
