"""/weekly/<team>/<week>: for the team's managers and reps only, this week or last, and a download."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from salespulse.web.gateway.server import Gateway
from salespulse.models.config import KafkaSettings
from salespulse.web import weekly
from salespulse.web.figures import Figures
from salespulse.web.links import SignInLinks, session_key
from salespulse.web.people import Person
from salespulse.web.server import WebServer
from salespulse.web.weekly import may_read_review
from tests.unit.web.support import NOW, SECRET, floor
from tests.unit.web.test_server import sign_in

SETTINGS = floor()
Client = TestClient[Any, Any]
# NOW is Wednesday of 2026-W50 in Amsterdam: this week and last week have a review.
THIS, LAST = "2026-W50", "2026-W49"


def test_a_teams_review_is_for_its_managers_and_reps() -> None:
    assert may_read_review(Person("amsterdam", "mia", "Mia", "manager"), "amsterdam")
    assert may_read_review(Person("amsterdam", "anna", "Anna", "rep"), "amsterdam")
    assert not may_read_review(Person("utrecht", "uma", "Uma", "manager"), "amsterdam")
    assert not may_read_review(Person("utrecht", "umar", "Umar", "rep"), "amsterdam")


@pytest.fixture
def gathered(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Stand in for gather_review and render_html, which have tests of their own; record what was asked."""
    asked: list[tuple[str, str]] = []

    async def gather(settings: Any, kafka: Any, team: str, week: str, *args: Any, **kwargs: Any) -> tuple[str, str]:
        asked.append((team, week))
        return team, week

    def render(review: tuple[str, str]) -> str:
        return f"<!doctype html>\n<html><body>\n<h1>Weekly review: {review[0]}, {review[1]}</h1>\n</body></html>\n"

    monkeypatch.setattr(weekly, "gather_review", gather)
    monkeypatch.setattr(weekly, "render_html", render)
    return asked


def serve(test: Callable[[Client, SignInLinks], Awaitable[None]]) -> None:
    links = SignInLinks(SETTINGS, SECRET)
    server = WebServer(SETTINGS, Gateway(SETTINGS, KafkaSettings(), {}, lambda: NOW), links, session_key(SECRET),
                       Figures([]), lambda: NOW)

    async def run() -> None:
        async with TestClient(TestServer(server.application())) as client:
            await test(client, links)

    asyncio.run(run())


def test_without_a_session_the_review_asks_to_sign_in(gathered: list[tuple[str, str]]) -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        for path in (f"/weekly/amsterdam/{THIS}", f"/weekly/amsterdam/{THIS}.html"):
            answer = await client.get(path)
            assert answer.status == 401 and "salespulse web link &lt;team&gt;/&lt;person&gt;" in await answer.text(), path

    serve(test)
    assert gathered == []


@pytest.mark.parametrize("person, role", [("mia", "manager"), ("anna", "rep")])
def test_the_teams_people_read_the_review_and_download_it(gathered: list[tuple[str, str]], person: str, role: str) -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        await sign_in(client, links, "amsterdam", person, role)
        page = await client.get(f"/weekly/amsterdam/{LAST}")
        text = await page.text()
        assert page.status == 200 and "<h1>Weekly review: amsterdam, 2026-W49</h1>" in text
        assert f'href="/weekly/amsterdam/{LAST}.html"' in text
        kept = await client.get(f"/weekly/amsterdam/{THIS}.html")
        assert kept.status == 200
        assert kept.headers["Content-Disposition"] == f'attachment; filename="weekly-amsterdam-{THIS}.html"'
        assert "<h1>Weekly review: amsterdam, 2026-W50</h1>" in await kept.text()

    serve(test)
    assert gathered == [("amsterdam", LAST), ("amsterdam", THIS)]


def test_people_of_another_team_are_refused(gathered: list[tuple[str, str]]) -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        await sign_in(client, links, "utrecht", "uma", "manager")
        assert (await client.get(f"/weekly/amsterdam/{THIS}")).status == 403
        assert (await client.get(f"/weekly/amsterdam/{THIS}.html")).status == 403
        assert (await client.get(f"/weekly/nowhere/{THIS}")).status == 404

    serve(test)
    assert gathered == []


def test_another_week_gets_a_message_naming_the_two_there_are(gathered: list[tuple[str, str]]) -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        await sign_in(client, links, "amsterdam", "mia", "manager")
        answer = await client.get("/weekly/amsterdam/2026-W40")
        text = await answer.text()
        assert answer.status == 404
        assert "2026-W40 is neither this week (2026-W50) nor last week (2026-W49) of team amsterdam" in text
        dutch = await (await client.get("/weekly/amsterdam/2026-W40", headers={"Accept-Language": "nl"})).text()
        assert "2026-W40 is niet deze week (2026-W50) en niet vorige week (2026-W49)" in dutch
        assert (await client.get("/weekly/amsterdam/last-week")).status == 404, "not a week at all"

    serve(test)
    assert gathered == []
