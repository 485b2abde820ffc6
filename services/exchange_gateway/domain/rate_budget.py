"""Client-side request budgets, so the gateway stays under each venue's rate limits.

Pure: time comes from an injected clock (monotonic seconds) and `reserve` only answers how long
the caller must wait before sending; the adapter does the sleeping. A reservation is taken at
once (before the wait), so concurrent callers queue behind each other instead of all waking at
the same instant and bursting.

Two limiter shapes:
- `TokenBucket` (Kalshi): `rate` requests/s sustained, `capacity` requests of burst. Implemented
  as GCRA (a "theoretical arrival time"), which is exactly a token bucket but lets a grant be
  committed at a future time.
- `SlidingWindow` (Polymarket): at most `limit` grants in any `window_s` seconds. Grants are
  FIFO per window, so a request never overtakes one already queued on the same window.

A `RateBudget` maps a request class ("read", "write", "clob:/data/trades", ...) to the limiters
it must pass; a request is granted when all of them allow it, and is then charged to all of
them at that same instant.

When the venue refuses a request (429) anyway, `hold` stops every limiter that request passed
through until the venue's `Retry-After` (or our backoff): every class sharing one of those
limiters (Kalshi's read bucket; a Polymarket overall window) waits, not just the refused caller.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol

# requests per second (read, write) per Kalshi usage tier.
KALSHI_TIERS: dict[str, tuple[int, int]] = {
    "basic": (20, 10),
    "advanced": (30, 30),
    "premier": (100, 100),
    "prime": (400, 400),
}

# Polymarket sliding windows (requests per 10 s); throttled rather than rejected by the venue.
POLYMARKET_WINDOW_S = 10.0
POLYMARKET_LIMITS: dict[str, int] = {
    "data:overall": 1000,
    "data:/positions": 150,
    "data:/trades": 200,
    "clob:overall": 9000,
    "clob:/data/orders": 500,
    "clob:/data/trades": 500,
}


# Units, so a reader never mistakes a time or a rate here for money (money is always Decimal).
Seconds = float  # monotonic clock seconds, or a duration in seconds
PerSecond = float  # a request rate
Ratio = float  # a fraction of a venue's published limit


class Limiter(Protocol):
    def earliest(self, now: Seconds) -> Seconds: ...

    def commit(self, at: Seconds) -> None: ...


class TokenBucket:
    """`capacity` requests may go at once; after that one every 1/`rate` seconds."""

    def __init__(self, rate: PerSecond, capacity: int | float) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs rate > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._interval = 1.0 / rate
        self._tolerance = (capacity - 1) * self._interval
        self._tat: Seconds | None = None  # theoretical arrival time of the next conforming request

    def earliest(self, now: Seconds) -> Seconds:
        if self._tat is None:
            return now
        return max(now, self._tat - self._tolerance)

    def commit(self, at: Seconds) -> None:
        self._tat = max(self._tat if self._tat is not None else at, at) + self._interval


class SlidingWindow:
    """At most `limit` grants in any `window_s`-second window."""

    def __init__(self, limit: int, window_s: Seconds) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a sliding window needs limit >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._grants: deque[Seconds] = deque(maxlen=limit)  # only the last `limit` grants matter

    def earliest(self, now: Seconds) -> Seconds:
        at = max(now, self._grants[-1]) if self._grants else now
        if len(self._grants) == self.limit:
            at = max(at, self._grants[0] + self.window_s)
        return at

    def commit(self, at: Seconds) -> None:
        self._grants.append(at)


@dataclass
class ClassStats:
    granted: int = 0
    waited: int = 0
    wait_seconds: Seconds = 0.0
    held: int = 0


@dataclass
class RateBudget:
    """Request classes -> limiters, with counters for metrics. One per venue key per process."""

    limiters: Mapping[str, Sequence[Limiter]]
    clock: Callable[[], Seconds] = time.monotonic
    stats: dict[str, ClassStats] = field(default_factory=dict)
    # Per limiter (by identity, since classes share limiter objects): no grant before this time.
    _held_until: dict[int, Seconds] = field(default_factory=dict, repr=False)

    def classes(self) -> tuple[str, ...]:
        return tuple(self.limiters)

    def _chosen(self, cls: str) -> Sequence[Limiter]:
        chosen = self.limiters.get(cls)
        if chosen is None:
            raise KeyError(f"no rate budget for request class {cls!r}; known: {sorted(self.limiters)}")
        return chosen

    def _earliest(self, chosen: Sequence[Limiter], now: Seconds) -> Seconds:
        return max((max(limiter.earliest(now), self._held_until.get(id(limiter), now)) for limiter in chosen),
                   default=now)

    def peek(self, cls: str) -> Seconds:
        """The wait a request of `cls` would get now, without charging it (to refuse one early)."""
        now = self.clock()
        return max(0.0, self._earliest(self._chosen(cls), now) - now)

    def held_for(self, cls: str) -> Seconds:
        """Seconds a hold placed after this request's reservation still keeps it back."""
        now = self.clock()
        return max((self._held_until.get(id(limiter), now) - now for limiter in self._chosen(cls)), default=0.0)

    def hold(self, cls: str, seconds: Seconds) -> Seconds:
        """No grant for any class sharing a limiter with `cls` for `seconds` from now (the venue
        said to wait). Never shortens an existing hold; returns how long `cls` is now held."""
        chosen = self._chosen(cls)
        now = self.clock()
        until = now + max(0.0, seconds)
        for limiter in chosen:
            self._held_until[id(limiter)] = max(self._held_until.get(id(limiter), until), until)
        self.stats.setdefault(cls, ClassStats()).held += 1
        return self.held_for(cls)

    def reserve(self, cls: str) -> Seconds:
        """Charge one request of `cls` and return the seconds to wait before sending it."""
        chosen = self._chosen(cls)
        now = self.clock()
        at = self._earliest(chosen, now)
        for limiter in chosen:
            limiter.commit(at)
        wait = max(0.0, at - now)
        stats = self.stats.setdefault(cls, ClassStats())
        stats.granted += 1
        if wait > 0:
            stats.waited += 1
            stats.wait_seconds += wait
        return wait


def kalshi_budget(
    tier: str = "basic",
    *,
    headroom: Ratio = 0.9,
    burst_s: Seconds = 0.5,
    clock: Callable[[], Seconds] = time.monotonic,
) -> RateBudget:
    """Kalshi's per-key read and write buckets for `tier`.

    `headroom` < 1 keeps the sustained rate a little under the venue's, and the burst is only
    `burst_s` seconds' worth: requests reach the venue with uneven delays, so sending exactly at
    the limit would still draw occasional 429s.
    """
    if tier not in KALSHI_TIERS:
        raise ValueError(f"unknown Kalshi tier {tier!r}; expected one of {sorted(KALSHI_TIERS)}")
    if not 0 < headroom <= 1:
        raise ValueError("headroom must be in (0, 1]")
    read, write = KALSHI_TIERS[tier]

    def bucket(per_s: int) -> TokenBucket:
        rate = per_s * headroom
        return TokenBucket(rate, max(1.0, rate * burst_s))

    return RateBudget({"read": (bucket(read),), "write": (bucket(write),)}, clock=clock)


def sliding_budget(
    windows: Mapping[str, int],
    classes: Mapping[str, Sequence[str]],
    *,
    window_s: Seconds = POLYMARKET_WINDOW_S,
    clock: Callable[[], Seconds] = time.monotonic,
) -> RateBudget:
    """A budget of named sliding windows; `classes` maps each request class to its window names.

    E.g. windows=POLYMARKET_LIMITS, classes={"clob:/data/trades": ["clob:overall", "clob:/data/trades"]}.
    """
    built = {name: SlidingWindow(limit, window_s) for name, limit in windows.items()}
    missing = {w for names in classes.values() for w in names} - set(built)
    if missing:
        raise ValueError(f"classes refer to undefined windows: {sorted(missing)}")
    return RateBudget({cls: tuple(built[w] for w in names) for cls, names in classes.items()}, clock=clock)


# A garbage Retry-After (a date years ahead) must not stop a key for good.
MAX_RETRY_AFTER_S: Seconds = 3600.0


def retry_after_seconds(value: str | None, now: datetime) -> Seconds | None:
    """`Retry-After` as seconds to wait from `now` (aware UTC): delta-seconds or an HTTP-date.

    None when absent or unreadable (the caller falls back to its own backoff); never negative,
    at most `MAX_RETRY_AFTER_S`.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": GMT, as every HTTP-date is
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))
