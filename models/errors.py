"""Errors of Salespulse.

    SalespulseError
    ├── ConfigError          a configuration file or environment variable is wrong
    ├── RejectedEvent        an event breaks the contract; carries a machine-readable reason
    └── KafkaLauncherError   the local development broker could not be fetched or started
"""

from __future__ import annotations

from typing import Literal, get_args

# The gateway's: a vendor item it cannot map (see docs/sources).
UnmappedReason = Literal["unmapped_owner", "unmapped_stage", "unmapped_action", "unsupported_object"]
RejectReason = Literal[
    "not_json",
    "invalid",
    "unknown_action",
    "unknown_stage",
    "future",
    "too_late",
    "unknown_subject",
    "unknown_theme",
    "score_out_of_scale",
    "self_review",
    "unknown_rubric_item",
    "points_out_of_range",
    "self_check",
    "not_the_checker",
    "too_large",
    "too_deep",
    "unprocessable",
    "unknown_rep",
    UnmappedReason,
]
REJECT_REASONS: tuple[RejectReason, ...] = get_args(RejectReason)


class SalespulseError(Exception):
    """Base class of every error Salespulse raises on purpose."""


class ConfigError(SalespulseError):
    """A user's configuration is wrong; the message names the key and the file."""


class RejectedEvent(SalespulseError):
    """An event that must go to the dead-letter topic instead of into the KPIs."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: RejectReason = reason
        self.detail = detail


class KafkaLauncherError(SalespulseError):
    """The development broker could not be obtained or did not start."""
