"""`salespulse mystery sample`: the month's draw of deals for the mystery checker, as a checklist."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.errors import ConfigError
from salespulse.streams.changelogs import changelog_topic, read_table
from salespulse.streams.kpi.mystery import active_deals, draw_sample
from salespulse.streams.families.mystery import DEALS_TABLE


def check_team_and_month(settings: Settings, team: str, month: str) -> None:
    """Refuse a month that is not YYYY-MM, and a team the configuration does not name."""
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
        raise ConfigError(f"--month: {month!r} is not a month such as 2026-12")
    settings.require_team(team)


async def read_active_deals(settings: Settings, kafka: KafkaSettings, team: str, month: str) -> dict[str, list[str]]:
    """Return each rep's deals active in the team's month, from the worker's deal-months table."""
    table = await read_table(kafka, changelog_topic(settings.kafka.app_id, DEALS_TABLE))
    return active_deals(((str(k), v) for k, v in table.items() if isinstance(v, dict)), team, month)


def month_draw(settings: Settings, team: str, month: str, active: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Return the deals drawn per rep for the team's month: the checklist's, and the web page's."""
    mystery = settings.mystery
    checker = settings.checker_of(team, month)
    return draw_sample(active, mystery.deals_per_rep, mystery.seed, team, month, checker)


def render_sample(settings: Settings, team: str, month: str, active: Mapping[str, list[str]]) -> str:
    """Return the checker's checklist: the drawn deals per rep and the rubric to score each on."""
    mystery = settings.mystery
    checker = settings.checker_of(team, month)
    drawn = month_draw(settings, team, month, active)
    who = f"checker: {settings.rep_name(team, checker)} ({checker})" if checker else "no rotation configured"
    lines = [
        f"Mystery check for team {team}, {month} ({who}; {mystery.deals_per_rep} deals per rep, seed {mystery.seed!r})",
        "",
    ]
    if not drawn:
        lines.append(f"No deal of team {team} was active in {month} (besides the checker's).")
    for rep, deals in drawn.items():
        lines.append(f"{settings.rep_name(team, rep)} ({rep}): {len(deals)} of {len(active[rep])} active deals")
        for deal in deals:
            lines.append(f"  {deal}")
            lines.extend(f"    [ ] {item}: 0..{worth} points" for item, worth in mystery.rubric.items())
        lines.append("")
    first = next(((rep, deals[0]) for rep, deals in drawn.items() if deals), None)
    if first is not None:
        example: dict[str, Any] = {
            "type": "mystery_check",
            "event_id": f"mystery-{team}-{month}-{first[1]}",
            "occurred_at": "<now, RFC 3339>",
            "team_id": team,
            "rep_id": first[0],
            "source": "salespulse",
            "checker_id": checker or "<checker>",
            "month": month,
            "deal_id": first[1],
            "points": {item: 0 for item in mystery.rubric},
        }
        lines.append("Record each deal as one line of a JSONL file for `salespulse publish`, e.g.:")
        lines.append(json.dumps(example))
    return "\n".join(lines).rstrip() + "\n"
