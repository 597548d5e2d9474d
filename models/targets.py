"""Weekly action targets: per team and action, with per-rep overrides, from an ISO week on.

A targets file is validated as a whole; an error names the file and the line, and nothing of an
invalid file is applied.

    targets:
      - team: amsterdam
        effective_from: 2026-W48
        actions: {cold_call: 50, outbound_email: 120}
        reps:
          anna: {cold_call: 60}
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from salespulse.models.config import Identifier, Settings
from salespulse.models.errors import ConfigError
from salespulse.models.yaml_source import line_of, load_yaml

IsoWeek = Annotated[str, StringConstraints(pattern=r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")]
ActionTargets = dict[Identifier, Annotated[int, Field(ge=0, le=100_000)]]


def iso_week_of(day: date) -> str:
    """Return the ISO week of a date as YYYY-Www."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> date:
    """Return the Monday of an ISO week YYYY-Www."""
    return date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


class TargetSet(BaseModel):
    """The weekly targets of one team, in force from `effective_from` until a later set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    team: Identifier
    effective_from: IsoWeek
    actions: ActionTargets = Field(default_factory=dict)
    reps: dict[Identifier, ActionTargets] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _real_week(self) -> "TargetSet":
        try:
            week_start(self.effective_from)
        except ValueError:
            raise ValueError(f"{self.effective_from} does not exist (that year has 52 weeks)") from None
        return self

    @property
    def key(self) -> str:
        """Return the record key in the targets topic."""
        return f"{self.team}|{self.effective_from}"

    def target_for(self, rep: str, action: str) -> int | None:
        """Return the rep's weekly target for an action: their override, else the team's."""
        override = self.reps.get(rep, {})
        if action in override:
            return override[action]
        return self.actions.get(action)


class TargetsFile(BaseModel):
    """The whole targets file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: list[TargetSet]


def in_force(sets: Iterable[TargetSet], team: str, day: date) -> TargetSet | None:
    """Return the team's set with the latest `effective_from` not after the week of `day`."""
    week = iso_week_of(day)
    eligible = [s for s in sets if s.team == team and week_start(s.effective_from) <= week_start(week)]
    return max(eligible, key=lambda s: week_start(s.effective_from), default=None)


def named_reps(settings: Settings, sets: Iterable[TargetSet]) -> set[tuple[str, str]]:
    """Return the (team, rep) pairs the configuration or a target override names."""
    reps = {(team, rep) for team, cfg in settings.teams.items() for rep in cfg.reps}
    return reps | {(s.team, rep) for s in sets for rep in s.reps}


def parse_targets(text: str, source: str, settings: Settings) -> list[TargetSet]:
    """Validate a targets file against the model and the configured actions, or raise ConfigError."""
    data: Any = load_yaml(text, source)
    root = yaml.compose(text)
    errors: list[str] = []
    try:
        parsed = TargetsFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            dotted = ".".join(str(p) for p in loc) or "(top level)"
            errors.append(f"{source}:{line_of(root, loc)}: {dotted}: {err['msg']}")
        raise ConfigError("\n".join(errors)) from None
    seen: dict[str, int] = {}
    for index, target_set in enumerate(parsed.targets):
        named: list[tuple[str, ...]] = [("actions", a) for a in target_set.actions] + [
            ("reps", rep, a) for rep, actions in target_set.reps.items() for a in actions
        ]
        for item in named:
            action = item[-1]
            if action not in settings.actions:
                loc = ["targets", index, *item]
                errors.append(
                    f"{source}:{line_of(root, loc)}: {'.'.join(map(str, loc))}: unknown action "
                    f"{action!r}; configured actions: {', '.join(settings.actions)}"
                )
        if target_set.key in seen:
            errors.append(
                f"{source}:{line_of(root, ['targets', index])}: targets.{index}: team {target_set.team} "
                f"already has a set from {target_set.effective_from} (targets.{seen[target_set.key]})"
            )
        seen[target_set.key] = index
    if errors:
        raise ConfigError("\n".join(errors))
    return parsed.targets


def load_targets(path: Path, settings: Settings) -> list[TargetSet]:
    """Read and validate a targets file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read targets: {exc.strerror}") from None
    return parse_targets(text, str(path), settings)
