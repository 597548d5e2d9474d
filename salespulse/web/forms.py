"""From a sent form to one event of the contract, validated by `parse_event` as `publish` does.

Each form carries a random `form_id`, made when the page is rendered. The event id is a hash of
the form's kind, its sender, its form_id and what was entered, so a double click, or the same
form sent again after the broker was back, produces the same id, and the worker counts it once.
A form rendered anew (a correction) has a new form_id and makes a new event.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from salespulse.models.config import Settings
from salespulse.models.errors import RejectedEvent, SalespulseError
from salespulse.models.events import AnyEvent, parse_event
from salespulse.web.people import Person

SOURCE = "web"
Gettext = Callable[[str], str]


def _same(text: str) -> str:
    return text
_FORM_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class FormProblem(SalespulseError):
    """What is wrong with a sent form, per field name ("" for the form as a whole)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k or 'form'}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True)
class Built:
    """A validated event and the exact bytes that go to Kafka."""

    event: AnyEvent
    raw: bytes


def new_form_id() -> str:
    """Return a fresh form id for a rendered form."""
    return secrets.token_urlsafe(12)


def event_id(kind: str, sender: Person, form_id: str, content: Mapping[str, Any]) -> str:
    """Return the deterministic event id of a form: the same form sent twice has the same id."""
    text = json.dumps([kind, sender.team, sender.id, form_id, content], sort_keys=True, separators=(",", ":"))
    return f"web-{kind}-{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _form_id(form: Mapping[str, str], gettext: Gettext) -> str:
    value = form.get("form_id", "")
    if not _FORM_ID.fullmatch(value):
        raise FormProblem({"": gettext("the form is incomplete; reload the page and send it again")})
    return value


def _whole(value: str, low: int, high: int | None, gettext: Gettext) -> int:
    """Return the whole number in `value`, or raise ValueError saying what to enter, in the reader's words."""
    text = value.strip()
    if not re.fullmatch(r"-?[0-9]{1,9}", text):
        raise ValueError(gettext("enter a whole number"))
    number = int(text)
    if high is not None and not low <= number <= high:
        raise ValueError(gettext("enter a number from %(low)d to %(high)d") % {"low": low, "high": high})
    if number < low:
        raise ValueError(gettext("enter %(low)d or more") % {"low": low})
    return number


def _at_most(text: str, limit: int, gettext: Gettext) -> str | None:
    if len(text) <= limit:
        return None
    return gettext("at most %(limit)d characters (%(now)d now)") % {"limit": limit, "now": len(text)}


def _validated(data: dict[str, Any], settings: Settings, now: datetime, gettext: Gettext) -> Built:
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        return Built(parse_event(raw, settings, now), raw)
    except RejectedEvent as rejection:
        # The contract's own words, as `publish` reports them.
        detail = f"{rejection.detail} ({rejection.reason})"
        raise FormProblem({"": gettext("refused by the event contract: %(detail)s") % {"detail": detail}}) from None


def self_report(
    settings: Settings, sender: Person, form: Mapping[str, str], weeks: Mapping[str, str], now: datetime,
    gettext: Gettext = _same,
) -> Built:
    """Build the self-report of a My week form: one figure per action given, and the lessons.

    `weeks` maps the choices of the form's `week` field (week, last_week) to ISO weeks; an
    empty action field is not reported.
    """
    form_id = _form_id(form, gettext)
    problems: dict[str, str] = {}
    week = weeks.get(form.get("week", "week"))
    if week is None:
        problems["week"] = gettext("choose this week or last week")
    figures: dict[str, int] = {}
    for action in settings.actions:
        text = form.get(action, "").strip()
        if not text:
            continue
        try:
            figures[action] = _whole(text, 0, None, gettext)
        except ValueError as exc:
            problems[action] = str(exc)
    lessons = form.get("lessons", "").replace("\r\n", "\n").strip()
    if too_long := _at_most(lessons, 2000, gettext):
        problems["lessons"] = too_long
    if problems:
        raise FormProblem(problems)
    content = {"week": week, "figures": figures, "lessons": lessons}
    return _validated(
        {
            "type": "self_report", "event_id": event_id("self_report", sender, form_id, content),
            "occurred_at": now.isoformat(), "team_id": sender.team, "rep_id": sender.id, "source": SOURCE,
            **content,
        },
        settings, now, gettext,
    )


def review(settings: Settings, sender: Person, form: Mapping[str, str], now: datetime, gettext: Gettext = _same) -> Built:
    """Build the review of a review form: the rep, the subject, a score per theme, the optional deal and note."""
    form_id = _form_id(form, gettext)
    reviews = settings.reviews
    problems: dict[str, str] = {}
    subject = form.get("subject", "")
    themes = reviews.themes.get(subject)
    if themes is None:
        raise FormProblem({"subject": gettext("choose one of %(subjects)s") % {"subjects": ", ".join(reviews.themes)}})
    rep = form.get("rep", "")
    if not rep:
        problems["rep"] = gettext("choose the rep reviewed")
    scores: dict[str, int] = {}
    for theme in themes:
        try:
            scores[theme] = _whole(form.get(f"score_{theme}", ""), reviews.scale_min, reviews.scale_max, gettext)
        except ValueError as exc:
            problems[f"score_{theme}"] = str(exc)
    deal = form.get("deal", "").strip()
    if deal and not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,64}", deal):
        problems["deal"] = gettext("a deal id has 1 to 64 characters from A-Z a-z 0-9 _ . : @ -")
    note = form.get("note", "").replace("\r\n", "\n").strip()
    if too_long := _at_most(note, 1000, gettext):
        problems["note"] = too_long
    if problems:
        raise FormProblem(problems)
    content: dict[str, Any] = {"rep_id": rep, "subject": subject, "scores": scores, "note": note}
    if deal:
        content["deal_id"] = deal
    return _validated(
        {
            "type": "review", "event_id": event_id("review", sender, form_id, content),
            "occurred_at": now.isoformat(), "team_id": sender.team, "reviewer_id": sender.id, "source": SOURCE,
            **content,
        },
        settings, now, gettext,
    )


def mystery_check(
    settings: Settings, sender: Person, form: Mapping[str, str], month: str, now: datetime, gettext: Gettext = _same
) -> Built:
    """Build the mystery check of one drawn deal: each rubric item met (its full points) or not (0).

    A ticked box sends `met_<item>`; an unticked one sends nothing, so an item is met only when
    its field is there.
    """
    form_id = _form_id(form, gettext)
    points = {item: worth if form.get(f"met_{item}") else 0 for item, worth in settings.mystery.rubric.items()}
    content = {"rep_id": form.get("rep", ""), "deal_id": form.get("deal", ""), "month": month, "points": points}
    return _validated(
        {
            "type": "mystery_check", "event_id": event_id("mystery_check", sender, form_id, content),
            "occurred_at": now.isoformat(), "team_id": sender.team, "checker_id": sender.id, "source": SOURCE,
            **content,
        },
        settings, now, gettext,
    )
