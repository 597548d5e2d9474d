"""Targets files: validation with line numbers, overrides, and which set is in force."""

from __future__ import annotations

from datetime import date

import pytest

from salespulse.models.config import Settings
from salespulse.models.errors import ConfigError
from salespulse.models.targets import TargetSet, in_force, iso_week_of, parse_targets, week_start

SETTINGS = Settings(actions=("call", "cold_call"))
GOOD = """\
targets:
  - team: amsterdam
    effective_from: 2026-W48
    actions: {call: 40, cold_call: 30}
    reps:
      anna: {cold_call: 45}
  - team: amsterdam
    effective_from: 2027-W02
    actions: {call: 50}
"""


def test_valid_file_parses_with_overrides() -> None:
    sets = parse_targets(GOOD, "t.yaml", SETTINGS)
    assert [s.key for s in sets] == ["amsterdam|2026-W48", "amsterdam|2027-W02"]
    first = sets[0]
    assert first.target_for("anna", "cold_call") == 45
    assert first.target_for("anna", "call") == 40
    assert first.target_for("bram", "cold_call") == 30
    assert sets[1].target_for("anna", "cold_call") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("cold_call: 45", "lunch: 45"), "t.yaml:6: targets.0.reps.anna.lunch: unknown action 'lunch'"),
        (GOOD.replace("call: 50", "call: -5"), "t.yaml:9: targets.1.actions.call: Input should be greater than or equal to 0"),
        (GOOD.replace("2027-W02", "2027-W60"), "t.yaml:8: targets.1.effective_from: String should match pattern"),
        (GOOD.replace("2027-W02", "2027-W53"), "2027-W53 does not exist"),
        (GOOD.replace("    effective_from: 2026-W48\n", ""), "t.yaml:2: targets.0.effective_from: Field required"),
        (GOOD.replace("2027-W02", "2026-W48"), "t.yaml:7: targets.1: team amsterdam already has a set from 2026-W48"),
        ("targets: [\n", "t.yaml:2:1: not valid YAML"),
    ],
)
def test_invalid_files_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_targets(text, "t.yaml", SETTINGS)
    assert message in str(err.value)


def test_every_error_is_reported_at_once() -> None:
    text = GOOD.replace("cold_call: 45", "lunch: 45").replace("call: 50", "nap: 50")
    with pytest.raises(ConfigError) as err:
        parse_targets(text, "t.yaml", SETTINGS)
    assert str(err.value).count("unknown action") == 2


def test_iso_weeks() -> None:
    assert iso_week_of(date(2026, 12, 31)) == "2026-W53"
    assert iso_week_of(date(2027, 1, 4)) == "2027-W01"
    assert week_start("2026-W48") == date(2026, 11, 23)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 22), None),  # Sunday before the first set
        (date(2026, 11, 23), "2026-W48"),  # its Monday
        (date(2027, 1, 10), "2026-W48"),  # Sunday of 2027-W01
        (date(2027, 1, 11), "2027-W02"),
        (date(2028, 6, 1), "2027-W02"),
    ],
)
def test_in_force_is_the_latest_set_not_after_the_week(day: date, expected: str | None) -> None:
    sets = parse_targets(GOOD, "t.yaml", SETTINGS)
    chosen = in_force(sets, "amsterdam", day)
    assert (chosen.effective_from if chosen else None) == expected
    assert in_force(sets, "new-york", day) is None


def test_target_set_round_trips_as_json() -> None:
    original = parse_targets(GOOD, "t.yaml", SETTINGS)[0]
    assert TargetSet.model_validate_json(original.model_dump_json()) == original
