"""Action-count maths: quarter-hour buckets and the windows built from them.

Counts are kept per (team, rep, action, quarter hour of UTC time). Every timezone in use today
is offset from UTC by a multiple of 15 minutes, so a team's local day and ISO week are exact
unions of quarter hours, and one bucket size serves every team.

Windows, for a team whose timezone is `tz`, at instant `now`:

- today:      [local midnight of now's date, next local midnight)
- week:       [local Monday 00:00 of now's ISO week, next Monday 00:00)
- last_week:  the ISO week before `week`
- rolling_7d: [start of the quarter hour holding now − 7×24 h, end of the quarter hour holding now)
"""

from __future__ import annotations

from bisect import bisect_left

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timedelta
from itertools import accumulate, repeat
from typing import Literal
from zoneinfo import ZoneInfo

SLOT_S = 900
ROLLING_7D_S = 7 * 24 * 3600
ActionWindow = Literal["today", "week", "last_week", "rolling_7d"]
ACTION_WINDOWS: tuple[ActionWindow, ...] = ("today", "week", "last_week", "rolling_7d")
_SEP = "|"
# The table of weekly totals; the weekly review reads its changelog.
WEEKS_TABLE = "rep_weeks_to_count"


@dataclass(frozen=True)
class SlotKey:
    """Key of one bucket: a rep's count of one action in one quarter hour."""

    team: str
    rep: str
    action: str
    slot: int

    def encode(self) -> str:
        """Return the table key; identifiers cannot contain the separator."""
        return slot_key(self.team, self.rep, self.action, self.slot)

    @classmethod
    def decode(cls, key: str) -> "SlotKey":
        """Parse a key made by `encode`."""
        team, rep, action, slot = key.split(_SEP)
        return cls(team, rep, action, int(slot))


def split_slot_key(key: str) -> tuple[str, str, str, int]:
    """Return (team, rep, action, slot) of a bucket key, without building a SlotKey."""
    team, rep, action, slot = key.split(_SEP)
    return team, rep, action, int(slot)


def rep_action_key(team: str, rep: str, action: str) -> str:
    """Return the key of a rep's all-time count of one action."""
    return _SEP.join((team, rep, action))


def bucket_groups(slot_counts: Iterable[tuple[str, int]]) -> dict[str, dict[int, int]]:
    """Group bucket counts by rep action key: {rep action key: {slot: count}}."""
    # One partition of the key's text per bucket, and the rep action split once per group: this
    # reads every bucket of a floor (5.3 M with 10,000 reps) at a worker's first scrape.
    grouped: dict[str, dict[int, int]] = {}
    for key, count in slot_counts:
        rep_action, _, slot = key.rpartition(_SEP)
        grouped.setdefault(rep_action, {})[int(slot)] = count
    return grouped


def split_rep_action_key(key: str) -> tuple[str, str, str]:
    """Invert `rep_action_key`."""
    team, rep, action = key.split(_SEP)
    return team, rep, action


def slot_key(team: str, rep: str, action: str, slot: int) -> str:
    """Return the table key of a bucket, as its `SlotKey` encodes it, without making one per event."""
    return _SEP.join((team, rep, action, str(slot)))


def slot_of(instant: datetime) -> int:
    """Return the index of the UTC quarter hour that holds `instant`."""
    return int(instant.timestamp() // SLOT_S)


def _local_midnight(day: datetime, tz: ZoneInfo) -> float:
    return datetime.combine(day.date(), time(0), tzinfo=tz).timestamp()


def window_bounds(now: datetime, tz: ZoneInfo) -> dict[ActionWindow, tuple[int, int]]:
    """Return each window as a half-open range of slot indexes [first, end)."""
    local = now.astimezone(tz)
    today_start = _local_midnight(local, tz)
    tomorrow_start = _local_midnight(local + timedelta(days=1), tz)
    monday = local - timedelta(days=local.weekday())
    week_start = _local_midnight(monday, tz)
    next_week_start = _local_midnight(monday + timedelta(days=7), tz)
    last_week_start = _local_midnight(monday - timedelta(days=7), tz)
    now_slot = slot_of(now)

    def slot(ts: float) -> int:
        return int(ts // SLOT_S)

    return {
        "today": (slot(today_start), slot(tomorrow_start)),
        "week": (slot(week_start), slot(next_week_start)),
        "last_week": (slot(last_week_start), slot(week_start)),
        "rolling_7d": (slot(now.timestamp() - ROLLING_7D_S), now_slot + 1),
    }


def expired_slot_limit(now: datetime, retention_days: int) -> int:
    """Return the first slot still retained; older buckets can be dropped."""
    return slot_of(now - timedelta(days=retention_days))


def iso_week_slots(week_monday: date, tz: ZoneInfo) -> tuple[int, int]:
    """Return the slot range [first, end) of the ISO week starting on local Monday `week_monday`."""
    start = datetime.combine(week_monday, time(0), tzinfo=tz).timestamp()
    end = datetime.combine(week_monday + timedelta(days=7), time(0), tzinfo=tz).timestamp()
    return int(start // SLOT_S), int(end // SLOT_S)


def week_key(team: str, rep: str, action: str, week: str) -> str:
    """Return the key of a rep's total of one action in one ISO week (YYYY-Www, the team's weeks)."""
    return _SEP.join((team, rep, action, week))


def split_week_key(key: str) -> tuple[str, str, str, str]:
    """Return (team, rep, action, week) of a weekly total's key."""
    team, rep, action, week = key.split(_SEP)
    return team, rep, action, week


@lru_cache(maxsize=1 << 16)
def week_of_slot(slot: int, tz: ZoneInfo) -> str:
    """Return the team-local ISO week (YYYY-Www) that holds the quarter hour `slot`.

    Every time zone's offset is a whole number of quarter hours, so a slot never straddles a
    local midnight and the week of its start is the week of all of it.
    """
    day = datetime.fromtimestamp(slot * SLOT_S, tz).date()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_expired(week: str, now: datetime, retention_days: int) -> bool:
    """Tell whether a whole ISO week ended more than `retention_days` before `now`."""
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    return monday + timedelta(days=7) < (now - timedelta(days=retention_days)).date()


def count_in_slots(slot_counts: Mapping[str, int], team: str, rep: str, action: str, first: int, end: int) -> int:
    """Sum a rep's bucket counts of one action over the slot range [first, end)."""
    # The keys as SlotKey.encode makes them, without a SlotKey per slot: a week is 672 slots, and
    # judging a floor's weeks at once held the event loop for seconds.
    prefix = _SEP.join((team, rep, action, ""))
    return sum(map(slot_counts.get, [f"{prefix}{slot}" for slot in range(first, end)], repeat(0)))


class WindowedSlots:
    """One rep's counts of one action per quarter hour, with the window sums kept current.

    A bucket change updates the sums of the windows that hold it; a window that moves (the
    rolling 7 days every quarter hour, the day at midnight) is shifted by the buckets that left
    and entered it, or summed afresh when that is cheaper. A scrape then costs a few lookups
    per rep and action, not a pass over every bucket.

    Sums and answers are updated in place. Once a quarter hour the rolling 7 days move for every
    rep action of a floor at once (40,000 of them with 10,000 reps): new tuples and dicts for
    each would make the garbage collector go through the whole heap, half of such a scrape.
    """

    __slots__ = ("slots", "sums", "answer")

    def __init__(self, slots: dict[int, int] | None = None) -> None:
        self.slots: dict[int, int] = slots if slots is not None else {}
        self.sums: dict[ActionWindow, list[int]] = {}  # window -> [first, end, sum]
        self.answer: dict[ActionWindow, int] = {}

    def set(self, slot: int, count: int) -> None:
        """Set a bucket's count (0 removes it)."""
        delta = count - self.slots.get(slot, 0)
        if count:
            self.slots[slot] = count
        else:
            self.slots.pop(slot, None)
        if delta:
            for span in self.sums.values():
                if span[0] <= slot < span[1]:
                    span[2] += delta

    def windows(self, bounds: Mapping[ActionWindow, tuple[int, int]]) -> Mapping[ActionWindow, int]:
        """Return the sum of each window: of the buckets in [first, end) of its bounds.

        The mapping is this object's own, and the next call changes it.
        """
        sums, answer = self.sums, self.answer
        if answer.keys() != bounds.keys():
            answer.clear()
        running: tuple[list[int], list[int]] | None = None
        for window, (first, end) in bounds.items():
            span = sums.get(window)
            if span is not None and span[0] == first and span[1] == end:
                total = span[2]
            else:
                if span is not None and abs(first - span[0]) + abs(end - span[1]) < len(self.slots):
                    total = span[2] + self._signed_range(span[1], end) - self._signed_range(span[0], first)
                else:
                    running = running or self._running_sums()
                    order, sums_to = running
                    total = sums_to[bisect_left(order, end)] - sums_to[bisect_left(order, first)]
                if span is None:
                    sums[window] = [first, end, total]
                else:
                    span[0], span[1], span[2] = first, end, total
            answer[window] = total
        return answer

    def _running_sums(self) -> tuple[list[int], list[int]]:
        """Return the slots in order and the sum of the buckets before each (and of all, last)."""
        # Sorting and accumulating run in C: summing windows this way at a worker's first scrape
        # took a tenth of the time of a pass over the buckets per window.
        order = sorted(self.slots)
        return order, list(accumulate(map(self.slots.__getitem__, order), initial=0))

    def _signed_range(self, start: int, stop: int) -> int:
        """Sum the buckets of [start, stop), negated when stop lies before start."""
        if stop == start + 1:
            return self.slots.get(start, 0)  # a quarter hour on: one bucket in, one out
        # map over repeat(0), not a generator: the sums run in C.
        get = self.slots.get
        if stop >= start:
            return sum(map(get, range(start, stop), repeat(0)))
        return -sum(map(get, range(stop, start), repeat(0)))
