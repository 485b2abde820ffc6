"""When a cached venue answer may be served, and when the venue must be asked again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    fetched_at: float  # monotonic seconds


def is_fresh(entry: Cached[T] | None, now: float, ttl_seconds: float, *, force_refresh: bool) -> bool:
    """Serve from cache only inside the TTL and only when nobody asked for the truth right now."""
    return entry is not None and not force_refresh and now - entry.fetched_at < ttl_seconds
