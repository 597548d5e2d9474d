"""Configuration: the YAML file that describes the sales floor, and Kafka settings from the environment.

Everything is validated once, at start-up; a mistake is reported with the key and the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from salespulse.models.errors import ConfigError
from salespulse.models.gateway import Sources
from salespulse.models.working_time import WorkingTime
from salespulse.models.yaml_source import load_yaml

IDENTIFIER_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]

DEFAULT_ACTIONS = (
    "call",
    "cold_call",
    "outbound_email",
    "meeting",
    "demo",
    "proposal_sent",
    "follow_up",
)
DEFAULT_PIPELINE = ("lead", "qualified", "meeting", "proposal", "negotiation")
TERMINAL_STAGES = ("won", "lost")
DEFAULT_REVIEW_THEMES: dict[str, tuple[str, ...]] = {
    "call": ("opening", "closing", "pain_points"),
    "proposal": ("clarity", "value", "next_steps"),
}
CONFIG_ENV = "SALESPULSE_CONFIG"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {name!r}") from exc
    return name


CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Defaults(_Frozen):
    timezone: str = "UTC"
    working_time: WorkingTime = Field(default_factory=WorkingTime)
    currency: CurrencyCode = Field(
        default="EUR", description="ISO 4217 code of the currency deal values are shown in, where a team names none."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _check_timezone(value)


Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$", to_lower=True)]


class Rep(_Frozen):
    name: str = Field(min_length=1, max_length=200)
    email: Email | None = Field(
        default=None,
        description="The rep's e-mail address, as a single sign-on proxy names the user to "
        "`salespulse web --trust-header`; compared without regard to case.",
    )


class Manager(_Frozen):
    """A person who leads a team: may review its reps and see its page in `salespulse web`."""

    name: str = Field(min_length=1, max_length=200, description="The manager's display name.")
    email: Email | None = Field(
        default=None,
        description="The manager's e-mail address, as a single sign-on proxy names the user to "
        "`salespulse web --trust-header`; compared without regard to case.",
    )


Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


def month_index(month: str) -> int:
    """Return a month YYYY-MM as a count of months, so that consecutive months differ by one."""
    return int(month[:4]) * 12 + int(month[5:]) - 1


class Team(_Frozen):
    timezone: str | None = None
    working_time: WorkingTime | None = None
    currency: CurrencyCode | None = Field(
        default=None, description="ISO 4217 code of the currency the team's deal values are shown in; none: defaults.currency."
    )
    reps: dict[Identifier, Rep] = Field(default_factory=dict)
    managers: dict[Identifier, Manager] = Field(
        default_factory=dict,
        description="The team's managers by id: in `salespulse web` they review the team's reps and "
        "see the team's page; an id may not also name a rep of the team.",
    )
    mystery_rotation: tuple[Identifier, ...] = Field(
        default=(),
        description="The reps who take turns as the month's mystery checker, in order, from "
        "mystery.rotation_start on; empty: the team has no mystery checks.",
    )

    @model_validator(mode="after")
    def _rotation_names_reps(self) -> "Team":
        unknown = sorted(set(self.mystery_rotation) - set(self.reps)) if self.reps else []
        if unknown:
            raise ValueError(f"mystery_rotation: {', '.join(unknown)} not among the team's reps")
        if len(set(self.mystery_rotation)) != len(self.mystery_rotation):
            raise ValueError("mystery_rotation: a rep is listed twice")
        both = sorted(set(self.managers) & set(self.reps))
        if both:
            raise ValueError(f"managers: {', '.join(both)} also listed under reps; a person has one id per team")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)


class Retention(_Frozen):
    """How long state is kept; every exported window must fit inside it."""

    action_counts_days: int = Field(default=35, ge=15)
    deal_history_days: int = Field(default=400, ge=91)
    dedup_days: int = Field(default=14, ge=1)
    # The review windows look back 30 UTC days; one more keeps the oldest of them complete.
    review_days: int = Field(default=35, ge=31)
    # Mystery checks and the months deals were active in: a year back, for the monthly history.
    mystery_days: int = Field(default=400, ge=62)
    # Each rep's weekly action totals, for the weekly review's history and trends.
    weekly_days: int = Field(
        default=400,
        ge=63,
        description="How long each rep's weekly action totals are kept in the worker's state (a "
        "compacted changelog), so that the weekly review's history and trends need no Prometheus "
        "for those weeks. 63 days hold the 8-week trend and the week before it.",
    )


class Limits(_Frozen):
    future_tolerance_s: int = Field(default=86_400, ge=0)
    # Below Kafka's default 1 MB message size, so that a refused event still fits the dead-letter topic.
    max_event_bytes: int = Field(default=65_536, ge=1_024, le=900_000)
    max_json_depth: int = Field(default=32, ge=2, le=256)
    unknown_reps: Literal["reject", "collect", "accept"] = Field(
        default="reject",
        description="An event of a team the file does not name (when it names teams), or of a rep a "
        "team does not list (when it lists reps): reject sends it to the dead-letter topic as "
        "unknown_rep; collect counts it under rep `other` (and team `other` for an unknown team); "
        "accept counts it under its own ids. Every distinct rep adds series, so a producer's typo "
        "or junk would otherwise grow /metrics without bound.",
    )
    max_series_per_family: int = Field(
        default=500_000,
        ge=1_000,
        description="Hard cap on the series one metric family exports; past it the scrape keeps the "
        "first ones in label order and salespulse_series_dropped says how many were cut. "
        "A 10,000-rep floor exports 240,000 salespulse_actions series.",
    )


class KafkaTopology(_Frozen):
    app_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,48}$")] = Field(
        default="salespulse",
        description="Consumer group and prefix of every topic; two pipelines on one cluster need two ids.",
    )
    partitions: int = Field(default=4, ge=1, le=256)
    replication_factor: int = Field(default=1, ge=1)


Duration = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[smh]$")]


class Alerts(_Frozen):
    """Thresholds of the generated alert rules (`salespulse alerts build`)."""

    rep_pace_ratio: float = Field(default=0.8, gt=0, le=1)
    rep_hold: Duration = "30m"
    team_pace_ratio: float = Field(default=0.9, gt=0, le=1)
    team_hold: Duration = "1h"
    min_expected: float = Field(default=1.0, ge=0)
    stale_hold: Duration = "1h"
    team_stale_share: float = Field(default=0.25, gt=0, lt=1)
    team_stale_hold: Duration = "1h"


class Reviews(_Frozen):
    """Content-quality reviews: per subject (a call, a proposal) the 3 to 5 themes a reviewer scores."""

    themes: dict[Identifier, Annotated[tuple[Identifier, ...], Field(min_length=3, max_length=5)]] = Field(
        default_factory=lambda: dict(DEFAULT_REVIEW_THEMES)
    )
    scale_min: int = 1
    scale_max: int = 5
    allow_self_review: bool = False
    peers: bool = Field(
        default=False,
        description="Whether a rep may review another rep of the same team in `salespulse web` (never "
        "themselves); false: only the team's managers review.",
    )

    @field_validator("themes")
    @classmethod
    def _unique_themes(cls, themes: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        if not themes:
            raise ValueError("must list at least one review subject")
        for subject, names in themes.items():
            repeated = sorted({v for i, v in enumerate(names) if v in names[:i]})
            if repeated:
                raise ValueError(f"{subject}: duplicate themes: {', '.join(repeated)}")
        return themes

    @model_validator(mode="after")
    def _scale_is_a_range(self) -> "Reviews":
        if self.scale_min >= self.scale_max:
            raise ValueError(f"scale_min ({self.scale_min}) must be lower than scale_max ({self.scale_max})")
        return self


class Checklist(_Frozen):
    """What must be true before a deal may enter a stage (level 1 of execution quality)."""

    content: tuple[Identifier, ...] = Field(
        default=(), description="CRM fields that must be filled on the deal_stage event's `fields`."
    )
    process: tuple[Identifier, ...] = Field(
        default=(),
        description="Actions that must have happened for the deal (activities with its deal_id) "
        "at or before the stage change, e.g. summary_email.",
    )


class Mystery(_Frozen):
    """Monthly peer mystery checks: a rotating checker scores sampled deals against a rubric."""

    rubric: dict[Identifier, Annotated[int, Field(gt=0, le=10_000)]] = Field(
        default_factory=lambda: {"lead_profile": 50, "call_report": 100},
        description="Points each rubric item is worth when fully met.",
    )
    deals_per_rep: int = Field(default=2, ge=1, le=50, description="Deals drawn per checked rep and month.")
    reward_share: float = Field(
        default=0.8, gt=0, le=1, description="Share of the maximum every checked rep must reach for the team reward."
    )
    rotation_start: Month = Field(default="2026-01", description="The month the first rep of each rotation checks.")
    seed: str = Field(default="salespulse", min_length=1, max_length=64, description="Seed of the deal draw.")

    @field_validator("rubric")
    @classmethod
    def _some_items(cls, rubric: dict[str, int]) -> dict[str, int]:
        if not rubric:
            raise ValueError("must list at least one rubric item")
        return rubric


class Deals(_Frozen):
    """Open deals: when one counts as stale."""

    stale_days: int = Field(
        default=14, ge=1, le=365, description="An open deal with no event for this many days counts as stale."
    )


class Settings(_Frozen):
    """The whole YAML configuration file."""

    defaults: Defaults = Field(default_factory=Defaults)
    actions: tuple[Identifier, ...] = DEFAULT_ACTIONS
    stages: tuple[Identifier, ...] = DEFAULT_PIPELINE
    teams: dict[Identifier, Team] = Field(default_factory=dict)
    retention: Retention = Field(default_factory=Retention)
    limits: Limits = Field(default_factory=Limits)
    kafka: KafkaTopology = Field(default_factory=KafkaTopology)
    alerts: Alerts = Field(default_factory=Alerts)
    reviews: Reviews = Field(default_factory=Reviews)
    checklists: dict[Identifier, Checklist] = Field(default_factory=dict)
    mystery: Mystery = Field(default_factory=Mystery)
    sources: Sources = Field(default_factory=Sources)
    deals: Deals = Field(default_factory=Deals)
    metrics_port: int = Field(default=6066, ge=1, le=65535)
    metrics_bind: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        default="127.0.0.1",
        description="Address the worker's HTTP server listens on; 0.0.0.0 for every interface.",
    )

    @field_validator("actions", "stages")
    @classmethod
    def _unique(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if not values:
            raise ValueError("must list at least one entry")
        seen = [v for i, v in enumerate(values) if v in values[:i]]
        if seen:
            raise ValueError(f"duplicate entries: {', '.join(sorted(set(seen)))}")
        return values

    @model_validator(mode="after")
    def _terminal_stages_are_implicit(self) -> "Settings":
        clash = set(self.stages) & set(TERMINAL_STAGES)
        if clash:
            raise ValueError(
                f"stages: {', '.join(sorted(clash))} are terminal stages and are always present; "
                "list only the open stages of the pipeline"
            )
        return self

    @model_validator(mode="after")
    def _checklists_name_stages(self) -> "Settings":
        unknown = sorted(set(self.checklists) - set(self.all_stages))
        if unknown:
            raise ValueError(f"checklists: unknown stages {', '.join(unknown)}; stages: {', '.join(self.all_stages)}")
        for stage, checklist in self.checklists.items():
            actions = sorted(set(checklist.process) - set(self.actions))
            if actions:
                raise ValueError(
                    f"checklists.{stage}.process: unknown actions {', '.join(actions)}; actions: {', '.join(self.actions)}"
                )
        return self

    @model_validator(mode="after")
    def _emails_name_one_person(self) -> "Settings":
        owners: dict[str, list[str]] = {}
        for team_id, team in self.teams.items():
            for kind, people in (("reps", team.reps), ("managers", team.managers)):
                for person_id, person in people.items():
                    if person.email is not None:
                        owners.setdefault(person.email, []).append(f"teams.{team_id}.{kind}.{person_id}")
        shared = [f"{email} ({', '.join(keys)})" for email, keys in sorted(owners.items()) if len(keys) > 1]
        if shared:
            raise ValueError(f"email: one address names one person; given twice: {'; '.join(shared)}")
        return self

    @model_validator(mode="after")
    def _sources_name_known_reps(self) -> "Settings":
        problems = []
        for source, mapping in self.sources.configured().items():
            for key, owner in mapping.owners.items():
                where = f"sources.{source}.owners.{key}"
                team = self.teams.get(owner.team)
                if self.teams and team is None:
                    problems.append(f"{where}.team: {owner.team!r} is not a configured team ({', '.join(sorted(self.teams))})")
                elif team is not None and team.reps and owner.rep not in team.reps:
                    problems.append(f"{where}.rep: {owner.rep!r} is not listed under teams.{owner.team}.reps")
                else:
                    # Where the file lists no teams or reps any ids go, but events need identifiers.
                    for part in (owner.team, owner.rep):
                        if not re.fullmatch(IDENTIFIER_PATTERN, part):
                            problems.append(f"{where}: {part!r} is not an identifier (A-Z a-z 0-9 _ . : @ -)")
            for key, stage in mapping.stages.items():
                if stage not in self.all_stages:
                    problems.append(
                        f"sources.{source}.stages.{key}: {stage!r} is not one of {', '.join(self.all_stages)}"
                    )
            for key, action in mapping.actions.items():
                if action not in self.actions:
                    problems.append(
                        f"sources.{source}.actions.{key}: {action!r} is not one of {', '.join(self.actions)}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def all_stages(self) -> tuple[str, ...]:
        """Open pipeline stages followed by the terminal ones."""
        return self.stages + TERMINAL_STAGES

    def currency_of(self, team_id: str) -> str:
        """Return the currency the team's deal values are shown in."""
        team = self.teams.get(team_id)
        return team.currency if team and team.currency else self.defaults.currency

    def timezone_of(self, team_id: str) -> ZoneInfo:
        """Return the team's timezone, falling back to the default one."""
        team = self.teams.get(team_id)
        return ZoneInfo(team.timezone if team and team.timezone else self.defaults.timezone)

    def working_time_of(self, team_id: str) -> WorkingTime:
        """Return the team's working time, falling back to the default one."""
        team = self.teams.get(team_id)
        return team.working_time if team and team.working_time else self.defaults.working_time

    def require_team(self, team_id: str, option: str = "--team") -> None:
        """Refuse a team the file does not name; any team goes when the file names none."""
        if self.teams and team_id not in self.teams:
            raise ConfigError(f"{option}: {team_id!r} is not a configured team ({', '.join(sorted(self.teams))})")

    def checker_of(self, team_id: str, month: str) -> str | None:
        """Return the team's mystery checker for a month YYYY-MM, or None without a rotation."""
        team = self.teams.get(team_id)
        if team is None or not team.mystery_rotation:
            return None
        turn = month_index(month) - month_index(self.mystery.rotation_start)
        return team.mystery_rotation[turn % len(team.mystery_rotation)]

    def emails(self) -> dict[str, tuple[str, str]]:
        """Return (team, person) by lower-case e-mail address, for reps and managers that have one."""
        found: dict[str, tuple[str, str]] = {}
        for team_id, team in self.teams.items():
            people: list[tuple[str, Rep | Manager]] = [*team.reps.items(), *team.managers.items()]
            for person_id, person in people:
                if person.email is not None:
                    found.setdefault(person.email, (team_id, person_id))
        return found

    def rep_name(self, team_id: str, rep_id: str) -> str:
        """Return the configured display name, or the rep id for reps absent from the file."""
        team = self.teams.get(team_id)
        rep = team.reps.get(rep_id) if team else None
        return rep.name if rep else rep_id


class KafkaSettings(_Frozen):
    """Connection settings, read from the environment so secrets stay out of the YAML file."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> "KafkaSettings":
        sasl_given = self.sasl_mechanism or self.sasl_username or self.sasl_password
        if sasl_given and not self.security_protocol.startswith("SASL_"):
            # The client would connect without them and without a word: refuse instead.
            raise ValueError(
                f"KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL is {self.security_protocol}, so the "
                "credentials would not be sent; set KAFKA_SECURITY_PROTOCOL=SASL_SSL"
            )
        if self.security_protocol.startswith("SASL_") and not self.sasl_mechanism:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs KAFKA_SASL_MECHANISM")
        if self.sasl_mechanism and not (self.sasl_username and self.sasl_password):
            raise ValueError("KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        if self.sasl_mechanism == "PLAIN" and self.security_protocol == "SASL_PLAINTEXT":
            raise ValueError(
                "KAFKA_SASL_MECHANISM=PLAIN over KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT sends the password "
                "in clear text; use SASL_SSL, or a SCRAM mechanism"
            )
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "KafkaSettings":
        """Read KAFKA_* variables; an invalid value is reported with its variable name."""
        env = os.environ if env is None else env
        names = {
            "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
            "security_protocol": "KAFKA_SECURITY_PROTOCOL",
            "sasl_mechanism": "KAFKA_SASL_MECHANISM",
            "sasl_username": "KAFKA_SASL_USERNAME",
            "sasl_password": "KAFKA_SASL_PASSWORD",
            "ssl_cafile": "KAFKA_SSL_CAFILE",
        }
        values = {field: env[var] for field, var in names.items() if env.get(var)}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            lines = [
                f"{names[str(e['loc'][0])]}: {e['msg']}" if e["loc"] else e["msg"].removeprefix("Value error, ")
                for e in exc.errors()
            ]
            raise ConfigError("invalid Kafka environment settings:\n  " + "\n  ".join(lines)) from None

    @property
    def broker_url(self) -> str:
        """Faust broker URL list, e.g. kafka://a:9092;kafka://b:9092."""
        return ";".join(f"kafka://{s.strip()}" for s in self.bootstrap_servers.split(",") if s.strip())


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{source}: {key}: {err['msg']}")
    return "\n".join(lines)


def parse_settings(data: Any, source: str = "<config>") -> Settings:
    """Validate an already-parsed YAML document."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping, got {type(data).__name__}")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None


def _parse_yaml(text: str) -> Any:
    # PyYAML's C parser where it was built with libyaml (the wheels are): the same safe subset,
    # 7 x faster, half a second of a worker's start with a 2,000-rep floor. A file it refuses is
    # read again by the Python parser, whose messages say more ("mapping values are not allowed
    # here" where the C parser says "... in this context").
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return yaml.safe_load(text)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load the YAML file named by `path`, else by SALESPULSE_CONFIG, else use the defaults."""
    chosen = path if path is not None else os.environ.get(CONFIG_ENV)
    if not chosen:
        return Settings()
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read configuration: {exc.strerror}") from None
    return parse_settings(load_yaml(text, str(file), _parse_yaml), str(file))
