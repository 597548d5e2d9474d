"""Money velocity: sales velocity and its factors per rep and team, open and stale deals, time in
stage, the funnel, and the deals whose amount has no rate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import Metric
from prometheus_client.utils import floatToGoString

from salespulse.exporters.collectors.scrape import Scrape
from salespulse.exporters.metrics import (
    DEAL_VALUE_WON_AVG,
    DEALS_WITHOUT_RATE,
    FUNNEL_DEALS,
    FUNNEL_REACHED_RATIO,
    OPEN_DEALS,
    OPEN_DEALS_STALE,
    SALES_CYCLE_SECONDS_AVG,
    SALES_VELOCITY,
    STAGE_EXITS,
    STAGE_SECONDS,
    STAGE_SECONDS_AVG,
    STAGE_SECONDS_BUCKETS,
    WIN_RATE,
)
from salespulse.models.config import Settings
from salespulse.streams.kpi.money import MoneyFigures, sales_velocity

LE = [*(floatToGoString(bound) for bound in STAGE_SECONDS_BUCKETS), "+Inf"]


class MoneyCollector:
    """The money and stage series of the deals credited to the reps and teams this worker holds.

    A team's series of the per-rep families carry rep="" (no rep label in Prometheus).
    """

    def __init__(self, settings: Settings, figures: Callable[[datetime], MoneyFigures]) -> None:
        self.settings = settings
        self.figures = figures

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        figures = self.figures(scrape.now)
        currency_of = self.settings.currency_of
        yield from self._decided(figures, currency_of)
        yield from self._open(figures)
        yield from self._stages(figures)
        without = DEALS_WITHOUT_RATE.family()
        for team, count in sorted(figures.without_rate.items()):
            without.add_metric([team], count)
        yield without

    def _decided(self, figures: MoneyFigures, currency_of: Callable[[str], str]) -> Iterator[Metric]:
        velocity, win_rate = SALES_VELOCITY.family(), WIN_RATE.family()
        value, cycle = DEAL_VALUE_WON_AVG.family(), SALES_CYCLE_SECONDS_AVG.family()
        for (team, rep, window), cell in sorted(figures.decided.items()):
            currency = currency_of(team)
            if cell.win_rate is not None:
                win_rate.add_metric([team, rep, window], cell.win_rate)
            if cell.won_value_avg is not None:
                value.add_metric([team, rep, window, currency], cell.won_value_avg)
            if cell.cycle_seconds is not None:
                cycle.add_metric([team, rep, window], cell.cycle_seconds)
            per_day = sales_velocity(figures.open_total.get((team, rep), 0), cell)
            if per_day is not None:
                velocity.add_metric([team, rep, window, currency], per_day)
        yield velocity
        yield win_rate
        yield value
        yield cycle

    def _open(self, figures: MoneyFigures) -> Iterator[Metric]:
        open_deals, stale = OPEN_DEALS.family(), OPEN_DEALS_STALE.family()
        for labels, count in sorted(figures.open_deals.items()):
            open_deals.add_metric(list(labels), count)
            stale.add_metric(list(labels), figures.stale_deals[labels])
        yield open_deals
        yield stale

    def _stages(self, figures: MoneyFigures) -> Iterator[Metric]:
        average, exits, histogram = STAGE_SECONDS_AVG.family(), STAGE_EXITS.family(), STAGE_SECONDS.histogram()
        for (team, stage, window), cell in sorted(figures.stage_time.items()):
            labels = [team, stage, window]
            exits.add_metric(labels, cell.exits)
            if cell.seconds_avg is not None:
                average.add_metric(labels, cell.seconds_avg)
            running, buckets = 0, []
            for le, count in zip(LE, cell.buckets):
                running += count
                buckets.append((le, running))
            histogram.add_metric(labels, buckets, cell.seconds)
        funnel, base = FUNNEL_REACHED_RATIO.family(), FUNNEL_DEALS.family()
        for (team, window), created in sorted(figures.created.items()):
            base.add_metric([team, window], created)
            if not created:
                continue
            for stage in (*self.settings.stages, "won"):
                funnel.add_metric([team, stage, window], figures.reached[(team, stage, window)] / created)
        yield average
        yield exits
        yield histogram
        yield funnel
        yield base
