"""`salespulse web`: the people's pages and the vendors' webhooks in one aiohttp server.

    request ── session (aiohttp-session: Fernet-encrypted, signed cookie) ── who: the trusted
        SSO header when --trust-header names one, else the session's person ── POST: the form's
        csrf_token against the session's (one check, here) ── one handler per page

    a form ── forms.<kind>() ── parse_event (as `publish`) ── produce, acks=all ── the page
                                                               └── no acknowledgement: the form
                                                                   again, as typed, "not saved"

    the reviews and mystery-checks topics ── history.HistoryReader, a consumer of its own ── the
        notes of reviews on My week and the team's page, the items of each check on /mystery

Pages are Jinja2 templates (aiohttp-jinja2) without JavaScript. `/hooks/<source>`, `/healthz`
and `/metrics` are `salespulse gateway`'s own routes and producer (`Gateway.add_routes`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from aiokafka.errors import KafkaError

from salespulse.web.gateway.server import Gateway
from salespulse.models.config import Settings
from salespulse.models.events import AnyEvent, MysteryCheckEvent, SelfReportEvent
from salespulse.mystery_sample import month_draw, read_active_deals
from salespulse.streams.kpi.self_reports import window_weeks
from salespulse.streams.topics import event_key
from salespulse.web import forms
from salespulse.web.figures import Figures
from salespulse.web.history import History, HistoryReader
from salespulse.web.i18n import N_, choose_language, translations
from salespulse.web.links import DEFAULT_LINK_HOURS, LinkRefused, SignInLinks
from salespulse.web.news import add_news
from salespulse.web.names import label
from salespulse.web.people import (
    Person, find_person, is_checker, may_file_for, may_read_reviews_of, may_review, may_see_team, person_by_email,
    reviewable,
)
from salespulse.web.tv import ALL_TEAMS, DEFAULT_DWELL_S, FILTERS, REFRESH_S, KioskTokens, TvFigures, rotation
from salespulse.web.weekly import add_weekly
from salespulse.weekly.review import Samples

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE_S = 7 * 86_400
PERSON: web.RequestKey[Person | None] = web.RequestKey("person", object)  # type: ignore[arg-type]
# As the worker's review metrics: the rolling 30 days.
REVIEW_WINDOW = timedelta(days=30)
DRAW_TIMEOUT_S = 10.0
# After a mystery check, how long the page waits for the worker to count it, so that the score shown has it.
SETTLE_S = 5.0
SETTLE_POLL_S = 0.25


REFUSED_LINKS = {
    "expired": N_("This sign-in link has expired; ask your manager for a new one."),
    "forged": N_("This is not a valid sign-in link."),
    "used": N_("This sign-in link was used before; a link signs in once."),
    "unknown_person": N_("The person this link names is no longer in the configuration."),
}
NOT_SAVED = N_(
    "Nothing was saved: Kafka did not confirm it received the form. What you typed is still here; "
    "send it again in a moment (sending it twice counts once)."
)
LOOPBACK = ("127.0.0.1", "::1")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebServer:
    """The application: its sessions, sign-in links, figures and the gateway whose producer it shares."""

    def __init__(
        self,
        settings: Settings,
        gateway: Gateway,
        links: SignInLinks,
        session_key: bytes,
        figures: Figures,
        clock: Callable[[], datetime],
        *,
        trust_header: str | None = None,
        secure_cookies: bool = False,
        tv: TvFigures | None = None,
        kiosk: KioskTokens | None = None,
        tv_dwell_s: float = DEFAULT_DWELL_S,
        loopback_opens_tv: bool = True,
        history_reader: HistoryReader | None = None,
        settle_s: float = SETTLE_S,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.links = links
        self.session_key = session_key
        self.figures = figures
        self.clock = clock
        self.trust_header = trust_header
        self.secure_cookies = secure_cookies
        self.tv = tv or TvFigures(settings, figures.prometheus_url, figures.metrics_urls)
        self.kiosk = kiosk
        self.tv_dwell_s = tv_dwell_s
        self.loopback_opens_tv = loopback_opens_tv
        self.history_reader = history_reader or HistoryReader(History(settings), gateway.kafka, clock)
        self.history = self.history_reader.history
        self._following: asyncio.Task[None] | None = None
        self.settle_s = settle_s

    def application(self) -> web.Application:
        """Return the aiohttp application with every page and the gateway's routes."""
        app = web.Application(client_max_size=self.gateway.max_body_bytes)
        storage = EncryptedCookieStorage(
            self.session_key, cookie_name="salespulse_session", max_age=SESSION_MAX_AGE_S,
            httponly=True, samesite="Lax", secure=self.secure_cookies,
        )
        setup_sessions(app, storage)
        app.middlewares.append(self._identify)
        app.middlewares.append(self._check_csrf)
        aiohttp_jinja2.setup(
            app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"], filters=FILTERS,
        )
        self.gateway.add_routes(app)
        app.router.add_get("/", self.home)
        app.router.add_get("/signin", self.signin_page)
        app.router.add_post("/signin", self.signin)
        app.router.add_post("/signout", self.signout)
        app.router.add_get("/self-report", self.self_report_page)
        app.router.add_post("/self-report", self.self_report)
        app.router.add_get("/reviews/new", self.review_page)
        app.router.add_post("/reviews/new", self.review)
        app.router.add_get("/mystery", self.mystery_page)
        app.router.add_post("/mystery", self.mystery)
        app.router.add_get("/team/{team}", self.team_page)
        app.router.add_post("/team/{team}/links", self.team_link)
        app.router.add_get("/tv", self.tv_rotation)
        app.router.add_get("/tv/{team}", self.tv_page)
        app.router.add_get("/tv/{team}/figures", self.tv_figures)
        add_news(app, self)
        add_weekly(app, self)
        app.router.add_static("/static/", HERE / "static")
        app.on_startup.append(self._follow_history)
        app.on_cleanup.append(self._stop_history)
        return app

    async def _follow_history(self, app: web.Application) -> None:
        self._following = asyncio.create_task(self.history_reader.run(), name="salespulse-web-history")

    async def _stop_history(self, app: web.Application) -> None:
        if self._following is not None:
            self._following.cancel()
            try:
                await self._following
            except asyncio.CancelledError:
                pass

    # --- who is asking, and the one CSRF check -------------------------------------------------

    @web.middleware
    async def _identify(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Put the signed-in person, or None, in request[PERSON]."""
        person: Person | None = None
        if self.trust_header and not request.path.startswith("/hooks/"):
            email = request.headers.get(self.trust_header)
            if email:
                person = person_by_email(self.settings, email)
                if person is None:
                    request[PERSON] = None
                    return await self.render(
                        request, "message.html", status=403, title=N_("Not known here"),
                        text=N_("The sign-on proxy names you by an e-mail address that no rep or manager "
                                "in the configuration has."),
                    )
        if person is None and not request.path.startswith("/hooks/"):
            session = await get_session(request)
            team, _, person_id = str(session.get("person", "")).partition("/")
            person = find_person(self.settings, team, person_id) if person_id else None
        request[PERSON] = person
        return await handler(request)

    @web.middleware
    async def _check_csrf(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse every form post whose csrf_token is not the session's; webhooks are signed instead."""
        if request.method == "POST" and not request.path.startswith("/hooks/"):
            form = await request.post()
            expected = (await get_session(request)).get("csrf")
            sent = form.get(CSRF_FIELD)
            # As bytes: compare_digest refuses str with characters beyond ASCII, which a forger may send.
            if not (isinstance(expected, str) and isinstance(sent, str)
                    and hmac.compare_digest(expected.encode(), sent.encode())):
                return await self.render(
                    request, "message.html", status=403, title=N_("Form expired"),
                    text=N_("This form could not be checked (its security token is missing or old), so "
                            "nothing was saved. Open the page again and send it from there."),
                )
        return await handler(request)

    async def render(self, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
        """Render a page with what every page has: the session's CSRF token and who is signed in."""
        session = await get_session(request)
        if not isinstance(session.get("csrf"), str):
            session["csrf"] = secrets.token_urlsafe(32)
        lang = choose_language(request.headers.get("Accept-Language"))
        catalogue = translations(lang)
        me = request.get(PERSON)
        shared = {
            "csrf_token": session["csrf"], "me": me, "settings": self.settings, "lang": lang,
            "_": catalogue.gettext, "gettext": catalogue.gettext, "ngettext": catalogue.ngettext,
            "label": lambda identifier, subject=False: label(identifier, catalogue.gettext, subject=subject),
            "may_review_someone": me is not None and bool(reviewable(self.settings, me)),
        }
        response = aiohttp_jinja2.render_template(template, request, {**shared, **context}, status=status)
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Accept-Language, Cookie"
        return response

    def _gettext(self, request: web.Request) -> forms.Gettext:
        return translations(choose_language(request.headers.get("Accept-Language"))).gettext

    async def signin_or(self, request: web.Request) -> Person | web.Response:
        person = request[PERSON]
        if person is None:
            return await self.render(request, "signin.html", status=401, token="", problem=None)
        return person

    async def forbidden(self, request: web.Request, text: str) -> web.Response:
        return await self.render(request, "message.html", status=403, title=N_("Not for you"), text=text)

    # --- sign-in --------------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        person = await self.signin_or(request)
        if isinstance(person, web.Response):
            return person
        raise web.HTTPSeeOther("/self-report" if person.role == "rep" else f"/team/{person.team}")

    async def signin_page(self, request: web.Request) -> web.Response:
        """Show the sign-in button of a link; the link is used only when the button is pressed."""
        return await self.render(request, "signin.html", token=request.query.get("token", ""), problem=None)

    async def signin(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token = str(form.get("token", ""))
        try:
            person = self.links.redeem(token)
        except LinkRefused as refused:
            log.info("sign-in refused (%s)", refused.reason)
            return await self.render(request, "signin.html", status=403, token="", problem=REFUSED_LINKS[refused.reason])
        # A new session at sign-in, so that no cookie set before it carries over.
        session = await new_session(request)
        session["person"] = person.key
        session["csrf"] = secrets.token_urlsafe(32)
        raise web.HTTPSeeOther("/")

    async def signout(self, request: web.Request) -> web.StreamResponse:
        (await get_session(request)).invalidate()
        raise web.HTTPSeeOther("/")

    # --- sending --------------------------------------------------------------------------------

    async def _send(self, built: forms.Built) -> str | None:
        """Produce the event and wait for Kafka's acknowledgement; return why not, or None."""
        gateway = self.gateway
        try:
            producer = await gateway.producer()
            delivery = await asyncio.wait_for(
                producer.send(gateway.topics.ingest_topic(built.event), built.raw, key=event_key(built.event).encode()),
                gateway.ack_timeout_s,
            )
            await asyncio.wait_for(delivery, gateway.ack_timeout_s)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            log.warning("web: Kafka did not acknowledge %s: %r", built.event.event_id, exc)
            return NOT_SAVED
        return None

    # --- My week --------------------------------------------------------------------------------

    def _weeks(self, team: str, now: datetime) -> dict[str, str]:
        return {str(window): week for window, week in window_weeks(now, self.settings.timezone_of(team)).items()}

    async def _my_week(
        self, request: web.Request, me: Person, form: Mapping[str, str], *, status: int = 200,
        problems: Mapping[str, str] | None = None, saved: forms.Built | None = None, unsaved: str | None = None,
        standing: SelfReportEvent | None = None,
    ) -> web.Response:
        now = self.clock()
        samples, unavailable = await self.figures.read(me.team, now)
        weeks = self._weeks(me.team, now)
        rows = []
        sent = saved.event.figures if saved is not None and saved.event.type == "self_report" else None
        for action in self.settings.actions:
            of = {"team": me.team, "rep": me.id, "action": action}
            reported = samples.one("salespulse_self_reported_actions", window="week", **of)
            if sent is not None and saved is not None and getattr(saved.event, "week", None) == weeks["week"]:
                reported = sent.get(action)
            rows.append({
                "action": action,
                "measured": _int(samples.one("salespulse_actions", window="week", **of)),
                "target": _int(samples.one("salespulse_action_target", **of)),
                "expected": samples.one("salespulse_action_expected", **of),
                "pace": samples.one("salespulse_action_pace_ratio", **of),
                "reported": _int(reported),
            })
        return await self.render(
            request, "self_report.html", status=status, rows=rows, weeks=weeks, form=form,
            form_id=form.get("form_id") or forms.new_form_id(), problems=problems or {}, saved=saved,
            unsaved=unsaved, unavailable=unavailable, averages=_my_reviews(samples, me),
            reviews=self._reviews_of(me, me.team, me.id, now), reviews_complete=self.history.caught_up,
            standing_on=standing.occurred_at.astimezone(self.settings.timezone_of(me.team)).date().isoformat() if standing else None,
        )

    def _reviews_of(self, reader: Person, team: str, rep: str, now: datetime) -> list[dict[str, Any]]:
        """Return the reviews of the rep in the last 30 days, newest first, for a reader allowed to read them."""
        if not may_read_reviews_of(reader, team, rep):
            return []
        tz = self.settings.timezone_of(team)
        return [
            {"on": review.occurred_at.astimezone(tz).date().isoformat(), "subject": review.subject,
             "rep": self.settings.rep_name(team, review.rep_id),
             "reviewer": _name(self.settings, team, review.reviewer_id), "deal": review.deal_id,
             "scores": list(review.scores.items()), "note": review.note}
            for review in self.history.reviews_of(team, rep, now - REVIEW_WINDOW)
        ]

    async def self_report_page(self, request: web.Request) -> web.StreamResponse:
        me = await self.signin_or(request)
        if isinstance(me, web.Response):
            return me
        if me.role != "rep":
            return await self.forbidden(request, N_("My week is a rep's page; managers see their team's page."))
        # The report standing on the chosen week fills the form, so that a correction starts from it
        # (a report sent replaces the whole of the earlier one).
        choice = "last_week" if request.query.get("week") == "last_week" else "week"
        week = self._weeks(me.team, self.clock())[choice]
        form = {"team": me.team, "rep": me.id, "week": choice}
        standing = self.history.report_of(me.team, me.id, week)
        if standing is not None:
            form |= {action: str(count) for action, count in standing.figures.items()} | {"lessons": standing.lessons}
        return await self._my_week(request, me, form, standing=standing)

    async def self_report(self, request: web.Request) -> web.StreamResponse:
        me = await self.signin_or(request)
        if isinstance(me, web.Response):
            return me
        form = _strings(await request.post())
        if not may_file_for(me, form.get("team", ""), form.get("rep", "")):
            return await self.forbidden(request, N_("You can file a self-report for yourself only; nothing was saved."))
        try:
            now = self.clock()
            built = forms.self_report(self.settings, me, form, self._weeks(me.team, now), now, self._gettext(request))
        except forms.FormProblem as problem:
            return await self._my_week(request, me, form, status=400, problems=problem.problems)
        unsaved = await self._send(built)
        if unsaved:
            return await self._my_week(request, me, form, status=503, unsaved=unsaved)
        self.history.add(built.event, now)
        # The report as saved, in a form of its own (a new form id), ready for a correction.
        kept = {key: form[key] for key in ("week", "lessons", *self.settings.actions) if key in form}
        return await self._my_week(request, me, kept, saved=built)

    # --- reviews --------------------------------------------------------------------------------

    async def _review_form(
        self, request: web.Request, me: Person, form: Mapping[str, str], *, status: int = 200,
        problems: Mapping[str, str] | None = None, saved: forms.Built | None = None, unsaved: str | None = None,
    ) -> web.Response:
        subjects = self.settings.reviews.themes
        subject = form.get("subject") if form.get("subject") in subjects else next(iter(subjects))
        team = self.settings.teams[me.team]
        reps = {rep_id: team.reps[rep_id] for rep_id in reviewable(self.settings, me)}
        return await self.render(
            request, "review.html", status=status, subject=subject, subjects=subjects, reps=reps,
            scale=range(self.settings.reviews.scale_min, self.settings.reviews.scale_max + 1), form=form,
            form_id=form.get("form_id") or forms.new_form_id(), problems=problems or {}, saved=saved, unsaved=unsaved,
        )

    async def review_page(self, request: web.Request) -> web.StreamResponse:
        me = await self.signin_or(request)
        if isinstance(me, web.Response):
            return me
        if not reviewable(self.settings, me):
            return await self.forbidden(request, N_("Reviews are written by the team's managers."))
        return await self._review_form(request, me, _strings(request.query))

    async def review(self, request: web.Request) -> web.StreamResponse:
        me = await self.signin_or(request)
        if isinstance(me, web.Response):
            return me
        form = _strings(await request.post())
        if not may_review(self.settings, me, me.team, form.get("rep", "")):
            return await self.forbidden(request, N_("You can review the other reps of your own team only; nothing was saved."))
        try:
            built = forms.review(self.settings, me, form, self.clock(), self._gettext(request))
        except forms.FormProblem as problem:
            return await self._review_form(request, me, form, status=400, problems=problem.problems)
        unsaved = await self._send(built)
        if unsaved:
            return await self._review_form(request, me, form, status=503, unsaved=unsaved)
        self.history.add(built.event, self.clock())
        return await self._review_form(request, me, {"subject": form["subject"]}, saved=built)

    # --- mystery checks -------------------------------------------------------------------------

    def _month(self, team: str, now: datetime) -> str:
        return now.astimezone(self.settings.timezone_of(team)).strftime("%Y-%m")

    async def _draw(self, team: str, month: str) -> tuple[dict[str, list[str]], dict[str, int], str | None]:
        """Return the month's draw as `salespulse mystery sample` makes it, each rep's count of active deals, and
        what went wrong when the deals cannot be read."""
        try:
            active = await asyncio.wait_for(
                read_active_deals(self.settings, self.gateway.kafka, team, month), DRAW_TIMEOUT_S)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            log.warning("web: cannot read the deals active in %s of %s: %r", month, team, exc)
            return {}, {}, N_("The deals of the month cannot be read from Kafka now; try again in a moment.")
        return month_draw(self.settings, team, month, active), {rep: len(deals) for rep, deals in active.items()}, None

    async def _mystery(
        self, request: web.Request, me: Person, *, status: int = 200, problems: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None, saved: forms.Built | None = None, unsaved: str | None = None,
        counted: bool = False,
    ) -> web.Response:
        now = self.clock()
        month = self._month(me.team, now)
        checker = self.settings.checker_of(me.team, month)
        drawn: dict[str, list[str]] = {}
        active: dict[str, int] = {}
        unreadable = None
        if is_checker(self.settings, me, month):
            drawn, active, unreadable = await self._draw(me.team, month)
        checks = self.history.checks_of(me.team, month)
        samples, unavailable = await self.figures.read(me.team, now)
        scores = [
            {"name": self.settings.rep_name(me.team, lab["rep"]), "points": value,
             "max": samples.one("salespulse_mystery_points_max", team=me.team, rep=lab["rep"], month=month)}
            for lab, value in sorted(samples.select("salespulse_mystery_points", team=me.team, month=month),
                                     key=lambda found: found[0]["rep"])
        ]
        return await self.render(
            request, "mystery.html", status=status, month=month, checker=checker, drawn=drawn, active=active,
            unreadable=unreadable, checks={deal: check.points for deal, check in checks.items()},
            rubric=self.settings.mystery.rubric, is_checker=is_checker(self.settings, me, month),
            problems=problems or {}, form=form or {}, saved=saved, unsaved=unsaved, form_id=forms.new_form_id(),
            scores=scores, unavailable=unavailable, counted=counted,
            reward=samples.one("salespulse_team_reward_earned", team=me.team, month=month),
        )

    async def mystery_page(self, request: web.Request) -> web.StreamResponse:
        me = await self.signin_or(request)
        if isinstance(me, web.Response):
            return me
        return await self._mystery(request, me)

    async def mystery(self, request: web.Request) -> web.StreamResponse:
        me = await self.signin_or(request)
        if isinstance(me, web.Response):
            return me
        now = self.clock()
        month = self._month(me.team, now)
        if not is_checker(self.settings, me, month):
            return await self.forbidden(request, N_("Only this month's mystery checker scores the draw; nothing was saved."))
        form = _strings(await request.post())
        drawn, _, unreadable = await self._draw(me.team, month)
        if unreadable:
            return await self._mystery(request, me, status=503, form=form, unsaved=NOT_SAVED)
        if form.get("deal", "") not in drawn.get(form.get("rep", ""), []):
            return await self.forbidden(request, N_("That deal is not in this month's draw; nothing was saved."))
        try:
            built = forms.mystery_check(self.settings, me, form, month, now, self._gettext(request))
        except forms.FormProblem as problem:
            return await self._mystery(request, me, status=400, problems=problem.problems, form=form)
        expected = await self._score_after(me.team, month, built.event, now)
        unsaved = await self._send(built)
        if unsaved:
            return await self._mystery(request, me, status=503, form=form, unsaved=unsaved)
        self.history.add(built.event, now)
        counted = await self._counted(me.team, month, built.event.rep_id, expected)
        return await self._mystery(request, me, saved=built, counted=counted)

    async def _score_after(self, team: str, month: str, event: AnyEvent, now: datetime) -> tuple[float, float] | None:
        """Return the rep's (points, maximum) the worker will show once it has counted `event`, if known."""
        assert isinstance(event, MysteryCheckEvent)
        samples, unavailable = await self.figures.read(team, now)
        if unavailable:
            return None
        of = {"team": team, "rep": event.rep_id, "month": month}
        points = samples.one("salespulse_mystery_points", **of) or 0.0
        most = samples.one("salespulse_mystery_points_max", **of) or 0.0
        before = self.history.checks_of(team, month).get(event.deal_id)
        if before is not None and before.rep_id != event.rep_id:
            return None  # a deal moved to another rep: two reps' scores change
        if before is None:
            return points + sum(event.points.values()), most + sum(self.settings.mystery.rubric.values())
        return points - sum(before.points.values()) + sum(event.points.values()), most

    async def _counted(self, team: str, month: str, rep: str, expected: tuple[float, float] | None) -> bool:
        """Wait a little for the worker's figures to count a check just sent; tell whether they did."""
        if expected is None:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_s
        of = {"team": team, "rep": rep, "month": month}
        while True:
            samples, _ = await self.figures.read(team, self.clock())
            found = (samples.one("salespulse_mystery_points", **of), samples.one("salespulse_mystery_points_max", **of))
            if found == expected:
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(SETTLE_POLL_S)

    # --- the team -------------------------------------------------------------------------------

    async def team_page(self, request: web.Request) -> web.StreamResponse:
        me = await self.signin_or(request)
        if isinstance(me, web.Response):
            return me
        team_id = request.match_info["team"]
        if not may_see_team(me, team_id):
            return await self.forbidden(request, N_("A team's page is for the team's managers."))
        return await self._team(request, me, team_id)

    async def _team(self, request: web.Request, me: Person, team_id: str, made: Mapping[str, str] | None = None) -> web.Response:
        now = self.clock()
        samples, unavailable = await self.figures.read(team_id, now)
        tz = self.settings.timezone_of(team_id)
        month = self._month(team_id, now)
        month_start = now.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        team = self.settings.teams[team_id]
        checker = self.settings.checker_of(team_id, month)
        drawn, _, unreadable = await self._draw(team_id, month) if checker else ({}, {}, None)
        rubric_total = sum(self.settings.mystery.rubric.values())
        rows = []
        checked = 0
        for rep_id, rep in team.reps.items():
            of = {"team": team_id, "rep": rep_id}
            most = samples.one("salespulse_mystery_points_max", month=month, **of)
            # The worker's maximum is the rubric's total per checked deal.
            checked += min(round((most or 0) / rubric_total), len(drawn.get(rep_id, [])))
            rows.append({
                "id": rep_id, "name": rep.name,
                "filed": samples.one("salespulse_self_report_submitted", window="week", **of) == 1,
                "reviews": len(self.history.reviews_of(team_id, rep_id, month_start)),
                "mystery": samples.one("salespulse_mystery_points", month=month, **of),
                "mystery_max": most,
            })
        reviews = sorted(
            (review for rep_id in team.reps for review in self._reviews_of(me, team_id, rep_id, now)
             if review["on"] >= month_start.date().isoformat()),
            key=lambda review: review["on"], reverse=True,
        )
        people = [(rep_id, rep.name) for rep_id, rep in team.reps.items()]
        people += [(manager_id, manager.name) for manager_id, manager in team.managers.items()]
        return await self.render(
            request, "team.html", team=team_id, rows=rows, weeks=self._weeks(team_id, now), month=month,
            checker=checker, drawn=sum(len(deals) for deals in drawn.values()), checked=checked,
            unreadable=unreadable, unavailable=unavailable, reviews=reviews, people=people, made=made,
            reviews_complete=self.history.caught_up, link_hours=DEFAULT_LINK_HOURS,
            reward=samples.one("salespulse_team_reward_earned", team=team_id, month=month),
        )

    async def team_link(self, request: web.Request) -> web.StreamResponse:
        """Make a one-time sign-in link for a person of the team, as `salespulse web link` does; shown once."""
        me = await self.signin_or(request)
        if isinstance(me, web.Response):
            return me
        team_id = request.match_info["team"]
        if not may_see_team(me, team_id):
            return await self.forbidden(request, N_("Only the team's managers make sign-in links for it."))
        form = _strings(await request.post())
        person = find_person(self.settings, team_id, form.get("person", ""))
        if person is None:
            return await self.forbidden(request, N_("That person is not in this team; no link was made."))
        base = self.gateway.public_url or str(request.url.origin())
        url = f"{base}/signin?token={self.links.make(person)}"
        log.info("web: %s made a sign-in link for %s", me.key, person.key)
        response = await self._team(request, me, team_id, made={"name": person.name, "url": url})
        response.headers["Cache-Control"] = "no-store"
        return response

    # --- the sales floor's TV -------------------------------------------------------------------

    def tv_opens(self, request: web.Request, team: str) -> bool:
        """Return whether the request may see `team`'s TV: a kiosk token, a session of the team, or loopback."""
        token = request.query.get("token", "")
        if token and self.kiosk is not None and self.kiosk.opens(token, team):
            return True
        person = request[PERSON]
        # A person sees their own team's TV; the rotation through every team needs its own token.
        if person is not None and team != ALL_TEAMS and person.team == team:
            return True
        # Loopback only when no proxy is declared in front: behind one, every request comes from it.
        return self.loopback_opens_tv and request.remote in LOOPBACK

    async def _tv_refused(self, request: web.Request) -> web.Response:
        return await self.render(
            request, "message.html", status=401, title=N_("This TV link is not valid"),
            text=N_("A TV opens its board with the link `salespulse web link --tv <team>` prints; "
                    "this one is missing, for another team, or was made with a secret since rotated."),
        )

    async def _tv(self, request: web.Request, team: str, rotate_s: float | None) -> web.StreamResponse:
        view, problem = await self.tv.view(team, self.clock())
        token = request.query.get("token", "")
        figures_url = f"/tv/{team}/figures" + (f"?token={token}" if token else "")
        return await self.render(
            request, "tv.html", view=view, problem=problem, figures_url=figures_url, refresh_s=REFRESH_S,
            rotate_s=None if rotate_s is None else max(1, math.ceil(rotate_s)),
        )

    async def tv_page(self, request: web.Request) -> web.StreamResponse:
        team = request.match_info["team"]
        if team not in self.settings.teams:
            raise web.HTTPNotFound()
        if not self.tv_opens(request, team):
            return await self._tv_refused(request)
        return await self._tv(request, team, None)

    async def tv_rotation(self, request: web.Request) -> web.StreamResponse:
        if not self.tv_opens(request, ALL_TEAMS):
            return await self._tv_refused(request)
        team, left_s = rotation(sorted(self.settings.teams), self.clock(), self.tv_dwell_s)
        return await self._tv(request, team, left_s)

    async def tv_figures(self, request: web.Request) -> web.StreamResponse:
        """The board of /tv/<team> again, as JSON: its figures and the rendered board."""
        team = request.match_info["team"]
        if team not in self.settings.teams:
            raise web.HTTPNotFound()
        if not self.tv_opens(request, team):
            return web.json_response({"error": "not valid for this TV"}, status=401)
        view, problem = await self.tv.view(team, self.clock())
        lang = choose_language(request.headers.get("Accept-Language"))
        html = aiohttp_jinja2.render_string(
            "tv_board.html", request, {"view": view, "problem": problem, "_": translations(lang).gettext, "lang": lang},
        )
        return web.json_response({"view": view, "problem": problem, "html": html},
                                 headers={"Cache-Control": "no-store"})


def _my_reviews(samples: Samples, me: Person) -> list[dict[str, Any]]:
    """Return the average score per subject and theme of the rep's reviews in the rolling 30 days."""
    found = samples.select("salespulse_review_score_avg", team=me.team, rep=me.id)
    return sorted(({"subject": lab["subject"], "theme": lab["theme"], "avg": v} for lab, v in found),
                  key=lambda r: (r["subject"], r["theme"]))


def _name(settings: Settings, team: str, person_id: str) -> str:
    """Return the display name of a rep or manager of the team, else the id."""
    person = find_person(settings, team, person_id)
    return person.name if person else person_id


def _int(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def _strings(data: Mapping[str, Any]) -> dict[str, str]:
    """Return the text fields of a form (file uploads are not part of any form here)."""
    return {key: value for key, value in data.items() if isinstance(value, str)}
