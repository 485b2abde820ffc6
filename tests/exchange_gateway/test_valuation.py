"""Valuing holdings from marks: exact Decimal, the NO complement on Kalshi, explicit fallbacks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.exchange_gateway.domain.valuation import value_position
from shared.contracts import ExternalPosition, Mark

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def position(venue="kalshi", outcome="yes", quantity="900", cost_basis="265.50", market_value=None, instrument="T"):
    return ExternalPosition(
        venue=venue, account="a", instrument_id=instrument, outcome=outcome, quantity=Decimal(quantity),
        cost_basis=Decimal(cost_basis) if cost_basis is not None else None,
        market_value=Decimal(market_value) if market_value is not None else None,
    )


def mark(venue="kalshi", bid=None, ask=None, mid=None, last=None, instrument="T"):
    d = lambda v: Decimal(v) if v is not None else None  # noqa: E731
    return Mark(venue=venue, instrument_id=instrument, best_bid=d(bid), best_ask=d(ask), mid=d(mid), last=d(last),
                as_of=AS_OF)


def test_kalshi_yes_is_valued_at_the_mid_and_no_at_its_complement():
    yes = value_position(position(outcome="yes", quantity="900", cost_basis="265.50"), mark(bid="0.29", ask="0.31", mid="0.30"))
    assert (yes.mark_price, yes.market_value, yes.unrealized_pnl) == (Decimal("0.30"), Decimal("270.00"), Decimal("4.50"))
    assert yes.valuation_source == "mark" and yes.mark_as_of == AS_OF

    no = value_position(position(outcome="no", quantity="150", cost_basis="120.00"), mark(bid="0.18", ask="0.20", mid="0.19"))
    assert (no.mark_price, no.market_value, no.unrealized_pnl) == (Decimal("0.81"), Decimal("121.50"), Decimal("1.50"))


def test_polymarket_token_is_valued_at_its_own_book_even_for_the_no_outcome():
    held = position(venue="polymarket", outcome="no", quantity="10.5", cost_basis="4", market_value="5.00")
    valued = value_position(held, mark(venue="polymarket", bid="0.44", ask="0.46", mid="0.45"))
    assert (valued.mark_price, valued.market_value, valued.unrealized_pnl) == (Decimal("0.45"), Decimal("4.725"), Decimal("0.725"))
    assert valued.valuation_source == "mark"


def test_mid_is_computed_from_both_sides_when_the_mark_has_none():
    valued = value_position(position(quantity="3", cost_basis="1"), mark(bid="0.40", ask="0.45"))
    assert valued.mark_price == Decimal("0.425") and valued.market_value == Decimal("1.275")


def test_without_a_mid_the_venues_own_value_then_the_last_trade_then_nothing():
    # Polymarket: a resolved market has no book; the Data API's currentValue (1 or 0 a share) stands.
    resolved = value_position(position(venue="polymarket", quantity="20", cost_basis="9", market_value="20"),
                              mark(venue="polymarket", last="0.55"))
    assert resolved.valuation_source == "venue" and resolved.market_value == Decimal("20")
    assert resolved.unrealized_pnl == Decimal("11") and resolved.mark_price == Decimal("1")

    one_sided = value_position(position(outcome="no", quantity="10", cost_basis="5"), mark(bid="0.40", last="0.42"))
    assert (one_sided.mark_price, one_sided.market_value, one_sided.valuation_source) == (Decimal("0.58"), Decimal("5.80"), "mark")

    unmarked = value_position(position(quantity="10", cost_basis="5"), None)
    assert unmarked.market_value is None and unmarked.unrealized_pnl is None and unmarked.valuation_source is None

    no_cost = value_position(position(cost_basis=None, quantity="2"), mark(mid="0.5"))
    assert no_cost.market_value == Decimal("1.0") and no_cost.unrealized_pnl is None


def test_a_mark_of_another_instrument_is_refused():
    with pytest.raises(ValueError, match="cannot value"):
        value_position(position(instrument="A"), mark(instrument="B", mid="0.5"))
    with pytest.raises(ValueError, match="cannot value"):
        value_position(position(venue="kalshi"), mark(venue="polymarket", mid="0.5"))


prices = st.decimals(min_value=0, max_value=1, places=4)
quantities = st.decimals(min_value=0, max_value=1_000_000, places=6)
costs = st.decimals(min_value=0, max_value=1_000_000, places=6)


@given(quantity=quantities, cost=costs, bid=prices, ask=prices)
def test_kalshi_yes_plus_no_of_one_market_is_worth_exactly_one_dollar_a_contract(quantity, cost, bid, ask):
    bid, ask = min(bid, ask), max(bid, ask)
    book = mark(bid=str(bid), ask=str(ask))
    yes = value_position(position(outcome="yes", quantity=str(quantity), cost_basis=str(cost)), book)
    no = value_position(position(outcome="no", quantity=str(quantity), cost_basis=str(cost)), book)
    assert yes.market_value + no.market_value == quantity
    assert Decimal(0) <= yes.market_value <= quantity
    assert yes.unrealized_pnl == yes.market_value - cost and no.unrealized_pnl == no.market_value - cost


@given(quantity=quantities, cost=costs, low=prices, high=prices, outcome=st.sampled_from(["yes", "no"]))
def test_value_is_exact_and_moves_with_the_price_of_the_held_side(quantity, cost, low, high, outcome):
    low, high = min(low, high), max(low, high)
    held = position(outcome=outcome, quantity=str(quantity), cost_basis=str(cost))
    at_low, at_high = value_position(held, mark(mid=str(low))), value_position(held, mark(mid=str(high)))
    assert at_low.market_value == quantity * at_low.mark_price  # exact: nothing rounded
    if outcome == "yes":
        assert at_low.market_value <= at_high.market_value
    else:
        assert at_low.market_value >= at_high.market_value
    # Valuation only adds: the venue's facts are untouched.
    assert at_low.model_dump(include={"quantity", "cost_basis", "outcome", "instrument_id"}) == held.model_dump(
        include={"quantity", "cost_basis", "outcome", "instrument_id"})
