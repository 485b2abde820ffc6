"""Injectable venue faults, shared by both venues' apps.

Latency, random 5xx and malformed bodies are applied by the ASGI middleware
(handlers/faults_http.py); page failures and timeout-after-accept are applied inside handlers
because only they know the page number and when a write has been applied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields

VENUES = ("kalshi", "polymarket")


@dataclass
class VenueFaults:
    venue: str
    latency_ms: int = 0
    # A probability, not money: a float is fine here.
    error_rate: float = 0.0
    timeout_after_accept: bool = False
    fail_pages: dict[str, int] = field(default_factory=dict)
    malformed_json: bool = False

    def page_fails(self, endpoint: str, page_no: int) -> bool:
        return self.fail_pages.get(endpoint) == page_no

    def summary(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SETTABLE = {f.name for f in fields(VenueFaults)} - {"venue"}


class SimFaults:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._venues = {v: VenueFaults(v) for v in VENUES}
        # Seeded so that an error_rate run is reproducible.
        self.rng = random.Random(seed)

    def for_venue(self, venue: str) -> VenueFaults:
        if venue not in self._venues:
            raise ValueError(f"unknown venue {venue!r}; expected one of {VENUES}")
        return self._venues[venue]

    def set(self, venue: str, **values: object) -> VenueFaults:
        current = self.for_venue(venue)
        unknown = set(values) - SETTABLE
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}; expected {sorted(SETTABLE)}")
        updated = _validated(venue, {**current.summary(), **values})
        self._venues[venue] = updated
        return updated

    def clear(self, venue: str | None = None) -> None:
        for v in [venue] if venue else list(VENUES):
            self.for_venue(v)
            self._venues[v] = VenueFaults(v)
        self.rng = random.Random(self._seed)

    def summary(self) -> dict:
        return {v: f.summary() for v, f in self._venues.items()}


def _validated(venue: str, raw: dict) -> VenueFaults:
    latency = raw["latency_ms"]
    rate = raw["error_rate"]
    pages = raw["fail_pages"]
    if not isinstance(latency, int) or isinstance(latency, bool) or latency < 0:
        raise ValueError("latency_ms must be a non-negative integer")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError("error_rate must be a number between 0 and 1")
    if not isinstance(pages, dict) or not all(
        isinstance(k, str) and isinstance(n, int) and not isinstance(n, bool) and n >= 1
        for k, n in pages.items()
    ):
        raise ValueError("fail_pages must map endpoint names to 1-based page numbers")
    for flag in ("timeout_after_accept", "malformed_json"):
        if not isinstance(raw[flag], bool):
            raise ValueError(f"{flag} must be a boolean")
    return VenueFaults(
        venue=venue,
        latency_ms=latency,
        error_rate=float(rate),
        timeout_after_accept=raw["timeout_after_accept"],
        fail_pages=dict(pages),
        malformed_json=raw["malformed_json"],
    )
