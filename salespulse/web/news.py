"""The TV's newsflash: a banner for about 20 s when a deal is won, a "no" comes fast, or a rep
reaches the weekly target.

    <app_id>-deal-figures-by-rep ── NewsReader, a consumer of its own (no group, from the latest
        offset) ── each decided deal's figures, as the worker forwards them ── decision_banner()
    <app_id>-deal-stages ── the same consumer ── parse_event, as `publish` (invalid: skipped; the
        worker dead-letters them) ── the deal's name from its CRM fields (NAME_FIELDS), else its id
    each read of a team's board (TvFigures.view) ── NewsRoom.observe() ── a rep whose attainment
        of the weekly target went from under 100 % to 100 % or more between two reads
                        └── NewsRoom ── /tv/<team>/news, server-sent events ── tv.js shows it

A decision comes from the worker's own deal figures, so that its time to decision runs from the
deal's first event, which the web process, reading from the latest offset, never saw. A "no" is
fast when it came within FAST_NO_DAYS of that first event: the method values a quick "no", which
frees the rep for a lead that will say yes; a slow one is no news. A decision older than RECENT
when it arrives (an import, a back-fill, a worker catching up) is history, not news.

Reaching the target is seen in the board's figures, which a TV reads every few seconds: the first
read of a team's week only sets what is known, so a restart does not announce again the reps who
were already there.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError, KafkaTimeoutError

from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.errors import RejectedEvent
from salespulse.models.events import DealStageEvent, parse_event
from salespulse.streams.topics import TopicNames, kafka_client_options
from salespulse.web.i18n import N_, choose_language, translations

if TYPE_CHECKING:
    from salespulse.web.server import WebServer

log = logging.getLogger(__name__)

NEWS_S = 20.0
FAST_NO_DAYS = 7.0
RECENT = timedelta(hours=1)
# CRM fields that name a deal: HubSpot's `dealname`, Pipedrive's `title`, Salesforce's `Name`,
# or a plain `name`/`deal_name` from `salespulse publish` or the generic source.
NAME_FIELDS = ("deal_name", "dealname", "name", "title", "Name")
KEEP_NAMES = 10_000
KEEP_ANNOUNCED = 10_000
KEEPALIVE_S = 15.0
Kind = Literal["won", "fast_no", "target"]
ConsumerFactory = Callable[..., Any]
Gettext = Callable[[str], str]


@dataclass(frozen=True)
class Banner:
    """One piece of news for a team's TV."""

    key: str
    team: str
    kind: Kind
    rep: str
    deal: str = ""
    seconds: float = 0.0
    count: int = 0
    posted_at: float = 0.0


def deal_name(fields: Mapping[str, object], deal_id: str) -> str:
    """Return the deal's name from its CRM fields, else its id."""
    for field in NAME_FIELDS:
        value = fields.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return deal_id


def rep_name(settings: Settings, team: str, rep: str) -> str:
    """Return the rep's name as the configuration gives it, else the id."""
    spec = settings.teams.get(team)
    person = spec.reps.get(rep) if spec is not None else None
    return person.name if person is not None else rep


def decision_banner(settings: Settings, record_key: str, value: Any, names: Mapping[str, str], now: datetime,
                    fast_no_days: float = FAST_NO_DAYS) -> Banner | None:
    """Return the news in one deal-figures record: a won deal or a fast "no", decided lately; else None."""
    kind, _, rest = record_key.partition("|")
    team, _, rest = rest.partition("|")
    rep, _, deal_id = rest.partition("|")
    if kind != "velocity" or not deal_id or not isinstance(value, dict):
        return None
    outcome, decided_at, created_at = value.get("outcome"), value.get("decided_at"), value.get("created_at")
    if outcome not in ("won", "lost") or not isinstance(decided_at, (int, float)) or not isinstance(created_at, (int, float)):
        return None
    if decided_at < (now - RECENT).timestamp():
        return None
    seconds = max(0.0, float(decided_at) - float(created_at))
    if outcome == "lost" and seconds > fast_no_days * 86_400:
        return None
    return Banner(key=f"decision/{value.get('decision_event_id') or deal_id}", team=team,
                  kind="won" if outcome == "won" else "fast_no", rep=rep_name(settings, team, rep),
                  deal=names.get(deal_id, deal_id), seconds=seconds)


def target_banners(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[Banner]:
    """Return a banner for each rep whose attainment reached 100 % between two TV views of one week."""
    if before is None or (before["team"], before["week"]) != (after["team"], after["week"]):
        return []
    was = {rep["id"]: rep["attainment"] for rep in before["reps"]}
    return [Banner(key=f"target/{after['team']}/{after['week']}/{rep['id']}", team=after["team"], kind="target",
                   rep=rep["name"], count=int(rep["week"]))
            for rep in after["reps"]
            if rep["attainment"] is not None and rep["attainment"] >= 1
            and was.get(rep["id"]) is not None and was[rep["id"]] < 1]


def duration_text(seconds: float, gettext: Gettext) -> str:
    """Return a time to decision in whole units, as said on the floor: "12 days", "5 hours"."""
    for unit, one, many in ((86_400, N_("a day"), N_("%(count)d days")), (3_600, N_("an hour"), N_("%(count)d hours"))):
        if seconds >= unit:
            count = round(seconds / unit)
            return gettext(one) if count == 1 else gettext(many) % {"count": count}
    minutes = max(1, round(seconds / 60))
    return gettext(N_("a minute")) if minutes == 1 else gettext(N_("%(count)d minutes")) % {"count": minutes}


def banner_text(banner: Banner, gettext: Gettext) -> str:
    """Return the banner's words in the catalogue's language."""
    if banner.kind == "won":
        return gettext(N_("%(rep)s won %(deal)s in %(time)s")) % {
            "rep": banner.rep, "deal": banner.deal, "time": duration_text(banner.seconds, gettext)}
    if banner.kind == "fast_no":
        return gettext(N_("A fast no for %(rep)s: %(deal)s, decided in %(time)s")) % {
            "rep": banner.rep, "deal": banner.deal, "time": duration_text(banner.seconds, gettext)}
    return gettext(N_("%(rep)s reached the weekly target: %(count)d actions")) % {
        "rep": banner.rep, "count": banner.count}


class NewsRoom:
    """Each team's banners of the last `news_s` seconds, each posted once; wakes whoever waits."""

    def __init__(self, clock: Callable[[], datetime], news_s: float = NEWS_S) -> None:
        self.clock = clock
        self.news_s = news_s
        self._banners: dict[str, deque[Banner]] = {}
        self._announced: OrderedDict[str, None] = OrderedDict()
        self._views: dict[str, Mapping[str, Any]] = {}
        self._changed = asyncio.Event()
        self.closed = False

    def post(self, banner: Banner) -> bool:
        """Post a banner now; return False when its news was posted before."""
        if banner.key in self._announced:
            return False
        self._announced[banner.key] = None
        while len(self._announced) > KEEP_ANNOUNCED:
            self._announced.popitem(last=False)
        self._banners.setdefault(banner.team, deque(maxlen=20)).append(
            replace(banner, posted_at=self.clock().timestamp()))
        self._wake()
        return True

    def live(self, team: str) -> list[tuple[Banner, float]]:
        """Return the team's banners still on, each with the seconds it has left, the oldest first."""
        now = self.clock().timestamp()
        return [(b, self.news_s - (now - b.posted_at)) for b in self._banners.get(team, ())
                if now - b.posted_at < self.news_s]

    def observe(self, view: Mapping[str, Any], now: datetime) -> None:
        """Compare a team's TV view with its previous one, and post who reached the weekly target."""
        team = str(view["team"])
        for banner in target_banners(self._views.get(team), view):
            self.post(banner)
        if any(rep["attainment"] is not None for rep in view["reps"]) or team not in self._views:
            # A read without figures (Prometheus away) is no news: the next read compares with the last good one.
            self._views[team] = view

    async def changed(self, timeout_s: float) -> None:
        """Return when a banner is posted or the room closes, or after `timeout_s`."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass

    def close(self) -> None:
        """Let every stream end."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


class NewsReader:
    """Follows the deal figures and the deal stages from their latest offsets into a NewsRoom."""

    def __init__(
        self, settings: Settings, room: NewsRoom, kafka: KafkaSettings, *,
        consumer_factory: ConsumerFactory = AIOKafkaConsumer, retry_s: float = 5.0, poll_ms: int = 500,
        fast_no_days: float = FAST_NO_DAYS, assignment_timeout_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.room = room
        self.kafka = kafka
        names = TopicNames(settings.kafka.app_id)
        self.figures_topic = names.deal_figures_by_rep
        self.stages_topic = names.deal_stages
        self.consumer_factory = consumer_factory
        self.retry_s = retry_s
        self.poll_ms = poll_ms
        self.fast_no_days = fast_no_days
        self.assignment_timeout_s = assignment_timeout_s
        self.names: OrderedDict[str, str] = OrderedDict()

    def take_stage(self, raw: bytes | None) -> None:
        """Remember the name of the deal of one deal-stage record, when its CRM fields give one."""
        if raw is None:
            return
        try:
            event = parse_event(raw, self.settings, self.room.clock())
        except RejectedEvent:
            return
        if isinstance(event, DealStageEvent) and deal_name(event.fields, event.deal_id) != event.deal_id:
            self.names[event.deal_id] = deal_name(event.fields, event.deal_id)
            self.names.move_to_end(event.deal_id)
            while len(self.names) > KEEP_NAMES:
                self.names.popitem(last=False)

    def take_figure(self, raw: bytes | None) -> Banner | None:
        """Post the news of one deal-figures record, if it holds any; return what was posted."""
        try:
            record = json.loads(raw or b"null")
        except ValueError:
            return None
        if not isinstance(record, dict) or not isinstance(record.get("key"), str):
            return None
        banner = decision_banner(self.settings, record["key"], record.get("value"), self.names, self.room.clock(),
                                 self.fast_no_days)
        return banner if banner is not None and self.room.post(banner) else None

    async def run(self) -> None:
        """Follow the topics until cancelled, again after any Kafka error."""
        while True:
            try:
                await self.follow()
            except (KafkaError, OSError) as exc:
                log.warning("web: reading the deal news failed (%r); again in %g s", exc, self.retry_s)
            await asyncio.sleep(self.retry_s)

    async def follow(self) -> None:
        """Read from the topics' ends on; return when a topic does not exist yet (the worker makes them)."""
        consumer = self.consumer_factory(**kafka_client_options(self.kafka), group_id=None, enable_auto_commit=False)
        try:
            await consumer.start()
            existing = await consumer.topics()
            topics: Sequence[str] = (self.stages_topic, self.figures_topic)
            if any(topic not in existing for topic in topics):
                return
            # Without a group, a subscribed consumer is assigned every partition of its topics;
            # partitions_for_topic would need metadata that topics() does not keep.
            consumer.subscribe(list(topics))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.assignment_timeout_s
            while not consumer.assignment():
                if loop.time() > deadline:
                    raise KafkaTimeoutError(f"no partition of {', '.join(topics)} assigned in {self.assignment_timeout_s:g} s")
                await asyncio.sleep(0.1)
            tps = sorted(consumer.assignment())
            await consumer.seek_to_end(*tps)
            while True:
                batch = await consumer.getmany(*tps, timeout_ms=self.poll_ms)
                # Names first: a decision's own stage event is older than the figures it led to.
                for tp in sorted(batch, key=lambda tp: tp.topic != self.stages_topic):
                    for record in batch[tp]:
                        if tp.topic == self.stages_topic:
                            self.take_stage(record.value)
                        else:
                            self.take_figure(record.value)
        finally:
            await consumer.stop()


async def news_stream(request: web.Request, room: NewsRoom, opens: Callable[[web.Request, str], bool],
                      teams: Sequence[str]) -> web.StreamResponse:
    """/tv/<team>/news: the team's banners as server-sent events, those still on first."""
    team = request.match_info["team"]
    if team not in teams:
        raise web.HTTPNotFound()
    if not opens(request, team):
        return web.json_response({"error": "not valid for this TV"}, status=401)
    gettext = translations(choose_language(request.headers.get("Accept-Language"))).gettext
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    sent: set[str] = set()
    try:
        while not room.closed:
            for banner, left_s in room.live(team):
                if banner.key not in sent:
                    sent.add(banner.key)
                    data = {"key": banner.key, "kind": banner.kind, "text": banner_text(banner, gettext),
                            "left_s": round(left_s, 1)}
                    await response.write(f"data: {json.dumps(data)}\n\n".encode())
            sent &= {banner.key for banner, _ in room.live(team)}
            await room.changed(KEEPALIVE_S)
            # A comment line: proxies and the browser keep a quiet stream open, and a closed one is noticed.
            await response.write(b": still here\n\n")
    except ConnectionResetError:
        # The TV went away (reloaded, switched off): its stream ends here; it opens a new one when back.
        pass
    return response


NEWS_ROOM = web.AppKey("news_room", NewsRoom)


def add_news(app: web.Application, server: "WebServer") -> None:
    """Give the web server's TV its newsflash: the room, the reader of the deal news and /tv/<team>/news."""
    room = NewsRoom(server.clock)
    reader = NewsReader(server.settings, room, server.gateway.kafka)
    server.tv.listeners.append(room.observe)
    app[NEWS_ROOM] = room
    teams = sorted(server.settings.teams)
    following: list[asyncio.Task[None]] = []

    async def stream(request: web.Request) -> web.StreamResponse:
        return await news_stream(request, room, server.tv_opens, teams)

    async def start(app: web.Application) -> None:
        following.append(asyncio.create_task(reader.run(), name="salespulse-web-news"))

    async def close(app: web.Application) -> None:
        room.close()

    async def stop(app: web.Application) -> None:
        for task in following:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    app.router.add_get("/tv/{team}/news", stream)
    app.on_startup.append(start)
    app.on_shutdown.append(close)
    app.on_cleanup.append(stop)
