"""Weeks gone by: the PromQL of a week's counts, reading it from a Prometheus, the targets then."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from salespulse.models.errors import ConfigError
from salespulse.models.targets import TargetSet
from salespulse.weekly.history import (
    History, held_weeks, merged, read_week_counts, week_bounds_of, week_query, week_totals, weeks_up_to,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Wednesday 25 November 2026, 10:00 in Amsterdam (09:00 UTC, 1795597200): ISO week 2026-W48.
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_weeks_up_to_counts_back_over_a_year_end() -> None:
    assert weeks_up_to("2026-W48", 3) == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    # 2026 has 53 ISO weeks.
    assert weeks_up_to("2027-W02", 3) == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    assert weeks_up_to("2026-W48", 0) == ["2026-W48"]


def test_a_week_with_a_clock_change_lasts_169_hours() -> None:
    # Summer time ends on Sunday 25 October 2026: Monday 19 Oct 00:00 CEST to Monday 26 Oct 00:00 CET.
    start, end = week_bounds_of("2026-W43", AMSTERDAM)
    assert (start.timestamp(), end.timestamp()) == (1792360800, 1792969200)
    assert end.timestamp() - start.timestamp() == 169 * 3600


SELECTOR = 'salespulse_actions{team="nl", window="%s"}'


def test_a_closed_week_is_read_from_its_week_window_and_the_next_weeks_last_week_window() -> None:
    # 2026-W46: 8 November 23:00 UTC (1794178800) to 15 November 23:00 UTC (1794783600); the week
    # after it ends on 22 November 23:00 UTC (1795388400), before now.
    assert week_query("nl", "2026-W46", AMSTERDAM, NOW) == (
        "max by (rep, action) ("
        f"max_over_time({SELECTOR % 'week'}[604799999ms] @ 1794783599.999) or "
        f"max_over_time({SELECTOR % 'last_week'}[604799999ms] @ 1795388399.999))"
    )


def test_last_weeks_last_week_window_is_read_up_to_now() -> None:
    # 2026-W47 ends at 1795388400; its last_week window has been served since then, until now
    # (1795597200): 208800 s.
    assert week_query("nl", "2026-W47", AMSTERDAM, NOW) == (
        "max by (rep, action) ("
        f"max_over_time({SELECTOR % 'week'}[604799999ms] @ 1795388399.999) or "
        f"max_over_time({SELECTOR % 'last_week'}[208799999ms] @ 1795597199.999))"
    )


def test_the_current_week_so_far_and_no_week_to_come() -> None:
    assert week_query("nl", "2026-W48", AMSTERDAM, NOW) == (
        f"max by (rep, action) (max_over_time({SELECTOR % 'week'}[208799999ms] @ 1795597199.999))"
    )
    assert week_query("nl", "2026-W49", AMSTERDAM, NOW) is None


@pytest.fixture
def prometheus() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A stand-in Prometheus API that records each query and answers by the evaluation time."""
    asked: list[dict[str, str]] = []

    class Api(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the handler's API)
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            asked.append(query)
            # Only 2026-W46 has samples: its `week` window, up to its end.
            if 'window="week"}[604799999ms] @ 1794783599.999' in query["query"]:
                result = [
                    {"metric": {"rep": "ann", "action": "call"}, "value": [1.0, "41"]},
                    {"metric": {"rep": "bob", "action": "call"}, "value": [1.0, "7"]},
                ]
            else:
                result = []
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", asked
    finally:
        server.shutdown()


def test_counts_are_read_week_by_week(prometheus: tuple[str, list[dict[str, str]]]) -> None:
    url, asked = prometheus
    counts = read_week_counts(url, "nl", ["2026-W45", "2026-W46", "2026-W49"], AMSTERDAM, NOW)
    # W46 answers; W45 holds nothing; W49 has not begun and is not asked.
    assert counts == {"2026-W45": {}, "2026-W46": {("ann", "call"): 41, ("bob", "call"): 7}, "2026-W49": {}}
    assert [a["query"] for a in asked] == [
        week_query("nl", "2026-W45", AMSTERDAM, NOW),
        week_query("nl", "2026-W46", AMSTERDAM, NOW),
    ]
    assert {a["time"] for a in asked} == {"1795597200.000"}


def test_an_unreachable_prometheus_names_the_option() -> None:
    with pytest.raises(ConfigError, match=r"^--prometheus-url http://127.0.0.1:9/: cannot query Prometheus"):
        read_week_counts("http://127.0.0.1:9/", "nl", ["2026-W46"], AMSTERDAM, NOW)


def test_the_target_of_a_week_is_the_set_in_force_then() -> None:
    sets = [
        TargetSet(team="nl", effective_from="2026-W01", actions={"call": 40}, reps={"ann": {"call": 30}}),
        TargetSet(team="nl", effective_from="2026-W47", actions={"call": 50}),
        TargetSet(team="us", effective_from="2026-W40", actions={"call": 99}),
    ]
    history = History({"2026-W46": {("ann", "call"): 41}}, sets, "http://prometheus:9090")
    assert [history.target("nl", week, "ann", "call") for week in ("2026-W46", "2026-W47", "2026-W48")] == [30, 50, 50]
    assert history.target("nl", "2026-W46", "bob", "call") == 40
    assert history.target("nl", "2026-W46", "ann", "meeting") is None
    assert history.target("us", "2026-W39", "joe", "call") is None
    assert (history.count("2026-W46", "ann", "call"), history.count("2026-W45", "ann", "call")) == (41, None)


# --- the worker's weekly totals -------------------------------------------------------------


def test_a_teams_weekly_totals_by_week_rep_and_action() -> None:
    table = {
        "nl|ann|call|2026-W47": 3, "nl|ann|call|2026-W48": 5, "nl|bob|meeting|2026-W48": 1,
        "us|joe|call|2026-W48": 9,  # another team's
        "nl|ann|call": 8,  # not a weekly key: ignored
    }
    assert week_totals(table, "nl") == {
        "2026-W47": {("ann", "call"): 3},
        "2026-W48": {("ann", "call"): 5, ("bob", "meeting"): 1},
    }


def test_the_totals_hold_every_week_from_their_first_on() -> None:
    totals = {"2026-W45": {("ann", "call"): 1}, "2026-W48": {("ann", "call"): 2}}
    weeks = ["2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    assert held_weeks(totals, weeks) == {"2026-W45", "2026-W46", "2026-W47", "2026-W48"}
    assert held_weeks({}, weeks) == frozenset()


def test_where_two_sources_hold_a_count_the_higher_stands() -> None:
    worker = {"2026-W45": {("ann", "call"): 4, ("bob", "call"): 2}}
    prometheus = {"2026-W44": {("ann", "call"): 7}, "2026-W45": {("ann", "call"): 6, ("bob", "call"): 1}}
    assert merged(worker, prometheus) == {
        "2026-W44": {("ann", "call"): 7}, "2026-W45": {("ann", "call"): 6, ("bob", "call"): 2},
    }


def test_in_a_week_the_totals_hold_a_missing_count_is_zero_elsewhere_unknown() -> None:
    history = History({"2026-W46": {("ann", "call"): 4}}, [], "the worker's weekly totals", frozenset({"2026-W46"}))
    assert history.count("2026-W46", "ann", "call") == 4
    assert history.count("2026-W46", "bob", "call") == 0
    assert history.count("2026-W45", "ann", "call") is None
