"""Exact money, price and quantity types.

Every venue number becomes a `Decimal` here and nowhere else: Kalshi sends fixed-point strings
(`*_dollars`, `*_fp`) plus a few integer-cent fields, Polymarket sends JSON numbers that must be
parsed without ever passing through a binary float. Floats are refused outright, because a
float that reached this point has already lost precision somewhere upstream.
"""

from __future__ import annotations

import json
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
ONE = Decimal(1)
ZERO = Decimal(0)


class MoneyParseError(ValueError):
    """A venue or client sent something that is not an exact decimal number."""


def to_decimal(value: Any, *, field: str = "value") -> Decimal:
    """Convert a wire value to Decimal exactly; reject floats, NaN, infinities and junk."""
    if isinstance(value, bool):
        raise MoneyParseError(f"{field}: booleans are not numbers")
    if isinstance(value, float):
        raise MoneyParseError(f"{field}: float {value!r} refused; send a decimal string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyParseError(f"{field}: empty string is not a number")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyParseError(f"{field}: {value!r} is not a decimal number") from None
    else:
        raise MoneyParseError(f"{field}: {type(value).__name__} is not a decimal number")
    if not result.is_finite():
        raise MoneyParseError(f"{field}: {value!r} is not finite")
    return result


def kalshi_dollars(value: Any, *, field: str = "dollars") -> Decimal:
    """A Kalshi `*_dollars` field: a decimal string in dollars (up to 6 decimals)."""
    if not isinstance(value, str):
        raise MoneyParseError(f"{field}: Kalshi sends dollars as a string, got {type(value).__name__}")
    return to_decimal(value, field=field)


def kalshi_fp(value: Any, *, field: str = "count_fp") -> Decimal:
    """A Kalshi `*_fp` count: a decimal string (contracts may be fractional on some markets)."""
    if not isinstance(value, str):
        raise MoneyParseError(f"{field}: Kalshi sends counts as a string, got {type(value).__name__}")
    return to_decimal(value, field=field)


def cents_to_dollars(value: Any, *, field: str = "cents") -> Decimal:
    """Kalshi's remaining integer-cent fields (`balance`, `portfolio_value`, `revenue`)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyParseError(f"{field}: expected integer cents, got {value!r}")
    return (Decimal(value) / 100).quantize(CENT)


def parse_venue_json(text: str | bytes) -> Any:
    """Parse a venue JSON body so every number with a fraction becomes a Decimal.

    `parse_float=Decimal` hands the original digits to Decimal, so `0.1` stays `0.1`; integers
    stay `int` and `to_decimal` accepts them.
    """
    return json.loads(text, parse_float=Decimal)


def format_dollars(amount: Decimal, places: int = 4) -> str:
    """Render dollars the way Kalshi requests want them (2-4 decimals), never rounding silently."""
    quantum = Decimal(1).scaleb(-places)
    rendered = amount.quantize(quantum)
    if rendered != amount:
        raise MoneyParseError(f"{amount} has more than {places} decimals")
    return str(rendered)


def round_fee_up(amount: Decimal) -> Decimal:
    """Venue fees are charged rounded up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def round_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _decimal_validator(field: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None):
    def validate(value: Any) -> Decimal:
        result = to_decimal(value, field=field)
        if minimum is not None and result < minimum:
            raise MoneyParseError(f"{field}: {result} is below {minimum}")
        if maximum is not None and result > maximum:
            raise MoneyParseError(f"{field}: {result} is above {maximum}")
        return result

    return validate


def _decimal_type(field: str, description: str, **bounds: Decimal) -> Any:
    return Annotated[
        Decimal,
        BeforeValidator(_decimal_validator(field, **bounds)),
        # Decimal strings on the wire: a JSON number would be read back as float by most clients.
        # Positional notation always: str() would send 0E-14 or 1E+2, which the schema (and many
        # clients) refuse.
        PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
        WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": description}),
    ]


# A binary-outcome contract price in dollars: the probability-like 0..1 range both venues use.
Price = _decimal_type("price", "price in USD per contract/share, 0..1, decimal string", minimum=ZERO, maximum=ONE)
# Contracts (Kalshi) or shares (Polymarket); signed where a position can be short/NO.
Quantity = _decimal_type("quantity", "contracts or shares, decimal string")
# A USD amount: balances, cost basis, PnL, fees.
Money = _decimal_type("money", "USD amount, decimal string")
