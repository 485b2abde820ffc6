"""Exact fixed-point and position arithmetic for the simulated Polymarket venue.

On-chain, USDC and outcome shares both carry 6 decimals, so a signed order's makerAmount and
takerAmount are integers in millionths. Everything here is Decimal or int; never float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

UNIT = Decimal(1_000_000)  # base units per share / per USDC
MICRO = Decimal("0.000001")
ZERO = Decimal(0)
# The Data API reports avgPrice with six decimals; a position's average is kept at that grain.
AVG_PRICE_QUANTUM = MICRO
PERCENT_QUANTUM = Decimal("0.0001")
ALLOWED_TICKS = frozenset(Decimal(t) for t in ("0.1", "0.01", "0.001", "0.0001"))


def from_units(units: int) -> Decimal:
    """Base units (millionths) to a Decimal amount, exactly."""
    return Decimal(units) / UNIT


def to_units(amount: Decimal) -> int:
    """A Decimal amount to base units; refuses anything finer than a millionth."""
    scaled = amount * UNIT
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than 6 decimals")
    return int(scaled)


def order_price_and_size(side: str, maker_amount: int, taker_amount: int) -> tuple[Decimal, Decimal]:
    """(price per share, size in shares) of a signed order.

    BUY: the maker offers USDC (makerAmount) for shares (takerAmount).
    SELL: the maker offers shares (makerAmount) for USDC (takerAmount).
    """
    if maker_amount <= 0 or taker_amount <= 0:
        raise ValueError("amounts must be positive")
    usdc, shares = (maker_amount, taker_amount) if side == "BUY" else (taker_amount, maker_amount)
    return Decimal(usdc) / Decimal(shares), from_units(shares)


def order_amounts(side: str, price: Decimal, size: Decimal) -> tuple[int, int]:
    """(makerAmount, takerAmount) for a limit order of `size` shares at `price`; exact or error."""
    shares = to_units(size)
    usdc = to_units(price * size)
    return (usdc, shares) if side == "BUY" else (shares, usdc)


def is_on_tick(price: Decimal, tick: Decimal) -> bool:
    return tick <= price <= 1 - tick and price % tick == 0


@dataclass
class PositionState:
    """One outcome token's holding, folded from fills (and transfers) in time order."""

    size: Decimal = ZERO
    avg_price: Decimal = ZERO
    total_bought: Decimal = ZERO
    realized_pnl: Decimal = ZERO

    def apply(self, side: str, size: Decimal, price: Decimal) -> None:
        if side == "BUY":
            new_size = self.size + size
            cost = self.avg_price * self.size + price * size
            self.avg_price = (cost / new_size).quantize(AVG_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
            self.size = new_size
            self.total_bought += size
            return
        if size > self.size:
            raise ValueError(f"cannot sell {size}; only {self.size} held")
        # Selling realises PnL against the average entry and leaves the average unchanged.
        self.realized_pnl += (price - self.avg_price) * size
        self.size -= size
        if self.size == 0:
            self.avg_price = ZERO

    def transfer_in(self, size: Decimal, avg_price: Decimal) -> None:
        """Shares received without a trade, valued at `avg_price`: blended into the average, but
        not a purchase (`total_bought` unchanged)."""
        new_size = self.size + size
        cost = self.avg_price * self.size + avg_price * size
        self.avg_price = (cost / new_size).quantize(AVG_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
        self.size = new_size

    def transfer_out(self, size: Decimal) -> None:
        """Shares sent away without a trade: nothing realised, the rest keep their average."""
        if size > self.size:
            raise ValueError(f"cannot transfer out {size}; only {self.size} held")
        self.size -= size
        if self.size == 0:
            self.avg_price = ZERO

    @property
    def initial_value(self) -> Decimal:
        return self.size * self.avg_price


def percent(numerator: Decimal, denominator: Decimal) -> Decimal:
    if denominator == 0:
        return ZERO
    return (numerator / denominator * 100).quantize(PERCENT_QUANTUM, rounding=ROUND_HALF_EVEN)
