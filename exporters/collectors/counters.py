"""The pipeline's own health: events rejected and duplicated, and the consumer lag."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import Metric

from salespulse.exporters.collectors.scrape import Scrape
from salespulse.exporters.metrics import CONSUMER_LAG, EVENTS_DUPLICATE, EVENTS_REJECTED
from salespulse.models.errors import REJECT_REASONS
from salespulse.models.routes import ROUTES

EVENT_TYPES = tuple(route.name for route in ROUTES)  # the route table's order


class CounterCollector:
    """Rejections by reason, duplicates by event type (zeros included), lag by input partition."""

    def __init__(
        self,
        rejections: Mapping[str, int],
        duplicates: Mapping[str, int],
        consumer_lag: Callable[[], Mapping[tuple[str, int], int]],
    ) -> None:
        self.rejections = rejections
        self.duplicates = duplicates
        self.consumer_lag = consumer_lag

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        rejected = EVENTS_REJECTED.family()
        for reason in sorted(set(REJECT_REASONS) | set(self.rejections)):
            rejected.add_metric([reason], self.rejections.get(reason, 0))
        duplicate = EVENTS_DUPLICATE.family()
        for event_type in EVENT_TYPES:
            duplicate.add_metric([event_type], self.duplicates.get(event_type, 0))
        yield rejected
        yield duplicate
        lag = CONSUMER_LAG.family()
        for (topic, partition), records in sorted(self.consumer_lag().items()):
            lag.add_metric([topic, str(partition)], records)
        yield lag
