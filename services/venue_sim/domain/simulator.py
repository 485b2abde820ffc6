"""The whole simulated world: one clock, one fault set, one Kalshi and one Polymarket exchange.

All three HTTP hosts share this object, so an admin call on any host changes what every host
serves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from services.venue_sim.domain.clock import Clock
from services.venue_sim.domain.faults import SimFaults
from services.venue_sim.domain.kalshi import KalshiExchange, KalshiSimConfig
from services.venue_sim.domain.polymarket import PolymarketExchange, PolymarketSimConfig
from services.venue_sim.domain.rate_limit import RateLimiter


class Simulator:
    def __init__(
        self,
        clock: Clock,
        kalshi_config: KalshiSimConfig,
        polymarket_config: PolymarketSimConfig,
        *,
        kalshi_tier: str = "basic",
        seed: int = 0,
        faults: SimFaults | None = None,
    ) -> None:
        self.clock = clock
        self.faults = faults or SimFaults(seed)
        self.kalshi_config = kalshi_config
        self.polymarket_config = polymarket_config
        self.kalshi_limiter = RateLimiter(kalshi_tier)
        # Per-path request counts at the Kalshi host, so tests can count calls at the venue.
        self.kalshi_requests: Counter[str] = Counter()
        self.scenario = "empty"
        self.seed = seed
        self.kalshi = KalshiExchange(kalshi_config, clock, seed)
        self.polymarket = PolymarketExchange(replace(polymarket_config), clock)

    def reset(self, seed: int) -> None:
        """Fresh, empty exchanges (scenarios load on top of this)."""
        self.seed = seed
        self.scenario = "empty"
        self.kalshi = KalshiExchange(self.kalshi_config, self.clock, seed)
        self.polymarket = PolymarketExchange(replace(self.polymarket_config), self.clock)
        self.kalshi_requests.clear()
        self.kalshi_limiter.set_tier(self.kalshi_limiter.tier)
