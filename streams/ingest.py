"""Ingest: validate what producers publish and re-key it for the KPI agents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import assert_never

import faust

from models.config import Settings
from models.events import ActivityEvent, AnyEvent, DealStageEvent, ReviewEvent, parse_event
from models.errors import RejectedEvent
from streams.deadletter import DeadLetter
from streams.topics import TopicNames, event_key


class Ingest:
    """Owns the three producer-facing topics and the agent that validates them."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topics: TopicNames,
        dead_letter: DeadLetter,
        activities_by_rep: faust.TopicT,
        deal_stages_by_deal: faust.TopicT,
        reviews_by_rep: faust.TopicT,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.dead_letter = dead_letter
        self.activities_by_rep = activities_by_rep
        self.deal_stages_by_deal = deal_stages_by_deal
        self.reviews_by_rep = reviews_by_rep
        self.clock = clock
        self.topic = app.topic(
            topics.activities, topics.deal_stages, topics.reviews, value_type=bytes, value_serializer="raw"
        )
        app.agent(self.topic, name="validate_events")(self.validate_events)

    def target(self, event: AnyEvent) -> faust.TopicT:
        """Return the internal topic of the KPI family that takes this kind of event."""
        if isinstance(event, ActivityEvent):
            return self.activities_by_rep
        if isinstance(event, DealStageEvent):
            return self.deal_stages_by_deal
        if isinstance(event, ReviewEvent):
            return self.reviews_by_rep
        assert_never(event)

    async def validate_events(self, stream: faust.StreamT[bytes]) -> None:
        """Validate each event; route it to its KPI family or to the dead-letter topic."""
        async for event in stream.events():
            try:
                parsed = parse_event(event.message.value or b"", self.settings, self.clock())
            except RejectedEvent as rejection:
                await self.dead_letter.route(event, rejection)
                continue
            await self.target(parsed).send(key=event_key(parsed), value=parsed.model_dump_json().encode())
