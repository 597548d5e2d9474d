"""A small floor for the web tests: one team with three reps, a manager and a mystery rotation."""

from __future__ import annotations

from datetime import UTC, datetime

from salespulse.models.config import Settings, parse_settings

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)  # a Wednesday; 2026-W50 in Amsterdam
SECRET = "a-test-secret-that-is-long-enough-0123456789"


def floor() -> Settings:
    """Return the settings every web unit test uses."""
    return parse_settings({
        "actions": ["call", "cold_call", "outbound_email"],
        "teams": {
            "amsterdam": {
                "timezone": "Europe/Amsterdam",
                "reps": {"anna": {"name": "Anna", "email": "Anna@Example.com"}, "bram": {"name": "Bram"},
                         "sara": {"name": "Sara"}},
                "managers": {"mia": {"name": "Mia", "email": "mia@example.com"}},
                "mystery_rotation": ["anna", "bram", "sara"],
            },
            "utrecht": {"reps": {"umar": {"name": "Umar"}}, "managers": {"uma": {"name": "Uma"}}},
        },
        "mystery": {"rotation_start": "2026-12"},
    })
