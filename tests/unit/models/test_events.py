"""The event contract: every reject reason and the events that pass."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from salespulse.models.config import Settings
from salespulse.models.errors import REJECT_REASONS, RejectedEvent
from salespulse.models.events import (
    json_depth,
    ActivityEvent,
    DealStageEvent,
    MysteryCheckEvent,
    ReviewEvent,
    SelfReportEvent,
    json_schemas,
    parse_event,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
SETTINGS = Settings()
# bob checks in November 2026, ann in December: 2026-11 is the 11th month from 2026-01.
ROTATING = Settings.model_validate({"teams": {"nl": {"mystery_rotation": ["ann", "bob", "cas"]}, "us": {}}})
# nl lists its reps, us does not: any rep of us is accepted, only ann and bob of nl.
NAMED = Settings.model_validate({"teams": {"nl": {"reps": {"ann": {"name": "Ann"}, "bob": {"name": "Bob"}}}, "us": {}}})

ACTIVITY: dict[str, Any] = {
    "type": "activity",
    "event_id": "call-1",
    "occurred_at": "2026-11-25T09:15:00+01:00",
    "team_id": "nl",
    "rep_id": "ann",
    "source": "aircall",
    "action": "cold_call",
    "duration_s": 125.5,
    "outcome": "connected",
}
DEAL: dict[str, Any] = {
    "type": "deal_stage",
    "event_id": "deal-1-won",
    "occurred_at": "2026-11-24T16:00:00Z",
    "team_id": "nl",
    "rep_id": "ann",
    "source": "hubspot",
    "deal_id": "deal-1",
    "stage": "won",
    "amount": 12_000,
    "currency": "EUR",
}

REVIEW: dict[str, Any] = {
    "type": "review",
    "event_id": "review-1",
    "occurred_at": "2026-11-24T15:30:00+01:00",
    "team_id": "nl",
    "rep_id": "ann",
    "source": "gong",
    "reviewer_id": "bob",
    "subject": "call",
    "deal_id": "deal-1",
    "scores": {"opening": 4, "closing": 2, "pain_points": 5},
}


MYSTERY: dict[str, Any] = {
    "type": "mystery_check",
    "event_id": "mystery-1",
    "occurred_at": "2026-12-01T10:00:00+01:00",
    "team_id": "nl",
    "rep_id": "ann",
    "source": "salespulse",
    "checker_id": "bob",
    "month": "2026-11",
    "deal_id": "deal-1",
    "points": {"lead_profile": 50, "call_report": 40},
}
SELF_REPORT: dict[str, Any] = {
    "type": "self_report",
    "event_id": "report-1",
    "occurred_at": "2026-11-27T16:00:00+01:00",
    "team_id": "nl",
    "rep_id": "ann",
    "source": "salespulse",
    "week": "2026-W48",
    "figures": {"call": 60, "cold_call": 25},
    "lessons": "Ask about budget in the first call.",
}


def raw(base: dict[str, Any], **changes: Any) -> bytes:
    data = {**base, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def reason_of(payload: bytes, settings: Settings | None = None) -> str:
    settings = settings or ROTATING
    with pytest.raises(RejectedEvent) as info:
        parse_event(payload, settings, NOW)
    assert str(info.value).startswith(info.value.reason + ": ")
    return info.value.reason


# --- valid events --------------------------------------------------------------------------


def test_valid_activity() -> None:
    event = parse_event(raw(ACTIVITY), SETTINGS, NOW)
    assert isinstance(event, ActivityEvent)
    assert event.occurred_at == datetime(2026, 11, 25, 8, 15, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(hours=1)
    assert (event.action, event.duration_s, event.deal_id, event.schema_version) == (
        "cold_call",
        125.5,
        None,
        1,
    )


def test_valid_deal_stage() -> None:
    event = parse_event(raw(DEAL), SETTINGS, NOW)
    assert isinstance(event, DealStageEvent)
    assert (event.deal_id, event.stage, event.amount, event.currency) == ("deal-1", "won", 12_000.0, "EUR")
    assert event.occurred_at == datetime(2026, 11, 24, 16, tzinfo=UTC)


@pytest.mark.parametrize("stage", ["lead", "negotiation", "won", "lost"])
def test_open_and_terminal_stages_are_accepted(stage: str) -> None:
    assert parse_event(raw(DEAL, stage=stage), SETTINGS, NOW).stage == stage  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": "x" * 128},
        {"duration_s": 0},
        {"duration_s": ..., "outcome": ...},
        {"occurred_at": "2026-11-26T09:00:00Z"},  # exactly the 1 day future tolerance
        {"occurred_at": "2026-11-26T10:00:00+01:00"},  # the same instant, another offset
        {"occurred_at": "2020-01-01T00:00:00Z"},  # activities have no age limit
        {"team_id": "team.a:1@x-y_z", "rep_id": "r" * 64},
    ],
)
def test_activity_edges_that_pass(changes: dict[str, Any]) -> None:
    assert isinstance(parse_event(raw(ACTIVITY, **changes), SETTINGS, NOW), ActivityEvent)


def test_valid_review() -> None:
    event = parse_event(raw(REVIEW), SETTINGS, NOW)
    assert isinstance(event, ReviewEvent)
    assert (event.rep_id, event.reviewer_id, event.subject, event.deal_id) == ("ann", "bob", "call", "deal-1")
    assert event.scores == {"opening": 4, "closing": 2, "pain_points": 5}
    assert event.occurred_at == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"deal_id": ...},
        {"subject": "proposal", "scores": {"clarity": 1, "value": 5, "next_steps": 3}},  # both scale ends
        {"scores": {"pain_points": 1, "opening": 1, "closing": 1}},  # any order
        {"occurred_at": "2026-11-26T09:00:00Z"},  # exactly the 1 day future tolerance
        {"occurred_at": "2020-01-01T00:00:00Z"},  # reviews have no age limit
    ],
)
def test_review_edges_that_pass(changes: dict[str, Any]) -> None:
    assert isinstance(parse_event(raw(REVIEW, **changes), SETTINGS, NOW), ReviewEvent)


def test_self_review_passes_when_allowed() -> None:
    settings = Settings(reviews={"allow_self_review": True})  # type: ignore[arg-type]
    assert parse_event(raw(REVIEW, reviewer_id="ann"), settings, NOW).rep_id == "ann"


def test_review_subjects_themes_and_scale_come_from_the_configuration() -> None:
    settings = Settings(
        reviews={"themes": {"demo": ("story", "fit", "ask", "follow_up")}, "scale_min": 0, "scale_max": 10}  # type: ignore[arg-type]
    )
    scores = {"story": 0, "fit": 10, "ask": 7, "follow_up": 3}
    assert isinstance(parse_event(raw(REVIEW, subject="demo", scores=scores), settings, NOW), ReviewEvent)
    assert reason_of(raw(REVIEW), settings) == "unknown_subject"
    assert reason_of(raw(REVIEW, subject="demo", scores={**scores, "fit": 11}), settings) == "score_out_of_scale"


def test_deal_exactly_at_the_retention_limit_passes() -> None:
    # 400 days before 2026-11-25T09:00Z is 2025-10-21T09:00Z.
    event = parse_event(raw(DEAL, occurred_at="2025-10-21T09:00:00Z"), SETTINGS, NOW)
    assert event.occurred_at == datetime(2025, 10, 21, 9, tzinfo=UTC)


# --- rejections ----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"", b"{", b"not json", b"\xff\xfe\x00", b'{"a": 1,}'])
def test_not_json(payload: bytes) -> None:
    assert reason_of(payload) == "not_json"


@pytest.mark.parametrize(
    ("base", "changes"),
    [
        pytest.param(ACTIVITY, {"occurred_at": "2026-11-25T09:15:00"}, id="naive-timestamp"),
        pytest.param(ACTIVITY, {"occurred_at": "yesterday"}, id="not-a-timestamp"),
        pytest.param(ACTIVITY, {"event_id": "x" * 129}, id="event-id-129-chars"),
        pytest.param(ACTIVITY, {"event_id": ""}, id="empty-event-id"),
        pytest.param(ACTIVITY, {"duration_s": -1}, id="negative-duration"),
        pytest.param(ACTIVITY, {"duration_s": -0.001}, id="slightly-negative-duration"),
        pytest.param(ACTIVITY, {"team_id": "nl|x"}, id="separator-in-team"),
        pytest.param(ACTIVITY, {"rep_id": "r" * 65}, id="rep-id-65-chars"),
        pytest.param(ACTIVITY, {"source": ...}, id="missing-source"),
        pytest.param(ACTIVITY, {"surprise": 1}, id="extra-field"),
        pytest.param(ACTIVITY, {"schema_version": 2}, id="schema-version-2"),
        pytest.param(ACTIVITY, {"type": "call"}, id="unknown-type"),
        pytest.param(ACTIVITY, {"type": ...}, id="missing-type"),
        pytest.param(DEAL, {"currency": "eur"}, id="lower-case-currency"),
        pytest.param(DEAL, {"currency": "EURO"}, id="four-letter-currency"),
        pytest.param(DEAL, {"amount": -5}, id="negative-amount"),
        pytest.param(DEAL, {"deal_id": ...}, id="missing-deal-id"),
        pytest.param(REVIEW, {"scores": {"opening": 4.5, "closing": 2, "pain_points": 5}}, id="fractional-score"),
        pytest.param(REVIEW, {"scores": {"opening": "4", "closing": 2, "pain_points": 5}}, id="score-as-text"),
        pytest.param(REVIEW, {"scores": {"opening": True, "closing": 2, "pain_points": 5}}, id="score-as-bool"),
        pytest.param(REVIEW, {"scores": ...}, id="missing-scores"),
        pytest.param(REVIEW, {"reviewer_id": ...}, id="missing-reviewer"),
        pytest.param(REVIEW, {"subject": "a|b"}, id="separator-in-subject"),
        pytest.param(REVIEW, {"action": "call"}, id="activity-field-on-review"),
    ],
)
def test_invalid(base: dict[str, Any], changes: dict[str, Any]) -> None:
    assert reason_of(raw(base, **changes)) == "invalid"


@pytest.mark.parametrize("payload", [b"[]", b"42", b'"activity"', b"null"])
def test_json_that_is_not_an_object_is_invalid(payload: bytes) -> None:
    assert reason_of(payload) == "invalid"


def test_invalid_detail_names_the_field() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(ACTIVITY, duration_s=-1), SETTINGS, NOW)
    assert info.value.detail.startswith("duration_s: ")


def test_unknown_action() -> None:
    assert reason_of(raw(ACTIVITY, action="smoke_signal")) == "unknown_action"


def test_action_is_checked_against_the_configuration() -> None:
    settings = Settings(actions=("smoke_signal",))
    assert isinstance(parse_event(raw(ACTIVITY, action="smoke_signal"), settings, NOW), ActivityEvent)
    assert reason_of(raw(ACTIVITY), settings) == "unknown_action"


@pytest.mark.parametrize("stage", ["limbo", "Won", "closed"])
def test_unknown_stage(stage: str) -> None:
    assert reason_of(raw(DEAL, stage=stage)) == "unknown_stage"


@pytest.mark.parametrize(
    ("base", "occurred_at"),
    [
        (ACTIVITY, "2026-11-26T09:00:01Z"),  # 86 401 s ahead
        (ACTIVITY, "2026-11-26T10:00:01+01:00"),
        (DEAL, "2026-11-26T09:00:01Z"),
        (DEAL, "2027-01-01T00:00:00Z"),
    ],
)
def test_future(base: dict[str, Any], occurred_at: str) -> None:
    assert reason_of(raw(base, occurred_at=occurred_at)) == "future"


def test_future_tolerance_comes_from_the_configuration() -> None:
    strict = Settings(limits={"future_tolerance_s": 0})  # type: ignore[arg-type]
    assert reason_of(raw(ACTIVITY, occurred_at="2026-11-25T09:00:01Z"), strict) == "future"
    assert isinstance(
        parse_event(raw(ACTIVITY, occurred_at="2026-11-25T09:00:00Z"), strict, NOW), ActivityEvent
    )


def test_too_late() -> None:
    # One second older than 400 days before now.
    assert reason_of(raw(DEAL, occurred_at="2025-10-21T08:59:59Z")) == "too_late"


def test_too_late_follows_the_configured_retention() -> None:
    short = Settings(retention={"deal_history_days": 91})  # type: ignore[arg-type]
    # 91 days before 2026-11-25T09:00Z is 2026-08-26T09:00Z.
    assert reason_of(raw(DEAL, occurred_at="2026-08-26T08:59:59Z"), short) == "too_late"
    assert parse_event(raw(DEAL, occurred_at="2026-08-26T09:00:00Z"), short, NOW).stage == "won"  # type: ignore[union-attr]


@pytest.mark.parametrize("subject", ["demo", "Call", "calls"])
def test_unknown_subject(subject: str) -> None:
    assert reason_of(raw(REVIEW, subject=subject)) == "unknown_subject"


@pytest.mark.parametrize(
    "scores",
    [
        pytest.param({"opening": 4, "closing": 2, "pain_points": 5, "tone": 3}, id="extra-theme"),
        pytest.param({"opening": 4, "closing": 2}, id="missing-theme"),
        pytest.param({"opening": 4, "closing": 2, "value": 5}, id="theme-of-another-subject"),
        pytest.param({}, id="no-scores"),
    ],
)
def test_unknown_theme(scores: dict[str, int]) -> None:
    assert reason_of(raw(REVIEW, scores=scores)) == "unknown_theme"


def test_unknown_theme_detail_names_the_extra_and_the_missing_themes() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(REVIEW, scores={"opening": 4, "closing": 2, "tone": 3}), SETTINGS, NOW)
    assert info.value.detail == "call themes are opening, closing, pain_points; not a theme: tone; missing: pain_points"


@pytest.mark.parametrize("score", [0, 6, -1, 100])
def test_score_out_of_scale(score: int) -> None:
    assert reason_of(raw(REVIEW, scores={"opening": 4, "closing": score, "pain_points": 5})) == "score_out_of_scale"


def test_self_review() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(REVIEW, reviewer_id="ann"), SETTINGS, NOW)
    assert (info.value.reason, info.value.detail) == ("self_review", "rep 'ann' reviewed their own call")


def test_review_checks_run_in_order() -> None:
    # Subject, themes, scale and self review are checked in that order, all before the date.
    late_self = {"reviewer_id": "ann", "occurred_at": "2027-01-01T00:00:00Z"}
    assert reason_of(raw(REVIEW, subject="demo", scores={"tone": 9}, **late_self)) == "unknown_subject"
    assert reason_of(raw(REVIEW, scores={"opening": 9, "tone": 9}, **late_self)) == "unknown_theme"
    out_of_scale = {"opening": 9, "closing": 2, "pain_points": 5}
    assert reason_of(raw(REVIEW, scores=out_of_scale, **late_self)) == "score_out_of_scale"
    assert reason_of(raw(REVIEW, **late_self)) == "self_review"


def test_future_review() -> None:
    assert reason_of(raw(REVIEW, occurred_at="2026-11-26T09:00:01Z")) == "future"


def test_every_reject_reason_is_reachable() -> None:
    payloads = [
        b"{",
        raw(ACTIVITY, duration_s=-1),
        raw(ACTIVITY, action="smoke_signal"),
        raw(DEAL, stage="limbo"),
        raw(ACTIVITY, occurred_at="2026-12-01T00:00:00Z"),
        raw(DEAL, occurred_at="2020-01-01T00:00:00Z"),
        raw(REVIEW, subject="demo"),
        raw(REVIEW, scores={"opening": 4}),
        raw(REVIEW, scores={"opening": 4, "closing": 0, "pain_points": 5}),
        raw(REVIEW, reviewer_id="ann"),
        raw(MYSTERY, points={"lead_profile": 50}),
        raw(MYSTERY, points={"lead_profile": 51, "call_report": 100}),
        raw(MYSTERY, checker_id="ann"),
        raw(MYSTERY, checker_id="cas"),
        raw(ACTIVITY, outcome="x" * 70_000),
        b'{"a": ' * 40 + b"1" + b"}" * 40,
    ]
    named = [raw(ACTIVITY, rep_id="zed")]
    # `unprocessable` is given by the agents, to records they fail on after validation, and the
    # `unmapped_*`/`unsupported_object` ones by the gateway, to vendor items it cannot map.
    given_elsewhere = {"unprocessable", "unmapped_owner", "unmapped_stage", "unmapped_action", "unsupported_object"}
    reasons = tuple(reason_of(p) for p in payloads) + tuple(reason_of(p, NAMED) for p in named)
    assert reasons == tuple(r for r in REJECT_REASONS if r not in given_elsewhere)


# --- poison: size, nesting, dates the windows cannot hold -----------------------------------


def test_a_line_over_the_size_limit_is_too_large_before_it_is_parsed() -> None:
    line = b"{" + b" " * 70_000 + b"}"
    with pytest.raises(RejectedEvent) as info:
        parse_event(line, SETTINGS, NOW)
    assert (info.value.reason, info.value.detail) == ("too_large", "70002 bytes, more than limits.max_event_bytes (65536)")


def test_nesting_over_the_limit_is_too_deep() -> None:
    at_limit = json.dumps(json.loads(raw(ACTIVITY)) | {"outcome": None}).encode()
    assert parse_event(at_limit, SETTINGS, NOW).event_id == "call-1"
    deep = b"[" * 33 + b"]" * 33
    with pytest.raises(RejectedEvent) as info:
        parse_event(deep, SETTINGS, NOW)
    assert (info.value.reason, info.value.detail) == ("too_deep", "JSON nested 33 deep, more than limits.max_json_depth (32)")


def test_nesting_beyond_what_python_parses_is_too_deep_not_a_crash() -> None:
    roomy = Settings.model_validate({"limits": {"max_event_bytes": 900_000}})
    line = b"[" * 200_000 + b"]" * 200_000
    assert reason_of(line, roomy) == "too_deep"


def test_json_depth_counts_objects_and_arrays() -> None:
    assert json_depth(1) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4
    assert json_depth([[1], [[2]], 3]) == 3


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2101-01-01T00:00:00+01:00"])
def test_dates_the_windows_cannot_hold_are_invalid(stamp: str) -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(ACTIVITY, occurred_at=stamp), Settings.model_validate({"limits": {"future_tolerance_s": 10**10}}), NOW)
    assert info.value.reason == "invalid"
    assert info.value.detail.startswith("occurred_at: year ")


# --- json_schemas --------------------------------------------------------------------------


def test_json_schemas_has_every_type() -> None:
    schemas = json_schemas()
    assert set(schemas) == {"activity", "deal_stage", "review", "mystery_check", "self_report"}
    assert {"checker_id", "month", "deal_id", "points"} <= set(schemas["mystery_check"]["required"])
    assert {"week"} <= set(schemas["self_report"]["required"])
    assert schemas["self_report"]["properties"]["lessons"]["maxLength"] == 2000
    assert {"reviewer_id", "subject", "scores"} <= set(schemas["review"]["required"])
    assert list(schemas["review"]["properties"]["scores"]["patternProperties"].values()) == [{"type": "integer"}]
    assert {"action", "duration_s", "outcome", "deal_id"} <= set(schemas["activity"]["properties"])
    assert {"deal_id", "stage", "amount", "currency"} <= set(schemas["deal_stage"]["properties"])
    assert "stage" not in schemas["activity"]["properties"]
    assert "action" not in schemas["deal_stage"]["properties"]
    for schema in schemas.values():
        assert {"event_id", "occurred_at", "team_id", "rep_id", "source"} <= set(schema["required"])
        assert schema["additionalProperties"] is False
    assert schemas["deal_stage"]["properties"]["event_id"]["maxLength"] == 128


def test_committed_schemas_are_the_generated_ones() -> None:
    """docs/schema is regenerated with `make docs`; a stale contract fails here."""
    import json
    from pathlib import Path

    from salespulse.models.events import json_schemas

    folder = Path(__file__).resolve().parents[3] / "docs" / "schema"
    for name, schema in json_schemas().items():
        assert json.loads((folder / f"{name}.schema.json").read_text()) == schema


# --- mystery checks ------------------------------------------------------------------------

# MYSTERY and SELF_REPORT happen after NOW (beyond the 1 day tolerance); they are parsed at LATER.
LATER = datetime(2026, 12, 1, 12, tzinfo=UTC)


def quality_reason(payload: bytes, settings: Settings = ROTATING) -> str:
    with pytest.raises(RejectedEvent) as info:
        parse_event(payload, settings, LATER)
    assert str(info.value).startswith(info.value.reason + ": ")
    return info.value.reason


def test_valid_mystery_check() -> None:
    event = parse_event(raw(MYSTERY), ROTATING, LATER)
    assert isinstance(event, MysteryCheckEvent)
    assert (event.rep_id, event.checker_id, event.month, event.deal_id) == ("ann", "bob", "2026-11", "deal-1")
    assert event.points == {"lead_profile": 50, "call_report": 40}
    assert event.occurred_at == datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"points": {"lead_profile": 0, "call_report": 100}},  # both ends of the range
        {"points": {"call_report": 0, "lead_profile": 50}},  # any order
        {"month": "2026-12", "checker_id": "cas"},  # 11 months from 2026-01: 11 mod 3 = 2
        {"month": "2027-01", "checker_id": "ann", "rep_id": "bob"},  # 12 mod 3 = 0
        {"month": "2025-12", "checker_id": "cas"},  # before the rotation start: -1 mod 3 = 2
        {"team_id": "us", "checker_id": "zed"},  # us has no rotation: any other checker
        {"occurred_at": "2020-01-01T00:00:00Z"},  # checks have no age limit
        {"occurred_at": "2026-12-02T12:00:00Z"},  # exactly the 1 day future tolerance
    ],
)
def test_mystery_edges_that_pass(changes: dict[str, Any]) -> None:
    assert isinstance(parse_event(raw(MYSTERY, **changes), ROTATING, LATER), MysteryCheckEvent)


@pytest.mark.parametrize("checker", ["cas", "ann_2", "zed"])
def test_without_rotation_any_other_checker_is_accepted(checker: str) -> None:
    assert parse_event(raw(MYSTERY, checker_id=checker), SETTINGS, LATER).checker_id == checker  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "points",
    [
        pytest.param({"lead_profile": 50, "call_report": 40, "tone": 3}, id="extra-item"),
        pytest.param({"lead_profile": 50}, id="missing-item"),
        pytest.param({"lead_profile": 50, "call_reports": 40}, id="misspelt-item"),
        pytest.param({}, id="no-points"),
    ],
)
def test_unknown_rubric_item(points: dict[str, int]) -> None:
    assert quality_reason(raw(MYSTERY, points=points)) == "unknown_rubric_item"


def test_unknown_rubric_item_detail_names_the_extra_and_the_missing_items() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(MYSTERY, points={"lead_profile": 50, "tone": 3}), ROTATING, LATER)
    assert info.value.detail == "rubric items are lead_profile, call_report; not an item: tone; missing: call_report"


@pytest.mark.parametrize(
    "points",
    [
        {"lead_profile": -1, "call_report": 40},
        {"lead_profile": 51, "call_report": 40},
        {"lead_profile": 50, "call_report": 101},
        {"lead_profile": 50, "call_report": 1_000_000},
    ],
)
def test_points_out_of_range(points: dict[str, int]) -> None:
    assert quality_reason(raw(MYSTERY, points=points)) == "points_out_of_range"


def test_points_out_of_range_detail_names_items_and_ranges() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(MYSTERY, points={"lead_profile": 51, "call_report": -1}), ROTATING, LATER)
    assert info.value.detail == "lead_profile=51 (0..50), call_report=-1 (0..100)"


def test_rubric_comes_from_the_configuration() -> None:
    settings = Settings(mystery={"rubric": {"demo_notes": 3}})  # type: ignore[arg-type]
    assert isinstance(parse_event(raw(MYSTERY, points={"demo_notes": 3}), settings, LATER), MysteryCheckEvent)
    assert quality_reason(raw(MYSTERY, points={"demo_notes": 4}), settings) == "points_out_of_range"
    assert quality_reason(raw(MYSTERY), settings) == "unknown_rubric_item"


@pytest.mark.parametrize(
    ("rep", "checker"),
    [
        ("bob", "bob"),  # the month's checker on their own deal
        ("ann", "ann"),  # not the checker either: self_check is reported first
    ],
)
def test_self_check(rep: str, checker: str) -> None:
    assert quality_reason(raw(MYSTERY, rep_id=rep, checker_id=checker)) == "self_check"
    assert quality_reason(raw(MYSTERY, rep_id=rep, checker_id=checker), SETTINGS) == "self_check"


def test_self_check_detail() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(MYSTERY, rep_id="bob"), ROTATING, LATER)
    assert info.value.detail == "rep 'bob' checked their own deal 'deal-1'"


@pytest.mark.parametrize(
    ("month", "checker"),
    [
        ("2026-11", "cas"),  # bob checks November
        ("2026-11", "zed"),  # not in the rotation at all
        ("2026-12", "bob"),  # last month's checker
        ("2025-12", "bob"),  # cas checks the month before the start
    ],
)
def test_not_the_checker(month: str, checker: str) -> None:
    assert quality_reason(raw(MYSTERY, month=month, checker_id=checker)) == "not_the_checker"


def test_not_the_checker_detail() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(MYSTERY, checker_id="cas"), ROTATING, LATER)
    assert info.value.detail == "the checker of team 'nl' in 2026-11 is 'bob', not 'cas'"


def test_mystery_checks_run_in_order() -> None:
    # Items, range, self check and checker are checked in that order, all before the date.
    late = {"occurred_at": "2027-06-01T00:00:00Z"}
    assert quality_reason(raw(MYSTERY, points={"tone": 999}, rep_id="cas", checker_id="cas", **late)) == "unknown_rubric_item"
    out_of_range = {"lead_profile": 999, "call_report": 0}
    assert quality_reason(raw(MYSTERY, points=out_of_range, rep_id="cas", checker_id="cas", **late)) == "points_out_of_range"
    assert quality_reason(raw(MYSTERY, rep_id="cas", checker_id="cas", **late)) == "self_check"
    assert quality_reason(raw(MYSTERY, checker_id="cas", **late)) == "not_the_checker"
    assert quality_reason(raw(MYSTERY, **late)) == "future"


def test_future_mystery_check() -> None:
    # 2026-12-01T09:00Z is 6 days after NOW.
    assert reason_of(raw(MYSTERY)) == "future"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"month": "2026-13"}, id="month-13"),
        pytest.param({"month": "2026-1"}, id="month-not-padded"),
        pytest.param({"month": "2026-11-01"}, id="month-as-date"),
        pytest.param({"points": {"lead_profile": 50.0, "call_report": 40}}, id="float-points"),
        pytest.param({"points": {"lead_profile": "50", "call_report": 40}}, id="points-as-text"),
        pytest.param({"points": {"lead_profile": True, "call_report": 40}}, id="points-as-bool"),
        pytest.param({"checker_id": ...}, id="missing-checker"),
        pytest.param({"checker_id": "b|ob"}, id="separator-in-checker"),
        pytest.param({"deal_id": ...}, id="missing-deal"),
        pytest.param({"month": ...}, id="missing-month"),
        pytest.param({"points": ...}, id="missing-points"),
        pytest.param({"scores": {"opening": 4}}, id="review-field-on-check"),
    ],
)
def test_invalid_mystery_check(changes: dict[str, Any]) -> None:
    assert quality_reason(raw(MYSTERY, **changes)) == "invalid"


# --- self-reports --------------------------------------------------------------------------


def test_valid_self_report() -> None:
    event = parse_event(raw(SELF_REPORT), SETTINGS, LATER)
    assert isinstance(event, SelfReportEvent)
    assert (event.rep_id, event.week, event.lessons) == ("ann", "2026-W48", "Ask about budget in the first call.")
    assert event.figures == {"call": 60, "cold_call": 25}
    assert event.occurred_at == datetime(2026, 11, 27, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"figures": {}},
        {"figures": ..., "lessons": ...},  # a week with nothing to say is still a report
        {"figures": {"call": 0}},
        {"lessons": "x" * 2000},
        {"week": "2026-W53"},  # 2026 starts on a Thursday: 53 weeks
        {"week": "2020-W53"},  # 2020 is a leap year starting on a Wednesday: 53 weeks
        {"week": "2027-W01"},
        {"occurred_at": "2026-12-02T12:00:00Z"},  # exactly the 1 day future tolerance
    ],
)
def test_self_report_edges_that_pass(changes: dict[str, Any]) -> None:
    assert isinstance(parse_event(raw(SELF_REPORT, **changes), SETTINGS, LATER), SelfReportEvent)


def test_self_report_defaults() -> None:
    event = parse_event(raw(SELF_REPORT, figures=..., lessons=...), SETTINGS, LATER)
    assert isinstance(event, SelfReportEvent)
    assert (event.figures, event.lessons) == ({}, "")


@pytest.mark.parametrize(
    "figures",
    [{"smoke_signal": 1}, {"call": 60, "smoke_signal": 0}, {"Call": 60}],
)
def test_self_report_unknown_action(figures: dict[str, int]) -> None:
    assert quality_reason(raw(SELF_REPORT, figures=figures), SETTINGS) == "unknown_action"


def test_self_report_actions_come_from_the_configuration() -> None:
    settings = Settings(actions=("smoke_signal",))
    event = parse_event(raw(SELF_REPORT, figures={"smoke_signal": 3}), settings, LATER)
    assert isinstance(event, SelfReportEvent)
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(SELF_REPORT, figures={"fax": 1, "call": 2, "smoke_signal": 3}), settings, LATER)
    assert (info.value.reason, info.value.detail) == ("unknown_action", "figures: call, fax not one of smoke_signal")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"figures": {"call": -1}}, id="negative-figure"),
        pytest.param({"figures": {"call": 1.5}}, id="fractional-figure"),
        pytest.param({"figures": {"call": "60"}}, id="figure-as-text"),
        pytest.param({"figures": {"call": True}}, id="figure-as-bool"),
        pytest.param({"figures": {"a|b": 1}}, id="separator-in-action"),
        pytest.param({"week": "2026-W54"}, id="week-54"),
        pytest.param({"week": "2025-W53"}, id="week-53-of-a-52-week-year"),
        pytest.param({"week": "2026-W00"}, id="week-0"),
        pytest.param({"week": "2026-W4"}, id="week-not-padded"),
        pytest.param({"week": "2026-48"}, id="week-without-w"),
        pytest.param({"week": ...}, id="missing-week"),
        pytest.param({"lessons": "x" * 2001}, id="lessons-2001-chars"),
        pytest.param({"lessons": None}, id="null-lessons"),
    ],
)
def test_invalid_self_report(changes: dict[str, Any]) -> None:
    assert quality_reason(raw(SELF_REPORT, **changes), SETTINGS) == "invalid"


def test_invalid_week_detail_explains_the_year() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(SELF_REPORT, week="2025-W53"), SETTINGS, LATER)
    assert info.value.detail.startswith("week: ")
    assert "2025-W53 does not exist" in info.value.detail


def test_future_self_report() -> None:
    # 2026-11-27T15:00Z is 2 days and 6 hours after NOW.
    assert reason_of(raw(SELF_REPORT), SETTINGS) == "future"
    assert quality_reason(raw(SELF_REPORT, occurred_at="2026-12-02T12:00:01Z"), SETTINGS) == "future"


# --- the strict contract: UTF-8 JSON text, unique keys, RFC 3339 times, finite numbers ------


def test_a_byte_order_mark_is_not_json() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(b"\xef\xbb\xbf" + raw(ACTIVITY), SETTINGS, NOW)
    assert (info.value.reason, info.value.detail) == (
        "not_json",
        "not a JSON document: starts with a byte-order mark (JSON text has none)",
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "latin-1"])
def test_text_that_is_not_utf8_is_not_json(encoding: str) -> None:
    line = json.dumps(json.loads(raw(ACTIVITY)) | {"outcome": "réussi"}, ensure_ascii=False)
    assert reason_of(line.encode(encoding)) == "not_json"


def test_duplicate_keys_are_invalid_wherever_they_are() -> None:
    doubled = raw(ACTIVITY)[:-1] + b', "action": "demo"}'
    with pytest.raises(RejectedEvent) as info:
        parse_event(doubled, SETTINGS, NOW)
    assert (info.value.reason, info.value.detail) == ("invalid", "duplicate keys: action")
    nested = raw(DEAL)[:-1] + b', "fields": {"budget": "1", "budget": "2"}}'
    assert reason_of(nested) == "invalid"


@pytest.mark.parametrize("note", ['say \\"hi\\"', "caf\\u00e9", "C:\\\\users", '\\": \\"', "plain"])
def test_duplicate_keys_are_found_whatever_the_strings_hold(note: str) -> None:
    """Escaped quotes and \\u escapes in strings neither hide a duplicate key nor invent one."""
    line = raw(DEAL)[:-1] + b', "fields": {"notes": "' + note.encode() + b'"}}'
    assert parse_event(line, SETTINGS, NOW).fields == {"notes": json.loads(line)["fields"]["notes"]}
    inner = line[:-2] + b', "notes": "' + note.encode() + b'"}}'
    assert reason_of(inner) == "invalid"
    outer = line[:-1] + b', "stage": "won"}'
    assert reason_of(outer) == "invalid"


def test_a_number_as_occurred_at_is_invalid() -> None:
    with pytest.raises(RejectedEvent) as info:
        parse_event(raw(ACTIVITY, occurred_at=1_795_597_200), SETTINGS, NOW)
    assert (info.value.reason, info.value.detail) == (
        "invalid",
        "occurred_at: must be an RFC 3339 string with an offset, not a number",
    )


@pytest.mark.parametrize("constant", [b"Infinity", b"-Infinity", b"NaN"])
def test_non_finite_numbers_are_not_json(constant: str) -> None:
    line = raw(ACTIVITY)[:-1] + b', "duration_s": ' + constant + b"}"
    with pytest.raises(RejectedEvent) as info:
        parse_event(line, SETTINGS, NOW)
    assert info.value.reason == "not_json"
    assert info.value.detail == f"not a JSON document: {constant.decode()} is not a JSON number"


# --- limits.unknown_reps: who may add series --------------------------------------------------


def _with_policy(policy: str) -> Settings:
    return NAMED.model_copy(update={"limits": NAMED.limits.model_copy(update={"unknown_reps": policy})})


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"rep_id": "zed"}, "rep 'zed' is not listed under team 'nl'"),
        ({"team_id": "de", "rep_id": "ann"}, "team 'de' is not in the configuration (nl, us)"),
    ],
)
def test_an_unknown_rep_or_team_is_rejected_by_default(changes: dict[str, Any], detail: str) -> None:
    for template in (ACTIVITY, DEAL, REVIEW, MYSTERY):
        with pytest.raises(RejectedEvent) as info:
            parse_event(raw(template, **changes), NAMED, NOW)
        assert (info.value.reason, info.value.detail) == ("unknown_rep", detail)


@pytest.mark.parametrize(("team", "rep"), [("nl", "ann"), ("nl", "bob"), ("us", "anyone"), ("us", "ann")])
def test_named_reps_and_reps_of_a_team_without_a_list_pass(team: str, rep: str) -> None:
    event = parse_event(raw(ACTIVITY, team_id=team, rep_id=rep), NAMED, NOW)
    assert (event.team_id, event.rep_id) == (team, rep)


def test_a_file_without_teams_accepts_every_team_and_rep() -> None:
    event = parse_event(raw(ACTIVITY, team_id="xx", rep_id="yy"), SETTINGS, NOW)
    assert (event.team_id, event.rep_id) == ("xx", "yy")


@pytest.mark.parametrize(
    ("team", "rep", "counted_as"),
    [("nl", "zed", ("nl", "other")), ("de", "ann", ("other", "other")), ("nl", "bob", ("nl", "bob"))],
)
def test_collect_counts_unknown_reps_under_other(team: str, rep: str, counted_as: tuple[str, str]) -> None:
    event = parse_event(raw(ACTIVITY, team_id=team, rep_id=rep), _with_policy("collect"), NOW)
    assert (event.team_id, event.rep_id) == counted_as
    assert event.event_id == "call-1"  # still de-duplicated by the producer's id


def test_accept_keeps_unknown_ids() -> None:
    event = parse_event(raw(ACTIVITY, team_id="de", rep_id="zed"), _with_policy("accept"), NOW)
    assert (event.team_id, event.rep_id) == ("de", "zed")


def test_the_unknown_rep_check_comes_before_the_other_checks() -> None:
    # A junk producer's events are named for what they are, not for their secondary faults.
    assert reason_of(raw(ACTIVITY, rep_id="zed", action="smoke_signal"), NAMED) == "unknown_rep"


def test_brackets_inside_strings_or_side_by_side_are_not_depth() -> None:
    # More than 32 brackets open in each text, but none nests deeper than 2: the count that spares
    # most events the walk must not reject these.
    braces = json.dumps(json.loads(raw(ACTIVITY)) | {"event_id": "{[" * 40}).encode()
    assert parse_event(braces, SETTINGS, NOW).event_id == "{[" * 40
    wide = b"[" + b",".join([b"[]"] * 40) + b"]"
    assert reason_of(wide, SETTINGS) == "invalid"
