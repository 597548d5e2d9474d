"""The pages over HTTP with a producer that records what it is given (the broker path and the
browser are in tests/integration/test_web.py)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from unittest.mock import patch

from aiohttp.test_utils import TestClient, TestServer

from salespulse.web.gateway.server import Gateway
from salespulse.models.config import KafkaSettings, Settings
from salespulse.streams.topics import TopicNames
from salespulse.web.figures import Figures
from salespulse.web.history import History, HistoryReader
from salespulse.web.links import SignInLinks, session_key
from salespulse.web.people import Person
from salespulse.web.server import WebServer
from salespulse.weekly.review import Samples
from tests.unit.web.gateway.test_server import Producer
from tests.unit.web.support import NOW, SECRET, FakeConsumer, Record, floor

PAGE = """\
salespulse_actions{team="amsterdam",rep="anna",action="call",window="week"} 17
salespulse_action_target{team="amsterdam",rep="anna",action="call"} 40
salespulse_action_expected{team="amsterdam",rep="anna",action="call"} 20
salespulse_action_pace_ratio{team="amsterdam",rep="anna",action="call"} 0.85
salespulse_review_score_avg{team="amsterdam",rep="anna",subject="call",theme="opening"} 3.5
salespulse_mystery_points{team="amsterdam",rep="sara",month="2026-12"} 100
salespulse_mystery_points_max{team="amsterdam",rep="sara",month="2026-12"} 150
"""


class PageFigures(Figures):
    def __init__(self) -> None:
        super().__init__([])

    async def read(self, team: str, now: Any) -> tuple[Samples, str | None]:
        return Samples([PAGE]), None


Client = TestClient[Any, Any]
TOPICS = TopicNames("salespulse")


def stamp(at: datetime) -> int:
    """Return a record's timestamp, in milliseconds, for a record produced at `at`."""
    return int(at.timestamp() * 1000)


def serve(
    producer: Producer, test: Callable[[Client, SignInLinks], Awaitable[None]], trust_header: str | None = None, *,
    settings: Settings | None = None, records: dict[str, list[Record]] | None = None,
    active: dict[str, list[str]] | None = None,
) -> None:
    """Run `test` against the pages, with `records` on the reviews, mystery-checks or self-reports topics and
    `active` as each rep's deals active in December 2026 (the worker's table, read from Kafka)."""
    settings = settings or floor()
    gateway = Gateway(settings, KafkaSettings(), {}, lambda: NOW, producer_factory=lambda _: producer)  # type: ignore[arg-type,return-value]
    links = SignInLinks(settings, SECRET, clock=lambda: NOW.timestamp())
    topics = {TOPICS.reviews: [], TOPICS.mystery_checks: [], TOPICS.self_reports: [], **(records or {})}
    reader = HistoryReader(History(settings), KafkaSettings(), lambda: NOW,
                           consumer_factory=lambda **options: FakeConsumer(topics, **options), poll_ms=10)
    server = WebServer(settings, gateway, links, session_key(SECRET), PageFigures(), lambda: NOW, trust_header=trust_header,
                       history_reader=reader, settle_s=0)

    async def deals(settings: Any, kafka: Any, team: str, month: str) -> dict[str, list[str]]:
        assert month == "2026-12"
        return (active or {}) if team == "amsterdam" else {}

    async def run() -> None:
        async with TestClient(TestServer(server.application())) as client:
            for _ in range(200):  # the reader has read the topics to their end
                if server.history.caught_up:
                    break
                await asyncio.sleep(0.01)
            assert server.history.caught_up
            await test(client, links)

    with patch("salespulse.web.server.read_active_deals", deals):
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
        assert '<th scope="row">Cold calls</th>' in page and '<label for="f-outbound_email">Outbound e-mails</label>' in page
        form = report(page)
        first = await client.post("/self-report", data=form)
        again = await client.post("/self-report", data=form)  # a double click
        assert (first.status, again.status) == (200, 200)
        saved = await first.text()
        assert "Saved. Your report on 2026-W50 is in" in saved and "<td>21</td>" in saved
        assert "Kafka" not in saved and "event" not in saved.lower().split("<main", 1)[1], "said to a sales person"

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


def test_the_months_checker_scores_a_drawn_deal_and_no_other() -> None:
    producer = Producer()
    active = {"bram": ["D-1"], "sara": ["D-2", "D-3", "D-4"], "anna": ["D-5"]}
    # The seeded draw of 2026-12 (as `salespulse mystery sample` prints it): bram's D-1, sara's D-3 and D-4.
    earlier = {"type": "mystery_check", "event_id": "c-1", "occurred_at": "2026-12-08T09:00:00+00:00", "team_id": "amsterdam",
               "rep_id": "sara", "source": "test", "checker_id": "anna", "month": "2026-12", "deal_id": "D-3",
               "points": {"lead_profile": 0, "call_report": 100}}
    records = {TOPICS.reviews: [], TOPICS.mystery_checks: [(stamp(NOW - timedelta(days=1)), json.dumps(earlier).encode())]}

    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "anna")  # the checker of 2026-12
        page = await (await client.get("/mystery")).text()
        drawn = re.findall(r"<h3>Deal ([^<]+)</h3>", page)
        assert drawn == ["D-1", "D-3", "D-4"], "two of sara's, none of the checker's"
        assert "2 of 3 active deals drawn" in page and "1 of 1 active deals drawn" in page
        assert 'type="checkbox" name="met_lead_profile" value="yes">' in page and "Complete call report" in page
        # D-3 was checked before: its standing items are ticked.
        d3 = page.split("<h3>Deal D-3</h3>", 1)[1].split("</form>", 1)[0]
        assert "Checked: 100 of 150 points" in d3
        assert 'name="met_call_report" value="yes" checked>' in d3 and 'name="met_lead_profile" value="yes">' in d3
        assert "Not checked yet." in page.split("<h3>Deal D-4</h3>", 1)[1].split("</form>", 1)[0]
        data = {"csrf_token": field(page, "csrf_token"), "form_id": "form-0123456789", "rep": "bram", "deal": "D-1",
                "met_lead_profile": "yes"}
        sent = await client.post("/mystery", data=data)
        assert sent.status == 200
        after = (await sent.text()).split("<h3>Deal D-1</h3>", 1)[1].split("</form>", 1)[0]
        assert "Checked: 50 of 150 points" in after, "the page shows the check just sent"
        assert (await client.post("/mystery", data={**data, "deal": "D-9"})).status == 403
        other = await sign_in(client, links, "amsterdam", "bram")
        seen = await client.get("/mystery")
        assert "This month's checker is Anna." in await seen.text()
        data["csrf_token"] = field(other, "csrf_token")
        assert (await client.post("/mystery", data=data)).status == 403

    serve(producer, test, records=records, active=active)
    [(_, value, _, _)] = producer.records
    event = json.loads(value)
    assert (event["checker_id"], event["rep_id"], event["deal_id"], event["points"]) == (
        "anna", "bram", "D-1", {"lead_profile": 50, "call_report": 0})


def test_a_dutch_browser_reads_dutch() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        answer = await client.get("/", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"})
        text = await answer.text()
        assert '<html lang="nl">' in text and "<h1>Aanmelden</h1>" in text
        assert answer.headers["Content-Language"] == "nl"
        english = await (await client.get("/", headers={"Accept-Language": "en-GB"})).text()
        assert '<html lang="en">' in english and "<h1>Sign in</h1>" in english

    serve(Producer(), test)


def review_record(event_id: str, team: str, rep: str, reviewer: str, note: str, day: int = 7) -> Record:
    event = {"type": "review", "event_id": event_id, "occurred_at": f"2026-12-0{day}T09:00:00+00:00", "team_id": team,
             "rep_id": rep, "source": "test", "reviewer_id": reviewer, "subject": "call",
             "scores": {"opening": 4, "closing": 2, "pain_points": 5}, "note": note}
    return (stamp(datetime.fromisoformat(event["occurred_at"])), json.dumps(event).encode())


NOTES = {
    TOPICS.reviews: [
        review_record("r-1", "amsterdam", "anna", "mia", "ANNA-NOTE: ask for the next step."),
        review_record("r-2", "amsterdam", "bram", "mia", "BRAM-NOTE: slower opening."),
        review_record("r-3", "utrecht", "umar", "uma", "UMAR-NOTE"),
    ],
    TOPICS.mystery_checks: [],
}


def report_record(event_id: str, rep: str, week: str, lessons: str, day: int, **figures: int) -> Record:
    event = {"type": "self_report", "event_id": event_id, "occurred_at": f"2026-12-0{day}T09:00:00+00:00",
             "team_id": "amsterdam", "rep_id": rep, "source": "test", "week": week, "figures": figures, "lessons": lessons}
    return (stamp(datetime.fromisoformat(event["occurred_at"])), json.dumps(event).encode())


def test_my_week_opens_with_the_reps_standing_report_to_correct_it() -> None:
    records = {TOPICS.self_reports: [
        report_record("s-1", "anna", "2026-W50", "First try.", 7, call=10),
        report_record("s-2", "anna", "2026-W50", "Mornings work.", 8, call=12, cold_call=3),  # the correction stands
        report_record("s-3", "anna", "2026-W49", "An older lesson.", 4, call=30),
        report_record("s-4", "bram", "2026-W50", "BRAM-LESSON", 8, call=5),
    ]}

    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "anna")
        assert 'name="call" type="number" inputmode="numeric" min="0" step="1" value="12"' in page
        assert 'name="cold_call" type="number" inputmode="numeric" min="0" step="1" value="3"' in page
        assert 'name="outbound_email" type="number" inputmode="numeric" min="0" step="1" value=""' in page
        assert ">Mornings work.</textarea>" in page and "as you sent it on 2026-12-08" in page
        assert "BRAM-LESSON" not in page and "First try." not in page
        last = await (await client.get("/self-report?week=last_week")).text()
        assert 'value="last_week" checked' in last and 'value="30"' in last and ">An older lesson.</textarea>" in last
        sent = await client.post("/self-report", data=report(page, call="14", lessons="Sent from the page."))
        assert sent.status == 200
        again = await (await client.get("/self-report")).text()
        assert 'name="call" type="number" inputmode="numeric" min="0" step="1" value="14"' in again
        assert ">Sent from the page.</textarea>" in again
        client.session.cookie_jar.clear()
        bram = await sign_in(client, links, "amsterdam", "bram")
        assert ">BRAM-LESSON</textarea>" in bram and "Mornings work." not in bram and "Sent from the page." not in bram

    serve(Producer(), test, records=records)


def test_a_dutch_rep_reads_the_actions_and_themes_in_dutch() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        await sign_in(client, links, "amsterdam", "anna")
        page = await (await client.get("/self-report", headers={"Accept-Language": "nl"})).text()
        assert '<th scope="row">Koude acquisitie</th>' in page and '<label for="f-outbound_email">Uitgaande e-mails</label>' in page
        assert "Gesprek op 2026-12-07, beoordeeld door Mia" in page and "<li>Pijnpunten: <strong>5</strong>" in page
        assert 'name="cold_call"' in page, "the field keeps the action id as its name"

    serve(Producer(), test, records=NOTES)


def test_a_rep_reads_the_reviews_of_themselves_and_no_one_elses() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        anna = await sign_in(client, links, "amsterdam", "anna")
        assert "ANNA-NOTE: ask for the next step." in anna and "Call on 2026-12-07, reviewed by Mia" in anna
        assert "<li>Opening: <strong>4</strong>" in anna and "<td>Opening</td><td>3.5</td>" in anna
        assert "BRAM-NOTE" not in anna and "UMAR-NOTE" not in anna
        client.session.cookie_jar.clear()
        bram = await sign_in(client, links, "amsterdam", "bram")
        assert "BRAM-NOTE" in bram and "ANNA-NOTE" not in bram and "3.5" not in bram
        for path in ("/team/amsterdam", "/team/utrecht", "/reviews/new"):
            answer = await client.get(path)
            assert answer.status == 403 and "NOTE" not in await answer.text(), path
        for path in ("/self-report?rep=anna", "/self-report?team=amsterdam&rep=anna", "/mystery"):
            assert "ANNA-NOTE" not in await (await client.get(path)).text(), path

    serve(Producer(), test, records=NOTES)


def test_a_manager_reads_the_reviews_of_their_own_team_only() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        await sign_in(client, links, "amsterdam", "mia", "manager")
        team = await (await client.get("/team/amsterdam")).text()
        assert "ANNA-NOTE" in team and "BRAM-NOTE" in team and "UMAR-NOTE" not in team
        rows = dict(re.findall(r'<th scope="row">(\w+)</th>\s*<td>[^<]*</td>\s*<td>(\d+)</td>', team))
        assert rows == {"Anna": "1", "Bram": "1", "Sara": "0"}, "reviews this month per rep"
        assert 'href="/weekly/amsterdam/2026-W49"' in team and 'href="/weekly/amsterdam/2026-W50"' in team
        # Drawn: bram's D-1 and two of sara's three; sara's maximum of 150 is one deal checked of the rubric's 150.
        assert "The checker is Anna: 1 of 3 drawn deals checked." in team
        client.session.cookie_jar.clear()
        await sign_in(client, links, "utrecht", "uma", "manager")
        assert (await client.get("/team/amsterdam")).status == 403
        utrecht = await (await client.get("/team/utrecht")).text()
        assert "UMAR-NOTE" in utrecht and "ANNA-NOTE" not in utrecht

    serve(Producer(), test, records=NOTES, active={"bram": ["D-1"], "sara": ["D-2", "D-3", "D-4"], "anna": ["D-5"]})


def test_a_manager_makes_a_sign_in_link_that_signs_the_person_in_once() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "mia", "manager")
        assert (await client.post("/team/amsterdam/links", data={"person": "bram"})).status == 403, "no CSRF token"
        made = await client.post("/team/amsterdam/links", data={"csrf_token": field(page, "csrf_token"), "person": "bram"})
        assert made.status == 200 and made.headers["Cache-Control"] == "no-store"
        url = re.search(r'<textarea id="made-link" readonly rows="3" class="link">([^<]+)</textarea>', await made.text())
        assert url and url.group(1).startswith(str(client.make_url("/signin?token=")))
        token = url.group(1).split("token=", 1)[1]
        for refused in ({"person": "umar"}, {"person": "nobody"}):
            answer = await client.post("/team/amsterdam/links", data={"csrf_token": field(page, "csrf_token"), **refused})
            assert answer.status == 403
        client.session.cookie_jar.clear()
        signin = await (await client.get(f"/signin?token={token}")).text()
        answer = await client.post("/signin", data={"csrf_token": field(signin, "csrf_token"), "token": token})
        assert answer.status == 200 and "<h1>My week" in await answer.text() and "Sign out" in await answer.text()
        assert str(answer.url).endswith("/self-report")
        assert "<span>Bram</span>" in await answer.text()
        client.session.cookie_jar.clear()
        signin = await (await client.get(f"/signin?token={token}")).text()
        again = await client.post("/signin", data={"csrf_token": field(signin, "csrf_token"), "token": token})
        assert again.status == 403 and "used before" in await again.text()

    serve(Producer(), test)


def test_a_rep_cannot_make_sign_in_links() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "anna")
        answer = await client.post("/team/amsterdam/links", data={"csrf_token": field(page, "csrf_token"), "person": "bram"})
        assert answer.status == 403 and "signin?token=" not in await answer.text()

    serve(Producer(), test)


def test_with_peer_reviews_a_rep_reviews_another_rep_never_themselves() -> None:
    producer = Producer()
    peers = floor().model_copy(update={"reviews": floor().reviews.model_copy(update={"peers": True})})

    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "bram")
        assert '<a href="/reviews/new">' in page
        form = await (await client.get("/reviews/new?subject=call")).text()
        assert re.findall(r'<option value="(\w+)"', form) == ["anna", "sara"], "the other reps, not bram"
        data = {"csrf_token": field(form, "csrf_token"), "form_id": field(form, "form_id"), "subject": "call",
                "rep": "anna", "score_opening": "4", "score_closing": "3", "score_pain_points": "5", "note": "Peer note."}
        sent = await client.post("/reviews/new", data=data)
        assert sent.status == 200 and "Saved. Your review of Anna is in" in await sent.text()
        assert (await client.post("/reviews/new", data={**data, "rep": "bram"})).status == 403, "never themselves"
        assert (await client.post("/reviews/new", data={**data, "rep": "umar"})).status == 403, "another team's rep"
        mine = await (await client.get("/self-report")).text()
        assert "Peer note." not in mine and "ANNA-NOTE" not in mine, "a peer reviewer does not read the reviewed rep's reviews"

    async def without(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "bram")
        assert '<a href="/reviews/new">' not in page
        assert (await client.get("/reviews/new")).status == 403

    serve(producer, test, settings=peers, records=NOTES)
    [(_, value, _, _)] = producer.records
    event = json.loads(value)
    assert (event["reviewer_id"], event["rep_id"], event["note"]) == ("bram", "anna", "Peer note.")
    serve(Producer(), without)


def test_a_review_just_sent_shows_on_the_reps_my_week() -> None:
    async def test(client: Client, links: SignInLinks) -> None:
        page = await sign_in(client, links, "amsterdam", "mia", "manager")
        form = await (await client.get("/reviews/new?subject=call")).text()
        data = {"csrf_token": field(form, "csrf_token"), "form_id": field(form, "form_id"), "subject": "call",
                "rep": "sara", "score_opening": "2", "score_closing": "3", "score_pain_points": "4", "note": "Sara, slow down."}
        assert (await client.post("/reviews/new", data=data)).status == 200
        client.session.cookie_jar.clear()
        sara = await sign_in(client, links, "amsterdam", "sara")
        assert "Sara, slow down." in sara and "<li>Opening: <strong>2</strong>" in sara

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
