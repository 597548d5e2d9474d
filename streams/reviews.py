"""Review scores: per team, rep, subject, theme and UTC day, the sum and count of scores."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

import faust

from salespulse.models.config import Settings
from salespulse.models.events import ReviewEvent
from salespulse.streams.kpi.reviews import ReviewDayKey, add_score, day_of, review_day_expired, review_increments
from salespulse.streams.retention import SeenIds, expiring_changelog
from salespulse.streams.topics import TopicNames, internal_topic


class ReviewScores:
    """Owns the re-keyed review topic, the review table and the `score_reviews` agent."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topics: TopicNames,
        duplicates: Counter[str],
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.duplicates = duplicates
        self.clock = clock
        self.topic = internal_topic(app, topics.reviews_by_rep)
        retention = settings.retention
        self.review_days_to_scores = app.Table(
            "review_days_to_scores",
            extra_topic_configs=expiring_changelog(retention.review_days),
        )
        self.seen = SeenIds(app, "review_ids_to_seen_at", retention.dedup_days, clock)
        app.agent(self.topic, name="score_reviews")(self.score_reviews)
        app.timer(300.0, name="prune_reviews")(self.prune)

    async def score_reviews(self, stream: faust.StreamT[bytes]) -> None:
        """Add each review once to its day: every theme's score, and one to the review count."""
        async for raw in stream:
            event = ReviewEvent.model_validate_json(raw)
            if not self.seen.first_time(event.event_id):
                self.duplicates["review"] += 1
                continue
            day = day_of(event.occurred_at)
            for key, score in review_increments(event.team_id, event.rep_id, event.subject, event.scores, day):
                self.review_days_to_scores[key] = add_score(self.review_days_to_scores.get(key), score)

    async def prune(self) -> None:
        """Forget days older than their retention, and old review ids (memory only)."""
        now = self.clock()
        days = self.settings.retention.review_days
        store = self.review_days_to_scores.data
        for key in [k for k in store.keys() if review_day_expired(ReviewDayKey.decode(k).day, now, days)]:
            del store[key]
        self.seen.forget_old()
