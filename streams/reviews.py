"""Review scores: per team, rep, subject, theme and UTC day, the sum and count of scores."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import partial


from salespulse.models.config import Settings
from salespulse.models.events import ReviewEvent
from salespulse.streams.engine import Engine
from salespulse.streams.kpi.reviews import ReviewDayKey, add_score, day_of, review_day_expired, review_increments
from salespulse.streams.engine.batch import Batch
from salespulse.streams.family import KpiFamily
from salespulse.streams.retention import expiring_changelog
from salespulse.streams.topics import TopicNames


class ReviewScores(KpiFamily):
    """Owns the re-keyed review topic, the review table and the `score_reviews` agent."""

    kind = "review"

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        topics: TopicNames,
        duplicates: Counter[str],
        clock: Callable[[], datetime],
    ) -> None:
        retention = settings.retention
        super().__init__(
            engine, clock=clock, seen_table="review_ids_to_seen_at", dedup_days=retention.dedup_days, duplicates=duplicates
        )
        self.settings = settings
        self.topic = engine.topic(topics.reviews_by_rep)
        self.review_days_to_scores = engine.table(
            "review_days_to_scores", extra_topic_configs=expiring_changelog(retention.review_days)
        )
        self.read(self.topic, "score_reviews")
        engine.timer(300.0, "prune_reviews")(self.prune)

    def decode(self, raw: bytes) -> ReviewEvent:
        return ReviewEvent.model_validate_json(raw)

    def fold(self, event: ReviewEvent, batch: Batch) -> None:
        """Add the review to its day: every theme's score, and one to the review count."""
        day = day_of(event.occurred_at)
        for key, score in review_increments(event.team_id, event.rep_id, event.subject, event.scores, day):
            batch.update(self.review_days_to_scores, key, partial(add_score, score=score))

    async def prune(self) -> None:
        """Forget days older than their retention, and old review ids (memory only)."""
        now = self.clock()
        days = self.settings.retention.review_days
        table = self.review_days_to_scores
        table.forget([k for k in table.data.keys() if review_day_expired(ReviewDayKey.decode(k).day, now, days)])
        self.forget_old_ids()
