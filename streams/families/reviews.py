"""Review scores: per team, rep, subject, theme and UTC day, the sum and count of scores."""

from __future__ import annotations

from functools import partial


from salespulse.models.events import ReviewEvent
from salespulse.streams.kpi.reviews import ReviewDayKey, add_score, day_of, review_day_expired, review_increments
from salespulse.streams.engine.batch import Batch
from salespulse.streams.family import KpiFamily


class ReviewScores(KpiFamily):
    """Owns the re-keyed review topic, the review table and the `score_reviews` agent."""

    kind = "review"
    reads = ("reviews_by_rep",)
    agent = "score_reviews"
    seen_table = "review_ids_to_seen_at"
    prune_every_s, prune_timer = 300.0, "prune_reviews"

    def declare(self) -> None:
        self.review_days_to_scores = self.table("review_days_to_scores", days=self.settings.retention.review_days)

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
