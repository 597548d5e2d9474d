"""Action counts: each rep's windows and all-time totals, and who the reps are."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.core import Metric

from salespulse.exporters.collectors.scrape import Scrape
from salespulse.exporters.metrics import ACTIONS, ACTIONS_TOTAL, REP_INFO
from salespulse.models.config import Settings
from salespulse.streams.kpi.actions import rep_action_key


class ActionCollector:
    """`salespulse_actions` by window, `salespulse_actions_total` and `salespulse_rep_info`."""

    def __init__(self, settings: Settings, totals: Mapping[str, int]) -> None:
        self.settings = settings
        self.totals = totals

    def families(self, scrape: Scrape) -> Iterator[Metric]:
        windows = ACTIONS.family()
        totals = ACTIONS_TOTAL.family()
        info = REP_INFO.family()
        for team, rep in scrape.reps:
            info.add_row(team, rep, self.settings.rep_name(team, rep), 1)
        # The largest family of a scrape, a row per rep, action and window: add_row rather than
        # add_metric, without a list of labels and a copy of it per row.
        all_time = self.totals
        add_window, add_total = windows.add_row, totals.add_row
        for (team, rep, action), by_window in scrape.counts.items():
            for window, value in by_window.items():
                add_window(team, rep, action, window, value)
            add_total(team, rep, action, all_time.get(rep_action_key(team, rep, action), 0))
        yield windows
        yield totals
        yield info
