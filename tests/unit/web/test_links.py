"""Sign-in links: signed, expiring, used once; and the secret they need."""

from __future__ import annotations

import pytest

from salespulse.models.errors import ConfigError
from salespulse.web.links import SECRET_ENV, LinkRefused, SignInLinks, session_key, web_secret
from salespulse.web.people import Person
from tests.unit.web.support import SECRET, floor

ANNA = Person("amsterdam", "anna", "Anna", "rep")
START = 1_796_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def refused(links: SignInLinks, token: str) -> str:
    with pytest.raises(LinkRefused) as caught:
        links.redeem(token)
    return caught.value.reason


def test_a_link_signs_its_person_in_once() -> None:
    links = SignInLinks(floor(), SECRET, clock=Clock())
    token = links.make(ANNA)
    assert links.redeem(token) == ANNA
    assert refused(links, token) == "used"
    assert links.redeem(links.make(ANNA)) == ANNA, "a new link for the same person works"


def test_a_link_expires_after_its_hours() -> None:
    clock = Clock()
    links = SignInLinks(floor(), SECRET, clock=clock)
    token = links.make(ANNA, hours=2)
    clock.now = START + 2 * 3600 + 1
    assert refused(links, token) == "expired"
    week = links.make(ANNA, hours=168)
    clock.now += 168 * 3600 + 1
    assert refused(links, week) == "expired"


def test_a_used_link_stays_refused_until_it_has_expired() -> None:
    clock = Clock()
    links = SignInLinks(floor(), SECRET, clock=clock)
    token = links.make(ANNA, hours=1)
    links.redeem(token)
    clock.now = START + 3599
    assert refused(links, token) == "used"
    clock.now = START + 3601
    assert refused(links, token) == "expired"


def test_a_forged_or_altered_link_is_refused() -> None:
    links = SignInLinks(floor(), SECRET, clock=Clock())
    token = links.make(ANNA)
    other = SignInLinks(floor(), SECRET + "x", clock=Clock())
    assert refused(other, token) == "forged", "signed with another secret"
    payload, stamp, signature = token.rsplit(".", 2)
    assert refused(links, f"{payload}.{stamp}.{signature[:-2]}AA") == "forged"
    bram_payload = other.make(Person("amsterdam", "bram", "Bram", "rep")).rsplit(".", 2)[0]
    assert refused(links, f"{bram_payload}.{stamp}.{signature}") == "forged", "another person under anna's signature"
    assert refused(links, "") == "forged"
    assert refused(links, "not-a-token") == "forged"


def test_a_person_no_longer_configured_is_refused() -> None:
    links = SignInLinks(floor(), SECRET, clock=Clock())
    token = links.make(Person("amsterdam", "gone", "Gone", "rep"))
    assert refused(links, token) == "unknown_person"


def test_links_last_at_most_a_week() -> None:
    links = SignInLinks(floor(), SECRET, clock=Clock())
    with pytest.raises(ConfigError, match="--valid-hours"):
        links.make(ANNA, hours=169)


def test_the_secret_is_required_and_named() -> None:
    with pytest.raises(ConfigError, match=f"{SECRET_ENV} is not set"):
        web_secret({})
    with pytest.raises(ConfigError, match=f"{SECRET_ENV} has 5 characters, fewer than 32"):
        web_secret({SECRET_ENV: "short"})
    assert web_secret({SECRET_ENV: SECRET}) == SECRET


def test_sessions_are_keyed_apart_from_links() -> None:
    key = session_key(SECRET)
    assert len(key) == 32 and key != session_key(SECRET + "x") and SECRET.encode() not in key
