import json
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from shared.money import (
    Money,
    Quantity,
    MoneyParseError,
    cents_to_dollars,
    format_dollars,
    kalshi_dollars,
    kalshi_fp,
    parse_venue_json,
    round_fee_up,
    to_decimal,
)

decimals = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=6, allow_nan=False)


def test_float_is_refused_everywhere():
    for parser in (to_decimal, kalshi_dollars, kalshi_fp):
        with pytest.raises(MoneyParseError):
            parser(0.1)


@pytest.mark.parametrize("bad", ["", "abc", "NaN", "Infinity", None, True, [], "1e"])
def test_junk_is_refused(bad):
    with pytest.raises(MoneyParseError):
        to_decimal(bad)


def test_kalshi_fields_must_be_strings():
    assert kalshi_dollars("0.5600") == Decimal("0.56")
    assert kalshi_fp("10.50") == Decimal("10.5")
    with pytest.raises(MoneyParseError):
        kalshi_dollars(56)


def test_integer_cents_convert_exactly():
    assert cents_to_dollars(123456) == Decimal("1234.56")
    assert cents_to_dollars(-5) == Decimal("-0.05")
    with pytest.raises(MoneyParseError):
        cents_to_dollars("100")


def test_polymarket_json_numbers_never_pass_through_float():
    body = parse_venue_json('[{"size": 0.1, "avgPrice": 0.30000000000000004, "n": 3}]')
    assert body[0]["size"] == Decimal("0.1")
    assert body[0]["avgPrice"] == Decimal("0.30000000000000004")
    assert to_decimal(body[0]["n"]) == Decimal(3)


@given(decimals)
def test_string_round_trip_is_exact(value):
    assert to_decimal(str(value)) == value
    assert parse_venue_json(f'{{"v": {value:f}}}')["v"] == value if "." in f"{value:f}" else True


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_cents_to_dollars_round_trips(cents):
    assert cents_to_dollars(cents) * 100 == cents


@given(decimals)
def test_fee_rounding_up_never_undercharges_by_more_than_a_cent(amount):
    fee = round_fee_up(amount)
    assert fee >= amount
    assert fee - amount < Decimal("0.01")
    assert fee == fee.quantize(Decimal("0.01"))


@given(st.decimals(min_value=0, max_value=1, places=4))
def test_format_dollars_is_lossless_within_four_places(price):
    assert Decimal(format_dollars(price)) == price


def test_format_dollars_refuses_to_round_silently():
    with pytest.raises(MoneyParseError):
        format_dollars(Decimal("0.123456"))


class _Amounts(BaseModel):
    money: Money
    quantity: Quantity


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-(10**12), max_value=10**12))
def test_amounts_travel_in_positional_notation_and_round_trip_exactly(amount: Decimal) -> None:
    wire = json.loads(_Amounts(money=amount, quantity=amount).model_dump_json())
    assert re.fullmatch(r"-?\d+(\.\d+)?", wire["money"]), wire  # never 0E-14 or 1E+2
    assert _Amounts.model_validate(wire).money == amount


def test_zero_with_an_exponent_is_sent_as_plain_digits() -> None:
    wire = json.loads(_Amounts(money=Decimal("0E-14"), quantity=Decimal("1E+2")).model_dump_json())
    assert wire == {"money": "0.00000000000000", "quantity": "100"}
