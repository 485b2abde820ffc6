"""Polymarket-style rate limits: sliding 10-second windows per endpoint family.

The real venue throttles (queues) over-limit requests rather than rejecting them, so `reserve`
returns how long the caller must wait for a slot instead of a yes/no. Time is passed in
(monotonic seconds) so this stays pure.
"""

from __future__ import annotations

from collections import deque

WINDOW_S = 10.0

# Requests per sliding 10 s window (protocols/README.md, "Rate limits").
DATA_API_LIMITS: dict[str, int] = {"data": 1000, "positions": 150, "trades": 200}
CLOB_LIMITS: dict[str, int] = {
    "clob": 9000,
    "post_order": 3500,
    "delete_order": 3000,
    "data_orders": 500,
    "data_trades": 500,
}


class SlidingWindowThrottle:
    def __init__(self, limits: dict[str, int], window_s: float = WINDOW_S) -> None:
        self.limits = dict(limits)
        self.window_s = window_s
        self._slots: dict[str, deque[float]] = {name: deque() for name in limits}

    def reserve(self, buckets: list[str], now_s: float) -> float:
        """Reserve a slot in every bucket; return the delay (s) before the request may run."""
        start = now_s
        for name in buckets:
            slots = self._slots[name]
            while slots and slots[0] <= now_s - self.window_s:
                slots.popleft()
            if len(slots) >= self.limits[name]:
                # The k-th oldest slot (k = excess + 1) must leave the window first.
                start = max(start, slots[len(slots) - self.limits[name]] + self.window_s)
        for name in buckets:
            self._slots[name].append(start)
        return start - now_s
