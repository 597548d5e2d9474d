"""The `sources:` section: how each vendor's webhooks and exports map onto the event contract.

One optional block per source. The team and rep of every event come from `owners`, never from
a payload; vendor stages and activity kinds map onto the configured `stages` and `actions`.
Credentials are never in the file: a block names the environment variable that holds them.

Whether the teams, reps, stages and actions named here exist is checked with the rest of the
file (`Settings`), which knows them; this module only checks the shape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from salespulse.models.errors import ConfigError

EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
VendorKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Salesforce ids are 15 characters, or 18 with the case-safe suffix; organization ids start 00D.
OrganizationId = Annotated[str, StringConstraints(pattern=r"^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OwnerRef(_Frozen):
    """The team and rep a vendor owner or user stands for."""

    team: str = Field(min_length=1)
    rep: str = Field(min_length=1)


class SourceMapping(_Frozen):
    """What every source maps: vendor owners to reps, vendor stages and activity kinds to ours."""

    owners: dict[VendorKey, OwnerRef] = Field(
        default_factory=dict, description="Vendor owner or user id (or the owner's name in an export) -> team and rep."
    )
    stages: dict[VendorKey, str] = Field(
        default_factory=dict, description="Vendor stage id or label -> a configured stage, won or lost."
    )
    actions: dict[VendorKey, str] = Field(
        default_factory=dict, description="Vendor activity type or call kind -> a configured action."
    )
    ignore: tuple[VendorKey, ...] = Field(
        default=(), description="Vendor event types (or call kinds) to count as ignored instead of dead-lettering."
    )
    timezone: str | None = Field(
        default=None,
        description="IANA timezone of export timestamps that carry no offset; by default the rep's team timezone.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    def credential(self, env: Mapping[str, str] | None = None) -> str | None:
        """Return what `verify` checks a request against; None when the source has nothing to check."""
        return None


def _read_env(env: Mapping[str, str] | None, name: str, key: str) -> str:
    env = os.environ if env is None else env
    value = env.get(name, "")
    if not value:
        raise ConfigError(f"sources.{key}: the environment variable {name} is not set")
    return value


class HubSpotMapping(SourceMapping):
    secret_env: EnvName = Field(
        default="HUBSPOT_CLIENT_SECRET", description="Variable holding the app's client secret (signature v3)."
    )

    def credential(self, env: Mapping[str, str] | None = None) -> str | None:
        return _read_env(env, self.secret_env, "hubspot.secret_env")


class PipedriveMapping(SourceMapping):
    basic_auth_user: str | None = Field(
        default=None, min_length=1, max_length=200, description="The webhook's http_auth_user; unset: no basic auth."
    )
    password_env: EnvName = Field(
        default="PIPEDRIVE_WEBHOOK_PASSWORD", description="Variable holding the webhook's http_auth_password."
    )

    @field_validator("basic_auth_user")
    @classmethod
    def _no_colon(cls, value: str | None) -> str | None:
        if value is not None and ":" in value:
            raise ValueError("HTTP basic auth user names cannot contain ':'")
        return value

    def credential(self, env: Mapping[str, str] | None = None) -> str | None:
        """Return `user:password`, as the Authorization header carries it, or None without basic auth."""
        if self.basic_auth_user is None:
            return None
        return f"{self.basic_auth_user}:{_read_env(env, self.password_env, 'pipedrive.password_env')}"


class AircallMapping(SourceMapping):
    token_env: EnvName = Field(
        default="AIRCALL_WEBHOOK_TOKEN", description="Variable holding the token Aircall puts in every webhook body."
    )

    def credential(self, env: Mapping[str, str] | None = None) -> str | None:
        return _read_env(env, self.token_env, "aircall.token_env")


class SalesforceMapping(SourceMapping):
    organization_id: OrganizationId = Field(description="The org whose Outbound Messages are accepted (00D...).")

    def credential(self, env: Mapping[str, str] | None = None) -> str | None:
        """Return the organization id: Outbound Messages carry no signature, only their org's id."""
        return self.organization_id


class GenericMapping(SourceMapping):
    secret_env: EnvName = Field(
        default="SALESPULSE_GATEWAY_SECRET", description="Variable holding the shared X-Salespulse-Signature secret."
    )

    @model_validator(mode="after")
    def _nothing_to_map(self) -> "GenericMapping":
        # Generic events already name their team, rep, action and stage; a mapping would be ignored.
        if self.owners or self.stages or self.actions or self.ignore or self.timezone:
            raise ValueError("generic events follow the event contract; only secret_env applies")
        return self

    def credential(self, env: Mapping[str, str] | None = None) -> str | None:
        return _read_env(env, self.secret_env, "generic.secret_env")


class Sources(_Frozen):
    """The `sources:` section; a source without a block is not accepted by the gateway."""

    hubspot: HubSpotMapping | None = None
    pipedrive: PipedriveMapping | None = None
    aircall: AircallMapping | None = None
    salesforce: SalesforceMapping | None = None
    generic: GenericMapping | None = None

    def configured(self) -> dict[str, SourceMapping]:
        """Return the blocks present in the file, keyed by source name."""
        blocks: dict[str, SourceMapping | None] = {
            "hubspot": self.hubspot,
            "pipedrive": self.pipedrive,
            "aircall": self.aircall,
            "salesforce": self.salesforce,
            "generic": self.generic,
        }
        return {name: block for name, block in blocks.items() if block is not None}
