"""Event contract v1: what the CRM and the dialer publish.

`parse_event` is the one gate every event passes, in the publish CLI and again in the worker.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from salespulse.models.config import Identifier, Month, Settings
from salespulse.models.targets import IsoWeek, week_start
from salespulse.models.errors import RejectedEvent, RejectReason

SCHEMA_VERSION: Literal[1] = 1
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(
        min_length=1, max_length=128, description="Unique id; producers reuse it when they retry."
    )
    occurred_at: AwareDatetime = Field(
        description="When it happened, RFC 3339 with an offset, e.g. 2026-11-27T09:15:00+01:00."
    )
    team_id: Identifier
    rep_id: Identifier
    source: str = Field(min_length=1, max_length=64, description="Producing system, e.g. hubspot, aircall.")
    schema_version: Literal[1] = SCHEMA_VERSION


class ActivityEvent(_EventBase):
    """A rep did something: a call, an e-mail, a meeting."""

    type: Literal["activity"] = "activity"
    action: Identifier = Field(description="One of the configured action types, e.g. cold_call.")
    deal_id: Identifier | None = None
    duration_s: float | None = Field(default=None, ge=0, description="Length of a call or meeting.")
    outcome: str | None = Field(default=None, max_length=64, description="Free text, e.g. connected.")


class DealStageEvent(_EventBase):
    """A deal entered a stage of the pipeline, or was decided (won or lost)."""

    type: Literal["deal_stage"] = "deal_stage"
    deal_id: Identifier
    stage: Identifier = Field(description="The stage entered; won and lost are terminal.")
    amount: float | None = Field(default=None, ge=0)
    currency: Currency | None = Field(default=None, description="ISO 4217 code, e.g. EUR.")
    fields: dict[Identifier, str | float | bool | None] = Field(
        default_factory=dict,
        description="Snapshot of the deal's CRM fields at the stage change, judged against the "
        "stage's content checklist; empty strings and nulls count as not filled.",
    )


class ReviewEvent(_EventBase):
    """A teammate or manager judged the content of a rep's work: a call listened in on, a proposal.

    `rep_id` is the reviewed rep.
    """

    type: Literal["review"] = "review"
    reviewer_id: Identifier = Field(description="Who reviewed, a rep of the same team or a manager.")
    subject: Identifier = Field(description="What was reviewed: one of the configured subjects, e.g. call.")
    deal_id: Identifier | None = None
    scores: dict[Identifier, StrictInt] = Field(
        description="A whole-number score for every configured theme of the subject, e.g. {\"opening\": 4}."
    )
    note: str = Field(
        default="",
        max_length=1000,
        description="The reviewer's short note to the rep, e.g. what to keep and what to try; "
        "kept in Kafka with the review, not exported as a metric.",
    )


class MysteryCheckEvent(_EventBase):
    """The month's mystery checker scored one of a rep's sampled deals against the rubric.

    `rep_id` is the checked rep; the points count for `month`, the month the deal was drawn for,
    whenever the check itself happened.
    """

    type: Literal["mystery_check"] = "mystery_check"
    checker_id: Identifier = Field(description="The rep who checked: the team's checker of the month.")
    month: Month = Field(description="The month checked, YYYY-MM, as given to `salespulse mystery sample`.")
    deal_id: Identifier
    points: dict[Identifier, StrictInt] = Field(
        description="Points for every configured rubric item, 0 up to the item's value, "
        "e.g. {\"lead_profile\": 50, \"call_report\": 40}."
    )


class SelfReportEvent(_EventBase):
    """A rep's own account of a week for the weekly review: their figures and lessons learned."""

    type: Literal["self_report"] = "self_report"
    week: IsoWeek = Field(description="The ISO week reported on, e.g. 2026-W48.")
    figures: dict[Identifier, Annotated[StrictInt, Field(ge=0)]] = Field(
        default_factory=dict, description="The rep's own count per action type for the week, e.g. {\"call\": 60}."
    )
    lessons: str = Field(default="", max_length=2000, description="Lessons learned this week, in a few lines.")

    @field_validator("week")
    @classmethod
    def _real_week(cls, week: str) -> str:
        try:
            week_start(week)
        except ValueError:
            raise ValueError(f"{week} does not exist (that year has 52 weeks)") from None
        return week


AnyEvent = ActivityEvent | DealStageEvent | ReviewEvent | MysteryCheckEvent | SelfReportEvent
Event = Annotated[
    Union[ActivityEvent, DealStageEvent, ReviewEvent, MysteryCheckEvent, SelfReportEvent],
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(Event)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"][1:] or err["loc"]) or "(event)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _check_review(event: ReviewEvent, settings: Settings) -> None:
    reviews = settings.reviews
    themes = reviews.themes.get(event.subject)
    if themes is None:
        raise RejectedEvent(
            "unknown_subject", f"subject {event.subject!r} is not one of {', '.join(reviews.themes)}"
        )
    unknown = sorted(set(event.scores) - set(themes))
    missing = [theme for theme in themes if theme not in event.scores]
    if unknown or missing:
        problems = ([f"not a theme: {', '.join(unknown)}"] if unknown else []) + (
            [f"missing: {', '.join(missing)}"] if missing else []
        )
        raise RejectedEvent(
            "unknown_theme",
            f"{event.subject} themes are {', '.join(themes)}; {'; '.join(problems)}",
        )
    low, high = reviews.scale_min, reviews.scale_max
    outside = [f"{theme}={score}" for theme, score in event.scores.items() if not low <= score <= high]
    if outside:
        raise RejectedEvent("score_out_of_scale", f"{', '.join(outside)} outside the scale {low}..{high}")
    if event.reviewer_id == event.rep_id and not reviews.allow_self_review:
        raise RejectedEvent("self_review", f"rep {event.rep_id!r} reviewed their own {event.subject}")


def _check_mystery(event: MysteryCheckEvent, settings: Settings) -> None:
    rubric = settings.mystery.rubric
    unknown = sorted(set(event.points) - set(rubric))
    missing = [item for item in rubric if item not in event.points]
    if unknown or missing:
        problems = ([f"not an item: {', '.join(unknown)}"] if unknown else []) + (
            [f"missing: {', '.join(missing)}"] if missing else []
        )
        raise RejectedEvent("unknown_rubric_item", f"rubric items are {', '.join(rubric)}; {'; '.join(problems)}")
    outside = [f"{item}={pts} (0..{rubric[item]})" for item, pts in event.points.items() if not 0 <= pts <= rubric[item]]
    if outside:
        raise RejectedEvent("points_out_of_range", ", ".join(outside))
    if event.checker_id == event.rep_id:
        raise RejectedEvent("self_check", f"rep {event.rep_id!r} checked their own deal {event.deal_id!r}")
    checker = settings.checker_of(event.team_id, event.month)
    if checker is not None and event.checker_id != checker:
        raise RejectedEvent(
            "not_the_checker", f"the checker of team {event.team_id!r} in {event.month} is {checker!r}, not {event.checker_id!r}"
        )


class _NotStrictJson(ValueError):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: RejectReason = reason


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        twice = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise _NotStrictJson("invalid", f"duplicate keys: {', '.join(twice)}")
    return obj


def _no_constant(name: str) -> Any:
    raise _NotStrictJson("not_json", f"not a JSON document: {name} is not a JSON number")


# One decoder for every event: json.loads with hooks builds a new one per call.
_STRICT_JSON = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _decode_strictly(raw: bytes) -> Any:
    """Decode UTF-8 JSON text with unique keys and finite numbers, or raise as `_STRICT_JSON` does.

    orjson decodes most events in a quarter of the time and is as strict, except that it keeps
    the last of duplicate keys. Without \\u escapes every quote in the text delimits a string or
    is an escaped quote inside one, so the text has more quotes than its decoded value written
    back exactly when a key was dropped. Anything else goes to the standard decoder, which also
    says what is wrong in its words.
    """
    if b"\\u" not in raw:
        try:
            data = orjson.loads(raw)
            if raw.count(b'"') == orjson.dumps(data).count(b'"'):
                return data
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # orjson writes back less deep than it reads
            pass
    # Decoded here: json.loads would also take UTF-16 and UTF-32, which the contract does not.
    return _STRICT_JSON.decode(raw.decode("utf-8"))

OTHER = "other"


def _known_rep(event: AnyEvent, settings: Settings) -> AnyEvent:
    """Apply limits.unknown_reps to an event of a team or rep the configuration does not name.

    A file that names no teams, or a team that lists no reps, leaves that level open.
    """
    policy = settings.limits.unknown_reps
    if policy == "accept":
        return event
    team = settings.teams.get(event.team_id)
    if settings.teams and team is None:
        if policy == "reject":
            raise RejectedEvent(
                "unknown_rep", f"team {event.team_id!r} is not in the configuration ({', '.join(sorted(settings.teams))})"
            )
        return event.model_copy(update={"team_id": OTHER, "rep_id": OTHER})
    if team is not None and team.reps and event.rep_id not in team.reps:
        if policy == "reject":
            raise RejectedEvent("unknown_rep", f"rep {event.rep_id!r} is not listed under team {event.team_id!r}")
        return event.model_copy(update={"rep_id": OTHER})
    return event


EARLIEST_YEAR = 2000
LATEST_YEAR = 2100


def json_depth(value: Any) -> int:
    """Return how deeply objects and arrays nest in a parsed JSON value (a scalar is 0)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_event(raw: bytes, settings: Settings, now: datetime) -> AnyEvent:
    """Validate one raw event against the contract and the configuration, or raise RejectedEvent."""
    limits = settings.limits
    if len(raw) > limits.max_event_bytes:
        raise RejectedEvent("too_large", f"{len(raw)} bytes, more than limits.max_event_bytes ({limits.max_event_bytes})")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise RejectedEvent("not_json", "not a JSON document: starts with a byte-order mark (JSON text has none)")
    try:
        data: Any = _decode_strictly(raw)
    except UnicodeDecodeError as exc:
        raise RejectedEvent("not_json", f"not a JSON document: not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RejectedEvent("not_json", f"not a JSON document: {exc}") from None
    except _NotStrictJson as exc:
        raise RejectedEvent(exc.reason, str(exc)) from None
    except RecursionError:
        raise RejectedEvent("too_deep", "JSON nested too deep to parse") from None
    # A value nests no deeper than the brackets that open in its text: counting them runs in C,
    # and rules out most events without walking them.
    if raw.count(b"{") + raw.count(b"[") > limits.max_json_depth:
        depth = json_depth(data)
        if depth > limits.max_json_depth:
            raise RejectedEvent(
                "too_deep", f"JSON nested {depth} deep, more than limits.max_json_depth ({limits.max_json_depth})"
            )
    if isinstance(data, dict) and "occurred_at" in data and not isinstance(data["occurred_at"], str):
        # Pydantic would read a number as seconds since the epoch; the contract says RFC 3339.
        raise RejectedEvent("invalid", "occurred_at: must be an RFC 3339 string with an offset, not a number")
    try:
        event = EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise RejectedEvent("invalid", _describe(exc)) from None
    event = _known_rep(event, settings)
    # By exact type: isinstance with a pydantic model class goes through ABCMeta, per event and check.
    if type(event) is ActivityEvent:
        if event.action not in settings.actions:
            raise RejectedEvent(
                "unknown_action", f"action {event.action!r} is not one of {', '.join(settings.actions)}"
            )
    elif type(event) is DealStageEvent:
        if event.stage not in settings.all_stages:
            raise RejectedEvent(
                "unknown_stage", f"stage {event.stage!r} is not one of {', '.join(settings.all_stages)}"
            )
    elif type(event) is ReviewEvent:
        _check_review(event, settings)
    elif type(event) is MysteryCheckEvent:
        _check_mystery(event, settings)
    elif type(event) is SelfReportEvent:
        unknown = sorted(set(event.figures) - set(settings.actions))
        if unknown:
            raise RejectedEvent(
                "unknown_action", f"figures: {', '.join(unknown)} not one of {', '.join(settings.actions)}"
            )
    occurred_at = event.occurred_at
    if not EARLIEST_YEAR <= occurred_at.year <= LATEST_YEAR:
        # Such dates pass the contract but overflow the windows' date arithmetic.
        raise RejectedEvent("invalid", f"occurred_at: year {occurred_at.year} is outside {EARLIEST_YEAR}-{LATEST_YEAR}")
    ahead = occurred_at.timestamp() - now.timestamp()
    if ahead > limits.future_tolerance_s:
        raise RejectedEvent("future", f"occurred_at is {ahead:.0f} s in the future")
    if type(event) is DealStageEvent:
        oldest = now - timedelta(days=settings.retention.deal_history_days)
        if occurred_at < oldest:
            raise RejectedEvent(
                "too_late",
                f"occurred_at is older than the deal history retention "
                f"({settings.retention.deal_history_days} days)",
            )
    return event


def json_schemas() -> dict[str, dict[str, Any]]:
    """Return the JSON Schema of each event type, keyed by its `type`."""
    from salespulse.models.routes import EVENT_TYPES  # the route table reads this module

    return {name: model.model_json_schema() for name, model in EVENT_TYPES.items()}
