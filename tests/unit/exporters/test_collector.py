"""PipelineCollector: exact samples from plain-dict state, a fixed clock and a fresh registry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families as text_to_families

from salespulse.exporters.collector import PipelineCollector, PipelineState
from salespulse.models.config import Settings
from salespulse.streams.kpi.actions import SlotKey
from salespulse.streams.kpi.velocity import DealHistory

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = 86_400.0
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)  # Wednesday: 10:00 in Amsterdam, 04:00 in New York
NOW_TS = 1_795_597_200.0  # 2026-11-25T09:00Z

SETTINGS = Settings.model_validate(
    {
        "actions": ["call", "cold_call"],
        "teams": {
            "nl": {
                "timezone": "Europe/Amsterdam",
                "reps": {"ann": {"name": "Ann de Vries"}, "bob": {"name": "Bob Jansen"}},
            },
            "us": {"timezone": "America/New_York", "reps": {"joe": {"name": "Joe Smith"}}},
        },
    }
)


def slot(team: str, rep: str, action: str, y: int, mo: int, d: int, h: int, mi: int = 0) -> str:
    quarter = (datetime(y, mo, d, h, mi, tzinfo=UTC) - EPOCH) // timedelta(minutes=15)
    return SlotKey(team, rep, action, quarter).encode()


SLOT_COUNTS = {
    slot("nl", "ann", "cold_call", 2026, 11, 25, 8): 5,  # today
    slot("nl", "ann", "cold_call", 2026, 11, 24, 22, 45): 1,  # Tuesday 23:45 CET: week
    slot("nl", "ann", "cold_call", 2026, 11, 23, 7): 3,  # Monday: week
    slot("nl", "ann", "cold_call", 2026, 11, 20, 10): 2,  # last Friday: last_week, rolling_7d
    slot("nl", "ann", "cold_call", 2026, 11, 17, 10): 4,  # last Tuesday: last_week only
    slot("nl", "ann", "smoke_signal", 2026, 11, 25, 8): 99,  # not a configured action
    slot("us", "joe", "call", 2026, 11, 25, 4, 45): 7,  # Tuesday 23:45 EST: week, not today
    slot("us", "joe", "call", 2026, 11, 25, 5): 1,  # Wednesday 00:00 EST: today
    slot("zz", "ghost", "call", 2026, 11, 25, 0): 2,  # team absent from config: UTC day
}
ACTION_TOTALS = {"nl|ann|cold_call": 958, "us|joe|call": 8, "zz|ghost|call": 2}


def decided(team: str, rep: str, outcome: str, ago_days: float, took_days: float) -> DealHistory:
    at = NOW_TS - ago_days * DAY
    return DealHistory(
        created_at=at - took_days * DAY,
        last_at=at,
        decided_at=at,
        decision_event_id=f"{rep}-{ago_days}",
        outcome=outcome,  # type: ignore[arg-type]
        team=team,
        rep=rep,
    )


DEALS = [
    decided("nl", "ann", "won", ago_days=2, took_days=3),
    decided("nl", "ann", "won", ago_days=20, took_days=1),
    decided("nl", "ann", "lost", ago_days=40, took_days=1),
    decided("nl", "bob", "lost", ago_days=89, took_days=0.5),
    DealHistory(created_at=NOW_TS - DAY, last_at=NOW_TS),  # open deal of nobody yet
]


def make_registry(clock: list[datetime] | None = None) -> CollectorRegistry:
    now = clock if clock is not None else [NOW]
    registry = CollectorRegistry()
    state = PipelineState(
        slot_counts=SLOT_COUNTS,
        action_totals=ACTION_TOTALS,
        deals=lambda: iter(DEALS),
        rejections={"future": 2, "invalid": 1, "legacy": 4},
        duplicates={"activity": 3},
    )
    PipelineCollector(state, SETTINGS, lambda: now[0], registry)
    return registry


@pytest.fixture(scope="module")
def registry() -> CollectorRegistry:
    return make_registry()


def test_now_constant_matches_now() -> None:
    assert NOW.timestamp() == NOW_TS


# --- action windows ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("team", "rep", "action", "today", "week", "last_week", "rolling_7d"),
    [
        ("nl", "ann", "cold_call", 5, 9, 6, 11),
        ("nl", "ann", "call", 0, 0, 0, 0),
        ("nl", "bob", "cold_call", 0, 0, 0, 0),
        ("us", "joe", "call", 1, 8, 0, 8),
        ("zz", "ghost", "call", 2, 2, 0, 2),
    ],
)
def test_action_windows(
    registry: CollectorRegistry,
    team: str,
    rep: str,
    action: str,
    today: int,
    week: int,
    last_week: int,
    rolling_7d: int,
) -> None:
    def value(window: str) -> float | None:
        labels = {"team": team, "rep": rep, "action": action, "window": window}
        return registry.get_sample_value("salespulse_actions", labels)

    assert (value("today"), value("week"), value("last_week"), value("rolling_7d")) == (
        today,
        week,
        last_week,
        rolling_7d,
    )


def test_unconfigured_action_is_not_exported(registry: CollectorRegistry) -> None:
    labels = {"team": "nl", "rep": "ann", "action": "smoke_signal", "window": "today"}
    assert registry.get_sample_value("salespulse_actions", labels) is None


def test_windows_follow_the_clock() -> None:
    clock = [NOW]
    registry = make_registry(clock)
    clock[0] = datetime(2026, 11, 30, 9, tzinfo=UTC)  # next Monday 10:00 in Amsterdam

    def value(window: str) -> float | None:
        labels = {"team": "nl", "rep": "ann", "action": "cold_call", "window": window}
        return registry.get_sample_value("salespulse_actions", labels)

    # rolling_7d starts 2026-11-23T09:00Z: the 08:00 and 22:45 slots only.
    assert (value("today"), value("week"), value("last_week"), value("rolling_7d")) == (0, 0, 9, 6)


def test_windows_follow_the_changed_buckets_from_scrape_to_scrape() -> None:
    """With a change feed, as in the worker: only changed buckets are read again at a scrape."""
    clock = [NOW]
    today = slot("nl", "ann", "cold_call", 2026, 11, 25, 8)
    monday = slot("nl", "ann", "cold_call", 2026, 11, 23, 7)  # 08:00 in Amsterdam
    first_call = slot("nl", "ann", "call", 2026, 11, 25, 8, 15)
    slots = {today: 5, monday: 3}
    changed: set[str] = set()

    def take_changed() -> set[str]:
        taken = set(changed)
        changed.clear()
        return taken

    registry = CollectorRegistry()
    state = PipelineState(slots, {}, list, {}, {}, slot_changes=take_changed)
    PipelineCollector(state, SETTINGS, lambda: clock[0], registry)

    def scrape() -> dict[str, tuple[float, ...]]:
        """One scrape: ann's (today, week, last_week, rolling_7d) of each action."""
        values = {
            (sample.labels["action"], sample.labels["window"]): sample.value
            for family in registry.collect()
            if family.name == "salespulse_actions" and family.type == "gauge"
            for sample in family.samples
            if sample.labels["rep"] == "ann"
        }
        windows = ("today", "week", "last_week", "rolling_7d")
        return {action: tuple(values[(action, window)] for window in windows) for action in ("call", "cold_call")}

    assert scrape() == {"call": (0, 0, 0, 0), "cold_call": (5, 8, 0, 8)}
    slots[today] = 7
    slots[first_call] = 2  # the first bucket of a rep action answered with zeros so far
    del slots[monday]
    changed.update((today, first_call, monday))
    assert scrape() == {"call": (2, 2, 0, 2), "cold_call": (7, 7, 0, 7)}
    assert scrape() == {"call": (2, 2, 0, 2), "cold_call": (7, 7, 0, 7)}
    clock[0] = datetime(2026, 11, 26, 9, tzinfo=UTC)  # Thursday: a new day in the same week
    assert scrape() == {"call": (0, 2, 0, 2), "cold_call": (0, 7, 0, 7)}


@pytest.mark.parametrize(
    ("team", "rep", "action", "total"),
    [
        ("nl", "ann", "cold_call", 958),
        ("nl", "ann", "call", 0),
        ("nl", "bob", "call", 0),
        ("us", "joe", "call", 8),
        ("us", "joe", "cold_call", 0),
        ("zz", "ghost", "call", 2),
    ],
)
def test_action_totals(registry: CollectorRegistry, team: str, rep: str, action: str, total: int) -> None:
    labels = {"team": team, "rep": rep, "action": action}
    assert registry.get_sample_value("salespulse_actions_total", labels) == total


# --- rep info ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("team", "rep", "name"),
    [
        ("nl", "ann", "Ann de Vries"),
        ("nl", "bob", "Bob Jansen"),
        ("us", "joe", "Joe Smith"),
        ("zz", "ghost", "ghost"),  # absent from the configuration: the rep id
    ],
)
def test_rep_info(registry: CollectorRegistry, team: str, rep: str, name: str) -> None:
    labels = {"team": team, "rep": rep, "name": name}
    assert registry.get_sample_value("salespulse_rep_info", labels) == 1


def test_rep_info_lists_exactly_the_known_reps(registry: CollectorRegistry) -> None:
    samples = [s for m in registry.collect() for s in m.samples if s.name == "salespulse_rep_info"]
    assert sorted((s.labels["team"], s.labels["rep"], s.labels["name"]) for s in samples) == [
        ("nl", "ann", "Ann de Vries"),
        ("nl", "bob", "Bob Jansen"),
        ("us", "joe", "Joe Smith"),
        ("zz", "ghost", "ghost"),
    ]


# --- deal velocity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rep", "outcome", "window", "count", "combined", "avg"),
    [
        ("ann", "won", "rolling_30d", 2, 4 * DAY, 2 * DAY),
        ("ann", "won", "rolling_90d", 2, 4 * DAY, 2 * DAY),
        ("ann", "lost", "rolling_30d", 0, 0.0, None),
        ("ann", "lost", "rolling_90d", 1, DAY, DAY),
        ("bob", "won", "rolling_30d", 0, 0.0, None),
        ("bob", "won", "rolling_90d", 0, 0.0, None),
        ("bob", "lost", "rolling_30d", 0, 0.0, None),
        ("bob", "lost", "rolling_90d", 1, 43_200.0, 43_200.0),
    ],
)
def test_deal_velocity(
    registry: CollectorRegistry,
    rep: str,
    outcome: str,
    window: str,
    count: int,
    combined: float,
    avg: float | None,
) -> None:
    labels = {"team": "nl", "rep": rep, "outcome": outcome, "window": window}
    assert registry.get_sample_value("salespulse_deals_decided", labels) == count
    assert registry.get_sample_value("salespulse_deal_decision_seconds_combined", labels) == combined
    assert registry.get_sample_value("salespulse_deal_decision_seconds_avg", labels) == avg


def test_reps_without_decided_deals_have_no_velocity_series(registry: CollectorRegistry) -> None:
    labels = {"team": "us", "rep": "joe", "outcome": "won", "window": "rolling_30d"}
    assert registry.get_sample_value("salespulse_deals_decided", labels) is None


# --- pipeline counters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "value"),
    [
        ("not_json", 0),
        ("invalid", 1),
        ("unknown_action", 0),
        ("unknown_stage", 0),
        ("future", 2),
        ("too_late", 0),
        ("legacy", 4),  # a reason only present in the state is still exported
    ],
)
def test_events_rejected(registry: CollectorRegistry, reason: str, value: int) -> None:
    assert registry.get_sample_value("salespulse_events_rejected_total", {"reason": reason}) == value


def test_rejected_zeros_for_every_reason_with_empty_state() -> None:
    registry = CollectorRegistry()
    state = PipelineState({}, {}, lambda: [], {}, {})
    PipelineCollector(state, Settings(), lambda: NOW, registry)
    samples = {
        s.labels["reason"]: s.value
        for m in registry.collect()
        for s in m.samples
        if s.name == "salespulse_events_rejected_total"
    }
    assert samples == {
        "not_json": 0,
        "invalid": 0,
        "unknown_action": 0,
        "unknown_stage": 0,
        "future": 0,
        "too_late": 0,
        "unknown_subject": 0,
        "unknown_theme": 0,
        "score_out_of_scale": 0,
        "self_review": 0,
        "unknown_rubric_item": 0,
        "points_out_of_range": 0,
        "self_check": 0,
        "not_the_checker": 0,
        "too_large": 0,
        "too_deep": 0,
        "unprocessable": 0,
        "unknown_rep": 0,
        "unmapped_owner": 0,
        "unmapped_stage": 0,
        "unmapped_action": 0,
        "unsupported_object": 0,
    }
    assert registry.get_sample_value("salespulse_events_duplicate_total", {"type": "activity"}) == 0
    assert registry.get_sample_value("salespulse_events_duplicate_total", {"type": "deal_stage"}) == 0
    assert registry.get_sample_value("salespulse_events_duplicate_total", {"type": "review"}) == 0
    assert registry.get_sample_value("salespulse_events_duplicate_total", {"type": "mystery_check"}) == 0
    assert registry.get_sample_value("salespulse_events_duplicate_total", {"type": "self_report"}) == 0


@pytest.mark.parametrize(("event_type", "value"), [("activity", 3), ("deal_stage", 0)])
def test_events_duplicate(registry: CollectorRegistry, event_type: str, value: int) -> None:
    assert registry.get_sample_value("salespulse_events_duplicate_total", {"type": event_type}) == value


# --- exposition ----------------------------------------------------------------------------


def test_served_family_names_are_unique(registry: CollectorRegistry) -> None:
    """The worker serves the text format 0.0.4, where a family may be declared only once.

    OpenMetrics is not offered: there the required gauge `salespulse_actions` and counter
    `salespulse_actions_total` would share one family name.
    """
    text = generate_latest(registry).decode()
    declared = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert sorted(declared) == sorted(set(declared))


def test_served_exposition_parses(registry: CollectorRegistry) -> None:
    text = generate_latest(registry).decode()
    sample_names = {s.name for family in text_to_families(text) for s in family.samples}
    assert sample_names == {
        "salespulse_actions",
        "salespulse_actions_total",
        "salespulse_rep_info",
        "salespulse_deals_decided",
        "salespulse_deal_decision_seconds_avg",
        "salespulse_deal_decision_seconds_combined",
        "salespulse_events_rejected_total",
        "salespulse_events_duplicate_total",
        "salespulse_in_working_time",
        # Reps never reviewed have no review series; known reps get a 0 for each week they
        # have not reported on.
        "salespulse_self_report_submitted",
        "salespulse_series_dropped",
    }


def test_a_family_over_the_series_cap_is_cut_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    # 1,200 reps of an open team, one action: 1,200 series of totals and of rep info,
    # 4 x 1,200 of action windows and 2 x 1,200 of self-report flags.
    totals = {f"zz|r{i:04d}|call": i + 1 for i in range(1_200)}
    settings = Settings.model_validate({"actions": ["call"], "limits": {"max_series_per_family": 1_000}})
    registry = CollectorRegistry()
    PipelineCollector(PipelineState({}, totals, lambda: [], {}, {}), settings, lambda: NOW, registry)
    over = {
        "salespulse_actions": 3_800,
        "salespulse_actions_total": 200,
        "salespulse_rep_info": 200,
        "salespulse_self_report_submitted": 1_400,
    }
    for _ in range(2):
        samples = [s for m in registry.collect() for s in m.samples]
        kept = {s.labels["rep"]: s.value for s in samples if s.name == "salespulse_actions_total"}
        # Label order: r0000 .. r0999 stay, with their own values.
        assert kept == {f"r{i:04d}": i + 1 for i in range(1_000)}
        assert sum(s.name == "salespulse_actions" for s in samples) == 1_000
        dropped = {s.labels["family"]: s.value for s in samples if s.name == "salespulse_series_dropped"}
        assert {name: value for name, value in dropped.items() if value} == over
        assert dropped["salespulse_events_rejected_total"] == 0
    warnings = [r.getMessage() for r in caplog.records if "max_series_per_family" in r.getMessage()]
    # Warned once per family, not at every scrape.
    assert sorted(warnings) == sorted(f"{name} has {n} series more than limits.max_series_per_family (1000)" for name, n in over.items())
