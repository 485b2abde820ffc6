"""Kalshi payload normalization: unit cases and property tests for the position/fill math."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.exchange_gateway.domain import kalshi_normalize as n
from services.exchange_gateway.domain.kalshi_normalize import AVG_PRICE_QUANTUM, KalshiDirectionConflict, KalshiPayloadError
from shared.contracts import deterministic_id

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _position(signed: str, exposure: str, **extra) -> dict:
    return {"ticker": "KXT-1", "position_fp": signed, "market_exposure_dollars": exposure,
            "realized_pnl_dollars": "-1.2500", "fees_paid_dollars": "0.0700", "total_traded_dollars": "9.0000", **extra}


def _fill(**extra) -> dict:
    return {"fill_id": "f-1", "trade_id": "f-1", "order_id": "o-1", "ticker": "KXT-1", "outcome_side": "no",
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
    with pytest.raises(KalshiPayloadError, match="field 'count_fp'"):
        n.fill(_fill(count_fp=None), "a")
    with pytest.raises(KalshiPayloadError, match="field 'created_time'"):
        n.fill(_fill(created_time="yesterday"), "a")


def _direction(**fields: str | None) -> dict:
    """A fill carrying exactly the given direction fields (None = absent)."""
    payload = _fill()
    for name in ("outcome_side", "book_side", "side", "action"):
        payload.pop(name)
    return {**payload, **{k: v for k, v in fields.items() if v is not None}}


# The four legacy combinations: buy-yes ≡ sell-no → yes/bid (buys YES); buy-no ≡ sell-yes → no/ask.
LEGACY = [("yes", "buy", "bid", "yes"), ("no", "sell", "bid", "yes"), ("no", "buy", "ask", "no"), ("yes", "sell", "ask", "no")]


@pytest.mark.parametrize(("side", "action", "book_side", "outcome_side"), LEGACY)
def test_legacy_pair_alone_and_with_agreeing_new_fields(side: str, action: str, book_side: str, outcome_side: str) -> None:
    yes_side = "buy" if book_side == "bid" else "sell"
    for fields in ({}, {"book_side": book_side}, {"outcome_side": outcome_side},
                   {"book_side": book_side, "outcome_side": outcome_side}):
        f = n.fill(_direction(side=side, action=action, **fields), "a")
        # Normalized in YES terms whatever fields said it, so positions net exactly as before.
        assert (f.outcome, f.side) == ("yes", yes_side), fields


@pytest.mark.parametrize(("field", "value", "yes_side"), [
    ("outcome_side", "yes", "buy"), ("outcome_side", "no", "sell"), ("book_side", "bid", "buy"), ("book_side", "ask", "sell"),
])
def test_either_new_field_alone_decides(field: str, value: str, yes_side: str) -> None:
    assert n.fill(_direction(**{field: value}), "a").side == yes_side
    order = {"order_id": "o", "ticker": "T", "status": "resting", field: value, "fill_count_fp": "0.00",
             "remaining_count_fp": "1.00", "created_time": "2026-11-20T10:00:00Z"}
    assert n.order(order).side == yes_side


def _says(book_side: str) -> list[dict]:
    """Every single-field way of saying `book_side`."""
    outcome = "yes" if book_side == "bid" else "no"
    legacy = [(s, a) for s, a, b, _ in LEGACY if b == book_side]
    return [{"book_side": book_side}, {"outcome_side": outcome}] + [{"side": s, "action": a} for s, a in legacy]


CONTRADICTIONS = [
    (one, other)
    for one in _says("bid")
    for other in _says("ask")
    if not set(one) & set(other)  # a payload holds each field once
]


@pytest.mark.parametrize(("bid_fields", "ask_fields"), CONTRADICTIONS)
def test_every_contradiction_is_rejected_naming_the_fields(bid_fields: dict, ask_fields: dict) -> None:
    payload = _direction(**bid_fields, **ask_fields)
    with pytest.raises(KalshiDirectionConflict) as err:
        n.fill(payload, "a")
    message = str(err.value)
    assert message.startswith("kalshi: malformed fill: fields ") and "contradict" in message
    for name in (*bid_fields, *ask_fields):
        assert name in message and repr(payload[name]) in message
    order = {"order_id": "o", "ticker": "T", "status": "resting", "fill_count_fp": "0.00", "remaining_count_fp": "1.00",
             "created_time": "2026-11-20T10:00:00Z", **bid_fields, **ask_fields}
    with pytest.raises(KalshiDirectionConflict, match="^kalshi: malformed order: fields"):
        n.order(order)


def test_direction_missing_or_unreadable_is_rejected() -> None:
    with pytest.raises(KalshiPayloadError, match="field 'outcome_side' is missing, and so are book_side"):
        n.fill(_direction(), "a")
    with pytest.raises(KalshiPayloadError, match="field 'outcome_side' must be 'yes' or 'no', got 'maybe'"):
        n.fill(_direction(outcome_side="maybe", book_side="bid"), "a")
    with pytest.raises(KalshiPayloadError, match="field 'book_side' must be 'bid' or 'ask'"):
        n.fill(_direction(book_side="buy"), "a")
    with pytest.raises(KalshiPayloadError, match="field 'action' must be 'buy' or 'sell'"):
        n.fill(_direction(book_side="bid", side="yes", action="hold"), "a")
    # Half a legacy pair says nothing on its own; the new fields still decide.
    assert n.fill(_direction(book_side="ask", side="yes"), "a").side == "sell"
    with pytest.raises(KalshiPayloadError, match="is missing"):
        n.fill(_direction(action="buy"), "a")


def test_settlement_row() -> None:
    row = {"ticker": "KXCPI-1", "event_ticker": "KXCPI", "market_result": "no", "yes_count_fp": "120.00",
           "yes_total_cost_dollars": "40.8000", "no_count_fp": "0.00", "no_total_cost_dollars": "0.0000",
           "revenue": 0, "value": 0, "fee_cost": "0.1200", "settled_time": "2026-11-01T12:00:00Z"}
    s = n.settlement(row, "acct")
    assert (s.venue, s.account, s.instrument_id, s.result, s.value) == ("kalshi", "acct", "KXCPI-1", "no", Decimal(0))
    assert (s.yes_count, s.yes_cost, s.no_count, s.no_cost) == (Decimal(120), Decimal("40.8"), Decimal(0), Decimal(0))
    assert (s.revenue, s.fees, s.settled_at) == (Decimal(0), Decimal("0.12"), datetime(2026, 11, 1, 12, tzinfo=UTC))
    assert s.event_id == deterministic_id("kalshi", "settlement", "acct", "KXCPI-1")
    assert s.event_id == n.settlement({**row, "settled_time": "2026-11-02T00:00:00Z"}, "acct").event_id
    won = n.settlement({**row, "market_result": "yes", "revenue": 12000, "value": 100}, "acct")
    assert (won.revenue, won.value) == (Decimal("120.00"), Decimal(1))
    assert n.settlement({k: v for k, v in row.items() if k not in ("value", "fee_cost")}, "a").fees == 0
    with pytest.raises(KalshiPayloadError, match="field 'market_result' must be one of"):
        n.settlement({**row, "market_result": "maybe"}, "a")
    with pytest.raises(KalshiPayloadError, match="field 'revenue' is not integer cents"):
        n.settlement({**row, "revenue": "12.00"}, "a")
    with pytest.raises(KalshiPayloadError, match="field 'value'"):
        n.settlement({**row, "value": 250}, "a")  # $2.50 per contract: impossible


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


def test_mark_from_a_markets_top_of_book() -> None:
    market = {"ticker": "T", "yes_bid_dollars": "0.1600", "yes_ask_dollars": "0.1800", "last_price_dollars": "0.1400"}
    m = n.mark(market, NOW)
    assert (m.instrument_id, m.best_bid, m.best_ask, m.mid, m.last) == (
        "T", Decimal("0.16"), Decimal("0.18"), Decimal("0.17"), Decimal("0.14"))
    assert m.event_id == n.mark(dict(market), NOW).event_id != n.mark(market, NOW.replace(hour=1)).event_id
    # No level on a side: Kalshi sends a bid of 0 and an ask of 1 (an ask of 0, or a missing field,
    # is none too); a market that never traded has a last price of 0.
    for bid, ask in (("0.0000", "1.0000"), ("0.0000", "0.0000"), (None, None)):
        empty = n.mark({"ticker": "T", "yes_bid_dollars": bid, "yes_ask_dollars": ask, "last_price_dollars": "0"}, NOW)
        assert (empty.best_bid, empty.best_ask, empty.mid, empty.last) == (None, None, None, None)
    one_sided = n.mark({**market, "yes_ask_dollars": "1.0000"}, NOW)
    assert (one_sided.best_bid, one_sided.best_ask, one_sided.mid) == (Decimal("0.16"), None, None)
    with pytest.raises(KalshiPayloadError, match="yes_bid_dollars"):
        n.mark({**market, "yes_bid_dollars": "1.2000"}, NOW)
    with pytest.raises(KalshiPayloadError, match="yes_ask_dollars"):
        n.mark({**market, "yes_ask_dollars": "abc"}, NOW)
    with pytest.raises(KalshiPayloadError, match="ticker"):
        n.mark({**market, "ticker": None}, NOW)


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


direction_fields = st.fixed_dictionaries({}, optional={
    "outcome_side": st.sampled_from(["yes", "no"]), "book_side": st.sampled_from(["bid", "ask"]),
    "side": st.sampled_from(["yes", "no"]), "action": st.sampled_from(["buy", "sell"]),
})


@settings(max_examples=300, deadline=None)
@given(count=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2), price=prices,
       fields=direction_fields)
def test_fill_direction_properties(count: Decimal, price: Decimal, fields: dict) -> None:
    """Whatever subset of direction fields a fill carries: agreeing fields give the one direction they
    share, in YES terms at the YES price; disagreeing fields are rejected; none is an error."""
    said = set()
    if "outcome_side" in fields:
        said.add(fields["outcome_side"] == "yes")
    if "book_side" in fields:
        said.add(fields["book_side"] == "bid")
    if "side" in fields and "action" in fields:
        said.add((fields["side"] == "yes") == (fields["action"] == "buy"))
    payload = {**_direction(**fields), "count_fp": f"{count:.2f}", "yes_price_dollars": f"{price:.4f}"}
    if len(said) == 1:
        f = n.fill(payload, "a")
        assert (f.outcome, f.side) == ("yes", "buy" if said.pop() else "sell")
        assert f.quantity == count and f.price == price
    else:
        with pytest.raises(KalshiPayloadError):
            n.fill(payload, "a")
