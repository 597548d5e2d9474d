"""The route table: one row per event type, read by producers, ingest, the exporter and the docs."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from pathlib import Path

from salespulse.models.config import Settings
from salespulse.models.events import AnyEvent, parse_event
from salespulse.models.routes import EVENT_TYPES, ROUTES, event_key, route_of, routes_reference, topic_doc
from salespulse.streams.topics import TopicNames

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
SETTINGS = Settings()


def event(body: str) -> AnyEvent:
    return parse_event(body.encode(), SETTINGS, NOW)


ACTIVITY = ('{"event_id": "e1", "type": "activity", "occurred_at": "2026-11-25T09:00:00Z", "team_id": "nl", '
            '"rep_id": "ann", "source": "crm", "action": "call"%s}')


def test_every_event_model_has_one_route_named_by_its_type() -> None:
    models = typing.get_args(AnyEvent)
    assert [route.model for route in ROUTES] == list(models)
    for route in ROUTES:
        assert route.model.model_fields["type"].default == route.name
    # The JSON schemas, one per type, come from the same rows.
    assert {name: model.__name__ for name, model in EVENT_TYPES.items()} == {
        route.model.model_fields["type"].default: route.model.__name__ for route in ROUTES
    }


def test_every_topic_a_route_names_is_a_topic_of_the_pipeline() -> None:
    names = TopicNames("sp")
    for route in ROUTES:
        for attribute in (route.topic, *route.topics()):
            # Created with the others (ensure_topics creates TopicNames.all()).
            assert names.of(attribute) in names.all()
            # The docs' name for it is the real one with the app id left open.
            assert topic_doc(attribute) == f"`{TopicNames('<app_id>').of(attribute)}`"
    assert names.of("deal_stages_by_deal") == names.deal_stages_by_deal == "sp-deal-stages-by-deal"
    assert names.ingest() == ("sp-activities", "sp-deal-stages", "sp-reviews", "sp-mystery-checks", "sp-self-reports")


def test_an_activity_goes_to_its_rep_and_with_a_deal_to_its_deal_too() -> None:
    plain = event(ACTIVITY % "")
    on_deal = event(ACTIVITY % ', "deal_id": "D-7"')
    assert route_of(plain).targets(plain) == [("activities_by_rep", "nl|ann")]
    assert route_of(on_deal).targets(on_deal) == [("activities_by_rep", "nl|ann"), ("deal_activities_by_deal", "D-7")]
    assert event_key(on_deal) == "nl|ann"
    assert TopicNames("sp").ingest_topic(on_deal) == "sp-activities"


def test_the_event_docs_hold_the_route_table_as_generated() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "events.md").read_text()
    assert routes_reference() in docs
