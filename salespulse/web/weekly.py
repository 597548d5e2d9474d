"""The weekly review as a page: `/weekly/<team>/<week>`, and `/weekly/<team>/<week>.html` to keep.

    signed in as a manager or a rep of the team ── gather_review(), as `salespulse report weekly`
        ── render_html(), the report's own document ── the page (a line of links on top), or the
        same document as a download

The review holds the reps' lessons learned, so it is for the team's own people only: anyone else
signed in gets 403, no session the sign-in page. Only the team's current week and last week can
be reviewed (/metrics holds those two); another week gets a message saying which two there are.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from aiohttp import web
from aiokafka.errors import KafkaError

from salespulse.models.errors import ConfigError
from salespulse.weekly.page import render_html
from salespulse.streams.kpi.self_reports import window_weeks
from salespulse.web.i18n import N_, choose_language, translations
from salespulse.web.people import Person
from salespulse.weekly.review import gather_review

if TYPE_CHECKING:
    from salespulse.web.server import WebServer

WEEK = r"{week:\d{4}-W\d{2}}"


def may_read_review(person: Person, team: str) -> bool:
    """Tell whether `person` may read `team`'s weekly review: its managers and its reps."""
    return person.team == team and person.role in ("manager", "rep")


class WeeklyPages:
    """The handlers of the weekly review's page and download."""

    def __init__(self, server: "WebServer") -> None:
        self.server = server

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The review of a team's week, in the browser."""
        return await self._review(request, download=False)

    async def download(self, request: web.Request) -> web.StreamResponse:
        """The same review as an HTML file to keep or send on."""
        return await self._review(request, download=True)

    async def _review(self, request: web.Request, download: bool) -> web.StreamResponse:
        server = self.server
        team, week = request.match_info["team"], request.match_info["week"]
        if team not in server.settings.teams:
            raise web.HTTPNotFound()
        me = await server.signin_or(request)
        if isinstance(me, web.Response):
            return me
        if not may_read_review(me, team):
            return await server.forbidden(request, N_("The weekly review of a team is for its manager and its reps."))
        gettext = translations(choose_language(request.headers.get("Accept-Language"))).gettext
        now = server.clock()
        weeks = window_weeks(now, server.settings.timezone_of(team))
        if week not in (weeks["week"], weeks["last_week"]):
            return await server.render(
                request, "message.html", status=404, title=N_("No review of that week"),
                text=gettext(N_("%(week)s is neither this week (%(this)s) nor last week (%(last)s) of team %(team)s; "
                                "the review covers those two, with the trend of the weeks before."))
                % {"week": week, "this": weeks["week"], "last": weeks["last_week"], "team": team},
            )
        figures = server.figures
        try:
            review = await gather_review(server.settings, server.gateway.kafka, team, week, now,
                                         figures.metrics_urls, figures.prometheus_url)
        except (ConfigError, KafkaError, OSError) as exc:
            return await server.render(
                request, "message.html", status=503, title=N_("The review could not be read"),
                text=gettext(N_("The worker's figures or Kafka did not answer (%(problem)s). Try again in a minute."))
                % {"problem": exc},
            )
        # The report's red cells carry its usual dark grey text, 4.0:1 on the wallboard's red; black is 5.3:1.
        document = render_html(review).replace("</style>", " td.red { color: #000; }</style>", 1)
        if download:
            return web.Response(
                text=document, content_type="text/html", charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="weekly-{team}-{week}.html"',
                         "Cache-Control": "private, no-store"},
            )
        back, keep = gettext("Back to your page"), gettext("Download this review")
        links = (f'<nav class="weekly-links"><a href="/">{html.escape(back)}</a> · '
                 f'<a href="/weekly/{team}/{week}.html" download>{html.escape(keep)}</a></nav>')
        page = document.replace("<body>", "<body>\n" + links, 1)
        return web.Response(text=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "private, no-store", "Vary": "Cookie"})


def add_weekly(app: web.Application, server: "WebServer") -> None:
    """Route /weekly/<team>/<week> and its download to the server's signed-in people."""
    pages = WeeklyPages(server)
    app.router.add_get(f"/weekly/{{team}}/{WEEK}.html", pages.download)
    app.router.add_get(f"/weekly/{{team}}/{WEEK}", pages.page)
