"""Trade settlement lifecycle on a ManualClock, FAILED reversal, and exact fixed-point math."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.venue_sim.domain.clock import ManualClock
from services.venue_sim.domain.polymarket import (
    Market,
    OrderIntent,
    OrderRejected,
    PolymarketExchange,
    PolymarketSimConfig,
    Token,
)
from services.venue_sim.domain.polymarket_math import PositionState, order_amounts, order_price_and_size

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
YES, NO = "1" * 70, "2" * 70


def _exchange(failed_share: str = "0") -> tuple[PolymarketExchange, ManualClock]:
    clock = ManualClock(1_800_000_000_000)
    config = PolymarketSimConfig("key", "c2VjcmV0", "pass", ADDRESS, mined_after_ms=2_000,
                                 confirmed_after_ms=10_000, failed_share=failed_share)
    ex = PolymarketExchange(config, clock)
    ex.add_market(Market("0x" + "ab" * 32, "Will it rain?", "rain", "weather", 1, "2027-01-01",
                         (Token(YES, "Yes", 0), Token(NO, "No", 1))))
    ex.set_book(YES, bids=[(Decimal("0.40"), Decimal("100"))], asks=[(Decimal("0.45"), Decimal("30")),
                                                                     (Decimal("0.47"), Decimal("100"))])
    ex.set_collateral(Decimal("1000"))
    return ex, clock


def _intent(side: str, price: str, size: str, salt: int, order_type: str = "GTC") -> OrderIntent:
    maker, taker = order_amounts(side, Decimal(price), Decimal(size))
    return OrderIntent(f"0x{salt:064x}", salt, ADDRESS, ADDRESS, YES, maker, taker, side, 0,
                       1_800_000_000_000, 0, order_type, False, "key")


def test_trade_goes_matched_mined_confirmed_with_the_clock() -> None:
    ex, clock = _exchange()
    result = ex.place_order(_intent("BUY", "0.46", "40", salt=1))
    assert result.status == "live"  # 30 filled at 0.45, 10 resting at 0.46
    assert result.making_amount == Decimal("13.50") and result.taking_amount == Decimal("30")
    (trade,) = ex.trades
    statuses = []
    for step in (0, 2_000, 8_000):
        clock.advance(step)
        statuses.append(ex.trade_status(trade))
    assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
    assert ex.transaction_hash(trade).startswith("0x")
    assert ex.position(YES).size == Decimal("30") and ex.position(YES).avg_price == Decimal("0.45")


def test_failed_trade_reverses_its_position_effect() -> None:
    ex, clock = _exchange()
    ex.record_external_trade(YES, "BUY", Decimal("20"), Decimal("0.40"), will_fail=False)
    doomed = ex.record_external_trade(YES, "BUY", Decimal("10"), Decimal("0.50"), will_fail=True)
    assert ex.position(YES).size == Decimal("30")  # provisional fills count while unsettled
    clock.advance(2_000)
    assert ex.trade_status(doomed) == "RETRYING"
    clock.advance(8_000)
    assert ex.trade_status(doomed) == "FAILED"
    position = ex.position(YES)
    assert position.size == Decimal("20") and position.avg_price == Decimal("0.40")
    assert ex.collateral() == Decimal("1000") - Decimal("8")


def test_failed_share_selects_a_deterministic_fraction() -> None:
    ex, clock = _exchange(failed_share="0.25")
    for _ in range(400):
        ex.record_external_trade(YES, "BUY", Decimal("1"), Decimal("0.40"))
    clock.advance(10_000)
    failed = sum(ex.trade_status(t) == "FAILED" for t in ex.trades)
    assert 60 < failed < 140
    again, clock2 = _exchange(failed_share="0.25")
    for _ in range(400):
        again.record_external_trade(YES, "BUY", Decimal("1"), Decimal("0.40"))
    clock2.advance(10_000)
    assert [again.trade_status(t) for t in again.trades] == [ex.trade_status(t) for t in ex.trades]


def test_fok_fak_post_only_and_balance_rules() -> None:
    ex, _ = _exchange()
    with pytest.raises(OrderRejected, match="FOK"):
        ex.place_order(_intent("BUY", "0.45", "31", salt=2, order_type="FOK"))
    with pytest.raises(OrderRejected, match="FAK"):
        ex.place_order(_intent("BUY", "0.44", "10", salt=3, order_type="FAK"))
    partial = ex.place_order(_intent("BUY", "0.45", "50", salt=4, order_type="FAK"))
    assert partial.status == "matched" and partial.taking_amount == Decimal("30")
    assert not ex.open_orders()
    with pytest.raises(OrderRejected, match="not enough balance"):
        ex.place_order(_intent("SELL", "0.90", "31", salt=5))
    ex.place_order(_intent("SELL", "0.90", "30", salt=6))
    with pytest.raises(OrderRejected, match="not enough balance"):
        ex.place_order(_intent("SELL", "0.90", "5", salt=7))  # the rest is reserved by the open sell


# ---- properties ---------------------------------------------------------------------------

TICK = Decimal("0.01")
prices = st.integers(min_value=1, max_value=99).map(lambda n: Decimal(n) * TICK)
sizes = st.integers(min_value=1, max_value=10**8).map(lambda n: Decimal(n) / 100)


@settings(max_examples=300, deadline=None)
@given(side=st.sampled_from(["BUY", "SELL"]), price=prices, size=sizes)
def test_fixed_point_amounts_round_trip_exactly(side: str, price: Decimal, size: Decimal) -> None:
    maker, taker = order_amounts(side, price, size)
    usdc, shares = (maker, taker) if side == "BUY" else (taker, maker)
    assert shares == size * 1_000_000 and usdc == price * size * 1_000_000  # integers, no rounding
    assert order_price_and_size(side, maker, taker) == (price, size)


@settings(max_examples=200, deadline=None)
@given(fills=st.lists(st.tuples(st.booleans(), sizes, prices), min_size=1, max_size=30))
def test_position_fold_conserves_shares_and_cost(fills: list[tuple[bool, Decimal, Decimal]]) -> None:
    state = PositionState()
    bought = sold = proceeds = Decimal(0)

    def proceeds_delta(qty: Decimal, price: Decimal, cost_out: Decimal) -> Decimal:
        return qty * price - cost_out
    for is_buy, size, price in fills:
        if is_buy:
            state.apply("BUY", size, price)
            bought += size
        elif state.size > 0:
            qty = min(size, state.size)
            cost_out = state.avg_price * qty
            before = state.realized_pnl
            state.apply("SELL", qty, price)
            sold += qty
            proceeds += qty * price
            assert state.realized_pnl - before == proceeds_delta(qty, price, cost_out)
    assert state.size == bought - sold  # shares are conserved exactly
    assert state.total_bought == bought
    assert Decimal(0) <= state.avg_price <= 1
    if state.size == 0:
        assert state.avg_price == 0


@settings(max_examples=200, deadline=None)
@given(buys=st.lists(st.tuples(sizes, prices), min_size=1, max_size=30))
def test_average_price_tracks_cost_within_the_six_decimal_grain(buys: list[tuple[Decimal, Decimal]]) -> None:
    state = PositionState()
    cost = bound = Decimal(0)
    for size, price in buys:
        state.apply("BUY", size, price)
        cost += size * price
        bound += state.size * Decimal("0.0000005")  # each re-averaging rounds by <= half a micro-dollar
        assert abs(state.avg_price * state.size - cost) <= bound
        assert state.avg_price == state.avg_price.quantize(Decimal("0.000001"))
