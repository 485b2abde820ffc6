"""Kalshi-style per-key token buckets (separate read and write buckets).

Each call costs COST tokens; a tier's "N requests/s" means a bucket of N*COST tokens refilled at
N*COST tokens per second. Time is passed in (monotonic seconds) so this stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass

COST = 10

# requests per second: (read, write)
TIERS: dict[str, tuple[int, int]] = {
    "basic": (20, 10),
    "advanced": (30, 30),
    "premier": (100, 100),
    "prime": (400, 400),
}


@dataclass
class Bucket:
    capacity: float
    refill_per_s: float
    tokens: float
    updated_s: float

    def take(self, cost: float, now_s: float) -> bool:
        elapsed = max(0.0, now_s - self.updated_s)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_s)
        self.updated_s = now_s
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class RateLimiter:
    def __init__(self, tier: str) -> None:
        self.set_tier(tier)

    def set_tier(self, tier: str) -> None:
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; expected one of {sorted(TIERS)}")
        self.tier = tier
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def limits(self) -> dict[str, int]:
        read, write = TIERS[self.tier]
        return {"read": read, "write": write}

    def allow(self, key: str, kind: str, now_s: float) -> bool:
        per_s = self.limits()[kind] * COST
        bucket = self._buckets.get((key, kind))
        if bucket is None:
            bucket = Bucket(per_s, per_s, per_s, now_s)
            self._buckets[(key, kind)] = bucket
        return bucket.take(COST, now_s)
