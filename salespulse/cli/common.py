"""What every command shares: the clock, the configuration, a --week argument."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime

from salespulse.models.config import Settings, load_settings
from salespulse.models.errors import ConfigError


def now() -> datetime:
    return datetime.now(UTC)


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def week_monday(week: str) -> date:
    """Return the Monday of a --week argument, or refuse it."""
    from salespulse.models.targets import week_start

    try:
        if not re.fullmatch(r"\d{4}-W\d{2}", week):
            raise ValueError(week)
        return week_start(week)
    except ValueError:
        raise ConfigError(f"--week: {week!r} is not an ISO week such as 2026-W48") from None
