"""How Grafana words and colours one value of a panel, for tests of the generated JSON.

Follows Grafana's display processor (`packages/grafana-data/src/field/displayProcessor.ts`): a value
that a value or range mapping matches takes the mapping's text, and its colour when it has one;
any other value takes the colour of the last threshold step at or below it; no value at all takes
the first step's colour and the panel's `noValue` text.
"""

from __future__ import annotations

from typing import Any

# The colour names and codes that read as an alarm on the wallboard.
RED_COLOURS = {"red", "dark-red", "semi-dark-red", "light-red", "super-light-red", "#f2495c", "#e02f44", "#c4162a"}


def _mapping_key(value: float) -> str:
    # Grafana looks a value mapping up by JavaScript's String(value): 1 -> "1", 0.5 -> "0.5".
    return str(int(value)) if float(value).is_integer() else repr(value)


def display(field_config: dict[str, Any], value: float | None) -> tuple[str | None, str]:
    """Return (text if not the formatted number, colour) of `value` under a panel's field config."""
    defaults = field_config["defaults"]
    steps = defaults["thresholds"]["steps"]
    colour = steps[0]["color"]
    if value is None:
        return defaults.get("noValue"), colour
    for step in steps[1:]:
        if value >= step["value"]:
            colour = step["color"]
    for mapping in defaults.get("mappings") or []:
        options = mapping["options"]
        if mapping["type"] == "value":
            result = options.get(_mapping_key(value))
        elif mapping["type"] == "range":
            inside = options.get("from") is None or value >= options["from"]
            inside = inside and (options.get("to") is None or value <= options["to"])
            result = options["result"] if inside else None
        else:
            result = None
        if result:
            return result.get("text"), result.get("color") or colour
    return None, colour


def is_red(colour: str) -> bool:
    """Whether a Grafana colour reads as red."""
    return colour.lower() in RED_COLOURS
