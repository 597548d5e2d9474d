"""Reading a user's YAML: where a mistake is, by line, column and key."""

from __future__ import annotations

import pytest
import yaml

from salespulse.models.errors import ConfigError
from salespulse.models.yaml_source import impossible_date, line_of, load_yaml

TEXT = """\
teams:
  amsterdam:
    reps: [anna, bob]
  new-york:
    currency: USD
"""


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        ([], 1),
        (["teams"], 2),
        (["teams", "amsterdam", "reps", 1], 3),
        (["teams", "new-york", "currency"], 5),
        (["teams", "new-york", "timezone"], 5),  # missing key: the first line of the mapping that lacks it
        (["teams", "amsterdam", "reps", 7], 3),  # no such index: the list
    ],
)
def test_line_of_follows_a_location_through_the_tree(loc: list[int | str], line: int) -> None:
    assert line_of(yaml.compose(TEXT), loc) == line


def test_the_first_impossible_date_is_found_with_its_key() -> None:
    text = "a: 2026-02-28\nb:\n  - '2026-02-30'\n  - 2026-02-29\n  - 2026-04-31\n"
    # The quoted one is a string; 2026 is not a leap year.
    assert impossible_date(text) == (4, "b.1", "2026-02-29", "day is out of range for month")


def test_possible_dates_and_broken_yaml_find_nothing() -> None:
    assert impossible_date("a: 2024-02-29\n") is None
    assert impossible_date("a: [\n") is None
    assert impossible_date("") is None


def test_load_yaml_names_line_and_column_of_a_syntax_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_yaml("a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    assert str(err.value) == "f.yaml:3:2: not valid YAML: expected ',' or ']', but got ':'"


def test_load_yaml_returns_the_data() -> None:
    assert load_yaml(TEXT, "f.yaml")["teams"]["new-york"] == {"currency": "USD"}
