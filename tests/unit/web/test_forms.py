"""From sent forms to events: validated as `publish` validates, with ids that make a double click count once."""

from __future__ import annotations

import json

import pytest

from salespulse.models.events import MysteryCheckEvent, ReviewEvent, SelfReportEvent
from salespulse.web import forms
from salespulse.web.people import Person
from tests.unit.web.support import NOW, floor

ANNA = Person("amsterdam", "anna", "Anna", "rep")
MIA = Person("amsterdam", "mia", "Mia", "manager")
WEEKS = {"week": "2026-W50", "last_week": "2026-W49"}
FORM_ID = "form-0123456789"


def report_form(**fields: str) -> dict[str, str]:
    return {"form_id": FORM_ID, "week": "week", "call": "12", "cold_call": "", "outbound_email": "3",
            "lessons": "Call before ten.\r\nShorter e-mails.", **fields}


def test_a_self_report_holds_the_figures_given_the_lessons_and_who_sent_it() -> None:
    built = forms.self_report(floor(), ANNA, report_form(), WEEKS, NOW)
    event = built.event
    assert isinstance(event, SelfReportEvent)
    assert (event.team_id, event.rep_id, event.source, event.week) == ("amsterdam", "anna", "web", "2026-W50")
    assert event.figures == {"call": 12, "outbound_email": 3}, "an empty field is not reported"
    assert event.lessons == "Call before ten.\nShorter e-mails."
    assert event.occurred_at == NOW
    assert json.loads(built.raw)["event_id"] == event.event_id


def test_the_same_form_sent_twice_has_one_event_id_and_another_form_or_content_another() -> None:
    settings = floor()
    first = forms.self_report(settings, ANNA, report_form(), WEEKS, NOW).event.event_id
    later = NOW.replace(minute=1)
    assert forms.self_report(settings, ANNA, report_form(), WEEKS, later).event.event_id == first
    assert forms.self_report(settings, ANNA, report_form(call="13"), WEEKS, NOW).event.event_id != first
    assert forms.self_report(settings, ANNA, report_form(form_id="form-other-9876"), WEEKS, NOW).event.event_id != first
    assert forms.self_report(settings, ANNA, report_form(week="last_week"), WEEKS, NOW).event.week == "2026-W49"
    assert first.startswith("web-self_report-") and len(first) <= 128


def test_a_wrong_field_is_named_and_nothing_is_built() -> None:
    with pytest.raises(forms.FormProblem) as caught:
        forms.self_report(floor(), ANNA, report_form(call="-1", outbound_email="2.5", week="next"), WEEKS, NOW)
    assert caught.value.problems == {
        "week": "choose this week or last week", "call": "enter 0 or more", "outbound_email": "enter a whole number",
    }
    with pytest.raises(forms.FormProblem, match="reload the page"):
        forms.self_report(floor(), ANNA, report_form(form_id=""), WEEKS, NOW)


def test_a_review_scores_every_theme_on_the_scale_and_keeps_the_note() -> None:
    form = {"form_id": FORM_ID, "rep": "anna", "subject": "call", "deal": "D-7", "score_opening": "4",
            "score_closing": "2", "score_pain_points": "5", "note": "Good opening."}
    event = forms.review(floor(), MIA, form, NOW).event
    assert isinstance(event, ReviewEvent)
    assert (event.rep_id, event.reviewer_id, event.subject, event.deal_id, event.note) == ("anna", "mia", "call", "D-7", "Good opening.")
    assert event.scores == {"opening": 4, "closing": 2, "pain_points": 5}
    assert forms.review(floor(), MIA, form, NOW.replace(second=5)).event.event_id == event.event_id
    with pytest.raises(forms.FormProblem) as caught:
        forms.review(floor(), MIA, {**form, "score_closing": "6", "score_opening": ""}, NOW)
    assert caught.value.problems == {"score_opening": "enter a whole number", "score_closing": "enter a number from 1 to 5"}


def test_what_the_contract_refuses_is_refused_with_its_reason() -> None:
    form = {"form_id": FORM_ID, "rep": "nobody", "subject": "call", "score_opening": "4",
            "score_closing": "2", "score_pain_points": "5"}
    with pytest.raises(forms.FormProblem, match=r"refused by the event contract: .*'nobody' is not listed under team 'amsterdam' \(unknown_rep\)"):
        forms.review(floor(), MIA, form, NOW)


def test_a_mystery_check_gives_a_met_item_its_full_points_and_an_item_not_met_none() -> None:
    checker = Person("amsterdam", "anna", "Anna", "rep")
    # The floor's rubric is the default one: lead_profile 50, call_report 100.
    form = {"form_id": FORM_ID, "rep": "bram", "deal": "D-1", "met_lead_profile": "yes"}
    event = forms.mystery_check(floor(), checker, form, "2026-12", NOW).event
    assert isinstance(event, MysteryCheckEvent)
    assert (event.checker_id, event.rep_id, event.month, event.points) == ("anna", "bram", "2026-12", {"lead_profile": 50, "call_report": 0})
    both = forms.mystery_check(floor(), checker, {**form, "met_call_report": "yes"}, "2026-12", NOW).event
    assert isinstance(both, MysteryCheckEvent) and both.points == {"lead_profile": 50, "call_report": 100}
    assert both.event_id != event.event_id, "another content, another event"
    with pytest.raises(forms.FormProblem, match="not_the_checker"):
        forms.mystery_check(floor(), Person("amsterdam", "sara", "Sara", "rep"), form, "2026-12", NOW)


def test_problems_are_said_in_the_readers_language() -> None:
    from salespulse.web.i18n import translations

    with pytest.raises(forms.FormProblem) as caught:
        forms.self_report(floor(), ANNA, report_form(call="x"), WEEKS, NOW, translations("nl").gettext)
    assert caught.value.problems == {"call": "vul een heel getal in"}
