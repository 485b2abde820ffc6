"""The simulated Polymarket venue for one account: markets, books, orders, trades, positions.

Pure domain: no I/O. Signatures are verified by the adapter before an order reaches
`place_order`; this module only sees a verified `OrderIntent`.

Model choices (documented because a reconciler depends on them):
- Positions and the USDC balance are *folded from trades* in match order, skipping trades
  whose status is FAILED. A FAILED trade therefore reverses its position effect the moment the
  clock passes its confirmation time, with no background task.
- Positions also fold *transfers*: outcome tokens (ERC-1155) moved into or out of the wallet
  without a trade (sent from or to another wallet; a split or merge looks the same to a holder).
  The Data API, which reads the chain, counts them; the CLOB, which lists trades, never shows
  them; they move no USDC. So /positions can hold a size the trade history does not explain.
- Trade status is a function of the clock: MATCHED until `mined_after_ms`, then MINED until
  `confirmed_after_ms`, then CONFIRMED; a deterministic `failed_share` of trades (by trade-id
  hash) go MATCHED -> RETRYING -> FAILED instead.
- The seeded book is other people's liquidity. An incoming marketable order takes it level by
  level (one trade per level, at the level's price) and consumes it. Our own resting orders are
  shown in the book but are never matched by our own later orders (self-trade prevention);
  they fill through the admin `fill_resting_order` operation.
"""

from __future__ import annotations

import hashlib
import uuid
from bisect import bisect_right, insort
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from services.venue_sim.domain.clock import Clock
from services.venue_sim.domain.polymarket_math import (
    ALLOWED_TICKS,
    ZERO,
    PositionState,
    from_units,
    is_on_tick,
    order_price_and_size,
    to_units,
)

Side = Literal["BUY", "SELL"]
T = TypeVar("T")
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
FOK_NOT_FILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_NOT_FILLED = (
    "no orders found to match with FAK order. "
    "FAK orders are partially filled or killed if no match is found."
)
POST_ONLY_CROSSES = "invalid post-only order: order crosses book"
MIN_GTD_LEAD_S = 60


@dataclass
class PolymarketSimConfig:
    api_key: str
    api_secret: str
    api_passphrase: str
    address: str
    mined_after_ms: int
    confirmed_after_ms: int
    # A share of trades, not money: Decimal keeps the failure selection exact and reproducible.
    failed_share: Decimal | float | str
    chain_id: int = 137


class OrderRejected(Exception):
    """The CLOB refuses an order; `message` is the venue's `{"error": ...}` text."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Token:
    token_id: str
    outcome: str
    outcome_index: int


@dataclass
class Market:
    condition_id: str
    question: str
    slug: str
    event_slug: str
    event_id: int
    end_date: str  # YYYY-MM-DD
    tokens: tuple[Token, Token]
    tick_size: Decimal = Decimal("0.01")
    min_order_size: Decimal = Decimal("5")
    neg_risk: bool = False
    winner_index: int | None = None  # set when resolved

    def other(self, token_id: str) -> Token:
        return self.tokens[1] if self.tokens[0].token_id == token_id else self.tokens[0]

    def token(self, token_id: str) -> Token:
        return self.tokens[0] if self.tokens[0].token_id == token_id else self.tokens[1]


@dataclass
class Level:
    price: Decimal
    size: Decimal


@dataclass
class Book:
    bids: list[Level] = field(default_factory=list)  # best (highest) first
    asks: list[Level] = field(default_factory=list)  # best (lowest) first


@dataclass(frozen=True)
class OrderIntent:
    """A signed V2 order whose signature the adapter has already verified."""

    order_hash: str
    salt: int
    maker: str
    signer: str
    token_id: str
    maker_amount: int
    taker_amount: int
    side: Side
    signature_type: int
    timestamp_ms: int
    expiration: int  # unix seconds, 0 = none
    order_type: str
    post_only: bool
    owner: str  # API key that posted it


@dataclass
class Order:
    id: str
    intent: OrderIntent
    market: str
    price: Decimal
    original_size: Decimal
    created_s: int
    size_matched: Decimal = ZERO
    status: str = "LIVE"  # LIVE | MATCHED | CANCELED
    associate_trades: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.original_size - self.size_matched

    @property
    def is_open(self) -> bool:
        return self.status == "LIVE"


@dataclass(frozen=True)
class Trade:
    id: str
    seq: int
    token_id: str
    market: str
    side: Side
    size: Decimal
    price: Decimal
    match_ms: int
    trader_side: Literal["TAKER", "MAKER"]
    order_id: str  # our order; "" for a trade made outside this API key (website, other bot)
    maker_order_id: str  # the counterparty order (or ours when we were the maker)
    owner: str
    will_fail: bool | None = None  # forced settlement outcome; None = decided by failed_share


@dataclass(frozen=True)
class Transfer:
    """Outcome tokens moved into (`size` > 0) or out of (`size` < 0) the wallet, not a trade.

    `avg_price`: what shares received are valued at (the Data API's avgPrice blends it in); for a
    transfer out, the holding's average they left at (the rest keep it).
    """

    seq: int
    token_id: str
    size: Decimal
    avg_price: Decimal
    at_ms: int


@dataclass(frozen=True)
class InjectedTradeRow:
    """A raw CLOB `/data/trades` row put there by the admin API (e.g. a malformed one).

    Served verbatim among our trades; it never touches positions or the balance.
    """

    seq: int
    match_ms: int
    row: dict[str, Any]


@dataclass(frozen=True)
class PlaceResult:
    order_id: str
    status: Literal["live", "matched", "delayed"]
    making_amount: Decimal
    taking_amount: Decimal
    trade_ids: tuple[str, ...]


def _trade_uuid(*parts: object) -> str:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _hex_id(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def _event_ms(event: Trade | Transfer) -> int:
    return event.match_ms if isinstance(event, Trade) else event.at_ms


def _fold(events: Iterable[Trade | Transfer]) -> dict[str, PositionState]:
    """Holdings from non-FAILED trades and transfers, applied in time order."""
    states: dict[str, PositionState] = {}
    for event in sorted(events, key=lambda e: (_event_ms(e), e.seq)):
        state = states.setdefault(event.token_id, PositionState())
        if isinstance(event, Transfer):
            if event.size > 0:
                state.transfer_in(event.size, event.avg_price)
            elif state.size > 0:
                # Like a SELL below: only what the fold still holds can leave.
                state.transfer_out(min(-event.size, state.size))
            continue
        # A sale can outlive the FAILED purchase it was funded by; it can only sell what the
        # fold still holds, so clamp rather than go short (Polymarket has no short shares).
        size = min(event.size, state.size) if event.side == "SELL" else event.size
        if size > 0:
            state.apply(event.side, size, event.price)
    return states


def _midpoint(bid: Decimal | None, ask: Decimal | None) -> Decimal | None:
    if bid is None or ask is None:
        return bid if ask is None else ask
    return (bid + ask) / 2


@dataclass(frozen=True)
class AccountFold:
    """The account folded from the trades and transfers that count at one moment (one `key`).

    Shared by every reader until a trade, a transfer or a settlement failure changes it, so
    nothing in it may be changed: the states are read-only by contract.
    """

    key: tuple[int, int, int]
    effective_trades: tuple[Trade, ...]
    states: Mapping[str, PositionState]
    times: Mapping[str, tuple[int, int]]  # (first, last) ms of each token's trades and transfers
    _views: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def view(self, name: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, kept with this fold: for views of the positions alone (never of prices,
        books or markets, which change without the fold), e.g. the held tokens in one order."""
        if name not in self._views:
            self._views[name] = compute()
        return self._views[name]


class PolymarketExchange:
    def __init__(self, config: PolymarketSimConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.markets: dict[str, Market] = {}
        self.token_market: dict[str, str] = {}
        self.books: dict[str, Book] = {}
        self.orders: dict[str, Order] = {}
        self.trades: list[Trade] = []
        self.injected_trade_rows: list[InjectedTradeRow] = []
        self.transfers: list[Transfer] = []
        self.starting_collateral = ZERO
        self._seq = 0
        self._failed_per_10k = int(Decimal(str(config.failed_share)) * 10_000)
        # `fold()` is kept until its key changes. `_failing_match_ms` (sorted) holds the match times
        # of the trades whose settlement fails, indexed up to `_indexed_trades`: with the clock it
        # says which trades are FAILED now.
        self._failing_match_ms: list[int] = []
        self._indexed_trades = 0
        self._last_fold: AccountFold | None = None

    # ---- setup / admin -------------------------------------------------------------------

    def add_market(self, market: Market) -> None:
        if market.tick_size not in ALLOWED_TICKS:
            raise ValueError(f"unsupported tick size {market.tick_size}")
        self.markets[market.condition_id] = market
        for token in market.tokens:
            self.token_market[token.token_id] = market.condition_id
            self.books.setdefault(token.token_id, Book())

    def set_book(self, token_id: str, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        self.market_of(token_id)
        self.books[token_id] = Book(
            bids=sorted((Level(p, s) for p, s in bids), key=lambda lv: -lv.price),
            asks=sorted((Level(p, s) for p, s in asks), key=lambda lv: lv.price),
        )

    def set_collateral(self, usdc: Decimal) -> None:
        self.starting_collateral = usdc

    def record_external_trade(
        self, token_id: str, side: Side, size: Decimal, price: Decimal, match_ms: int | None = None,
        will_fail: bool | None = None,
    ) -> Trade:
        """A fill on this account made outside this API key (website, another bot, history).

        `will_fail` forces how its settlement ends (FAILED or CONFIRMED); None leaves it to
        `failed_share`.
        """
        self.market_of(token_id)
        if size <= 0 or not 0 < price < 1:
            raise ValueError("size must be positive and price strictly between 0 and 1")
        if side == "SELL" and size > self.position(token_id).size:
            raise ValueError(f"cannot sell {size}; position is {self.position(token_id).size}")
        if side not in ("BUY", "SELL"):
            raise ValueError("side must be BUY or SELL")
        when = self.clock.now_ms() if match_ms is None else match_ms
        return self._new_trade(token_id, side, size, price, when, "TAKER", "", _hex_id("ext", self._seq), "",
                               will_fail)

    def record_transfer(
        self, token_id: str, size: Decimal, avg_price: Decimal | None = None, at_ms: int | None = None,
    ) -> Transfer:
        """Tokens moved into (`size` > 0) or out of (`size` < 0) the wallet without a trade.

        A transfer in is valued at `avg_price`, by default the holding's average or, when
        nothing is held, the token's current price. A transfer out takes no price and can move
        at most what is held at `at_ms` (default now).
        """
        self.market_of(token_id)
        if not size.is_finite() or size == 0:
            raise ValueError("size must be a non-zero number of shares")
        to_units(size)  # outcome tokens have 6 decimals on-chain
        when = self.clock.now_ms() if at_ms is None else at_ms
        held = self._position_at(token_id, when)
        if size > 0:
            if avg_price is None:
                avg_price = held.avg_price if held.size > 0 else self.current_price(token_id)
            if not avg_price.is_finite() or not 0 <= avg_price <= 1:
                raise ValueError("avg_price must be between 0 and 1")
        else:
            if avg_price is not None:
                raise ValueError("avg_price is for a transfer in; shares leave at the holding's average")
            if -size > held.size:
                raise ValueError(f"cannot transfer out {-size}; position is {held.size}")
            avg_price = held.avg_price
        self._seq += 1
        transfer = Transfer(self._seq, token_id, size, avg_price, when)
        self.transfers.append(transfer)
        return transfer

    def inject_trade_row(self, row: dict[str, Any]) -> InjectedTradeRow:
        """Append `row` to our CLOB trades as is; `match_time`/`last_update` default to now.

        It sorts and filters by its `match_time` when that is unix seconds, else by now.
        """
        now_ms = self.clock.now_ms()
        row = dict(row)
        row.setdefault("match_time", str(now_ms // 1000))
        row.setdefault("last_update", str(now_ms // 1000))
        try:
            match_ms = int(str(row["match_time"])) * 1000
        except ValueError:
            match_ms = now_ms
        self._seq += 1
        injected = InjectedTradeRow(self._seq, match_ms, row)
        self.injected_trade_rows.append(injected)
        return injected

    def resolve_market(self, condition_id: str, winner_outcome: str) -> Market:
        market = self.markets[condition_id]
        for token in market.tokens:
            if token.outcome.lower() == winner_outcome.lower():
                market.winner_index = token.outcome_index
                break
        else:
            raise ValueError(f"{winner_outcome!r} is not an outcome of {condition_id}")
        for order in self.orders.values():
            if order.is_open and order.market == condition_id:
                order.status = "CANCELED"
        for token in market.tokens:
            self.books[token.token_id] = Book()
        return market

    def fill_resting_order(self, order_id: str, size: Decimal) -> Trade:
        """Someone else takes (part of) one of our resting orders; we are the maker."""
        self._expire_orders()
        order = self.orders.get(order_id)
        if order is None or not order.is_open:
            raise ValueError(f"order {order_id} is not open")
        if not 0 < size <= order.remaining:
            raise ValueError(f"fill size must be in (0, {order.remaining}]")
        trade = self._new_trade(
            order.intent.token_id, order.intent.side, size, order.price, self.clock.now_ms(),
            "MAKER", order.id, order.id, order.intent.owner,
        )
        self._record_fill(order, trade)
        return trade

    # ---- lookups -------------------------------------------------------------------------

    def market_of(self, token_id: str) -> Market:
        condition_id = self.token_market.get(token_id)
        if condition_id is None:
            raise KeyError(token_id)
        return self.markets[condition_id]

    def trade_status(self, trade: Trade) -> str:
        return self._status_at(trade, self.clock.now_ms())

    def _status_at(self, trade: Trade, now_ms: int) -> str:
        age = now_ms - trade.match_ms
        fails = self.fails(trade)
        if age < self.config.mined_after_ms:
            return "MATCHED"
        if age < self.config.confirmed_after_ms:
            return "RETRYING" if fails else "MINED"
        return "FAILED" if fails else "CONFIRMED"

    def transaction_hash(self, trade: Trade) -> str:
        """Known once the settlement transaction was broadcast (MINED onwards)."""
        if self.trade_status(trade) == "MATCHED":
            return ""
        return _hex_id("tx", trade.id)

    def fails(self, trade: Trade) -> bool:
        """Whether this trade's settlement ends FAILED (deterministic by trade-id hash)."""
        if trade.will_fail is not None:
            return trade.will_fail
        bucket = int.from_bytes(hashlib.sha256(trade.id.encode()).digest()[:8], "big") % 10_000
        return bucket < self._failed_per_10k

    def fold(self) -> AccountFold:
        """The account as of now. Folded again only when it changes, not per read: every page of
        a big account's positions would otherwise refold all of its trades."""
        now_ms = self.clock.now_ms()
        key = self._fold_key(now_ms)
        if self._last_fold is None or self._last_fold.key != key:
            effective = tuple(t for t in self.trades if self._status_at(t, now_ms) != "FAILED")
            times: dict[str, tuple[int, int]] = {}
            for token_id, at_ms in [*((t.token_id, t.match_ms) for t in effective),
                                    *((t.token_id, t.at_ms) for t in self.transfers)]:
                first, last = times.get(token_id, (at_ms, at_ms))
                times[token_id] = (min(first, at_ms), max(last, at_ms))
            states = _fold([*effective, *self.transfers])
            self._last_fold = AccountFold(key, effective, MappingProxyType(states), MappingProxyType(times))
        return self._last_fold

    def effective_trades(self) -> list[Trade]:
        return list(self.fold().effective_trades)

    def positions(self) -> Mapping[str, PositionState]:
        """Every token this account ever traded or had transferred, folded from non-FAILED trades
        and transfers in time order. Read-only: the states are shared until the next change."""
        return self.fold().states

    def position(self, token_id: str) -> PositionState:
        return self.positions().get(token_id, PositionState())

    def collateral(self) -> Decimal:
        cash = self.starting_collateral
        for trade in self.fold().effective_trades:
            notional = trade.size * trade.price
            cash += -notional if trade.side == "BUY" else notional
        return cash

    def current_price(self, token_id: str) -> Decimal:
        """The mark the Data API reports as curPrice: payout once resolved, else the midpoint."""
        return self.pricer()(token_id)

    def pricer(self) -> Callable[[str], Decimal]:
        """`current_price` of any number of tokens as of now, going through our orders once
        (not once per token): for pricing a whole account. Use it within one request."""
        self._expire_orders()
        ours: dict[str, list[Order]] = {}
        for order in self.orders.values():
            if order.is_open:
                ours.setdefault(order.intent.token_id, []).append(order)

        def price(token_id: str) -> Decimal:
            market = self.market_of(token_id)
            if market.winner_index is not None:
                return Decimal(1) if market.token(token_id).outcome_index == market.winner_index else ZERO
            bids, asks = self._levels(token_id, ours.get(token_id, ()))
            mid = _midpoint(max(bids, default=None), min(asks, default=None))
            return mid if mid is not None else ZERO

        return price

    def book_view(self, token_id: str) -> Book:
        """External liquidity plus our own resting orders, aggregated by price."""
        self._expire_orders()
        ours = [o for o in self.orders.values() if o.is_open and o.intent.token_id == token_id]
        bids, asks = self._levels(token_id, ours)
        return Book(
            bids=[Level(p, s) for p, s in sorted(bids.items(), key=lambda kv: -kv[0])],
            asks=[Level(p, s) for p, s in sorted(asks.items())],
        )

    def best(self, token_id: str, side: Side) -> Decimal | None:
        book = self.book_view(token_id)
        levels = book.bids if side == "BUY" else book.asks
        return levels[0].price if levels else None

    def midpoint(self, token_id: str) -> Decimal | None:
        return _midpoint(self.best(token_id, "BUY"), self.best(token_id, "SELL"))

    def open_orders(self) -> list[Order]:
        self._expire_orders()
        return [o for o in self.orders.values() if o.is_open]

    # ---- trading -------------------------------------------------------------------------

    def place_order(self, intent: OrderIntent) -> PlaceResult:
        self._expire_orders()
        if intent.order_hash in self.orders:
            raise OrderRejected(f"order {intent.order_hash} is invalid. Duplicated.")
        if intent.order_type not in ORDER_TYPES:
            raise OrderRejected(f"invalid order type {intent.order_type!r}")
        try:
            market = self.market_of(intent.token_id)
        except KeyError:
            raise OrderRejected("Invalid token id") from None
        if market.winner_index is not None:
            raise OrderRejected("market is closed: the market has already been resolved")
        try:
            price, size = order_price_and_size(intent.side, intent.maker_amount, intent.taker_amount)
        except ValueError as error:
            raise OrderRejected(f"invalid amounts: {error}") from None
        if not is_on_tick(price, market.tick_size):
            raise OrderRejected(
                f"order {intent.order_hash} is invalid. Price ({price}) breaks minimum tick size "
                f"rule: {market.tick_size}"
            )
        if intent.order_type in ("GTC", "GTD") and size < market.min_order_size:
            raise OrderRejected(
                f"order {intent.order_hash} is invalid. Size ({size}) lower than the minimum: "
                f"{market.min_order_size}"
            )
        now_s = self.clock.now_ms() // 1000
        if intent.order_type == "GTD":
            if intent.expiration < now_s + MIN_GTD_LEAD_S:
                raise OrderRejected("invalid expiration")
        elif intent.expiration != 0:
            raise OrderRejected("invalid expiration")
        if intent.post_only and intent.order_type not in ("GTC", "GTD"):
            raise OrderRejected("post-only orders must be GTC or GTD")
        self._check_balance(intent, price, size)

        takeable = self._takeable(intent.token_id, intent.side, price)
        available = sum((lv.size for lv in takeable), ZERO)
        if intent.post_only and takeable:
            raise OrderRejected(POST_ONLY_CROSSES)
        if intent.order_type == "FOK" and available < size:
            raise OrderRejected(FOK_NOT_FILLED)
        if intent.order_type == "FAK" and not takeable:
            raise OrderRejected(FAK_NOT_FILLED)

        order = Order(
            id=intent.order_hash, intent=intent, market=market.condition_id, price=price,
            original_size=size, created_s=now_s,
        )
        self.orders[order.id] = order
        trade_ids: list[str] = []
        making = taking = ZERO
        now_ms = self.clock.now_ms()
        for level in takeable:
            if order.remaining == 0:
                break
            qty = min(level.size, order.remaining)
            level.size -= qty
            trade = self._new_trade(
                intent.token_id, intent.side, qty, level.price, now_ms, "TAKER", order.id,
                _hex_id("maker", intent.token_id, level.price, self._seq), intent.owner,
            )
            self._record_fill(order, trade)
            trade_ids.append(trade.id)
            notional = qty * level.price
            making += notional if intent.side == "BUY" else qty
            taking += qty if intent.side == "BUY" else notional
        book = self.books[intent.token_id]
        book.bids = [lv for lv in book.bids if lv.size > 0]
        book.asks = [lv for lv in book.asks if lv.size > 0]

        if order.remaining > 0 and intent.order_type in ("FOK", "FAK"):
            order.status = "CANCELED" if order.size_matched == 0 else "MATCHED"
        status: Literal["live", "matched"] = "live" if order.is_open else "matched"
        return PlaceResult(order.id, status, making, taking, tuple(trade_ids))

    def cancel(self, order_ids: list[str]) -> tuple[list[str], dict[str, str]]:
        self._expire_orders()
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for order_id in order_ids:
            order = self.orders.get(order_id)
            if order is None:
                not_canceled[order_id] = "order not found"
            elif order.status == "CANCELED":
                not_canceled[order_id] = "order already canceled"
            elif order.status == "MATCHED":
                not_canceled[order_id] = "order already fully matched"
            else:
                order.status = "CANCELED"
                canceled.append(order_id)
        return canceled, not_canceled

    # ---- internals -----------------------------------------------------------------------

    def _fold_key(self, now_ms: int) -> tuple[int, int, int]:
        """What the fold depends on: trades and transfers are only ever appended (and never
        changed), and which trades are FAILED at `now_ms` is a prefix of the failing ones by match
        time, so their count names the set exactly, whichever way the clock has moved."""
        for trade in self.trades[self._indexed_trades:]:
            if self.fails(trade):
                insort(self._failing_match_ms, trade.match_ms)
        self._indexed_trades = len(self.trades)
        failed_from_age = max(self.config.mined_after_ms, self.config.confirmed_after_ms)
        failed = bisect_right(self._failing_match_ms, now_ms - failed_from_age)
        return len(self.trades), len(self.transfers), failed

    def _position_at(self, token_id: str, at_ms: int) -> PositionState:
        """The holding once everything dated at or before `at_ms` happened: what a transfer
        dated then can move."""
        events = [e for e in (*self.fold().effective_trades, *self.transfers) if _event_ms(e) <= at_ms]
        return _fold(events).get(token_id, PositionState())

    def _levels(self, token_id: str, ours: Iterable[Order]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        """(bids, asks) as size by price: the external book plus `ours`, our open orders on it."""
        external = self.books[token_id]
        bids = {lv.price: lv.size for lv in external.bids}
        asks = {lv.price: lv.size for lv in external.asks}
        for order in ours:
            side = bids if order.intent.side == "BUY" else asks
            side[order.price] = side.get(order.price, ZERO) + order.remaining
        return bids, asks

    def _takeable(self, token_id: str, side: Side, limit: Decimal) -> list[Level]:
        book = self.books[token_id]
        if side == "BUY":
            return [lv for lv in book.asks if lv.price <= limit and lv.size > 0]
        return [lv for lv in book.bids if lv.price >= limit and lv.size > 0]

    def _check_balance(self, intent: OrderIntent, price: Decimal, size: Decimal) -> None:
        reserved = ZERO
        for order in self.open_orders():
            if order.intent.side == intent.side and (
                intent.side == "BUY" or order.intent.token_id == intent.token_id
            ):
                reserved += order.remaining * (order.price if intent.side == "BUY" else 1)
        if intent.side == "BUY":
            balance, needed = self.collateral(), from_units(intent.maker_amount)
        else:
            balance, needed = self.position(intent.token_id).size, size
        if needed > balance - reserved:
            raise OrderRejected(
                f"not enough balance / allowance: the balance is not enough -> balance: "
                f"{balance}, order amount: {needed}, sum of active orders: {reserved}"
            )

    def _new_trade(
        self, token_id: str, side: Side, size: Decimal, price: Decimal, match_ms: int,
        trader_side: Literal["TAKER", "MAKER"], order_id: str, maker_order_id: str, owner: str,
        will_fail: bool | None = None,
    ) -> Trade:
        self._seq += 1
        trade = Trade(
            id=_trade_uuid("trade", self.config.address, self._seq, token_id, match_ms),
            seq=self._seq, token_id=token_id, market=self.token_market[token_id], side=side,
            size=size, price=price, match_ms=match_ms, trader_side=trader_side,
            order_id=order_id, maker_order_id=maker_order_id, owner=owner, will_fail=will_fail,
        )
        self.trades.append(trade)
        return trade

    def _record_fill(self, order: Order, trade: Trade) -> None:
        order.size_matched += trade.size
        order.associate_trades.append(trade.id)
        if order.remaining == 0:
            order.status = "MATCHED"

    def _expire_orders(self) -> None:
        now_s = self.clock.now_ms() // 1000
        for order in self.orders.values():
            if order.is_open and order.intent.expiration and order.intent.expiration <= now_s:
                order.status = "CANCELED"

    # ---- admin view ----------------------------------------------------------------------

    def state(self) -> dict:
        """A JSON-ready snapshot (decimal strings) for the admin API and tests."""
        positions = self.positions()
        return {
            "address": self.config.address,
            "collateral": str(self.collateral()),
            "positions": [
                {
                    "asset": token_id,
                    "condition_id": self.token_market[token_id],
                    "outcome": self.market_of(token_id).token(token_id).outcome,
                    "size": str(p.size),
                    "avg_price": str(p.avg_price),
                    "realized_pnl": str(p.realized_pnl),
                }
                for token_id, p in positions.items()
            ],
            "open_orders": [
                {"id": o.id, "asset": o.intent.token_id, "side": o.intent.side, "price": str(o.price),
                 "original_size": str(o.original_size), "size_matched": str(o.size_matched)}
                for o in self.open_orders()
            ],
            "trades": [
                {"id": t.id, "asset": t.token_id, "side": t.side, "size": str(t.size),
                 "price": str(t.price), "status": self.trade_status(t), "match_ms": t.match_ms,
                 "order_id": t.order_id}
                for t in self.trades
            ],
            "injected_trade_rows": [i.row for i in self.injected_trade_rows],
            "transfers": [
                {"asset": t.token_id, "size": str(t.size), "avg_price": str(t.avg_price), "at_ms": t.at_ms}
                for t in self.transfers
            ],
            "markets": [
                {"condition_id": m.condition_id, "question": m.question, "slug": m.slug,
                 "resolved": m.winner_index is not None,
                 "tokens": [{"token_id": t.token_id, "outcome": t.outcome} for t in m.tokens]}
                for m in self.markets.values()
            ],
        }

