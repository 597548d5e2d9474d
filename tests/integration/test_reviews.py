"""Review scores on a real broker: publish, reject, de-duplicate, export the rolling 30 days."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import scrape, wait_for
from tests.integration.test_pipeline import produce_raw, samples

pytestmark = pytest.mark.integration

CONFIG: dict[str, Any] = {
    "actions": ["call"],
    "teams": {
        "nl": {"reps": {"ann": {"name": "Ann de Vries"}, "bob": {"name": "Bob Jansen"}}},
        "us": {"timezone": "America/New_York", "reps": {"joe": {"name": "Joe Smith"}}},
    },
    # The default review section: call (opening, closing, pain_points) and proposal
    # (clarity, value, next_steps), scored 1 to 5, no self reviews.
}


def review(event_id: str, team: str, rep: str, reviewer: str, subject: str, at: datetime, **scores: int) -> bytes:
    return json.dumps(
        {
            "type": "review",
            "event_id": event_id,
            "occurred_at": at.isoformat(),
            "team_id": team,
            "rep_id": rep,
            "source": "gong",
            "reviewer_id": reviewer,
            "subject": subject,
            "scores": scores,
        }
    ).encode()


def review_series(text: str) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    for (name, labels), value in samples(text).items():
        if name.startswith("salespulse_review"):
            lab = dict(labels)
            out[(name, lab["team"], lab["rep"], lab["subject"], *([lab["theme"]] if "theme" in lab else []))] = value
    return out


def test_reviews_are_validated_deduplicated_and_averaged_over_30_days(make_pipeline, kafka, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    days = lambda n: now - timedelta(days=n)  # noqa: E731
    call = {"opening": 4, "closing": 3, "pain_points": 5}
    lines = [
        review("r-1", "nl", "ann", "bob", "call", days(2), **call),
        review("r-2", "nl", "ann", "mgr-eva", "call", days(10), opening=2, closing=5, pain_points=4),
        review("r-3", "nl", "ann", "bob", "call", days(45), opening=1, closing=1, pain_points=1),  # outside 30 days
        review("r-4", "nl", "bob", "ann", "proposal", days(1), clarity=5, value=4, next_steps=3),
        review("r-1", "nl", "ann", "bob", "call", days(2), **call),  # a producer's retry: counted once
        review("r-5", "nl", "ann", "bob", "call", days(3), opening=4, closing=6, pain_points=5),
        review("r-6", "nl", "ann", "bob", "call", days(3), opening=4, closing=3, tone=5),
        review("r-7", "nl", "bob", "bob", "call", days(3), **call),
        review("r-8", "nl", "ann", "bob", "demo", days(3), story=4, fit=4, ask=4),
        review("r-9", "us", "joe", "mgr-sam", "call", now - timedelta(hours=1), opening=3, closing=3, pain_points=4),
    ]
    bad = {6: "score_out_of_scale", 7: "unknown_theme", 8: "self_review", 9: "unknown_subject"}
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_bytes(b"\n".join(lines) + b"\n")
    pipeline = make_pipeline(CONFIG)

    published = pipeline.cli("publish", str(jsonl), "--quiet")
    assert published.returncode == 1, published.stderr
    reported = {
        int(where.rsplit(":", 1)[1]): rest.split(")", 1)[0]
        for where, rest in (line.split(": rejected (", 1) for line in published.stderr.splitlines() if ": rejected (" in line)
    }
    assert reported == bad
    assert "published 6 events, rejected 4" in published.stdout

    # A producer that bypasses the CLI: the worker validates the reviews topic too.
    bypass = review("r-10", "us", "joe", "joe", "call", days(1), **call)
    asyncio.run(produce_raw(kafka.bootstrap, f"{pipeline.app_id}-reviews", [bypass]))

    # A rep and subject without a review in the 30 days has no series at all.
    expected = {
        ("salespulse_reviews", "nl", "ann", "call"): 2,
        ("salespulse_reviews", "nl", "bob", "proposal"): 1,
        ("salespulse_reviews", "us", "joe", "call"): 1,
        # ann's call: (4 + 2) / 2, (3 + 5) / 2, (5 + 4) / 2; r-3 is 45 days old.
        ("salespulse_review_score_avg", "nl", "ann", "call", "opening"): 3.0,
        ("salespulse_review_score_avg", "nl", "ann", "call", "closing"): 4.0,
        ("salespulse_review_score_avg", "nl", "ann", "call", "pain_points"): 4.5,
        ("salespulse_review_score_avg", "nl", "bob", "proposal", "clarity"): 5.0,
        ("salespulse_review_score_avg", "nl", "bob", "proposal", "value"): 4.0,
        ("salespulse_review_score_avg", "nl", "bob", "proposal", "next_steps"): 3.0,
        ("salespulse_review_score_avg", "us", "joe", "call", "opening"): 3.0,
        ("salespulse_review_score_avg", "us", "joe", "call", "closing"): 3.0,
        ("salespulse_review_score_avg", "us", "joe", "call", "pain_points"): 4.0,
    }
    combined = {
        ("nl", "ann", "call"): {"opening": 6, "closing": 8, "pain_points": 9},
        ("nl", "bob", "proposal"): {"clarity": 5, "value": 4, "next_steps": 3},
        ("us", "joe", "call"): {"opening": 3, "closing": 3, "pain_points": 4},
    }
    for (team, rep, subject), sums in combined.items():
        for theme, total in sums.items():
            expected[("salespulse_review_score_combined", team, rep, subject, theme)] = total

    url = pipeline.start_worker()
    last: dict[str, Any] = {}

    def matches() -> bool:
        text = scrape(url)
        if text is None:
            return False
        last["text"], last["observed"] = text, review_series(text)
        return last["observed"] == pytest.approx(expected)

    wait_for(matches, 120, lambda: f"review series {expected}; last seen {last.get('observed')}")

    expected_rejections = {"score_out_of_scale": 1, "unknown_theme": 1, "self_review": 2, "unknown_subject": 1}

    def rejections() -> dict[str, float]:
        scraped = samples(scrape(url) or "")
        last["rejected"] = {
            dict(labels)["reason"]: v
            for (name, labels), v in scraped.items()
            if name == "salespulse_events_rejected_total" and v
        }
        return last["rejected"]

    wait_for(lambda: rejections() == expected_rejections, 60, lambda: f"rejections {expected_rejections}; last seen {last['rejected']}")
    # The repeated review may be read after the series already match: wait for it to be counted,
    # then check that the series did not move (it counted once, as a duplicate).
    duplicate = ("salespulse_events_duplicate_total", frozenset({("type", "review")}))
    wait_for(lambda: samples(scrape(url) or "").get(duplicate) == 1, 60, "the repeated review counted as a duplicate")
    assert matches(), last.get("observed")
    scraped = samples(last["text"])
    assert scraped[duplicate] == 1
