"""Kalshi payload normalization: unit cases and property tests for the position/fill math."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.exchange_gateway.domain import kalshi_normalize as n
from services.exchange_gateway.domain.kalshi_normalize import AVG_PRICE_QUANTUM, KalshiPayloadError
from shared.contracts import deterministic_id

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _position(signed: str, exposure: str, **extra) -> dict:
    return {"ticker": "KXT-1", "position_fp": signed, "market_exposure_dollars": exposure,
            "realized_pnl_dollars": "-1.2500", "fees_paid_dollars": "0.0700", "total_traded_dollars": "9.0000", **extra}


def _fill(**extra) -> dict:
    return {"fill_id": "f-1", "trade_id": "f-1", "order_id": "o-1", "ticker": "KXT-1", "outcome_side": "yes",
            "book_side": "ask", "side": "yes", "action": "sell", "count_fp": "3.50", "yes_price_dollars": "0.4300",
            "no_price_dollars": "0.5700", "is_taker": False, "fee_cost": "0.0200",
            "created_time": "2026-11-20T10:00:00.123Z", "ts": 1795168800, **extra}


def test_long_and_short_positions() -> None:
    long = n.position(_position("10.00", "4.3000", title="Will it?"), "acct")
    assert (long.outcome, long.quantity, long.avg_price, long.cost_basis) == ("yes", Decimal("10"), Decimal("0.43"), Decimal("4.3"))
    assert (long.realized_pnl, long.fees, long.title, long.account) == (Decimal("-1.25"), Decimal("0.07"), "Will it?", "acct")
    short = n.position(_position("-3.00", "1.0000"), "acct")
    assert (short.outcome, short.quantity, short.cost_basis) == ("no", Decimal("3"), Decimal("1"))
    assert short.avg_price == Decimal("0.333333")
    assert short.raw["position_fp"] == "-3.00"
    flat = n.position(_position("0.00", "0.0000"), "acct")
    assert (flat.quantity, flat.avg_price) == (Decimal(0), None)


@pytest.mark.parametrize(("payload", "field"), [
    (_position("ten", "1.0"), "position_fp"),
    (_position("1.00", 1.5), "market_exposure_dollars"),
    ({**_position("1.00", "0.50"), "ticker": ""}, "ticker"),
    ({"ticker": "KXT-1", "position_fp": "1.00"}, "market_exposure_dollars"),
    (_position("1.00", "5.0000"), "market_exposure_dollars"),  # avg price 5 > $1: impossible
])
def test_malformed_positions_name_venue_and_field(payload: dict, field: str) -> None:
    with pytest.raises(KalshiPayloadError, match=rf"^kalshi: malformed market position: field '{field}'"):
        n.position(payload, "acct")


def test_fill_mapping_and_deterministic_id() -> None:
    f = n.fill(_fill(), "acct")
    assert (f.outcome, f.side, f.quantity, f.price, f.fee, f.is_taker) == ("yes", "sell", Decimal("3.5"), Decimal("0.43"), Decimal("0.02"), False)
    assert f.event_id == deterministic_id("kalshi", "f-1", "confirmed") == n.fill(_fill(), "other").event_id
    assert f.executed_at == datetime(2026, 11, 20, 10, 0, 0, 123000, tzinfo=UTC) and f.status == "confirmed"
    assert n.fill(_fill(book_side="bid", action="buy"), "a").side == "buy"
    # Legacy fields alone: buying NO is selling YES on Kalshi's one book.
    legacy = _fill(side="no", action="buy")
    del legacy["book_side"]
    assert n.fill(legacy, "a").side == "sell"
    with pytest.raises(KalshiPayloadError, match="book_side.*contradicts"):
        n.fill(_fill(book_side="bid"), "a")
    with pytest.raises(KalshiPayloadError, match="field 'count_fp'"):
        n.fill(_fill(count_fp=None), "a")
    with pytest.raises(KalshiPayloadError, match="field 'created_time'"):
        n.fill(_fill(created_time="yesterday"), "a")


def test_balance_prefers_exact_dollars_and_converts_cents() -> None:
    b = n.balance({"balance": 885574, "balance_dollars": "8855.7412", "portfolio_value": 104575, "updated_ts": 1795168800}, "a", NOW)
    assert (b.cash, b.portfolio_value) == (Decimal("8855.7412"), Decimal("1045.75"))
    assert b.as_of == datetime.fromtimestamp(1795168800, tz=UTC)
    assert n.balance({"balance": 12345}, "a", NOW).cash == Decimal("123.45")
    with pytest.raises(KalshiPayloadError, match="field 'balance'"):
        n.balance({"balance": "123.45"}, "a", NOW)
    with pytest.raises(KalshiPayloadError, match="field 'balance'.*exceeds"):
        n.balance({"balance": 99999, "balance_dollars": "1.0000"}, "a", NOW)


def test_order_statuses() -> None:
    base = {"order_id": "o", "client_order_id": "c", "ticker": "T", "book_side": "bid", "yes_price_dollars": "0.6000",
            "initial_count_fp": "50.00", "fill_count_fp": "0.00", "remaining_count_fp": "50.00",
            "created_time": "2026-11-20T10:00:00Z", "last_update_time": "2026-11-20T10:00:01Z"}
    assert n.order({**base, "status": "resting"}).status == "open"
    assert n.order({**base, "status": "resting", "fill_count_fp": "5.00", "remaining_count_fp": "45.00"}).status == "partially_filled"
    assert n.order({**base, "status": "executed"}).status == "filled"
    assert n.order({**base, "status": "weird"}).status == "unknown"
    assert n.order({**base, "status": "canceled"}).limit_price == Decimal("0.6")


def test_mark_from_bid_only_book() -> None:
    book = {"orderbook_fp": {"yes_dollars": [["0.1500", "10.00"], ["0.1600", "5.00"]], "no_dollars": [["0.8200", "7.00"]]}}
    m = n.mark("T", book, {"last_price_dollars": "0.1400"}, NOW)
    assert (m.best_bid, m.best_ask, m.mid, m.last) == (Decimal("0.16"), Decimal("0.18"), Decimal("0.17"), Decimal("0.14"))
    empty = n.mark("T", {"orderbook_fp": {"yes_dollars": [], "no_dollars": None}}, {"last_price_dollars": "0.0000"}, NOW)
    assert (empty.best_bid, empty.best_ask, empty.mid, empty.last) == (None, None, None, None)
    with pytest.raises(KalshiPayloadError, match="orderbook_fp.yes_dollars"):
        n.mark("T", {"orderbook_fp": {"yes_dollars": [["0.1"]]}}, None, NOW)


counts = st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=2, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.9999"), places=4)


@settings(max_examples=300, deadline=None)
@given(signed=counts, price=prices)
def test_position_math_properties(signed: Decimal, price: Decimal) -> None:
    exposure = (abs(signed) * price).quantize(Decimal("0.000001"))
    p = n.position(_position(f"{signed:.2f}", f"{exposure:f}"), "a")
    # Sign mapping: the outcome carries the sign, the quantity is its magnitude.
    assert p.quantity == abs(signed) and p.quantity >= 0
    assert p.outcome == ("no" if signed < 0 else "yes")
    assert p.cost_basis == exposure
    if signed == 0:
        assert p.avg_price is None
    else:
        # avg × |qty| reproduces the exposure within the avg price's rounding.
        assert abs(p.avg_price * p.quantity - exposure) <= p.quantity * AVG_PRICE_QUANTUM / 2
        assert Decimal(0) <= p.avg_price <= Decimal(1)


@settings(max_examples=200, deadline=None)
@given(count=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2), price=prices,
       side=st.sampled_from(["yes", "no"]), action=st.sampled_from(["buy", "sell"]))
def test_fill_side_properties(count: Decimal, price: Decimal, side: str, action: str) -> None:
    buys_yes = (side == "yes") == (action == "buy")
    payload = _fill(count_fp=f"{count:.2f}", yes_price_dollars=f"{price:.4f}", side=side, action=action,
                    book_side="bid" if buys_yes else "ask")
    f = n.fill(payload, "a")
    assert (f.outcome, f.side) == ("yes", "buy" if buys_yes else "sell")
    assert f.quantity == count and f.price == price
