"""Faust's app, carrying the engine: the one place Faust-made objects find it.

Faust builds the consumer, the table manager and the tables itself and hands each only the app;
the engine's hooks in them (the fetcher's hand-over to inboxes, the local copy of changelogs,
the write lock) reach the `Engine` through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import faust
from faust.types import AppT

if TYPE_CHECKING:
    from salespulse.streams.engine.core import Engine


class EngineApp(faust.App):
    """A Faust app with the `Engine` that runs on it."""

    engine: "Engine"


def engine_of(app: AppT) -> "Engine":
    """Return the engine an app was made for (`Engine.create`)."""
    return cast(EngineApp, app).engine
