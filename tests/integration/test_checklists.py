"""Stage checklists through the real broker: each stage change judged once, exported for 30 days."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import scrape, wait_for
from tests.integration.test_pipeline import samples

pytestmark = pytest.mark.integration


def test_stage_changes_are_judged_against_the_content_checklist(make_pipeline, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    config = {"checklists": {"qualified": {"content": ["company", "budget"]}},
              "teams": {"floor": {"timezone": "UTC", "reps": {"anna": {"name": "Anna"}}}}}
    pipeline = make_pipeline(config)
    snapshots = {"d1": {"company": "Acme", "budget": 5000}, "d2": {"company": "Beta", "budget": ""}, "d3": {}}
    lines = []
    for n, (deal, fields) in enumerate(snapshots.items()):
        for stage, days_ago, extra in (("lead", 3, {}), ("qualified", 1, fields)):
            lines.append(json.dumps({
                "event_id": f"{deal}-{stage}", "type": "deal_stage", "occurred_at": (now - timedelta(days=days_ago, minutes=n)).isoformat(),
                "team_id": "floor", "rep_id": "anna", "source": "test", "deal_id": deal, "stage": stage, "fields": extra,
            }))
    lines.append(lines[3])  # d2 qualified again: a producer's retry, judged once
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    assert pipeline.cli("publish", str(events), "--quiet").returncode == 0
    url = pipeline.start_worker()

    def figures() -> dict[tuple[str, ...], float]:
        out = {}
        for (name, labels), value in samples(scrape(url) or "").items():
            lab = dict(labels)
            if name == "salespulse_stage_changes":
                out[(lab["stage"], lab["completeness"])] = value
            elif name == "salespulse_checklist_missing":
                out[(lab["stage"], "missing", lab["item"])] = value
        return out

    # d1 complete; d2 lacks budget (empty string); d3 lacks both. Leads have no checklist.
    expected = {
        ("lead", "complete"): 3,
        ("lead", "incomplete"): 0,
        ("qualified", "complete"): 1,
        ("qualified", "incomplete"): 2,
        ("qualified", "missing", "budget"): 2,
        ("qualified", "missing", "company"): 1,
    }
    last: dict = {}

    def matches() -> bool:
        last["seen"] = figures()
        return last["seen"] == expected

    wait_for(matches, 90, lambda: f"checklist figures {expected}; last seen {last.get('seen')}")
