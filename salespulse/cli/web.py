"""The web process: `web` (the people's pages, the TV and the webhooks), `web link`, `web-password`, `gateway`."""

from __future__ import annotations

import argparse
import logging
import sys

from salespulse.cli import common
from salespulse.models.config import KafkaSettings
from salespulse.models.errors import ConfigError


WEB_PORT = 8090


def cmd_gateway(args: argparse.Namespace) -> int:
    """Serve the vendors' webhooks and put their events on Kafka."""
    from aiohttp import web

    from salespulse.web.gateway.server import Gateway, read_secrets

    settings = common.settings_of(args)
    if not settings.sources.configured():
        raise ConfigError(f"{args.config}: sources: no source is configured; see docs/sources")
    gateway = Gateway(
        settings, KafkaSettings.from_env(), read_secrets(settings), common.now,
        public_url=args.public_url, max_body_bytes=args.max_body_bytes,
    )
    logging.basicConfig(level=args.loglevel.upper(), format="[%(asctime)s] [%(levelname)s] %(message)s")
    print(f"gateway on http://{args.bind}:{args.port}/hooks/<source> for {', '.join(sorted(settings.sources.configured()))}")
    web.run_app(gateway.application(), host=args.bind, port=args.port, print=None)
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    """Serve the people's pages and the vendors' webhooks."""
    if args.web_command == "link":
        return cmd_web_link(args)
    from aiohttp import web

    from salespulse.web.gateway.server import Gateway, read_secrets
    from salespulse.models.web_config import load_web_config
    from salespulse.web.figures import Figures
    from salespulse.web.links import SignInLinks, session_key, web_secret
    from salespulse.web.server import WebServer
    from salespulse.web.tv import KioskTokens

    settings = common.settings_of(args)
    secret = web_secret()
    if args.tv_dwell_s <= 0:
        raise ConfigError(f"--tv-dwell-s: {args.tv_dwell_s:g} is not a positive number of seconds")
    web_config = load_web_config(args.web_config) if args.web_config else None
    if web_config is not None and web_config.basic_auth_users:
        # Refused rather than ignored: the file would look as if it guarded the pages.
        raise ConfigError(
            f"{args.web_config}: basic_auth_users is not used by `salespulse web`, where people sign in with "
            "links or --trust-header; keep only tls_server_config"
        )
    tls = web_config.ssl_context() if web_config is not None else None
    gateway = Gateway(
        settings, KafkaSettings.from_env(), read_secrets(settings), common.now,
        public_url=args.public_url, max_body_bytes=args.max_body_bytes,
    )
    metrics_urls = args.metrics_url or [f"http://127.0.0.1:{settings.metrics_port}/metrics"]
    server = WebServer(
        settings, gateway, SignInLinks(settings, secret), session_key(secret),
        Figures(metrics_urls, args.prometheus_url), common.now,
        trust_header=args.trust_header,
        secure_cookies=tls is not None or (args.public_url or "").startswith("https://"),
        kiosk=KioskTokens(secret), tv_dwell_s=args.tv_dwell_s,
        # Behind a proxy (an SSO header or a public URL), every request arrives from loopback.
        loopback_opens_tv=not (args.trust_header or args.public_url),
    )
    logging.basicConfig(level=args.loglevel.upper(), format="[%(asctime)s] [%(levelname)s] %(message)s")
    scheme = "https" if tls is not None else "http"
    print(f"salespulse web on {scheme}://{args.bind}:{args.port}/ (figures from {args.prometheus_url or ', '.join(metrics_urls)})",
          flush=True)
    web.run_app(server.application(), host=args.bind, port=args.port, ssl_context=tls, print=None)
    return 0


def cmd_web_link(args: argparse.Namespace) -> int:
    """Print a one-time sign-in link for a person of the configuration."""
    from salespulse.web.links import SignInLinks, web_secret
    from salespulse.web.people import find_person
    from salespulse.web.tv import ALL_TEAMS, KioskTokens

    settings = common.settings_of(args)
    if args.tv is not None:
        if args.person is not None:
            raise ConfigError("web link: give either <team>/<person> or --tv <team>, not both")
        if args.tv != ALL_TEAMS:
            settings.require_team(args.tv, "--tv")
        path = "/tv" if args.tv == ALL_TEAMS else f"/tv/{args.tv}"
        print(f"{args.base_url.rstrip('/')}{path}?token={KioskTokens(web_secret()).make(args.tv)}")
        print(f"read-only TV link of {'every team' if args.tv == ALL_TEAMS else args.tv}; valid until "
              "SALESPULSE_WEB_SECRET changes", file=sys.stderr)
        return 0
    if args.person is None:
        raise ConfigError("web link: give <team>/<person>, or --tv <team> for a TV")
    team, _, person_id = args.person.partition("/")
    person = find_person(settings, team, person_id)
    if person is None:
        known = [f"{t}/{p}" for t, spec in settings.teams.items() for p in [*spec.reps, *spec.managers]]
        raise ConfigError(
            f"{args.person!r} is not a rep or manager of the configuration; "
            f"give <team>/<person>, one of: {', '.join(known) or '(the file lists no people)'}"
        )
    token = SignInLinks(settings, web_secret()).make(person, args.valid_hours)
    print(f"{args.base_url.rstrip('/')}/signin?token={token}")
    print(f"signs in {person.name} ({person.key}, {person.role}) once, within {args.valid_hours:g} hours", file=sys.stderr)
    return 0


def cmd_web_password(args: argparse.Namespace) -> int:
    """Print the bcrypt hash of a password, for basic_auth_users in the web configuration."""
    import getpass

    from salespulse.exporters.web_auth import hash_password

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("password: ")
    if not password:
        raise ConfigError("web-password: empty password")
    print(hash_password(password))
    return 0


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this group's commands to the parser."""
    gateway = sub.add_parser("gateway", help="receive CRM and dialer webhooks and put their events on Kafka")
    gateway.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    gateway.add_argument("--port", type=int, default=8088, help="port to listen on (default 8088)")
    gateway.add_argument(
        "--public-url", help="the base URL vendors call, e.g. https://hooks.example.com, when a proxy ends TLS "
        "(HubSpot signs the URL it called)"
    )
    gateway.add_argument("--max-body-bytes", type=int, default=512 * 1024, help="larger requests get 413 (default 524288)")
    gateway.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    gateway.set_defaults(func=cmd_gateway)

    web_cmd = sub.add_parser("web", help="serve the people's pages (My week, reviews, mystery checks) and the webhooks")
    web_cmd.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web_cmd.add_argument("--port", type=int, default=WEB_PORT, help=f"port to listen on (default {WEB_PORT})")
    web_cmd.add_argument(
        "--metrics-url", action="append",
        help="a worker's /metrics URL for the measured figures; repeat for each worker (default: this host's)",
    )
    web_cmd.add_argument("--prometheus-url", help="read the measured figures from this Prometheus instead of /metrics")
    web_cmd.add_argument(
        "--trust-header", metavar="NAME",
        help="a header set by a single sign-on proxy in front, naming the user's e-mail (e.g. X-Forwarded-Email); "
        "ignored unless given: give it only when every request passes the proxy",
    )
    web_cmd.add_argument("--web-config", help="TLS for the pages, in the format of the worker's --web-config")
    web_cmd.add_argument(
        "--public-url", help="the base URL people and vendors call, e.g. https://sales.example.com, when a proxy "
        "ends TLS (an https URL makes the session cookie Secure)"
    )
    web_cmd.add_argument("--max-body-bytes", type=int, default=512 * 1024, help="larger requests get 413 (default 524288)")
    web_cmd.add_argument(
        "--tv-dwell-s", type=float, default=30.0, help="seconds /tv shows each team before the next (default 30)"
    )
    web_cmd.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    web_cmd.set_defaults(func=cmd_web, web_command=None)
    web_sub = web_cmd.add_subparsers(dest="web_command")
    link = web_sub.add_parser("link", help="print a one-time sign-in link for <team>/<person>, or a TV's link")
    link.add_argument("person", nargs="?", help="<team>/<person>, a rep or manager of the configuration")
    link.add_argument(
        "--tv", metavar="TEAM", help="print instead the read-only link of TEAM's TV page, or of /tv (every team in "
        "turn) with '*'; it holds until SALESPULSE_WEB_SECRET changes"
    )
    link.add_argument("--base-url", default=f"http://127.0.0.1:{WEB_PORT}", help="where `salespulse web` is reached")
    link.add_argument("--valid-hours", type=float, default=24.0, help="hours the link signs in (default 24, at most 168)")

    web_password = sub.add_parser(
        "web-password", help="print the bcrypt hash of a password (read from stdin) for --web-config basic_auth_users"
    )
    web_password.set_defaults(func=cmd_web_password)
