"""A user's YAML file read so that each mistake names the file, the line and the key.

    data = load_yaml(text, "targets.yaml")      # ConfigError "targets.yaml:3:14: not valid YAML: ..."
    line_of(yaml.compose(text), ["targets", 1, "effective_from"])   # 1-based line of that key's value

PyYAML reads an unquoted date as a date and refuses an impossible one (2026-02-30) with a bare
ValueError that says neither where nor which key; `load_yaml` finds the date in the node tree
and says both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import yaml

from salespulse.models.errors import ConfigError

TIMESTAMP = "tag:yaml.org,2002:timestamp"


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """Follow a pydantic error location through the YAML node tree; return a 1-based line."""
    line = node.start_mark.line + 1 if node else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                key = next((k for k, _ in node.value if k.value == str(part)), None)
                return key.start_mark.line + 1 if key else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _scalars(node: yaml.Node, path: tuple[int | str, ...] = ()) -> Iterator[tuple[tuple[int | str, ...], yaml.ScalarNode]]:
    """Every scalar value in the tree, with its path of keys and indexes."""
    if isinstance(node, yaml.ScalarNode):
        yield path, node
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _scalars(item, (*path, index))
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(value, (*path, key.value))


def impossible_date(text: str) -> tuple[int, str, str, str] | None:
    """Return (line, dotted key, the value, why) of the first unquoted date that does not exist."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if root is None:
        return None
    constructor = yaml.constructor.SafeConstructor()
    for path, node in _scalars(root):
        if node.tag != TIMESTAMP:
            continue
        try:
            constructor.construct_yaml_timestamp(node)
        except ValueError as exc:
            dotted = ".".join(str(part) for part in path) or "(top level)"
            return node.start_mark.line + 1, dotted, node.value, str(exc)
    return None


def load_yaml(text: str, source: str, parse: Callable[[str], Any] = yaml.safe_load) -> Any:
    """Parse a YAML text with `parse`, or raise ConfigError saying where it is not valid."""
    try:
        return parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except ValueError as exc:
        found = impossible_date(text)
        if found is None:
            raise ConfigError(f"{source}: invalid value: {exc}") from None
        line, dotted, value, why = found
        raise ConfigError(
            f"{source}:{line}: {dotted}: {value} is not a date ({why}); write a real date YYYY-MM-DD, or quote it"
        ) from None
