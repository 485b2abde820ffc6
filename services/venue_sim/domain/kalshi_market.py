"""Kalshi markets, events and the binary order book.

The book holds bids only, as Kalshi publishes it: YES bids and NO bids. A YES ask at p is a NO
bid at 1 - p, so a buy-YES (bid) crosses NO bids with 1 - q <= p and a sell-YES (ask) crosses
YES bids with q >= p. Entries are price-time ordered; `order_id` is set when the entry is one
of the account's own resting orders (None for other participants' liquidity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from services.venue_sim.domain.kalshi_units import CENT, ONE, ZERO

# How long after its close a market may still expire (Kalshi's `latest_expiration_time`): events
# can slip (a delayed data release, overtime); the sim gives every market one week.
EXPIRATION_SLACK_MS = 7 * 86_400_000


@dataclass
class Event:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str = ""
    category: str = ""
    mutually_exclusive: bool = False  # at most one of its markets can resolve yes
    settlement_source: tuple[str, str] | None = None  # (name, url) the results are read from


@dataclass
class BookEntry:
    price: Decimal  # price of the side this entry bids on
    count: Decimal
    seq: int
    order_id: str | None = None


@dataclass
class Market:
    ticker: str
    event_ticker: str
    title: str
    yes_sub_title: str
    no_sub_title: str
    open_time_ms: int
    close_time_ms: int
    status: str = "active"
    result: str = ""
    tick: Decimal = CENT
    fractional: bool = False
    maker_fee_rate: Decimal = ZERO
    yes_bids: list[BookEntry] = field(default_factory=list)
    no_bids: list[BookEntry] = field(default_factory=list)
    last_price: Decimal | None = None
    volume: Decimal = ZERO
    # Contracts outstanding: every trade opens new pairs except where the account closes its own.
    open_interest: Decimal = ZERO
    settled_ms: int | None = None
    created_ms: int | None = None  # when the market was listed; defaults to its open time
    rules_primary: str = ""
    rules_secondary: str = ""
    settlement_timer_seconds: int = 3600  # determination -> settlement (payout) delay
    expiration_value: str = ""  # the observed value the result was decided on, once settled

    def __post_init__(self) -> None:
        if self.created_ms is None:
            self.created_ms = self.open_time_ms

    @property
    def latest_expiration_ms(self) -> int:
        return self.close_time_ms + EXPIRATION_SLACK_MS

    @property
    def updated_ms(self) -> int:
        """Last non-trading change: settlement is the only one the sim makes."""
        return self.settled_ms if self.settled_ms is not None else self.created_ms  # type: ignore[return-value]

    def bids(self, side: str) -> list[BookEntry]:
        return self.yes_bids if side == "yes" else self.no_bids

    def best(self, side: str) -> Decimal | None:
        book = self.bids(side)
        return max((e.price for e in book), default=None)

    def crossing(self, book_side: str, yes_price: Decimal) -> list[BookEntry]:
        """Resting entries a taker on `book_side` at YES limit `yes_price` may trade against,
        best first (highest bid on the opposite book, then oldest)."""
        if book_side == "bid":
            candidates = [e for e in self.no_bids if ONE - e.price <= yes_price]
        else:
            candidates = [e for e in self.yes_bids if e.price >= yes_price]
        return sorted(candidates, key=lambda e: (-e.price, e.seq))

    def remove_empty(self) -> None:
        self.yes_bids = [e for e in self.yes_bids if e.count > 0]
        self.no_bids = [e for e in self.no_bids if e.count > 0]

    def levels(self, side: str) -> list[tuple[Decimal, Decimal]]:
        """Aggregated (price, count) bid levels, ascending by price like Kalshi's orderbook."""
        totals: dict[Decimal, Decimal] = {}
        for e in self.bids(side):
            totals[e.price] = totals.get(e.price, ZERO) + e.count
        return sorted(totals.items())

    def best_size(self, side: str) -> Decimal:
        """Contracts bid at the best price on `side` (zero on an empty side)."""
        levels = self.levels(side)
        return levels[-1][1] if levels else ZERO
