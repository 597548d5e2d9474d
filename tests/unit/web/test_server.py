"""The pages over HTTP with a producer that records what it is given (the broker path and the
browser are in tests/integration/test_web.py)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from salespulse.gateway.server import Gateway
from salespulse.models.config import KafkaSettings
from salespulse.streams.topics import TopicNames
from salespulse.web.figures import Figures
from salespulse.web.links import SignInLinks, session_key
from salespulse.web.people import Person
from salespulse.web.server import WebServer
from salespulse.weekly_report import Samples
from tests.unit.gateway.test_server import Producer
from tests.unit.web.support import NOW, SECRET, floor

PAGE = """\
salespulse_actions{team="amsterdam",rep="anna",action="call",window="week"} 17
salespulse_action_target{team="amsterdam",rep="anna",action="call"} 40
salespulse_action_expected{team="amsterdam",rep="anna",action="call"} 20
salespulse_action_pace_ratio{team="amsterdam",rep="anna",action="call"} 0.85
salespulse_review_score_avg{team="amsterdam",rep="anna",subject="call",theme="opening"} 3.5
"""


class PageFigures(Figures):
    def __init__(self) -> None:
        super().__init__([])

    async def read(self, team: str, now: Any) -> tuple[Samples, str | None]:
        return Samples([PAGE]), None


Client = TestClient[Any, Any]


def serve(producer: Producer, test: Callable[[Client, SignInLinks], Awaitable[None]], trust_header: str | None = None) -> None:
    settings = floor()
    gateway = Gateway(settings, KafkaSettings(), {}, lambda: NOW, producer_factory=lambda _: producer)  # type: ignore[arg-type,return-value]
    links = SignInLinks(settings, SECRET, clock=lambda: NOW.timestamp())
    server = WebServer(settings, gateway, links, session_key(SECRET), PageFigures(), lambda: NOW, trust_header=trust_header)

    async def run() -> None:
        async with TestClient(TestServer(server.application())) as client:
            await test(client, links)

    asyncio.run(run())


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field in the page"
    return found.group(1)


async def sign_in(client: Client, links: SignInLinks, team: str, person: str, role: str = "rep") -> str:
    """Sign in with a fresh link; return the first page's HTML."""
    token = links.make(Person(team, person, person, role))  # type: ignore[arg-type]
    page = await (await client.get(f"/signin?token={token}")).text()
    answer = await client.post("/signin", data={"csrf_token": field(page, "csrf_token"), "token": token})
    assert answer.status == 200, await answer.text()
    return await answer.text()


def report(page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": field(page, "csrf_token"), "form_id": field(page, "form_id"), "team": "amsterdam",
            "rep": "anna", "week": "week", "call": "21", "lessons": "Mornings work.", **fields}


def test_without_a_session_every_page_is_the_sign_in_page() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        for path in ("/", "/self-report", "/reviews/new", "/mystery", "/team/amsterdam"):
            answer = await client.get(path)
            assert answer.status == 401 and "<h1>Sign in</h1>" in await answer.text(), path

    serve(Producer(), test)


def test_a_rep_signs_in_files_a_report_once_and_sees_it_beside_the_measured_figures() -> None:
    producer = Producer()

    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "anna")
        assert "<h1>My week" in page and "<td>17</td>" in page and "40: 85 % of 20 due" in page
        form = report(page)
        first = await client.post("/self-report", data=form)
        again = await client.post("/self-report", data=form)  # a double click
        assert (first.status, again.status) == (200, 200)
        saved = await first.text()
        assert "Saved: your report on 2026-W50 is in Kafka" in saved and "<td>21</td>" in saved

    serve(producer, test)
    assert [topic for topic, *_ in producer.records] == [TopicNames("salespulse").self_reports] * 2
    events = [json.loads(value) for _, value, *_ in producer.records]
    assert events[0] == events[1] | {"occurred_at": events[0]["occurred_at"]}
    assert events[0]["event_id"] == events[1]["event_id"]
    assert (events[0]["rep_id"], events[0]["source"], events[0]["figures"]) == ("anna", "web", {"call": 21})


def test_a_rep_filing_for_another_rep_gets_403_and_nothing_is_produced() -> None:
    producer = Producer()

    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "bram")
        answer = await client.post("/self-report", data=report(page, rep="anna"))
        assert answer.status == 403
        review = await client.get("/reviews/new")
        assert review.status == 403

    serve(producer, test)
    assert producer.records == []


def test_a_form_without_the_right_csrf_token_is_refused() -> None:
    producer = Producer()

    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "anna")
        missing = {k: v for k, v in report(page).items() if k != "csrf_token"}
        assert (await client.post("/self-report", data=missing)).status == 403
        assert (await client.post("/self-report", data=report(page, csrf_token="x" * 43))).status == 403
        assert (await client.post("/self-report", data=report(page, csrf_token="é" * 43))).status == 403

    serve(producer, test)
    assert producer.records == []


def test_with_the_broker_down_the_form_keeps_what_was_typed_and_says_nothing_was_saved() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "anna")
        answer = await client.post("/self-report", data=report(page, lessons="Keep this text"))
        text = await answer.text()
        assert answer.status == 503 and "Nothing was saved" in text
        assert 'value="21"' in text and "Keep this text</textarea>" in text
        assert field(text, "form_id") == field(page, "form_id"), "sent again, it keeps its event id"

    serve(Producer(failing=True), test)


def test_a_manager_reviews_a_rep_of_their_team() -> None:
    producer = Producer()

    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "mia", "manager")
        assert "Team amsterdam <span" in page
        form_page = await (await client.get("/reviews/new?subject=call")).text()
        data = {"csrf_token": field(form_page, "csrf_token"), "form_id": field(form_page, "form_id"), "subject": "call",
                "rep": "anna", "score_opening": "4", "score_closing": "3", "score_pain_points": "5", "note": "Clear."}
        assert (await client.post("/reviews/new", data=data)).status == 200
        assert (await client.post("/reviews/new", data={**data, "rep": "umar"})).status == 403

    serve(producer, test)
    [(topic, value, key, _)] = producer.records
    event = json.loads(value)
    assert (topic, event["reviewer_id"], event["scores"], event["note"]) == (
        TopicNames("salespulse").reviews, "mia", {"opening": 4, "closing": 3, "pain_points": 5}, "Clear.")


def test_a_link_is_refused_when_reused_forged_or_expired() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        token = links.make(Person("amsterdam", "anna", "Anna", "rep"))
        page = await (await client.get(f"/signin?token={token}")).text()
        assert (await client.post("/signin", data={"csrf_token": field(page, "csrf_token"), "token": token})).status == 200
        client.session.cookie_jar.clear()
        for bad, reason in ((token, "used before"), (token[:-3] + "abc", "not a valid")):
            page = await (await client.get(f"/signin?token={bad}")).text()
            answer = await client.post("/signin", data={"csrf_token": field(page, "csrf_token"), "token": bad})
            assert answer.status == 403 and reason in await answer.text()
        assert (await client.get("/self-report")).status == 401

    serve(Producer(), test)


def test_the_trusted_header_signs_in_only_when_the_option_names_it() -> None:
    headers = {"X-Forwarded-Email": "anna@example.com"}

    async def ignored(client: Client, links: SignInLinks) -> None:
        assert (await client.get("/self-report", headers=headers)).status == 401

    async def trusted(client: Client, links: SignInLinks) -> None:
        assert (await client.get("/self-report", headers=headers)).status == 200
        stranger = await client.get("/self-report", headers={"X-Forwarded-Email": "eve@example.com"})
        assert stranger.status == 403

    serve(Producer(), ignored)
    serve(Producer(), trusted, trust_header="X-Forwarded-Email")


def test_the_session_cookie_is_http_only_and_same_site_lax() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        answer = await client.get("/")
        cookie = answer.headers["Set-Cookie"]
        assert cookie.startswith("salespulse_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie, "plain HTTP here; Secure under TLS"

    serve(Producer(), test)


def test_the_months_checker_scores_a_drawn_deal_and_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    producer = Producer()
    active = {"bram": ["D-1"], "sara": ["D-2", "D-3", "D-4"], "anna": ["D-5"]}

    async def deals(settings: Any, kafka: Any, team: str, month: str) -> dict[str, list[str]]:
        assert (team, month) == ("amsterdam", "2026-12")
        return active

    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "anna")  # the checker of 2026-12
        page = await (await client.get("/mystery")).text()
        drawn = re.findall(r"<h3>Deal ([^<]+)</h3>", page)
        assert drawn[0] == "D-1" and len(drawn) == 3 and "D-5" not in drawn, "two of sara's, none of the checker's"
        data = {"csrf_token": field(page, "csrf_token"), "form_id": "form-0123456789", "rep": "bram", "deal": "D-1",
                "points_lead_profile": "50", "points_call_report": "60"}
        assert (await client.post("/mystery", data=data)).status == 200
        assert (await client.post("/mystery", data={**data, "deal": "D-9"})).status == 403
        other = await sign_in(client, links, "amsterdam", "bram")
        seen = await client.get("/mystery")
        assert "This month's checker is Anna." in await seen.text()
        data["csrf_token"] = field(other, "csrf_token")
        assert (await client.post("/mystery", data=data)).status == 403

    monkeypatch.setattr("salespulse.web.server.read_active_deals", deals)
    serve(producer, test)
    [(_, value, _, _)] = producer.records
    event = json.loads(value)
    assert (event["checker_id"], event["rep_id"], event["deal_id"], event["points"]) == (
        "anna", "bram", "D-1", {"lead_profile": 50, "call_report": 60})


def test_a_dutch_browser_reads_dutch() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        answer = await client.get("/", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"})
        text = await answer.text()
        assert '<html lang="nl">' in text and "<h1>Aanmelden</h1>" in text
        assert answer.headers["Content-Language"] == "nl"
        english = await (await client.get("/", headers={"Accept-Language": "en-GB"})).text()
        assert '<html lang="en">' in english and "<h1>Sign in</h1>" in english

    serve(Producer(), test)


def test_a_rep_sees_their_own_review_scores_and_no_one_elses() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        anna = await sign_in(client, links, "amsterdam", "anna")
        assert "<td>opening</td><td>3.5</td>" in anna
        client.session.cookie_jar.clear()
        bram = await sign_in(client, links, "amsterdam", "bram")
        assert "opening" not in bram and "Reviews of my work" not in bram
        assert (await client.get("/team/amsterdam")).status == 403, "a rep does not see the team's page"

    serve(Producer(), test)


def test_under_tls_the_session_cookie_is_secure() -> None:
    settings = floor()
    gateway = Gateway(settings, KafkaSettings(), {}, lambda: NOW, producer_factory=lambda _: Producer())  # type: ignore[arg-type,return-value]
    server = WebServer(settings, gateway, SignInLinks(settings, SECRET), session_key(SECRET), PageFigures(), lambda: NOW,
                       secure_cookies=True)

    async def run() -> None:
        async with TestClient(TestServer(server.application())) as client:
            cookie = (await client.get("/")).headers["Set-Cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    asyncio.run(run())
