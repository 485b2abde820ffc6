"""The simulator's notion of "now".

Both venues read time only through a Clock, so tests can freeze and step it (trade status
transitions and timestamps are computed lazily from it; there are no background tasks).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    def now_ms(self) -> int:
        raise NotImplementedError

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms() / 1000, tz=UTC)


class SystemClock(Clock):
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._ms = int(start_ms) if start_ms is not None else time.time_ns() // 1_000_000

    def now_ms(self) -> int:
        return self._ms

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("a clock cannot go backwards")
        self._ms += int(ms)
