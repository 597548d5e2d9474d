"""The route table: each event type declared once.

    type           model              producers write to   the worker re-keys onto    by key      folded by
    activity       ActivityEvent      <id>-activities      <id>-activities-by-rep     team|rep    ActionCounts
                                                           <id>-deal-activities-by-deal (with a deal_id)
                                                                                      deal_id     DealEvents
    deal_stage     DealStageEvent     <id>-deal-stages     <id>-deal-stages-by-deal   deal_id     DealEvents
    review         ReviewEvent        <id>-reviews         <id>-reviews-by-rep        team|rep    ReviewScores
    mystery_check  MysteryCheckEvent  <id>-mystery-checks  <id>-mystery-checks-by-team team       MysteryChecks
    self_report    SelfReportEvent    <id>-self-reports    <id>-self-reports-by-rep   team|rep    SelfReports

Topics are named by their `streams.topics.TopicNames` attribute. The producers (publish, import,
the gateway, the pages), the ingest agent, the exporter's per-type series and the event docs
read this table, and the worker builds each row's family from it; a new event type is one row
here, its model, its family module (fold and export), its KPI maths and its metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salespulse.models.events import (
    ActivityEvent,
    AnyEvent,
    DealStageEvent,
    MysteryCheckEvent,
    ReviewEvent,
    SelfReportEvent,
    _EventBase,
)


def rep_key(team: str, rep: str) -> str:
    """Return the record key of a rep's events: activities, reviews, self-reports."""
    return f"{team}|{rep}"


def _by_rep(event: Any) -> str:
    return rep_key(event.team_id, event.rep_id)


@dataclass(frozen=True)
class Route:
    """One event type: its model, where producers write it and where the worker re-keys it."""

    name: str  # the event's `type` field
    model: type[_EventBase]
    topic: str  # the producer-facing topic (a TopicNames attribute)
    key: Callable[[Any], str]  # the record key on both topics
    key_doc: str  # the key, in words, for the docs
    rekeyed: str  # the family's topic, keyed by `key` (a TopicNames attribute)
    family: str  # the family that folds it: `module:Class` in salespulse.streams.families
    # Further topics that take the event, with their key; an event whose key is None skips one.
    also: tuple[tuple[str, Callable[[Any], str | None]], ...] = ()

    def topics(self) -> tuple[str, ...]:
        """Return the internal topics that may take this type of event, the family's first."""
        return (self.rekeyed, *(topic for topic, _ in self.also))

    def targets(self, event: AnyEvent) -> list[tuple[str, str]]:
        """Return (topic, key) of each internal topic that takes `event`, the family's first."""
        found = [(self.rekeyed, self.key(event))]
        for topic, key_of in self.also:
            key = key_of(event)
            if key is not None:
                found.append((topic, key))
        return found


ROUTES: tuple[Route, ...] = (
    Route(
        "activity", ActivityEvent, "activities", _by_rep, "team|rep", "activities_by_rep", "actions:ActionCounts",
        # Process checklists judge a deal's stage changes by the deal's own activities.
        also=(("deal_activities_by_deal", lambda event: event.deal_id),),
    ),
    Route("deal_stage", DealStageEvent, "deal_stages", lambda event: event.deal_id, "deal_id", "deal_stages_by_deal", "deal_events:DealEvents"),
    Route("review", ReviewEvent, "reviews", _by_rep, "team|rep", "reviews_by_rep", "reviews:ReviewScores"),
    Route(
        "mystery_check", MysteryCheckEvent, "mystery_checks", lambda event: event.team_id, "team_id",
        "mystery_checks_by_team", "mystery:MysteryChecks",
    ),
    Route("self_report", SelfReportEvent, "self_reports", _by_rep, "team|rep", "self_reports_by_rep", "self_reports:SelfReports"),
)
EVENT_TYPES: dict[str, type[_EventBase]] = {route.name: route.model for route in ROUTES}
_BY_MODEL: dict[type[_EventBase], Route] = {route.model: route for route in ROUTES}


def route_of(event: AnyEvent) -> Route:
    """Return the route of an event, by its model."""
    return _BY_MODEL[type(event)]


def event_key(event: AnyEvent) -> str:
    """Return the record key: a rep's activities, reviews and reports, a deal's stages, or a team's
    mystery checks share a partition."""
    return route_of(event).key(event)


def topic_doc(attribute: str) -> str:
    """Return a topic's name for the docs, from its TopicNames attribute: `<app_id>-deal-stages`."""
    return f"`<app_id>-{attribute.replace('_', '-')}`"


def routes_reference() -> str:
    """Return the route table as Markdown, for docs/events.md."""
    lines = [
        "| type | model | producers write to | the worker re-keys onto (key) | folded by |",
        "| --- | --- | --- | --- | --- |",
    ]
    for route in ROUTES:
        rekeyed = [f"{topic_doc(route.rekeyed)} ({route.key_doc.replace('|', chr(92) + '|')})"]
        rekeyed += [f"{topic_doc(topic)} (deal_id, when the event has one)" for topic, _ in route.also]
        lines.append(
            f"| `{route.name}` | `{route.model.__name__}` | {topic_doc(route.topic)} | {'<br>'.join(rekeyed)} | `{route.family.split(':')[1]}` |"
        )
    return "\n".join(lines) + "\n"
