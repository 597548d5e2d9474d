"""The TV page: kiosk tokens, who may open it, the rotation, and what the board says for given answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from salespulse.dashboards.common import NOTHING_DUE
from salespulse.web.gateway.server import Gateway
from salespulse.models.config import KafkaSettings
from salespulse.web.figures import Figures
from salespulse.web.links import SignInLinks, session_key
from salespulse.web.people import find_person
from salespulse.web.server import WebServer
from salespulse.web.tv import ALL_TEAMS, Answers, KioskTokens, decimal, duration_words, rotation, tv_view
from tests.unit.web.support import NOW, SECRET, floor
from tests.unit.web.test_server import sign_in

SETTINGS = floor()


class StubTv:
    """Answers as Prometheus would, without Prometheus."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.listeners: list[Callable[[dict[str, Any], datetime], None]] = []

    async def view(self, team: str, now: datetime) -> tuple[dict[str, Any], str | None]:
        return tv_view(SETTINGS, team, now, self.answers), None


ANSWERS: Answers = {
    "team_actions/0": [({"team": "amsterdam"}, 7.0)],
    "team_actions/1": [({"team": "amsterdam"}, 31.0)],
    "team_pace/0": [({"team": "amsterdam"}, 0.85)],
    "deals/0": [({}, 2.0)],
    "deals/1": [({}, 3.0)],
    "time_to_decision/0": [({"outcome": "won"}, 12.25 * 86_400), ({"outcome": "lost"}, 5.5 * 3_600)],
    "actions_today/0": [({"rep": "anna", "name": "Anna"}, 4.0), ({"rep": "bram", "name": "Bram"}, 3.0)],
    "actions_week/0": [({"rep": "anna", "name": "Anna"}, 20.0), ({"rep": "bram", "name": "Bram"}, 11.0)],
    "weekly_target/0": [({"rep": "anna", "name": "Anna"}, 40.0), ({"rep": "bram", "name": "Bram"}, 20.0)],
    "pace/0": [({"rep": "anna", "name": "Anna"}, 1.1), ({"rep": "bram", "name": "Bram"}, NOTHING_DUE)],
    "team_reward/0": [({"team": "amsterdam", "month": "2026-12"}, 1.0)],
    "review_score/0": [({"subject": "call"}, 3.75)],
    # 4 open deals x 9,300 average won value x 40 % won / 1.2 days of sales cycle.
    "sales_velocity/0": [({"currency": "EUR"}, 4 * 9_300 * 0.4 / 1.2)],
    "win_rate/0": [({}, 0.4)],
}


def test_a_kiosk_token_opens_its_team_only_and_dies_with_the_secret() -> None:
    tokens = KioskTokens(SECRET)
    token = tokens.make("amsterdam")
    assert tokens.opens(token, "amsterdam")
    assert not tokens.opens(token, "utrecht")
    assert not tokens.opens(token[:-2] + "AA", "amsterdam"), "an altered token"
    assert not KioskTokens(SECRET[::-1]).opens(token, "amsterdam"), "a rotated secret revokes it"
    anna = find_person(SETTINGS, "amsterdam", "anna")
    assert anna is not None
    assert not tokens.opens(SignInLinks(SETTINGS, SECRET).make(anna), "amsterdam"), "a sign-in link is no TV token"
    every = tokens.make(ALL_TEAMS)
    assert tokens.opens(every, "amsterdam") and tokens.opens(every, "utrecht") and tokens.opens(every, ALL_TEAMS)


def test_the_rotation_shows_each_team_for_the_dwell_time_in_turn() -> None:
    start = datetime.fromtimestamp(3_000_000_000 - 3_000_000_000 % 60, tz=UTC)  # a multiple of 2 x 30 s
    teams = ["amsterdam", "utrecht"]
    assert rotation(teams, start, 30) == ("amsterdam", 30)
    assert rotation(teams, start + timedelta(seconds=12), 30) == ("amsterdam", 18)
    assert rotation(teams, start + timedelta(seconds=30), 30) == ("utrecht", 30)
    assert rotation(teams, start + timedelta(seconds=60), 30)[0] == "amsterdam"


def test_times_to_decision_read_in_days_or_hours_in_the_pages_language() -> None:
    assert duration_words(12.25 * 86_400) == "12.2 days"
    assert duration_words(5.5 * 3_600) == "5.5 hours"
    assert duration_words(None) == "–"
    assert duration_words(12.25 * 86_400, "nl") == "12,2 dagen"
    assert duration_words(5.5 * 3_600, "nl") == "5,5 uur"
    assert duration_words(float("nan"), "nl") == "–"


def test_scores_are_written_with_the_languages_decimal_sign() -> None:
    assert (decimal(3.75), decimal(3.75, "nl"), decimal(4.0, "nl")) == ("3.8", "3,8", "4,0")


def test_the_view_orders_reps_by_attainment_and_says_what_is_missing() -> None:
    view = tv_view(SETTINGS, "amsterdam", NOW, ANSWERS)
    assert (view["week"], view["today"], view["this_week"], view["won"], view["lost"]) == ("2026-W50", 7, 31, 2, 3)
    assert view["pace"] == {"text": "85 %", "colour": "amber"}
    assert view["decision"] == {"won": 12.25 * 86_400, "lost": 5.5 * 3_600}
    # anna 20/40 = 50 %, bram 11/20 = 55 %: bram leads; sara has no target and comes last.
    assert [r["id"] for r in view["reps"]] == ["bram", "anna", "sara"]
    bram, anna, sara = view["reps"]
    assert anna["pace"] == {"text": "110 %", "colour": "green"}
    assert bram["pace"] == {"text": "nothing due yet", "colour": "grey"}
    assert sara["pace"] == {"text": "no target set", "colour": "grey"} and sara["target"] is None
    assert view["reward"] == {"text": "earned", "month": "2026-12", "colour": "green"}
    assert view["reviews"] == [{"subject": "call", "score": 3.75}]
    # 4 x 9,300 x 0.4 / 1.2 = 12,400 a day, in the team's currency (EUR, the default).
    assert view["velocity"] == {"per_day": 12_400, "currency": "EUR"}
    assert view["win_rate"] == {"text": "40 %", "colour": "text"}


def test_velocity_and_win_rate_are_absent_not_zero_without_the_factors() -> None:
    view = tv_view(SETTINGS, "amsterdam", NOW, {**ANSWERS, "sales_velocity/0": [], "win_rate/0": []})
    assert view["velocity"] is None
    assert view["win_rate"] == {"text": "–", "colour": "grey"}
    # A real zero (no open deal) is a figure; a series in a currency the team no longer uses is not.
    empty = tv_view(SETTINGS, "amsterdam", NOW, {**ANSWERS, "sales_velocity/0": [({"currency": "EUR"}, 0.0)]})
    assert empty["velocity"] == {"per_day": 0, "currency": "EUR"}
    stale = tv_view(SETTINGS, "amsterdam", NOW, {**ANSWERS, "sales_velocity/0": [({"currency": "USD"}, 99.0)]})
    assert stale["velocity"] is None


Client = TestClient[Any, Any]


def serve(test: Callable[[Client], Awaitable[None]], *, loopback_opens_tv: bool) -> None:
    gateway = Gateway(SETTINGS, KafkaSettings(), {}, lambda: NOW)
    server = WebServer(SETTINGS, gateway, SignInLinks(SETTINGS, SECRET), session_key(SECRET), Figures([]),
                       lambda: NOW, tv=StubTv(ANSWERS), kiosk=KioskTokens(SECRET),  # type: ignore[arg-type]
                       loopback_opens_tv=loopback_opens_tv)

    async def run() -> None:
        async with TestClient(TestServer(server.application())) as client:
            await test(client)

    asyncio.run(run())


def test_off_loopback_the_tv_needs_its_token_and_never_shows_lessons_or_notes() -> None:
    token = KioskTokens(SECRET).make("amsterdam")

    async def test(client: Client) -> None:
        for path in ("/tv/amsterdam", "/tv/amsterdam/figures", "/tv", f"/tv/utrecht?token={token}",
                     f"/tv?token={token}"):
            assert (await client.get(path)).status == 401, path
        answer = await client.get(f"/tv/amsterdam?token={token}")
        page = await answer.text()
        assert answer.status == 200
        assert f'data-figures="/tv/amsterdam/figures?token={token}"' in page
        assert "Lessons" not in page and "Note" not in page
        figures = await client.get(f"/tv/amsterdam/figures?token={token}")
        body = await figures.json()
        assert body["view"]["this_week"] == 31 and 'data-value="this_week">31<' in body["html"]
        assert (await client.get(f"/tv/nowhere?token={token}")).status == 404
        assert (await client.get(f"/tv?token={KioskTokens(SECRET).make(ALL_TEAMS)}")).status == 200

    serve(test, loopback_opens_tv=False)


def test_a_signed_in_person_sees_their_own_teams_tv_only() -> None:
    async def test(client: Client) -> None:
        await sign_in(client, SignInLinks(SETTINGS, SECRET), "amsterdam", "anna")
        assert (await client.get("/tv/amsterdam")).status == 200
        assert (await client.get("/tv/utrecht")).status == 401
        assert (await client.get("/tv")).status == 401, "every team's rotation needs a '*' token"

    serve(test, loopback_opens_tv=False)


def test_the_board_words_velocity_in_the_browsers_language() -> None:
    async def test(client: Client) -> None:
        english = await (await client.get("/tv/amsterdam")).text()
        assert 'data-value="velocity">€ 12,400 / day<' in english
        assert "Sales velocity (90 days)" in english and 'data-value="win_rate">40 %<' in english
        figures = await client.get("/tv/amsterdam/figures", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
        dutch = (await figures.json())["html"]
        # Dutch groups thousands with a point: "€ 12,400" would read as twelve euros and forty cents.
        assert 'data-value="velocity">€ 12.400 / dag<' in dutch
        assert "Verkoopsnelheid (90 dagen)" in dutch and "Winkans (90 dagen)" in dutch

    serve(test, loopback_opens_tv=True)


def test_from_loopback_the_tv_opens_without_a_token() -> None:
    async def test(client: Client) -> None:
        assert (await client.get("/tv/amsterdam")).status == 200
        answer = await client.get("/tv")
        assert answer.status == 200 and 'http-equiv="refresh"' in await answer.text()

    serve(test, loopback_opens_tv=True)


def test_the_tv_speaks_dutch_to_a_dutch_browser() -> None:
    async def test(client: Client) -> None:
        page = await (await client.get("/tv/amsterdam", headers={"Accept-Language": "nl-NL,nl;q=0.9"})).text()
        for dutch in ("Vandaag", "Tempo team", "nog niets verwacht", "geen doel ingesteld", "verdiend"):
            assert dutch in page, dutch

    serve(test, loopback_opens_tv=True)
