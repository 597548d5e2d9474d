"""The TV's newsflash: which decisions are news, whose target was reached, the deal's name, the
words in English and Dutch, and the reader that takes them from Kafka's latest offset on."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError

from salespulse.web.i18n import translations
from salespulse.web.news import (
    FAST_NO_DAYS, NEWS_S, Banner, NewsReader, NewsRoom, banner_text, deal_name, decision_banner, target_banners,
)
from salespulse.models.config import KafkaSettings
from salespulse.streams.topics import TopicNames
from tests.unit.web.support import NOW, FakeConsumer, floor

SETTINGS = floor()
DAY = 86_400


def figures(outcome: str | None, days: float, decided_ago_s: float = 60, event_id: str = "e-1") -> dict[str, Any]:
    decided = NOW.timestamp() - decided_ago_s
    return {"created_at": decided - days * DAY, "last_at": decided, "decided_at": None if outcome is None else decided,
            "decision_event_id": event_id if outcome else None, "outcome": outcome, "team": "amsterdam", "rep": "anna"}


def test_a_won_deal_is_news_with_its_name_and_its_time_to_decision() -> None:
    banner = decision_banner(SETTINGS, "velocity|amsterdam|anna|d-1", figures("won", 12), {"d-1": "Acme"}, NOW)
    assert banner is not None
    assert (banner.kind, banner.rep, banner.deal, round(banner.seconds)) == ("won", "Anna", "Acme", 12 * DAY)
    assert banner_text(banner, translations("en").gettext) == "Anna won Acme in 12 days"
    assert banner_text(banner, translations("nl").gettext) == "Anna heeft Acme binnengehaald in 12 dagen"


def test_a_no_is_news_only_when_it_came_fast() -> None:
    fast = decision_banner(SETTINGS, "velocity|amsterdam|anna|d-2", figures("lost", FAST_NO_DAYS - 1), {}, NOW)
    slow = decision_banner(SETTINGS, "velocity|amsterdam|anna|d-3", figures("lost", FAST_NO_DAYS + 0.5), {}, NOW)
    assert fast is not None and fast.kind == "fast_no" and fast.deal == "d-2", "without a name, the deal's id"
    assert slow is None
    assert banner_text(fast, translations("en").gettext) == "A fast no for Anna: d-2, decided in 6 days"
    assert decision_banner(SETTINGS, "velocity|amsterdam|anna|d-5", figures("lost", FAST_NO_DAYS), {}, NOW) is not None, \
        "a week to the day is still fast"
    hours = decision_banner(SETTINGS, "velocity|amsterdam|anna|d-4", figures("lost", 5 / 24), {}, NOW)
    assert hours is not None and banner_text(hours, translations("nl").gettext) == "Snel een nee voor Anna: d-4, besloten in 5 uur"


def test_open_deals_old_decisions_and_other_figures_are_no_news() -> None:
    assert decision_banner(SETTINGS, "velocity|amsterdam|anna|d-1", figures(None, 3), {}, NOW) is None
    old = figures("won", 3, decided_ago_s=2 * 3600)  # a back-fill or an import reaching the TV late
    assert decision_banner(SETTINGS, "velocity|amsterdam|anna|d-1", old, {}, NOW) is None
    assert decision_banner(SETTINGS, "checks|amsterdam|anna|d-1", [{"stage": "won"}], {}, NOW) is None
    assert decision_banner(SETTINGS, "velocity|amsterdam|anna|d-1", None, {}, NOW) is None, "credit moved away"


def test_the_deals_name_comes_from_its_crm_fields_else_its_id() -> None:
    assert deal_name({"dealname": "Acme renewal", "company": "Acme"}, "d-1") == "Acme renewal"
    assert deal_name({"title": "  Globex  "}, "d-1") == "Globex"
    assert deal_name({"name": "", "company": "Acme"}, "d-1") == "d-1", "an empty name, and a company, are no deal name"
    assert deal_name({}, "d-1") == "d-1"


def view(week: str, **attainment: float | None) -> dict[str, Any]:
    return {"team": "amsterdam", "week": week,
            "reps": [{"id": rep, "name": rep.title(), "week": int((value or 0) * 40), "attainment": value}
                     for rep, value in attainment.items()]}


def test_a_rep_reaching_the_target_between_two_reads_is_news_once() -> None:
    before = view("2026-W50", anna=0.975, bram=1.2, sara=None)
    after = view("2026-W50", anna=1.0, bram=1.3, sara=None)
    assert [(b.kind, b.rep, b.count) for b in target_banners(before, after)] == [("target", "Anna", 40)]
    assert target_banners(None, after) == [], "the first read only says where everyone is"
    assert target_banners(view("2026-W49", anna=0.5), view("2026-W50", anna=1.1)) == [], "a new week starts again"
    room = NewsRoom(lambda: NOW)
    for seen in (before, view("2026-W50", anna=None, bram=None, sara=None), after, after):
        room.observe(seen, NOW)
    assert [b.key for b, _ in room.live("amsterdam")] == ["target/amsterdam/2026-W50/anna"], \
        "a read without figures in between does not hide the crossing, and it is told once"
    banner = room.live("amsterdam")[0][0]
    assert banner_text(banner, translations("nl").gettext) == "Anna heeft het weekdoel gehaald: 40 acties"


def test_a_banner_stays_for_twenty_seconds() -> None:
    clock = {"now": NOW}
    room = NewsRoom(lambda: clock["now"])
    assert room.post(Banner("k", "amsterdam", "won", "Anna", "Acme", 3600))
    assert not room.post(Banner("k", "amsterdam", "won", "Anna", "Acme", 3600)), "the same news twice"
    clock["now"] = NOW + timedelta(seconds=NEWS_S - 1)
    assert [round(left) for _, left in room.live("amsterdam")] == [1]
    assert room.live("utrecht") == []
    clock["now"] = NOW + timedelta(seconds=NEWS_S)
    assert room.live("amsterdam") == []


def stage(event_id: str, deal: str, stage_name: str, fields: dict[str, Any], at: datetime) -> bytes:
    return json.dumps({"type": "deal_stage", "event_id": event_id, "occurred_at": at.isoformat(), "team_id": "amsterdam",
                       "rep_id": "anna", "source": "crm", "deal_id": deal, "stage": stage_name, "fields": fields}).encode()


def test_the_reader_starts_at_the_latest_offset_and_names_the_deal_from_its_stage_event() -> None:
    names = TopicNames(SETTINGS.kafka.app_id)
    ms = int(NOW.timestamp() * 1000)
    old = json.dumps({"key": "velocity|amsterdam|anna|d-0", "value": figures("won", 2, event_id="old")}).encode()
    records: dict[str, list[tuple[int, bytes | None]]] = {names.deal_stages: [], names.deal_figures_by_rep: [(ms, old)]}
    made: list[FakeConsumer] = []

    def factory(**options: object) -> FakeConsumer:
        made.append(FakeConsumer(records, **options))
        return made[-1]

    room = NewsRoom(lambda: NOW)
    reader = NewsReader(SETTINGS, room, KafkaSettings(), consumer_factory=factory, poll_ms=10)

    async def run() -> None:
        task = asyncio.create_task(reader.follow())
        while not made or not made[0].positions:
            await asyncio.sleep(0.01)
        records[names.deal_stages] += [(ms, b"not json"), (ms, stage("s-1", "d-1", "won", {"dealname": "Acme"}, NOW))]
        won = {"key": "velocity|amsterdam|anna|d-1", "value": figures("won", 12, event_id="s-1")}
        records[names.deal_figures_by_rep] += [(ms, b"{}"), (ms, json.dumps(won).encode()),
                                               (ms, json.dumps(won).encode())]
        for _ in range(200):
            if room.live("amsterdam"):
                break
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())
    assert made[0].options["group_id"] is None, "no consumer group: every web process reads for itself"
    assert [banner_text(b, translations("en").gettext) for b, _ in room.live("amsterdam")] == ["Anna won Acme in 12 days"]


def test_the_reader_gives_up_on_topics_it_is_not_assigned_and_tries_again() -> None:
    names = TopicNames(SETTINGS.kafka.app_id)

    class JustMade(FakeConsumer):
        def subscribe(self, topics: list[str]) -> None:
            pass  # a topic made a moment ago: no partition in the metadata yet

    made: list[FakeConsumer] = []

    def factory(**options: object) -> FakeConsumer:
        made.append(JustMade({names.deal_stages: [], names.deal_figures_by_rep: []}, **options))
        return made[-1]

    reader = NewsReader(SETTINGS, NewsRoom(lambda: NOW), KafkaSettings(), consumer_factory=factory,
                        assignment_timeout_s=0.3)
    with pytest.raises(KafkaTimeoutError):  # which run() logs as a warning, and tries again
        asyncio.run(reader.follow())
    assert made[0].stopped


def test_a_tv_that_goes_away_ends_its_stream_without_an_error() -> None:
    asyncio.run(tv_goes_away())


async def tv_goes_away() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from salespulse.web.news import news_stream

    room = NewsRoom(lambda: NOW)
    outcome: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            response = await news_stream(request, room, lambda request, team: True, ["amsterdam"])
        except Exception as exc:  # what aiohttp would log as "Error handling request"
            outcome.append(f"raised {type(exc).__name__}")
            raise
        outcome.append("returned")
        return response

    app = web.Application()
    app.router.add_get("/tv/{team}/news", handler)
    async with TestServer(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /tv/amsterdam/news HTTP/1.1\r\nHost: tv\r\n\r\n")
        room.post(Banner("first", "amsterdam", "won", "Anna", "Acme", 3600))
        try:
            await tv_reads_then_leaves(room, reader, writer, outcome)
        finally:
            room.close()  # so that a stream still open ends, and the server with it


async def tv_reads_then_leaves(
    room: NewsRoom, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, outcome: list[str]
) -> None:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b'"key": "first"' in await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)
    writer.close()
    await writer.wait_closed()
    for n in range(50):  # each banner makes the stream write to the closed connection
        room.post(Banner(f"after-{n}", "amsterdam", "won", "Anna", "Acme", 3600))
        await asyncio.sleep(0.05)
        if outcome:
            break
    # Before the room closes: the stream ended because its TV left, and without an error.
    assert outcome == ["returned"]
