"""One log line per kind of warning per minute: a broker outage must not flood the log.

While a broker is down, aiokafka logs the same connection error several times a second, and a
producer sending junk makes the worker log one rejection per record. The first line of a kind
goes out at once; the same kind is then held back for `every_s` seconds, and the next line that
goes out says how many were held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RepeatedLines(logging.Filter):
    """Pass a warning or error once per `every_s` per (logger, level, message template).

    The template, not the formatted text, makes the kind: "rejected %s offset %s: %s" is one
    kind, whatever the offsets. Lines below WARNING always pass.
    """

    def __init__(self, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every_s = every_s
        self.clock = clock
        # kind -> [time the last line of it went out, lines held back since]
        self.kinds: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        seen = self.kinds.get(kind)
        if seen is None or now - seen[0] >= self.every_s:
            held = int(seen[1]) if seen else 0
            self.kinds[kind] = [now, 0]
            if held:
                # `held` is formatted here: the message may be a template with its own arguments.
                since = now - seen[0] if seen else 0.0
                record.msg = f"{record.msg} (and {held} more like this in the last {since:.0f} s)"
            return True
        seen[1] += 1
        return False
