"""Who is who, and who may do what, from the configuration."""

from __future__ import annotations

import pytest

from salespulse.models.config import parse_settings
from salespulse.models.errors import ConfigError
from salespulse.web.people import (
    Person, find_person, is_checker, may_file_for, may_read_reviews_of, may_review, may_see_team, person_by_email, reviewable,
)
from tests.unit.web.support import floor

ANNA = Person("amsterdam", "anna", "Anna", "rep")
BRAM = Person("amsterdam", "bram", "Bram", "rep")
MIA = Person("amsterdam", "mia", "Mia", "manager")
UMA = Person("utrecht", "uma", "Uma", "manager")


def test_people_are_the_configured_reps_and_managers_of_a_team() -> None:
    settings = floor()
    assert find_person(settings, "amsterdam", "anna") == ANNA
    assert find_person(settings, "amsterdam", "mia") == MIA
    assert find_person(settings, "amsterdam", "uma") is None
    assert find_person(settings, "nowhere", "anna") is None


def test_an_email_names_its_person_whatever_its_case() -> None:
    settings = floor()
    assert person_by_email(settings, "anna@example.COM") == ANNA
    assert person_by_email(settings, " MIA@example.com ") == MIA
    assert person_by_email(settings, "bram@example.com") is None


def test_a_rep_files_for_themselves_only() -> None:
    assert may_file_for(ANNA, "amsterdam", "anna")
    assert not may_file_for(BRAM, "amsterdam", "anna")
    assert not may_file_for(MIA, "amsterdam", "anna")
    assert not may_file_for(ANNA, "utrecht", "anna")


def test_a_manager_reviews_and_sees_their_own_team_only() -> None:
    settings = floor()
    assert may_review(settings, MIA, "amsterdam", "anna")
    assert not may_review(settings, MIA, "amsterdam", "mia"), "a manager is not a rep to review"
    assert not may_review(settings, UMA, "amsterdam", "anna")
    assert not may_review(settings, BRAM, "amsterdam", "anna")
    assert may_see_team(MIA, "amsterdam") and not may_see_team(MIA, "utrecht") and not may_see_team(ANNA, "amsterdam")


def test_with_peer_reviews_a_rep_reviews_the_other_reps_of_their_team() -> None:
    settings = floor()
    assert reviewable(settings, BRAM) == [] and reviewable(settings, MIA) == ["anna", "bram", "sara"]
    peers = settings.model_copy(update={"reviews": settings.reviews.model_copy(update={"peers": True})})
    assert may_review(peers, BRAM, "amsterdam", "anna")
    assert not may_review(peers, BRAM, "amsterdam", "bram"), "never themselves"
    assert not may_review(peers, BRAM, "utrecht", "umar")
    assert reviewable(peers, BRAM) == ["anna", "sara"]
    selves = peers.model_copy(update={"reviews": peers.reviews.model_copy(update={"allow_self_review": True})})
    assert not may_review(selves, BRAM, "amsterdam", "bram"), "allow_self_review is for `publish`, not the page"


def test_the_reviews_of_a_rep_are_read_by_the_rep_and_the_teams_managers() -> None:
    assert may_read_reviews_of(ANNA, "amsterdam", "anna") and may_read_reviews_of(MIA, "amsterdam", "anna")
    assert not may_read_reviews_of(BRAM, "amsterdam", "anna")
    assert not may_read_reviews_of(UMA, "amsterdam", "anna")
    assert not may_read_reviews_of(ANNA, "utrecht", "anna")


def test_the_checker_follows_the_rotation_from_its_start() -> None:
    settings = floor()  # rotation_start 2026-12: anna, then bram, then sara
    assert is_checker(settings, ANNA, "2026-12") and not is_checker(settings, BRAM, "2026-12")
    assert is_checker(settings, BRAM, "2027-01")
    assert is_checker(settings, ANNA, "2027-03")


def test_the_file_refuses_a_manager_who_is_also_a_rep_and_an_email_given_twice() -> None:
    with pytest.raises(ConfigError, match="teams.t: .*managers: anna also listed under reps"):
        parse_settings({"teams": {"t": {"reps": {"anna": {"name": "A"}}, "managers": {"anna": {"name": "A"}}}}})
    with pytest.raises(ConfigError, match="a@x.org \\(teams.t.reps.anna, teams.t.managers.mia\\)"):
        parse_settings({"teams": {"t": {"reps": {"anna": {"name": "A", "email": "a@x.org"}},
                                        "managers": {"mia": {"name": "M", "email": "A@x.org"}}}}})
