"""`salespulse mystery sample`: argument checks and the checker's checklist, without a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from salespulse.models.config import Settings
from salespulse.models.errors import ConfigError
from salespulse.models.events import MysteryCheckEvent, parse_event
from salespulse.mystery_sample import check_team_and_month, render_sample

SETTINGS = Settings.model_validate(
    {
        "teams": {
            "amsterdam": {
                "timezone": "Europe/Amsterdam",
                "reps": {
                    "anna": {"name": "Anna de Vries"},
                    "bram": {"name": "Bram Jansen"},
                    "sara": {"name": "Sara Bakker"},
                },
                "mystery_rotation": ["anna", "bram", "sara"],
            },
            "new-york": {"timezone": "America/New_York", "reps": {"mike": {"name": "Mike Chen"}}},
        },
        "mystery": {
            "rubric": {"lead_profile": 50, "call_report": 100},
            "deals_per_rep": 2,
            "rotation_start": "2026-01",
            "seed": "test-seed",
        },
    }
)
# 2026-11 is 10 months after the rotation start: turn 10 % 3 = 1, the second rep of the rotation.
CHECKER_NOV = "bram"
RUBRIC_LINES = ["    [ ] lead_profile: 0..50 points", "    [ ] call_report: 0..100 points"]


# --- check_team_and_month --------------------------------------------------------------------


@pytest.mark.parametrize("month", ["2026-01", "2026-09", "2026-10", "2026-12", "1999-11"])
def test_a_month_yyyy_mm_of_a_configured_team_passes(month: str) -> None:
    check_team_and_month(SETTINGS, "amsterdam", month)
    check_team_and_month(SETTINGS, "new-york", month)


@pytest.mark.parametrize(
    "month", ["2026-13", "2026-00", "2026-1", "dec", "26-12", "2026-12-01", "2026/12", " 2026-12", "2026-12\n", ""]
)
def test_a_bad_month_is_refused_naming_the_option(month: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_team_and_month(SETTINGS, "amsterdam", month)
    message = str(caught.value)
    assert message.startswith("--month: ")
    assert repr(month) in message
    assert "2026-12" in message  # the example of a good month


def test_an_unknown_team_is_refused_listing_the_teams() -> None:
    with pytest.raises(ConfigError) as caught:
        check_team_and_month(SETTINGS, "berlin", "2026-11")
    assert str(caught.value) == "--team: 'berlin' is not a configured team (amsterdam, new-york)"


def test_the_month_is_checked_before_the_team() -> None:
    with pytest.raises(ConfigError, match="^--month: "):
        check_team_and_month(SETTINGS, "berlin", "2026-13")


def test_without_configured_teams_any_team_passes() -> None:
    check_team_and_month(Settings(), "berlin", "2026-11")


# --- render_sample ---------------------------------------------------------------------------


def test_the_checklist_of_a_month_excludes_the_checker() -> None:
    # Two deals per rep: anna's two are both drawn, sara's one is; bram checks, so is not drawn.
    active = {"anna": ["d-02", "d-01"], "bram": ["d-10", "d-11"], "sara": ["d-20"]}

    text = render_sample(SETTINGS, "amsterdam", "2026-11", active)

    example = {
        "type": "mystery_check",
        "event_id": "mystery-amsterdam-2026-11-d-01",
        "occurred_at": "<now, RFC 3339>",
        "team_id": "amsterdam",
        "rep_id": "anna",
        "source": "salespulse",
        "checker_id": "bram",
        "month": "2026-11",
        "deal_id": "d-01",
        "points": {"lead_profile": 0, "call_report": 0},
    }
    assert text.splitlines() == [
        "Mystery check for team amsterdam, 2026-11 (checker: Bram Jansen (bram); 2 deals per rep, seed 'test-seed')",
        "",
        "Anna de Vries (anna): 2 of 2 active deals",
        "  d-01",
        *RUBRIC_LINES,
        "  d-02",
        *RUBRIC_LINES,
        "",
        "Sara Bakker (sara): 1 of 1 active deals",
        "  d-20",
        *RUBRIC_LINES,
        "",
        "Record each deal as one line of a JSONL file for `salespulse publish`, e.g.:",
        json.dumps(example),
    ]
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert "d-10" not in text and "d-11" not in text


def test_the_example_line_is_an_event_the_pipeline_accepts_once_dated() -> None:
    text = render_sample(SETTINGS, "amsterdam", "2026-11", {"anna": ["d-01"], "sara": ["d-20"]})
    body = json.loads(text.splitlines()[-1])
    assert body["occurred_at"] == "<now, RFC 3339>"
    body["occurred_at"] = "2026-12-01T10:00:00+01:00"

    event = parse_event(json.dumps(body).encode(), SETTINGS, datetime(2026, 12, 1, 9, 30, tzinfo=UTC))

    assert isinstance(event, MysteryCheckEvent)
    assert (event.team_id, event.rep_id, event.checker_id) == ("amsterdam", "anna", CHECKER_NOV)
    assert (event.month, event.deal_id) == ("2026-11", "d-01")
    assert event.points == {"lead_profile": 0, "call_report": 0}
    assert event.event_id == "mystery-amsterdam-2026-11-d-01"


def test_the_checker_rotates_with_the_month() -> None:
    # 2026-12: turn 11 % 3 = 2, sara checks; anna and bram are drawn.
    active = {"anna": ["d-01"], "bram": ["d-10"], "sara": ["d-20"]}
    text = render_sample(SETTINGS, "amsterdam", "2026-12", active)
    lines = text.splitlines()
    assert lines[0].startswith("Mystery check for team amsterdam, 2026-12 (checker: Sara Bakker (sara); ")
    assert "Anna de Vries (anna): 1 of 1 active deals" in lines
    assert "Bram Jansen (bram): 1 of 1 active deals" in lines
    assert "d-20" not in text
    assert json.loads(lines[-1])["checker_id"] == "sara"


def test_a_rep_with_more_deals_gets_deals_per_rep_of_them_reproducibly() -> None:
    deals = ["d-01", "d-02", "d-03", "d-04", "d-05"]
    text = render_sample(SETTINGS, "amsterdam", "2026-11", {"anna": deals})
    again = render_sample(SETTINGS, "amsterdam", "2026-11", {"anna": list(reversed(deals))})
    assert text == again  # the order the deals were read in does not matter

    lines = text.splitlines()
    assert "Anna de Vries (anna): 2 of 5 active deals" in lines
    drawn = [line.strip() for line in lines if line.startswith("  d-")]
    assert len(drawn) == 2 and len(set(drawn)) == 2
    assert set(drawn) <= set(deals)
    assert drawn == sorted(drawn)
    # Each drawn deal carries the whole rubric.
    assert sum(line in RUBRIC_LINES for line in lines) == 2 * 2
    assert json.loads(lines[-1])["deal_id"] == drawn[0]


def test_a_rep_absent_from_the_configuration_is_named_by_id() -> None:
    text = render_sample(SETTINGS, "amsterdam", "2026-11", {"zed": ["d-99"]})
    assert "zed (zed): 1 of 1 active deals" in text.splitlines()


def test_without_a_rotation_nobody_is_excluded_and_the_checker_is_a_placeholder() -> None:
    text = render_sample(SETTINGS, "new-york", "2026-11", {"mike": ["d-1"], "zoe": ["d-2"]})
    lines = text.splitlines()
    assert lines[0] == (
        "Mystery check for team new-york, 2026-11 (no rotation configured; 2 deals per rep, seed 'test-seed')"
    )
    assert "Mike Chen (mike): 1 of 1 active deals" in lines
    assert "zoe (zoe): 1 of 1 active deals" in lines
    example = json.loads(lines[-1])
    assert (example["rep_id"], example["deal_id"], example["checker_id"]) == ("mike", "d-1", "<checker>")


@pytest.mark.parametrize("active", [{}, {"bram": ["d-10", "d-11"]}])
def test_no_deal_to_draw_says_so_without_an_example(active: dict[str, list[str]]) -> None:
    text = render_sample(SETTINGS, "amsterdam", "2026-11", active)
    assert text == (
        "Mystery check for team amsterdam, 2026-11 (checker: Bram Jansen (bram); 2 deals per rep, seed 'test-seed')\n"
        "\n"
        "No deal of team amsterdam was active in 2026-11 (besides the checker's).\n"
    )
