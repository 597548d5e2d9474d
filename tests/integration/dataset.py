"""A generated, seeded data set of sales events, good and bad, and its expected KPIs.

The expectations are computed here from first principles (local dates, ISO weeks, minima),
independently of the pipeline's own slot arithmetic.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ACTIONS = ["call", "cold_call", "outbound_email"]
STAGES = ["lead", "qualified", "proposal"]
CONFIG: dict[str, Any] = {
    "defaults": {"timezone": "UTC"},
    "actions": ACTIONS,
    "stages": STAGES,
    "teams": {
        "amsterdam": {"timezone": "Europe/Amsterdam", "reps": {"anna": {"name": "Anna de Vries"}, "bram": {"name": "Bram Jansen"}}},
        "new-york": {"timezone": "America/New_York", "currency": "USD", "reps": {"mike": {"name": "Mike Chen"}}},
    },
    # A producer's team the file does not name, counted as is (the default rejects it).
    "limits": {"unknown_reps": "accept"},
}
# "berlin" is absent from the configuration: its events are accepted and use the UTC default.
REPS = [("amsterdam", "anna"), ("amsterdam", "bram"), ("new-york", "mike"), ("berlin", "lena")]
ZONES = {"amsterdam": ZoneInfo("Europe/Amsterdam"), "new-york": ZoneInfo("America/New_York"), "berlin": ZoneInfo("UTC")}
NAMES = {("amsterdam", "anna"): "Anna de Vries", ("amsterdam", "bram"): "Bram Jansen", ("new-york", "mike"): "Mike Chen", ("berlin", "lena"): "lena"}
QUARTER_S = 900
CURRENCIES = {"amsterdam": "EUR", "new-york": "USD", "berlin": "EUR"}
# What deal amounts come in: mostly the team's own, some in another currency, SEK never with a rate.
AMOUNT_CURRENCIES = ["EUR", "EUR", "USD", "USD", "GBP", "SEK", None]
STALE_DAYS = 14
RETENTION_DAYS = 400


@dataclass
class DataSet:
    """Lines to publish, and what each valid one means."""

    lines: list[bytes] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    deal_events: list[dict[str, Any]] = field(default_factory=list)
    bad: dict[int, str] = field(default_factory=dict)  # 1-based line number -> reason
    duplicates: Counter[str] = field(default_factory=Counter)
    # The exchange rates to apply (`salespulse rates apply`): a rates file's entries.
    rates: list[dict[str, Any]] = field(default_factory=list)

    def rates_yaml(self) -> str:
        """The rates as a file for `salespulse rates apply`."""
        return json.dumps({"rates": self.rates})  # JSON is YAML


def _stamp(at: datetime, team: str, rng: random.Random) -> str:
    # Producers write offsets their own way: UTC with Z, or the team's local offset.
    if rng.random() < 0.5:
        return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return at.astimezone(ZONES[team]).isoformat()


def generate(
    now: datetime, seed: int = 42, activities_per_rep: int = 60, deals: int = 25, reversals: bool = False
) -> DataSet:
    """Build a shuffled JSONL data set with valid, duplicate, late, future and malformed lines.

    Duplicates are 5 % of the activities and 4 % of the deal events (12 and 4 by default).
    Every third decided deal has a later "lost" that changes nothing. With `reversals`, every
    decided deal is reversed two days later (won, then lost; lost, then won), half of them by
    another rep: shuffled, the reversal often comes first, and the earlier decision must take
    the deal, and its credit, back.
    """
    rng = random.Random(seed)
    # Amounts and currencies from a stream of their own, so that the rest of the set stays as it was.
    money_rng = random.Random(seed * 7919 + 1)
    good: list[bytes] = []
    ds = DataSet()
    serial = 0
    day = lambda days: (now - timedelta(days=days)).date().isoformat()  # noqa: E731
    # USD to EUR changes 45 days ago: decisions on either side of it take different rates.
    ds.rates = [
        {"currency": "USD", "to": "EUR", "rate": 0.92, "effective_from": day(300)},
        {"currency": "USD", "to": "EUR", "rate": 0.95, "effective_from": day(45)},
        {"currency": "GBP", "to": "EUR", "rate": 1.17, "effective_from": day(300)},
        {"currency": "EUR", "to": "USD", "rate": 1.08, "effective_from": day(300)},
        {"currency": "GBP", "to": "USD", "rate": 1.27, "effective_from": day(300)},
    ]

    def event(team: str, rep: str, at: datetime, **fields: Any) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        return {"event_id": f"ev-{seed}-{serial}", "occurred_at": _stamp(at, team, rng), "team_id": team,
                "rep_id": rep, "source": "test", "schema_version": 1, **fields}

    for team, rep in REPS:
        for _ in range(activities_per_rep):
            # Up to 40 days back: older than the 35-day bucket retention counts in totals only.
            at = now - timedelta(seconds=rng.uniform(60, 40 * 86400))
            body = event(team, rep, at, type="activity", action=rng.choice(ACTIONS), duration_s=round(rng.uniform(0, 600), 1))
            ds.activities.append(body)
            good.append(json.dumps(body).encode())
    for number in range(deals):
        team, rep = rng.choice(REPS)
        deal = f"deal-{seed}-{number}"
        created = now - timedelta(seconds=rng.uniform(86400, 120 * 86400))
        history = [(created, "lead")]
        at = created
        for stage in STAGES[1:]:
            if number % 7 == 6 and stage == "qualified":
                continue  # every seventh deal skips a stage
            # Never in the future: the worker would reject it, and these are the good lines.
            at = min(at + timedelta(seconds=rng.uniform(3600, 5 * 86400)), now - timedelta(minutes=2))
            history.append((at, stage))
        if number % 5 != 4:  # every fifth deal stays open
            decided = min(at + timedelta(seconds=rng.uniform(600, 10 * 86400)), now - timedelta(minutes=1))
            history.append((decided, rng.choice(["won", "lost"])))
            later = min(decided + timedelta(days=2), now - timedelta(seconds=30))
            if reversals:
                reversed_by = rng.choice([other for other in REPS if other != (team, rep)]) if number % 2 else (team, rep)
                history.append((later, "lost" if history[-1][1] == "won" else "won", *reversed_by))
            elif number % 3 == 0:  # an event after the decision changes nothing
                history.append((later, "lost"))
        for at, stage, *by in history:
            by_team, by_rep = by or (team, rep)
            money: dict[str, Any] = {}
            if money_rng.random() < 0.7:  # the amount changes along the way, or is left out
                money = {"amount": round(money_rng.uniform(1_000, 50_000), 2), "currency": money_rng.choice(AMOUNT_CURRENCIES)}
            body = event(by_team, by_rep, at, type="deal_stage", deal_id=deal, stage=stage, **money)
            ds.deal_events.append(body)
            good.append(json.dumps(body).encode())
    for body in rng.sample(ds.activities, len(ds.activities) // 20):
        good.append(json.dumps(body).encode())
        ds.duplicates["activity"] += 1
    for body in rng.sample(ds.deal_events, len(ds.deal_events) // 25):
        good.append(json.dumps(body).encode())
        ds.duplicates["deal_stage"] += 1

    team, rep = REPS[0]
    bad: list[tuple[bytes, str]] = [
        (b"this is not json", "not_json"),
        (b'{"event_id": "x1", ', "not_json"),
        (json.dumps({k: v for k, v in event(team, rep, now, type="activity", action="call").items() if k != "rep_id"}).encode(), "invalid"),
        (json.dumps({**event(team, rep, now, type="activity", action="call"), "occurred_at": "2026-11-20T10:00:00"}).encode(), "invalid"),
        (json.dumps(event(team, rep, now, type="activity", action="demo")).encode(), "unknown_action"),
        (json.dumps(event(team, rep, now, type="activity", action="lunch")).encode(), "unknown_action"),
        (json.dumps(event(team, rep, now, type="deal_stage", deal_id="d-x", stage="negotiation")).encode(), "unknown_stage"),
        (json.dumps(event(team, rep, now + timedelta(days=2), type="activity", action="call")).encode(), "future"),
        (json.dumps(event(team, rep, now + timedelta(days=3), type="deal_stage", deal_id="d-f", stage="lead")).encode(), "future"),
        (json.dumps(event(team, rep, now - timedelta(days=500), type="deal_stage", deal_id="d-old", stage="won")).encode(), "too_late"),
    ]
    tagged = [(line, None) for line in good] + [(line, reason) for line, reason in bad]
    rng.shuffle(tagged)
    for number, (line, reason) in enumerate(tagged, start=1):
        ds.lines.append(line)
        if reason:
            ds.bad[number] = reason
    return ds


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def expected_actions(ds: DataSet, now: datetime) -> dict[tuple[str, ...], float]:
    """Return {(team, rep, action, window): count} and {(team, rep, action): total}."""
    out: dict[tuple[str, ...], float] = {}
    for team, rep in REPS:
        for action in ACTIONS:
            for window in ("today", "week", "last_week", "rolling_7d"):
                out[(team, rep, action, window)] = 0
            out[(team, rep, action)] = 0
    floor = lambda ts: ts - ts % QUARTER_S  # noqa: E731
    rolling_start = floor((now - timedelta(days=7)).timestamp())
    rolling_end = floor(now.timestamp()) + QUARTER_S
    for body in ds.activities:
        team, rep, action = body["team_id"], body["rep_id"], body["action"]
        at = _parse(body["occurred_at"])
        out[(team, rep, action)] += 1
        tz = ZONES[team]
        local, local_now = at.astimezone(tz), now.astimezone(tz)
        if local.date() == local_now.date():
            out[(team, rep, action, "today")] += 1
        if local.isocalendar()[:2] == local_now.isocalendar()[:2]:
            out[(team, rep, action, "week")] += 1
        if local.isocalendar()[:2] == (local_now - timedelta(days=7)).isocalendar()[:2]:
            out[(team, rep, action, "last_week")] += 1
        if rolling_start <= at.timestamp() < rolling_end:
            out[(team, rep, action, "rolling_7d")] += 1
    return out


def expected_velocity(ds: DataSet, now: datetime) -> dict[tuple[str, ...], float]:
    """Return {(metric, team, rep, outcome, window): value} for decided deals."""
    by_deal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in ds.deal_events:
        by_deal[body["deal_id"]].append(body)
    out: dict[tuple[str, ...], float] = {}
    for events in by_deal.values():
        created = min(_parse(e["occurred_at"]) for e in events)
        terminal = sorted((_parse(e["occurred_at"]), e["event_id"], e) for e in events if e["stage"] in ("won", "lost"))
        if not terminal:
            continue
        decided, _, decision = terminal[0]
        team, rep = decision["team_id"], decision["rep_id"]
        for outcome in ("won", "lost"):
            for window in ("rolling_30d", "rolling_90d"):
                out.setdefault(("decided", team, rep, outcome, window), 0)
                out.setdefault(("combined", team, rep, outcome, window), 0.0)
        for window, days in (("rolling_30d", 30), ("rolling_90d", 90)):
            if now - timedelta(days=days) <= decided <= now:
                out[("decided", team, rep, decision["stage"], window)] += 1
                out[("combined", team, rep, decision["stage"], window)] += (decided - created).total_seconds()
    return out


def _rate(rates: list[dict[str, Any]], currency: str, to: str, on: Any) -> float | None:
    """What one `currency` costs in `to` on the date `on` (None: the latest rate)."""
    if currency == to:
        return 1.0
    held = sorted((r["effective_from"], r["rate"]) for r in rates if (r["currency"], r["to"]) == (currency, to))
    if on is not None:
        held = [(day, rate) for day, rate in held if day <= on.isoformat()]
    return held[-1][1] if held else None


def expected_money(ds: DataSet, now: datetime) -> dict[tuple[Any, ...], float]:
    """Return every money and stage series, keyed (metric, team, rep or stage, ...), from the events alone.

    Written from the definitions in the README, deal by deal, without the pipeline's index.
    """
    by_deal: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for body in ds.deal_events:
        by_deal[body["deal_id"]][body["event_id"]] = body  # a duplicate is the same event
    out: dict[tuple[Any, ...], float] = {}
    end = now.timestamp()
    windows = {"rolling_30d": end - 30 * 86400, "rolling_90d": end - 90 * 86400}
    bounds = [hours * 3600.0 for hours in (1, 6, 24, 48, 96, 168, 336, 720, 1440, 2160, 4320)]
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    teams: dict[str, dict[str, Any]] = {}

    def group(team: str, rep: str) -> dict[str, Any]:
        return groups.setdefault((team, rep), {
            "open": Counter(), "stale": Counter(),
            **{w: {"won": 0, "lost": 0, "seconds": 0.0, "valued": 0, "value": 0.0} for w in windows},
        })

    for events in by_deal.values():
        ordered = sorted(((_parse(e["occurred_at"]).timestamp(), e["event_id"]), e) for e in events.values())
        created, last = ordered[0][0][0], ordered[-1][0][0]
        decision = next(((key, e) for key, e in ordered if e["stage"] in ("won", "lost")), None)
        credit = decision[1] if decision else ordered[-1][1]
        team, rep = credit["team_id"], credit["rep_id"]
        currency = CURRENCIES[team]
        amounts = [(key, e) for key, e in ordered if e.get("amount") is not None and (decision is None or key <= decision[0])]
        value = None
        if amounts:
            amount_event = amounts[-1][1]
            on = datetime.fromtimestamp(decision[0][0], UTC).date() if decision else None
            rate = _rate(ds.rates, amount_event.get("currency") or currency, currency, on)
            value = None if rate is None else amount_event["amount"] * rate
        team_figures = teams.setdefault(team, {"without_rate": 0, "created": Counter(), "reached": Counter(), "exits": defaultdict(list)})
        for figures in (group(team, rep), group(team, "")):
            if decision is None:
                if last >= end - RETENTION_DAYS * 86400:
                    figures["open"][credit["stage"]] += 1
                    figures["stale"][credit["stage"]] += last < end - STALE_DAYS * 86400
                continue
            decided = decision[0][0]
            for window, start in windows.items():
                if start <= decided <= end:
                    cell = figures[window]
                    if decision[1]["stage"] == "won":
                        cell["won"] += 1
                        cell["seconds"] += decided - created
                        if value is not None:
                            cell["valued"] += 1
                            cell["value"] += value
                    else:
                        cell["lost"] += 1
        counted = (decision is None and last >= end - RETENTION_DAYS * 86400) or (
            decision is not None and windows["rolling_90d"] <= decision[0][0] <= end)
        if amounts and value is None and counted:
            team_figures["without_rate"] += 1
        # Time in stage: from the first change into a stage to the next change to another one.
        entered = None
        for (at, _), e in ordered:
            if entered is not None and e["stage"] != entered[0]:
                if entered[0] in STAGES:
                    team_figures["exits"][entered[0]].append((at, at - entered[1]))
                entered = None
            if entered is None:
                entered = (e["stage"], at)
        reached = {e["stage"] for _, e in ordered if e["stage"] in STAGES}
        if decision is not None and decision[1]["stage"] == "won":
            reached.add("won")
        for window, start in windows.items():
            if start <= created <= end:
                team_figures["created"][window] += 1
                for stage in reached:
                    team_figures["reached"][(stage, window)] += 1

    for (team, rep), figures in groups.items():
        open_total = sum(figures["open"].values())
        for stage in STAGES:
            out[("open_deals", team, rep, stage)] = figures["open"][stage]
            out[("open_deals_stale", team, rep, stage)] = figures["stale"][stage]
        for window in windows:
            cell = figures[window]
            decided = cell["won"] + cell["lost"]
            rate = cell["won"] / decided if decided else None
            average = cell["value"] / cell["valued"] if cell["valued"] else None
            cycle = cell["seconds"] / cell["won"] if cell["won"] else None
            if rate is not None:
                out[("win_rate", team, rep, window)] = rate
            if average is not None:
                out[("deal_value_won_avg", team, rep, window, CURRENCIES[team])] = average
            if cycle is not None:
                out[("sales_cycle_seconds_avg", team, rep, window)] = cycle
            if rate is not None and average is not None and cycle:
                out[("sales_velocity", team, rep, window, CURRENCIES[team])] = open_total * average * rate / (cycle / 86400)
    for team, figures in teams.items():
        out[("deals_without_rate", team)] = figures["without_rate"]
        for window, start in windows.items():
            created = figures["created"][window]
            out[("funnel_deals", team, window)] = created
            for stage in (*STAGES, "won"):
                if created:
                    out[("funnel_reached_ratio", team, stage, window)] = figures["reached"][(stage, window)] / created
            for stage in STAGES:
                seconds = [held for left, held in figures["exits"][stage] if start <= left <= end]
                out[("stage_exits", team, stage, window)] = len(seconds)
                out[("stage_seconds_count", team, stage, window)] = len(seconds)
                out[("stage_seconds_sum", team, stage, window)] = sum(seconds)
                if seconds:
                    out[("stage_seconds_avg", team, stage, window)] = sum(seconds) / len(seconds)
                for bound in bounds:
                    out[("stage_seconds_bucket", team, stage, window, bound)] = sum(held <= bound for held in seconds)
                out[("stage_seconds_bucket", team, stage, window, float("inf"))] = len(seconds)
    return out
