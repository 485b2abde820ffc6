"""The simulated Kalshi exchange: one account, its orders/fills/positions, and a matching engine.

Rules kept faithful to the Trade API v2 "events/orders" model:
- `side` is a YES-book side: bid = buy YES, ask = sell YES (which buys NO when flat or short).
- Our taker orders trade at the resting maker's price; partial fills; the remainder rests (GTC),
  is cancelled (IOC), or nothing happens at all (FOK without enough volume -> 409).
- A repeated `client_order_id` never creates a second order (409 order_already_exists).
- Fees: taker round_up_to_cent(rate*C*P*(1-P)) per fill; makers pay the market's maker rate.
- Direction: `outcome_side` carries the same bit as `side`, bid <=> yes and ask <=> no, always.
- Every match is also a public trade (the market's tape), whoever the two parties are.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from services.venue_sim.domain.clock import Clock
from services.venue_sim.domain.kalshi_account import Position
from services.venue_sim.domain.kalshi_market import BookEntry, Event, Market
from services.venue_sim.domain.kalshi_units import ONE, ZERO, KalshiError, iso, taker_fee

TIME_IN_FORCE = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
SELF_TRADE = ("taker_at_cross", "maker")
_OUTCOME_SIDE = {"bid": "yes", "ask": "no"}


def outcome_side(book_side: str) -> str:
    """Kalshi: buy-YES (bid) and sell-NO are positioned for yes; sell-YES (ask) and buy-NO for no."""
    return _OUTCOME_SIDE[book_side]


@dataclass
class KalshiSimConfig:
    taker_fee_rate: Decimal = Decimal("0.07")
    initial_balance: Decimal = Decimal("10000.00")


@dataclass
class Order:
    seq: int
    order_id: str
    client_order_id: str
    ticker: str
    side: str  # bid | ask
    price: Decimal  # YES limit price
    initial: Decimal
    time_in_force: str
    created_ms: int
    post_only: bool = False
    reduce_only: bool = False
    self_trade_prevention_type: str = "taker_at_cross"
    order_group_id: str | None = None
    expiration_ms: int | None = None
    status: str = "resting"
    filled: Decimal = ZERO
    cancelled: Decimal = ZERO
    updated_ms: int = 0
    taker_fees: Decimal = ZERO
    maker_fees: Decimal = ZERO
    taker_cost: Decimal = ZERO
    maker_cost: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        return self.initial - self.filled - self.cancelled


@dataclass
class Fill:
    seq: int
    fill_id: str
    order_id: str
    ticker: str
    book_side: str  # our order's side: bid | ask
    count: Decimal
    yes_price: Decimal
    is_taker: bool
    fee: Decimal
    ts_ms: int


@dataclass
class RawFillRow:
    """A row the admin API put into the fills list verbatim (a malformed fill, for testing a
    reader): it is listed among the fills by `ts_ms` but is no trade and moves no money."""

    seq: int
    ts_ms: int
    row: dict


@dataclass
class Trade:
    """One match on a market's public tape. `taker_book_side` is the aggressor's YES-book side."""

    seq: int
    trade_id: str
    ticker: str
    count: Decimal
    yes_price: Decimal
    taker_book_side: str
    ts_ms: int


@dataclass
class Settlement:
    seq: int
    ticker: str
    event_ticker: str
    result: str
    yes_count: Decimal
    no_count: Decimal
    yes_cost: Decimal
    no_cost: Decimal
    revenue: Decimal
    settled_ms: int


@dataclass
class PlaceResult:
    order: Order
    fills: list[Fill] = field(default_factory=list)


class KalshiExchange:
    def __init__(self, config: KalshiSimConfig, clock: Clock, seed: int = 0) -> None:
        self.config = config
        self.clock = clock
        self.rng = random.Random(seed)
        # Public trade ids come from their own stream so the tape leaves order/fill ids unchanged.
        self._trade_rng = random.Random(f"trades-{seed}")
        self.events: dict[str, Event] = {}
        self.markets: dict[str, Market] = {}
        self.positions: dict[str, Position] = {}
        self.orders: dict[str, Order] = {}
        self.orders_by_client_id: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self.raw_fill_rows: list[RawFillRow] = []
        self.trades: list[Trade] = []
        # The same tape by ticker (each in tape order): a market's numbers read its own trades only.
        self.trades_by_ticker: dict[str, list[Trade]] = {}
        self.settlements: list[Settlement] = []
        self.balance: Decimal = config.initial_balance
        self.balance_updated_ms = clock.now_ms()
        self._seq = 0

    # -- ids -------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _uuid(self, rng: random.Random | None = None) -> str:
        # Seeded so a scenario is reproducible run to run.
        return str(uuid.UUID(int=(rng or self.rng).getrandbits(128), version=4))

    # -- setup -----------------------------------------------------------------------------

    def add_event(self, event: Event) -> None:
        self.events[event.event_ticker] = event

    def add_market(self, market: Market) -> None:
        if market.event_ticker not in self.events:
            raise ValueError(f"unknown event {market.event_ticker}")
        self.markets[market.ticker] = market

    def add_liquidity(self, ticker: str, side: str, price: Decimal, count: Decimal) -> None:
        """Another participant's resting bid on `side` ("yes" | "no")."""
        self.market(ticker).bids(side).append(BookEntry(price, count, self._next_seq()))

    def market(self, ticker: str) -> Market:
        m = self.markets.get(ticker)
        if m is None:
            raise KalshiError(404, "not_found", "not found", f"market {ticker} not found")
        return m

    def order(self, order_id: str) -> Order:
        o = self.orders.get(order_id)
        if o is None:
            raise KalshiError(404, "not_found", "not found", f"order {order_id} not found")
        return o

    def position(self, ticker: str) -> Position:
        pos = self.positions.get(ticker)
        if pos is None:
            pos = Position(ticker, self.market(ticker).event_ticker)
            self.positions[ticker] = pos
        return pos

    # -- trading ---------------------------------------------------------------------------

    def place_order(
        self,
        *,
        ticker: str,
        client_order_id: str,
        side: str,
        count: Decimal,
        price: Decimal,
        time_in_force: str,
        post_only: bool = False,
        reduce_only: bool = False,
        self_trade_prevention_type: str = "taker_at_cross",
        order_group_id: str | None = None,
        expiration_ms: int | None = None,
    ) -> PlaceResult:
        """Validate, match and record an order. Raises KalshiError with nothing changed."""
        existing = self.orders_by_client_id.get(client_order_id)
        if existing is not None:
            raise KalshiError(
                409, "order_already_exists", "order already exists",
                f"client_order_id {client_order_id} already used by order {existing.order_id}",
            )
        market = self.market(ticker)
        if market.status != "active":
            raise KalshiError(400, "market_closed", "market closed", f"market {ticker} is {market.status}")
        if side not in ("bid", "ask"):
            raise KalshiError(400, "invalid_order", "invalid order", f"side must be bid or ask, got {side!r}")
        if time_in_force not in TIME_IN_FORCE:
            raise KalshiError(400, "invalid_order", "invalid order", f"unknown time_in_force {time_in_force!r}")
        if self_trade_prevention_type not in SELF_TRADE:
            raise KalshiError(400, "invalid_order", "invalid order", "unknown self_trade_prevention_type")
        if reduce_only:
            count = self._reduce_only_count(ticker, side, count, time_in_force)
        crossing = market.crossing(side, price)
        if post_only and crossing:
            raise KalshiError(400, "invalid_order", "invalid order", "post only cross")
        if time_in_force == "fill_or_kill" and self._fillable(crossing, count, self_trade_prevention_type) < count:
            raise KalshiError(409, "fill_or_kill_insufficient_resting_volume", "fill or kill insufficient resting volume")
        self._check_funds(ticker, side, count, price)

        now = self.clock.now_ms()
        order = Order(
            seq=self._next_seq(), order_id=self._uuid(), client_order_id=client_order_id, ticker=ticker,
            side=side, price=price, initial=count, time_in_force=time_in_force, created_ms=now,
            post_only=post_only, reduce_only=reduce_only,
            self_trade_prevention_type=self_trade_prevention_type, order_group_id=order_group_id,
            expiration_ms=expiration_ms, updated_ms=now,
        )
        self.orders[order.order_id] = order
        self.orders_by_client_id[client_order_id] = order
        fills = self._match_ours(market, order, crossing)
        if order.remaining > 0:
            if time_in_force == "good_till_canceled" and order.status == "resting":
                self._rest(market, order)
                self.position(ticker)  # Kalshi lists a market with only resting orders too
            else:
                order.cancelled += order.remaining
        order.status = _status(order)
        market.remove_empty()
        return PlaceResult(order, fills)

    def _reduce_only_count(self, ticker: str, side: str, count: Decimal, tif: str) -> Decimal:
        if tif != "immediate_or_cancel":
            raise KalshiError(400, "invalid_order", "invalid order", "reduce_only requires immediate_or_cancel")
        pos = self.positions.get(ticker)
        reducible = ZERO
        if pos is not None and pos.held > 0 and (pos.side == "yes") == (side == "ask"):
            reducible = pos.held
        if reducible == 0:
            raise KalshiError(400, "invalid_order", "invalid order", "reduce_only order would increase the position")
        return min(count, reducible)

    def _fillable(self, crossing: list[BookEntry], count: Decimal, stp: str) -> Decimal:
        total = ZERO
        for entry in crossing:
            if entry.order_id is not None and stp == "taker_at_cross":
                break
            if entry.order_id is None:
                total += entry.count
            if total >= count:
                break
        return total

    def _check_funds(self, ticker: str, side: str, count: Decimal, price: Decimal) -> None:
        pos = self.positions.get(ticker)
        closing_side = "no" if side == "bid" else "yes"
        closing = min(count, pos.held) if pos is not None and pos.side == closing_side else ZERO
        side_price = price if side == "bid" else ONE - price
        # Upper bound on the fee: one rounding per fill can add at most a cent each.
        needed = (count - closing) * side_price + taker_fee(count, price, self.config.taker_fee_rate)
        if needed > self.balance:
            raise KalshiError(400, "insufficient_balance", "insufficient balance", f"needs {needed}, balance {self.balance}")

    def _match_ours(self, market: Market, order: Order, crossing: list[BookEntry]) -> list[Fill]:
        fills: list[Fill] = []
        for entry in crossing:
            if order.remaining <= 0:
                break
            if entry.order_id is not None:  # our own resting order: self-trade prevention
                if order.self_trade_prevention_type == "taker_at_cross":
                    order.cancelled += order.remaining
                    order.status = "canceled"
                    break
                self._cancel_resting(market, self.orders[entry.order_id])
                continue
            qty = min(order.remaining, entry.count)
            entry.count -= qty
            yes_price = ONE - entry.price if order.side == "bid" else entry.price
            fills.append(self._apply_fill(market, order, qty, yes_price, is_taker=True, taker_book_side=order.side))
        return fills

    def _rest(self, market: Market, order: Order) -> None:
        side, price = ("yes", order.price) if order.side == "bid" else ("no", ONE - order.price)
        market.bids(side).append(BookEntry(price, order.remaining, order.seq, order.order_id))

    def _apply_fill(self, market: Market, order: Order, qty: Decimal, yes_price: Decimal, *, is_taker: bool,
                    taker_book_side: str, ts_ms: int | None = None) -> Fill:
        now = self.clock.now_ms() if ts_ms is None else ts_ms
        rate = self.config.taker_fee_rate if is_taker else market.maker_fee_rate
        fee = taker_fee(qty, yes_price, rate)
        bought, paid = ("yes", yes_price) if order.side == "bid" else ("no", ONE - yes_price)
        position = self.position(order.ticker)
        closing = min(qty, position.held) if position.side != bought else ZERO
        self.balance += position.buy(bought, qty, paid, fee, now)
        self.balance_updated_ms = now
        order.filled += qty
        order.updated_ms = now
        if is_taker:
            order.taker_fees += fee
            order.taker_cost += qty * paid
        else:
            order.maker_fees += fee
            order.maker_cost += qty * paid
        self._record_trade(market, qty, yes_price, taker_book_side, now, closing)
        fill = Fill(self._next_seq(), self._uuid(), order.order_id, order.ticker, order.side, qty, yes_price,
                    is_taker, fee, now)
        self.fills.append(fill)
        return fill

    def _record_trade(self, market: Market, qty: Decimal, yes_price: Decimal, taker_book_side: str, ts_ms: int,
                      closed_by_account: Decimal = ZERO) -> None:
        """Tape, last price, volume and open interest. Other participants are taken to open new
        contracts; only the account's own closing quantity nets pairs away."""
        market.last_price = yes_price
        market.volume += qty
        market.open_interest += qty - closed_by_account
        trade = Trade(self._next_seq(), self._uuid(self._trade_rng), market.ticker, qty, yes_price, taker_book_side,
                      ts_ms)
        self.trades.append(trade)
        self.trades_by_ticker.setdefault(market.ticker, []).append(trade)

    def add_raw_fill_row(self, row: dict) -> RawFillRow:
        """Append `row` to the fills as is; `ts` and `created_time` default to now. It is listed by
        its own `ts` when that is a usable time (whole seconds), else by when it was added."""
        now = self.clock.now_ms()
        row.setdefault("ts", now // 1000)
        row.setdefault("created_time", iso(now))
        ts = row["ts"]
        ts_ms = ts * 1000 if isinstance(ts, int) and not isinstance(ts, bool) else now
        raw = RawFillRow(self._next_seq(), ts_ms, row)
        self.raw_fill_rows.append(raw)
        return raw

    def cancel_order(self, order_id: str, market_ticker: str | None = None) -> tuple[Order, Decimal]:
        order = self.order(order_id)
        if market_ticker and market_ticker != order.ticker:
            raise KalshiError(404, "not_found", "not found", f"order {order_id} is not in market {market_ticker}")
        if order.status != "resting":
            raise KalshiError(404, "not_found", "not found", f"order {order_id} is {order.status}, not resting")
        reduced = order.remaining
        self._cancel_resting(self.market(order.ticker), order)
        return order, reduced

    def _cancel_resting(self, market: Market, order: Order) -> None:
        order.cancelled += order.remaining
        order.status = "canceled"
        order.updated_ms = self.clock.now_ms()
        for side in ("yes", "no"):
            for entry in market.bids(side):
                if entry.order_id == order.order_id:
                    entry.count = ZERO
        market.remove_empty()

    # -- things other participants do (admin) -----------------------------------------------

    def external_trade(self, ticker: str, side: str, count: Decimal, price: Decimal,
                       ts_ms: int | None = None, is_taker: bool = True, client_order_id: str = "") -> Fill:
        """A trade on this account made outside the bot (e.g. on the website): an executed order
        with one fill at `price`, no book interaction."""
        market = self.market(ticker)
        if side not in ("bid", "ask"):
            raise ValueError("side must be bid or ask")
        now = self.clock.now_ms() if ts_ms is None else ts_ms
        order = Order(self._next_seq(), self._uuid(), client_order_id, ticker, side, price, count, "fill_or_kill",
                      now, updated_ms=now)
        self.orders[order.order_id] = order
        if client_order_id:
            self.orders_by_client_id[client_order_id] = order
        # Traded on the website: as taker the account's side aggressed, as maker the other side did.
        taker = side if is_taker else ("ask" if side == "bid" else "bid")
        fill = self._apply_fill(market, order, count, price, is_taker=is_taker, taker_book_side=taker, ts_ms=now)
        order.status = _status(order)
        return fill

    def market_trade(self, ticker: str, side: str, count: Decimal, price: Decimal) -> list[Fill]:
        """Another participant's immediate-or-cancel order: it trades against resting entries
        (ours give us maker fills, others' simply shrink). Returns our fills."""
        market = self.market(ticker)
        remaining = count
        ours: list[Fill] = []
        for entry in market.crossing(side, price):
            if remaining <= 0:
                break
            qty = min(remaining, entry.count)
            entry.count -= qty
            remaining -= qty
            yes_price = ONE - entry.price if side == "bid" else entry.price
            if entry.order_id is not None:
                order = self.orders[entry.order_id]
                ours.append(self._apply_fill(market, order, qty, yes_price, is_taker=False, taker_book_side=side))
                order.status = _status(order)
            else:
                self._record_trade(market, qty, yes_price, side, self.clock.now_ms())
        market.remove_empty()
        return ours

    def settle(self, ticker: str, result: str, expiration_value: str = "") -> list[Settlement]:
        if result not in ("yes", "no"):
            raise ValueError("result must be yes or no")
        market = self.market(ticker)
        if market.status in ("determined", "finalized"):
            raise KalshiError(400, "market_settled", "market already settled", ticker)
        now = self.clock.now_ms()
        for order in [o for o in self.orders.values() if o.ticker == ticker and o.status == "resting"]:
            self._cancel_resting(market, order)
        market.yes_bids, market.no_bids = [], []
        market.status, market.result, market.settled_ms = "finalized", result, now
        market.expiration_value = expiration_value
        market.last_price = ONE if result == "yes" else ZERO
        market.open_interest = ZERO  # every contract is paid out and gone
        out: list[Settlement] = []
        pos = self.positions.get(ticker)
        if pos is not None and not pos.settled:
            payout, yes_count, no_count, yes_cost, no_cost = pos.settle(result, now)
            self.balance += payout
            self.balance_updated_ms = now
            s = Settlement(self._next_seq(), ticker, market.event_ticker, result, yes_count, no_count,
                           yes_cost, no_cost, payout, now)
            self.settlements.append(s)
            out.append(s)
        return out

    # -- derived ---------------------------------------------------------------------------

    def volume_since(self, ticker: str, since_ms: int) -> Decimal:
        return sum((t.count for t in self.trades_by_ticker.get(ticker, ()) if t.ts_ms >= since_ms), ZERO)

    def price_before(self, ticker: str, at_ms: int) -> Decimal | None:
        """The last trade price as of `at_ms` (None before the first trade)."""
        last = None
        for t in self.trades_by_ticker.get(ticker, ()):
            if t.ts_ms <= at_ms:
                last = t.yes_price
        return last

    def resting_counts(self) -> Counter[str]:
        """Resting orders per ticker, counted in one pass (a listing of many markets asks for all)."""
        return Counter(o.ticker for o in self.orders.values() if o.status == "resting")

    def portfolio_value(self) -> Decimal:
        """Liquidation value of open positions at the best bid of the held side."""
        total = ZERO
        for pos in self.positions.values():
            if pos.held > 0 and not pos.settled:
                bid = self.markets[pos.ticker].best(pos.side) or ZERO
                total += pos.held * bid
        return total


def _status(order: Order) -> str:
    if order.remaining > 0 and order.status == "resting" and order.time_in_force == "good_till_canceled":
        return "resting"
    return "executed" if order.cancelled == 0 else "canceled"
