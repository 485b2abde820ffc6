"""A Kalshi account's money and positions, kept exact.

A position is signed (+YES, -NO) and held as FIFO lots of one side, each lot with the price
paid for that side; FIFO keeps cost basis and realized PnL exact in Decimal (no averages to
divide). Buying the opposite side nets pairs immediately, as Kalshi does: a YES+NO pair is
worth exactly $1, so closing k contracts returns k dollars and realizes 1 - paid - lot price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from services.venue_sim.domain.kalshi_units import ONE, ZERO


@dataclass
class Lot:
    count: Decimal
    price: Decimal  # price paid per contract of the held side


@dataclass
class Position:
    ticker: str
    event_ticker: str
    side: str = "yes"  # side of the lots currently held
    lots: list[Lot] = field(default_factory=list)
    total_traded: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    last_updated_ms: int = 0
    settled: bool = False

    @property
    def held(self) -> Decimal:
        return sum((lot.count for lot in self.lots), ZERO)

    @property
    def signed(self) -> Decimal:
        return self.held if self.side == "yes" else -self.held

    @property
    def exposure(self) -> Decimal:
        return sum((lot.count * lot.price for lot in self.lots), ZERO)

    def buy(self, side: str, count: Decimal, price: Decimal, fee: Decimal, now_ms: int) -> Decimal:
        """Buy `count` contracts of `side` at `price` (that side's price). Returns the cash delta."""
        cash = -(count * price) - fee
        self.total_traded += count * price
        self.fees_paid += fee
        self.last_updated_ms = now_ms
        remaining = count
        if self.lots and self.side != side:
            while remaining > 0 and self.lots:
                lot = self.lots[0]
                closed = min(remaining, lot.count)
                cash += closed  # a YES+NO pair redeems for $1
                self.realized_pnl += closed * (ONE - price - lot.price)
                lot.count -= closed
                remaining -= closed
                if lot.count == 0:
                    self.lots.pop(0)
        if remaining > 0:
            if not self.lots:
                self.side = side
            self.lots.append(Lot(remaining, price))
        return cash

    def settle(self, result: str, now_ms: int) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """Pay $1 per winning contract. Returns (payout, yes_count, no_count, yes_cost, no_cost)."""
        held, cost = self.held, self.exposure
        yes_count, no_count = (held, ZERO) if self.side == "yes" else (ZERO, held)
        yes_cost, no_cost = (cost, ZERO) if self.side == "yes" else (ZERO, cost)
        payout = held if self.side == result else ZERO
        self.realized_pnl += payout - cost
        self.lots = []
        self.settled = True
        self.last_updated_ms = now_ms
        return payout, yes_count, no_count, yes_cost, no_cost
