"""Every metric Salespulse exports, declared once: name, type, labels and meaning.

Dashboards, alert rules and the reference docs read names from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Exemplar, Sample, Timestamp

from salespulse.models.errors import REJECT_REASONS, UnmappedReason
# The histogram's bounds live with the maths that fills them; named here with the metric.
from salespulse.streams.kpi.money import STAGE_SECONDS_BUCKETS as STAGE_SECONDS_BUCKETS

MetricType = Literal["gauge", "counter", "histogram"]


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric family."""

    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str

    @property
    def sample_name(self) -> str:
        """Name of the samples as Prometheus stores them (counters end in _total)."""
        return self.name + "_total" if self.type == "counter" else self.name

    @property
    def shown_names(self) -> str:
        """The sample names, as the reference lists them."""
        if self.type == "histogram":
            return f"`{self.name}_bucket`, `{self.name}_sum`, `{self.name}_count`"
        return f"`{self.sample_name}`"

    def histogram(self) -> HistogramMetricFamily:
        """Return a new, empty histogram family (a histogram's samples are few; no rows needed)."""
        assert self.type == "histogram", self.name
        return HistogramMetricFamily(self.name, self.help, labels=self.labels)

    def family(self) -> "GaugeRows | CounterRows":
        """Return a new, empty metric family to fill in one collect()."""
        assert self.type != "histogram", f"{self.name}: use histogram()"
        if self.type == "counter":
            return CounterRows(self.name, self.help, labels=self.labels)
        return GaugeRows(self.name, self.help, labels=self.labels)


class RowFamily(Metric):
    """A family that keeps each sample as a row, (label values..., value), until someone asks for Samples.

    A scrape of a large floor adds tens of thousands of samples; building a Sample and a label
    dict for each is most of the cost, and `exporters.exposition` needs neither. A row is one flat
    tuple of strings and a number: one allocation, which the garbage collector stops tracking at
    its first pass. A (labels, value) pair nests a new tuple in a new tuple, and enough of those
    outlive their first pass to set off full collections over the worker's whole state.
    """

    rows: list[tuple[Any, ...]]  # label values in `labelnames` order, then the value
    row_name: str
    labelnames: tuple[str, ...]

    def add_row(self, *row: str | float) -> None:
        """Add a sample: its label values in `labelnames` order, then its value."""
        self.rows.append(row)

    @property
    def samples(self) -> list[Sample]:
        """The samples, built on demand (for `generate_latest` and `get_sample_value`)."""
        return [Sample(self.row_name, dict(zip(self.labelnames, row)), row[-1], None, None) for row in self.rows]

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        # Metric.__init__ starts every family with an empty list; rows hold the samples.
        self.rows = []


class GaugeRows(RowFamily, GaugeMetricFamily):
    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        super().__init__(name, documentation, labels=labels)
        self.row_name = name
        self.labelnames = labels

    def add_metric(self, labels: Sequence[str], value: float, timestamp: Timestamp | float | None = None) -> None:
        self.add_row(*labels, value)


class CounterRows(RowFamily, CounterMetricFamily):
    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        super().__init__(name, documentation, labels=labels)
        self.row_name = self.name + "_total"
        self.labelnames = labels

    def add_metric(
        self,
        labels: Sequence[str],
        value: float,
        created: float | None = None,
        timestamp: Timestamp | float | None = None,
        exemplar: Exemplar | None = None,
    ) -> None:
        self.add_row(*labels, value)


ACTIONS = MetricSpec(
    "salespulse_actions",
    "gauge",
    ("team", "rep", "action", "window"),
    "Activities in a window by event time: today and week (the team's local day and ISO week), "
    "last_week, rolling_7d (last 7x24 h, start rounded down to the quarter hour).",
)
ACTIONS_TOTAL = MetricSpec(
    "salespulse_actions",
    "counter",
    ("team", "rep", "action"),
    "Accepted, de-duplicated activity events since the pipeline began, whatever their age; "
    "kept while the rep is named in the configuration or has activity within retention.action_counts_days.",
)
DEALS_DECIDED = MetricSpec(
    "salespulse_deals_decided",
    "gauge",
    ("team", "rep", "outcome", "window"),
    "Deals decided (won or lost) within the window (rolling_30d, rolling_90d), credited to the "
    "rep of the deciding event.",
)
DECISION_SECONDS_AVG = MetricSpec(
    "salespulse_deal_decision_seconds_avg",
    "gauge",
    ("team", "rep", "outcome", "window"),
    "Average time from a deal's first event to its decision, for deals decided in the window; "
    "absent when no deal was decided.",
)
DECISION_SECONDS_COMBINED = MetricSpec(
    "salespulse_deal_decision_seconds_combined",
    "gauge",
    ("team", "rep", "outcome", "window"),
    "Sum of the times to decision of the deals decided in the window; divide by "
    "salespulse_deals_decided after summing both over reps for an exact team average.",
)
_REASON_NOTES = {
    "too_large": "over limits.max_event_bytes",
    "too_deep": "over limits.max_json_depth",
    "unprocessable": "an agent failed on it",
    "unknown_rep": "a team or rep the configuration does not name, with limits.unknown_reps: reject",
}
GATEWAY_REASONS: tuple[str, ...] = get_args(UnmappedReason)


def _reasons(reasons: Sequence[str]) -> str:
    return ", ".join(f"{r} ({_REASON_NOTES[r]})" if r in _REASON_NOTES else r for r in reasons)


EVENTS_REJECTED = MetricSpec(
    "salespulse_events_rejected",
    "counter",
    ("reason",),
    "Events sent to the dead-letter topic, by reason: "
    f"{_reasons([r for r in REJECT_REASONS if r not in GATEWAY_REASONS])}; and vendor items the gateway "
    f"could not map: {_reasons(GATEWAY_REASONS)}, each item counted once however often its vendor "
    "delivered it (see docs/sources).",
)
EVENTS_DUPLICATE = MetricSpec(
    "salespulse_events_duplicate",
    "counter",
    ("type",),
    "Events whose event_id was already counted within the de-duplication horizon "
    "(counted by this worker process since it started).",
)
REP_INFO = MetricSpec(
    "salespulse_rep_info",
    "gauge",
    ("team", "rep", "name"),
    "Always 1; carries the rep's display name from the configuration (the rep id when absent).",
)
ACTION_TARGET = MetricSpec(
    "salespulse_action_target",
    "gauge",
    ("team", "rep", "action"),
    "This week's target for the action: the rep's override, else the team's target in force "
    "(set with `salespulse targets apply`). Absent where no target is set.",
)
ACTION_EXPECTED = MetricSpec(
    "salespulse_action_expected",
    "gauge",
    ("team", "rep", "action"),
    "Actions expected by now: weekly target x working time elapsed this week / working time in "
    "the week, in the team's timezone and working hours.",
)
ACTION_PACE_RATIO = MetricSpec(
    "salespulse_action_pace_ratio",
    "gauge",
    ("team", "rep", "action"),
    "This week's actions / expected by now; absent while nothing is expected yet (expected = 0).",
)
ACTION_SHORTFALL = MetricSpec(
    "salespulse_action_shortfall",
    "gauge",
    ("team", "rep", "action"),
    "Whole actions missing to be back on pace this week (expected by now - actual, rounded up); "
    "0 when on or ahead of pace.",
)
ACTION_TARGET_MISSED = MetricSpec(
    "salespulse_action_target_missed",
    "counter",
    ("team", "rep", "action"),
    "Weeks that closed with the action below the rep's target, judged once when the week ends "
    "in the team's timezone (events logged for it later do not change the verdict); absent for "
    "an action that has no target and was never missed.",
)
REVIEWS = MetricSpec(
    "salespulse_reviews",
    "gauge",
    ("team", "rep", "subject"),
    "Reviews of the rep's work on the subject (e.g. call, proposal) in the rolling 30 days: the UTC "
    "days whose 00:00 lies in (now - 30 days, now], by occurred_at; absent when there was no review.",
)
REVIEW_SCORE_AVG = MetricSpec(
    "salespulse_review_score_avg",
    "gauge",
    ("team", "rep", "subject", "theme"),
    "Average score of the theme over the reviews in the rolling 30 days, on the configured scale; "
    "absent when there was no review.",
)
REVIEW_SCORE_COMBINED = MetricSpec(
    "salespulse_review_score_combined",
    "gauge",
    ("team", "rep", "subject", "theme"),
    "Sum of the theme's scores in the rolling 30 days; divide by salespulse_reviews after summing "
    "both over reps for an exact team average; absent when there was no review.",
)
# Not `salespulse_working_hours`: promtool's lint reads an `_hours` suffix as a non-base unit.
IN_WORKING_TIME = MetricSpec(
    "salespulse_in_working_time",
    "gauge",
    ("team",),
    "1 inside the team's working time (local days, hours, holidays), else 0; lets alert rules "
    "stay free of timezone logic.",
)

CONSUMER_LAG = MetricSpec(
    "salespulse_consumer_lag",
    "gauge",
    ("topic", "partition"),
    "Records of an input partition this worker has not fetched yet (highwater - position), "
    "sampled every 5 s and within 0.5 s of a rebalance; one series per partition the worker holds.",
)

STAGE_CHANGES = MetricSpec(
    "salespulse_stage_changes",
    "gauge",
    ("team", "rep", "stage", "completeness"),
    "Deal stage changes in the rolling 30 days by occurred_at, judged complete or incomplete "
    "against the stage's content and process checklists (a stage without one is complete).",
)
CHECKLIST_MISSING = MetricSpec(
    "salespulse_checklist_missing",
    "gauge",
    ("team", "rep", "stage", "kind", "item"),
    "Stage changes in the rolling 30 days that lacked the checklist item: kind=content for a CRM "
    "field, kind=process for an action that had not happened for the deal by the stage change.",
)

# Money velocity. A series with rep="" (Prometheus reads it as no rep label) is the team's.
_TEAM_TOO = " A series without `rep` is the whole team's."
SALES_VELOCITY = MetricSpec(
    "salespulse_sales_velocity",
    "gauge",
    ("team", "rep", "window", "currency"),
    "Sales velocity, the revenue the open pipeline brings per day: open deals x average won value "
    "x win rate / sales cycle in days, in the team's currency per day; absent when a factor is "
    "missing (no deal decided, won or valued in the window)." + _TEAM_TOO,
)
WIN_RATE = MetricSpec(
    "salespulse_win_rate",
    "gauge",
    ("team", "rep", "window"),
    "Deals won / deals decided (won or lost) in the window (rolling_30d, rolling_90d), credited "
    "to the rep of the deciding event; absent when none was decided." + _TEAM_TOO,
)
DEAL_VALUE_WON_AVG = MetricSpec(
    "salespulse_deal_value_won_avg",
    "gauge",
    ("team", "rep", "window", "currency"),
    "Average value of the deals won in the window that carry an amount, in the team's currency at "
    "the rate in force on the decision date; absent when none has a value." + _TEAM_TOO,
)
# Not `salespulse_sales_cycle_days_avg`: promtool's lint asks for the base unit, seconds.
SALES_CYCLE_SECONDS_AVG = MetricSpec(
    "salespulse_sales_cycle_seconds_avg",
    "gauge",
    ("team", "rep", "window"),
    "Sales cycle: average time from a deal's first event to its decision, over the deals won in "
    "the window; absent when none was won. Divide by 86400 for days. (Named in seconds, not "
    "`salespulse_sales_cycle_days_avg`: promtool's lint asks for the base unit.)" + _TEAM_TOO,
)
OPEN_DEALS = MetricSpec(
    "salespulse_open_deals",
    "gauge",
    ("team", "rep", "stage"),
    "Deals not yet decided, by the stage they are in, credited to the rep of their latest "
    "deal-stage event, with an event within retention.deal_history_days." + _TEAM_TOO,
)
OPEN_DEALS_STALE = MetricSpec(
    "salespulse_open_deals_stale",
    "gauge",
    ("team", "rep", "stage"),
    "Open deals (as salespulse_open_deals) whose latest deal-stage event is more than "
    "deals.stale_days old." + _TEAM_TOO,
)
STAGE_SECONDS_AVG = MetricSpec(
    "salespulse_stage_seconds_avg",
    "gauge",
    ("team", "stage", "window"),
    "Average time deals spent in an open stage, from entering it to the deal's next stage change, "
    "over the stage's exits in the window; absent when no deal left the stage.",
)
STAGE_EXITS = MetricSpec(
    "salespulse_stage_exits",
    "gauge",
    ("team", "stage", "window"),
    "Times a deal left the open stage for another stage in the window.",
)
STAGE_SECONDS = MetricSpec(
    "salespulse_stage_seconds",
    "histogram",
    ("team", "stage", "window"),
    "Time in stage of the exits in the window, as a histogram for heatmaps (buckets from an hour "
    "to 180 days, `STAGE_SECONDS_BUCKETS`). Computed afresh for the window at each scrape, so it can fall: read it as it "
    "is, without rate().",
)
FUNNEL_REACHED_RATIO = MetricSpec(
    "salespulse_funnel_reached_ratio",
    "gauge",
    ("team", "stage", "window"),
    "Of the deals created (first event) in the window, the share that entered the stage at any "
    "time, open stages in order, then won (the deals whose decision is won); absent when no deal "
    "was created in the window.",
)
FUNNEL_DEALS = MetricSpec(
    "salespulse_funnel_deals",
    "gauge",
    ("team", "window"),
    "Deals created (first event) in the window: the base of salespulse_funnel_reached_ratio.",
)
DEALS_WITHOUT_RATE = MetricSpec(
    "salespulse_deals_without_rate",
    "gauge",
    ("team",),
    "Deals counted in the money series (open, or decided in rolling_90d) whose amount is in a "
    "currency with no rate into the team's currency (set with `salespulse rates apply`); they "
    "count everywhere but in salespulse_deal_value_won_avg and salespulse_sales_velocity.",
)

MYSTERY_POINTS = MetricSpec(
    "salespulse_mystery_points",
    "gauge",
    ("team", "rep", "month"),
    "Mystery-check points of the rep's checked deals for the team-local month (YYYY-MM) they were "
    "drawn for; a later check of the same deal replaces the earlier one.",
)
MYSTERY_POINTS_MAX = MetricSpec(
    "salespulse_mystery_points_max",
    "gauge",
    ("team", "rep", "month"),
    "Most points the rep could have had for the month: checked deals x the rubric's total.",
)
MYSTERY_SHARE = MetricSpec(
    "salespulse_mystery_share",
    "gauge",
    ("team", "rep", "month"),
    "salespulse_mystery_points / salespulse_mystery_points_max, 0 to 1.",
)
TEAM_REWARD_EARNED = MetricSpec(
    "salespulse_team_reward_earned",
    "gauge",
    ("team", "month"),
    "1 when every rep due a mystery check that month (the team's configured reps but the "
    "checker; without configured reps, the checked ones) reached mystery.reward_share, else 0.",
)
SELF_REPORTED_ACTIONS = MetricSpec(
    "salespulse_self_reported_actions",
    "gauge",
    ("team", "rep", "action", "window"),
    "The rep's own count of the action in their self-report on the team-local ISO week (window "
    "week) or the one before (last_week); absent when not reported. Compare with salespulse_actions.",
)
SELF_REPORT_SUBMITTED = MetricSpec(
    "salespulse_self_report_submitted",
    "gauge",
    ("team", "rep", "window"),
    "1 when the rep has filed a self-report on the week (window week) or the week before "
    "(last_week), else 0.",
)
WORKER_READY = MetricSpec(
    "salespulse_worker_ready",
    "gauge",
    (),
    "1 when this worker's tables are recovered from their changelogs and every family is served; "
    "0 while they recover, when only this family and salespulse_recovery_remaining are served "
    "(so that no count is ever served lower than it is).",
)
RECOVERY_REMAINING = MetricSpec(
    "salespulse_recovery_remaining",
    "gauge",
    (),
    "Changelog records this worker still has to read before its tables are complete; 0 when ready.",
)
SERIES_DROPPED = MetricSpec(
    "salespulse_series_dropped",
    "gauge",
    ("family",),
    "Series of a metric family left out of this scrape because it had more than "
    "limits.max_series_per_family; 0 for every family under the cap. Above 0, raise the cap or "
    "find the producer adding reps (see limits.unknown_reps).",
)

ALL_METRICS: tuple[MetricSpec, ...] = (
    ACTIONS,
    ACTIONS_TOTAL,
    DEALS_DECIDED,
    DECISION_SECONDS_AVG,
    DECISION_SECONDS_COMBINED,
    SALES_VELOCITY,
    WIN_RATE,
    DEAL_VALUE_WON_AVG,
    SALES_CYCLE_SECONDS_AVG,
    OPEN_DEALS,
    OPEN_DEALS_STALE,
    STAGE_SECONDS_AVG,
    STAGE_EXITS,
    STAGE_SECONDS,
    FUNNEL_REACHED_RATIO,
    FUNNEL_DEALS,
    DEALS_WITHOUT_RATE,
    EVENTS_REJECTED,
    EVENTS_DUPLICATE,
    REP_INFO,
    ACTION_TARGET,
    ACTION_EXPECTED,
    ACTION_PACE_RATIO,
    ACTION_SHORTFALL,
    ACTION_TARGET_MISSED,
    REVIEWS,
    REVIEW_SCORE_AVG,
    REVIEW_SCORE_COMBINED,
    IN_WORKING_TIME,
    CONSUMER_LAG,
    STAGE_CHANGES,
    CHECKLIST_MISSING,
    MYSTERY_POINTS,
    MYSTERY_POINTS_MAX,
    MYSTERY_SHARE,
    TEAM_REWARD_EARNED,
    SELF_REPORTED_ACTIONS,
    SELF_REPORT_SUBMITTED,
    SERIES_DROPPED,
    WORKER_READY,
    RECOVERY_REMAINING,
)


# The gateway's own metrics, served by `salespulse gateway` at /metrics (prometheus-client
# instruments: the gateway counts as requests come, it keeps no tables to collect from).
GATEWAY_REQUESTS = (
    "salespulse_gateway_requests",
    "counter",
    ("source", "outcome"),
    "Webhook requests by source and outcome: accepted, replayed (a vendor's retry whose every item "
    "was acknowledged before: 200, nothing sent), unauthorized (bad or missing signature, token or "
    "credentials, stale, or a signed request sent again unchanged), bad_request, "
    "unsupported_media_type, too_large, unavailable (Kafka did not acknowledge: 503), not_found (no "
    "such source configured).",
)
GATEWAY_SECONDS = (
    "salespulse_gateway_request_seconds",
    "histogram",
    ("source",),
    "Time from a request's arrival to its answer, Kafka's acknowledgement included.",
)
GATEWAY_EVENTS = (
    "salespulse_gateway_events",
    "counter",
    ("source", "result"),
    "Items of acknowledged requests: accepted (sent to the ingest topics), rejected (broke the "
    "event contract), unmapped (dead-letter topic, see `dead-letter replay`), ignored (by the mapping, "
    "or changing no figure), duplicate (acknowledged before: a vendor's retry, sent nothing).",
)
GATEWAY_METRICS = (GATEWAY_REQUESTS, GATEWAY_SECONDS, GATEWAY_EVENTS)


def gateway_metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram, Counter]:
    """Create the gateway's instruments in `registry`."""
    requests, seconds, events = GATEWAY_METRICS
    return (
        Counter(requests[0], requests[3], requests[2], registry=registry),
        Histogram(seconds[0], seconds[3], seconds[2], registry=registry,
                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)),
        Counter(events[0], events[3], events[2], registry=registry),
    )


def metrics_reference() -> str:
    """Render the metric list as the Markdown page docs/metrics.md."""
    rows = [
        "# Metrics",
        "",
        "Generated by `salespulse metrics` from `exporters/metrics.py`; do not edit by hand.",
        "Served by the worker at `http://HOST:6066/metrics` (Prometheus text format 0.0.4).",
        "",
        "Team figures, without averaging averages:",
        "",
        "```promql",
        "sum by (team, action, window) (salespulse_actions)",
        "sum by (team, outcome, window) (salespulse_deal_decision_seconds_combined)",
        "  / sum by (team, outcome, window) (salespulse_deals_decided)",
        "sum by (team, subject, theme) (salespulse_review_score_combined)",
        "  / on (team, subject) group_left sum by (team, subject) (salespulse_reviews)",
        "salespulse_actions{window=\"week\"} * on (team, rep) group_left (name) salespulse_rep_info",
        "```",
        "",
        "| metric | type | labels | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for spec in ALL_METRICS:
        labels = ", ".join(f"`{label}`" for label in spec.labels)
        rows.append(f"| {spec.shown_names} | {spec.type} | {labels} | {spec.help} |")
    rows += [
        "",
        "## Gateway",
        "",
        "Served by `salespulse gateway` at `http://HOST:8088/metrics`.",
        "",
        "| metric | type | labels | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for name, kind, labelnames, meaning in GATEWAY_METRICS:
        labels = ", ".join(f"`{label}`" for label in labelnames)
        shown = f"{name}_total" if kind == "counter" else f"{name}_bucket`, `{name}_sum`, `{name}_count"
        rows.append(f"| `{shown}` | {kind} | {labels} | {meaning} |")
    return "\n".join(rows) + "\n"
