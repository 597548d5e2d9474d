"""Shared by the adapter tests: the fixtures, a sales floor and its mappings, requests."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from salespulse.web.gateway.adapters.common import Request
from salespulse.models.config import Settings, parse_settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = datetime(2026, 11, 27, 14, 30, tzinfo=timezone.utc)
URL = "https://gateway.example.com/webhooks/hubspot?token=a%3Ab"

CONFIG: dict[str, Any] = {
    "actions": ["call", "cold_call", "outbound_email", "summary_email", "meeting", "demo", "proposal_sent", "follow_up"],
    "teams": {
        "amsterdam": {
            "timezone": "Europe/Amsterdam",
            "reps": {"anna": {"name": "Anna de Vries"}, "bram": {"name": "Bram Jansen"}},
        },
        "new-york": {"timezone": "America/New_York", "reps": {"mike": {"name": "Mike Chen"}}},
    },
    "sources": {
        "hubspot": {
            "owners": {
                "7301": {"team": "amsterdam", "rep": "anna"},
                "userId:45679": {"team": "amsterdam", "rep": "bram"},
                "Anna de Vries": {"team": "amsterdam", "rep": "anna"},
                "Bram Jansen": {"team": "amsterdam", "rep": "bram"},
            },
            "stages": {
                "appointmentscheduled": "qualified",
                "presentationscheduled": "proposal",
                "closedwon": "won",
                "closedlost": "lost",
                "Presentation Scheduled": "proposal",
                "Closed Won": "won",
                "Closed Lost": "lost",
            },
            "actions": {"outbound": "cold_call", "inbound": "call"},
        },
        "pipedrive": {
            "basic_auth_user": "salespulse",
            "owners": {
                "18487521": {"team": "amsterdam", "rep": "anna"},
                "Anna de Vries": {"team": "amsterdam", "rep": "anna"},
                "Bram Jansen": {"team": "amsterdam", "rep": "bram"},
            },
            "stages": {"1": "lead", "2": "qualified", "3": "proposal"},
            "actions": {"call": "cold_call", "meeting": "meeting", "email": "outbound_email"},
        },
        "aircall": {
            "owners": {"1234": {"team": "amsterdam", "rep": "anna"}, "1235": {"team": "amsterdam", "rep": "bram"}},
            "actions": {"outbound": "cold_call", "outbound_unanswered": "cold_call", "inbound": "call"},
            "ignore": ["inbound_unanswered"],
        },
        "salesforce": {
            "organization_id": "00D5e000000KQ2eEAG",
            "owners": {
                "0055e000003XyZaAAK": {"team": "amsterdam", "rep": "anna"},
                "0055e000003XyZb": {"team": "new-york", "rep": "mike"},
            },
            "stages": {"Prospecting": "lead", "Proposal/Price Quote": "proposal", "Closed Won": "won", "Closed Lost": "lost"},
        },
        "generic": {},
    },
}


def settings() -> Settings:
    return parse_settings(CONFIG, "test.yaml")


def body(vendor: str, name: str) -> bytes:
    return (FIXTURES / vendor / name).read_bytes()


def request(
    data: bytes,
    headers: dict[str, str] | None = None,
    *,
    url: str = URL,
    received_at: datetime = NOW,
    content_type: str = "application/json",
) -> Request:
    all_headers = {"Content-Type": content_type, **(headers or {})}
    return Request(method="POST", url=url, headers=all_headers, body=data, received_at=received_at)


def rows(vendor: str, name: str) -> list[dict[str, str]]:
    with (FIXTURES / vendor / name).open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))
