"""Property tests for the simulator's Kalshi money and position arithmetic (exact Decimal)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.venue_sim.domain.clock import ManualClock
from services.venue_sim.domain.kalshi import KalshiExchange, KalshiSimConfig
from services.venue_sim.domain.kalshi_account import Position
from services.venue_sim.domain.kalshi_market import Event, Market
from services.venue_sim.domain.kalshi_pages import PageRequest, paginate, parse_page_request
from services.venue_sim.domain.kalshi_units import KalshiError, taker_fee

CENT = Decimal("0.01")
prices = st.integers(1, 99).map(lambda c: Decimal(c) / 100)
counts = st.integers(1, 500).map(Decimal)
sides = st.sampled_from(["yes", "no"])


@given(st.lists(st.tuples(sides, counts, prices, st.integers(0, 300).map(lambda c: Decimal(c) / 100)), max_size=40),
       st.sampled_from(["yes", "no", None]))
def test_cash_fees_pnl_and_exposure_always_reconcile(trades, result) -> None:
    pos = Position("T", "E")
    cash = Decimal(0)
    net = Decimal(0)
    for side, count, price, fee in trades:
        cash += pos.buy(side, count, price, fee, 0)
        net += count if side == "yes" else -count
        # Every dollar is accounted for: what left the account is fees + cost still held - PnL realized.
        assert cash + pos.fees_paid == pos.realized_pnl - pos.exposure
        assert pos.signed == net
        assert all(lot.count > 0 for lot in pos.lots)
        assert pos.exposure <= pos.held  # nobody pays more than $1 a contract
    if result:
        payout, *_ = pos.settle(result, 1)
        cash += payout
        assert pos.exposure == 0 and pos.held == 0
        assert cash + pos.fees_paid == pos.realized_pnl
        assert payout == (abs(net) if (net > 0) == (result == "yes") and net != 0 else 0)


@given(counts, prices, st.sampled_from([Decimal("0.07"), Decimal("0.0175"), Decimal("0.035")]))
def test_fee_is_the_exact_fee_rounded_up_to_the_cent(count, price, rate) -> None:
    exact = rate * count * price * (1 - price)
    fee = taker_fee(count, price, rate)
    assert fee % CENT == 0
    assert exact <= fee < exact + CENT
    assert fee == taker_fee(count, 1 - price, rate)  # YES and NO pay the same


def _exchange(book: list[tuple[str, int, int]]) -> KalshiExchange:
    x = KalshiExchange(KalshiSimConfig(initial_balance=Decimal("100000")), ManualClock(1_700_000_000_000))
    x.add_event(Event("E", "S", "event"))
    x.add_market(Market("T", "E", "t", "y", "n", 0, 10**13))
    for side, cents, n in book:
        x.add_liquidity("T", side, Decimal(cents) / 100, Decimal(n))
    return x


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(sides, st.integers(1, 99), st.integers(1, 50)), max_size=12),
    st.lists(st.tuples(st.sampled_from(["bid", "ask"]), st.integers(1, 60), st.integers(1, 99),
                       st.sampled_from(["fill_or_kill", "good_till_canceled", "immediate_or_cancel"])), max_size=8),
)
def test_matching_conserves_volume_and_money(book, orders) -> None:
    x = _exchange(book)
    start_balance = x.balance
    for n, (side, count, cents, tif) in enumerate(orders):
        volume_before = sum(e.count for e in x.markets["T"].yes_bids + x.markets["T"].no_bids if e.order_id is None)
        try:
            placed = x.place_order(ticker="T", client_order_id=f"c{n}", side=side, count=Decimal(count),
                                   price=Decimal(cents) / 100, time_in_force=tif)
        except KalshiError:
            continue
        filled = sum((f.count for f in placed.fills), Decimal(0))
        volume_after = sum(e.count for e in x.markets["T"].yes_bids + x.markets["T"].no_bids if e.order_id is None)
        assert volume_before - volume_after == filled  # every contract we got, someone gave
        assert placed.order.filled + placed.order.remaining + placed.order.cancelled == Decimal(count)
        for f in placed.fills:  # never worse than our limit: the maker's price or better
            assert f.yes_price <= Decimal(cents) / 100 if side == "bid" else f.yes_price >= Decimal(cents) / 100
        if tif == "fill_or_kill":
            assert filled == count
    pos = x.positions.get("T")
    if pos is not None:
        assert x.balance - start_balance + pos.fees_paid == pos.realized_pnl - pos.exposure
        assert pos.fees_paid == sum((f.fee for f in x.fills), Decimal(0))


@given(st.lists(st.integers(), unique=True, max_size=60), st.integers(1, 25))
def test_pagination_returns_each_item_once(keys, limit) -> None:
    items = sorted(keys)
    seen: list[int] = []
    request = PageRequest(None, 1, limit)
    while True:
        page = paginate(items, lambda k: (k,), request)
        seen += page.items
        if not page.cursor:
            break
        request = parse_page_request(page.cursor, str(limit))
    assert seen == items


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(sides, st.integers(1, 99), st.integers(1, 50)), max_size=12),
    st.lists(st.tuples(st.sampled_from(["ours", "theirs"]), st.sampled_from(["bid", "ask"]), st.integers(1, 60),
                       st.integers(1, 99)), max_size=10),
)
def test_tape_volume_and_open_interest_follow_every_match(book, flow) -> None:
    """Every match is on the tape once; volume is the tape's sum; open interest never falls below
    what the account holds, and only the account's own closing trades keep it from growing."""
    x = _exchange(book)
    for n, (who, side, count, cents) in enumerate(flow):
        price = Decimal(cents) / 100
        if who == "ours":
            try:
                x.place_order(ticker="T", client_order_id=f"c{n}", side=side, count=Decimal(count), price=price,
                              time_in_force="good_till_canceled")
            except KalshiError:
                continue
        else:
            x.market_trade("T", side, Decimal(count), price)
    market, tape = x.markets["T"], [t for t in x.trades if t.ticker == "T"]
    assert market.volume == sum((t.count for t in tape), Decimal(0))
    assert len({t.trade_id for t in tape}) == len(tape)
    assert sum((f.count for f in x.fills), Decimal(0)) <= market.volume
    held = x.positions["T"].held if "T" in x.positions else Decimal(0)
    assert held <= market.open_interest <= market.volume
