"""Kalshi fixed-point wire units: dollar strings, count strings, request validation.

Since 2026-03-12 Kalshi sends money as dollar strings with 4 decimals (up to 6 when needed) and
counts as strings with 2 decimals. Requests carry prices with 2-4 decimals and counts with up
to 2. Everything here is Decimal; floats never appear.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
_FOUR = Decimal("0.0001")
_SIX = Decimal("0.000001")
_PRICE_RE = re.compile(r"^(0|1)?\.\d{1,4}$|^[01]$")
_COUNT_RE = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


class KalshiError(Exception):
    """A refusal the API reports as `{"error": {code, message, details, service}}`."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(f"{status} {code}: {details or message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def dollars(value: Decimal) -> str:
    """4 decimals, or 6 when the value carries sub-centicent precision."""
    four = value.quantize(_FOUR)
    if four == value:
        return f"{four:f}"
    return f"{value.quantize(_SIX, rounding=ROUND_FLOOR):f}"


def count_fp(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def cents(value: Decimal) -> int:
    """Integer cents (Kalshi still sends balance/portfolio_value/revenue this way)."""
    return int((value / CENT).to_integral_value(rounding=ROUND_FLOOR))


def ceil_cent(value: Decimal) -> Decimal:
    return (value / CENT).to_integral_value(rounding=ROUND_CEILING) * CENT


def taker_fee(count: Decimal, yes_price: Decimal, rate: Decimal) -> Decimal:
    """Kalshi's trading fee: round_up_to_cent(rate * C * P * (1 - P))."""
    return ceil_cent(rate * count * yes_price * (ONE - yes_price))


@lru_cache(maxsize=16_384)
def iso(ms: int) -> str:
    """"2026-03-12T15:04:05.123Z". Cached: a market listing writes the same few times again and again."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def parse_price(raw: object, tick: Decimal) -> Decimal:
    if not isinstance(raw, str) or not _PRICE_RE.match(raw):
        raise KalshiError(400, "invalid_order", "invalid order", f"price must be a dollar string like \"0.5600\", got {raw!r}")
    price = Decimal(raw)
    if not ZERO < price < ONE:
        raise KalshiError(400, "invalid_order", "invalid order", f"price {raw} must be strictly between 0 and 1")
    if price % tick != 0:
        raise KalshiError(400, "invalid_order", "invalid order", f"price {raw} is not on the market's {tick} tick")
    return price


def parse_count(raw: object, fractional: bool) -> Decimal:
    if not isinstance(raw, str) or not _COUNT_RE.match(raw):
        raise KalshiError(400, "invalid_order", "invalid order", f"count must be a decimal string like \"10.00\", got {raw!r}")
    count = Decimal(raw)
    if count <= 0:
        raise KalshiError(400, "invalid_order", "invalid order", "count must be positive")
    if not fractional and count != count.to_integral_value():
        raise KalshiError(400, "invalid_order", "invalid order", "this market does not allow fractional contracts")
    return count
