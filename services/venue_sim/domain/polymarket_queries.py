"""Filtered, sorted reads of the Polymarket account: what each list endpoint selects.

Handlers parse a query (`parse_*`, raising QueryError for the venue's 400s), check the user
and injected faults, then call the selection here and page it with polymarket_pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from services.venue_sim.domain.polymarket import (
    AccountFold,
    InjectedTradeRow,
    Market,
    Order,
    PolymarketExchange,
    Token,
    Trade,
)
from services.venue_sim.domain.polymarket_math import ZERO, PositionState, percent
from services.venue_sim.domain.polymarket_pages import (
    CursorPage,
    OffsetPage,
    Page,
    QueryError,
    int_param,
    parse_cursor_page,
    parse_offset_page,
)

POSITIONS_DEFAULT_LIMIT, POSITIONS_MAX_LIMIT, POSITIONS_MAX_OFFSET = 100, 500, 10_000
V2_DEFAULT_LIMIT, V2_MAX_LIMIT = 100, 1000
TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT = 100, 10_000
ACTIVITY_MAX_LIMIT = 500

Params = Mapping[str, str]


class Holding(NamedTuple):
    """One token this account has traded or had transferred, with the values the Data API
    derives from it. (A named tuple: one is made per row of every positions page.)"""

    token_id: str
    market: Market
    state: PositionState
    cur_price: Decimal  # the midpoint, or the payout (1 or 0) once the market is resolved
    mergeable: bool  # both outcomes of the market are held
    first_ms: int
    last_ms: int

    @property
    def token(self) -> Token:
        return self.market.token(self.token_id)

    @property
    def opposite(self) -> Token:
        return self.market.other(self.token_id)

    @property
    def initial_value(self) -> Decimal:
        return self.state.initial_value

    @property
    def current_value(self) -> Decimal:
        return self.state.size * self.cur_price

    @property
    def cash_pnl(self) -> Decimal:
        return self.current_value - self.initial_value

    @property
    def percent_pnl(self) -> Decimal:
        return percent(self.cash_pnl, self.initial_value)

    @property
    def redeemable(self) -> bool:
        return self.market.winner_index is not None

    @property
    def status(self) -> str:
        """v2 status: CLOSED once sold out, REDEEMABLE once resolved, else OPEN."""
        if self.state.size == 0:
            return "CLOSED"
        return "REDEEMABLE" if self.redeemable else "OPEN"


def holdings(ex: PolymarketExchange, fold: AccountFold, token_ids: Iterable[str]) -> list[Holding]:
    """The holdings of `token_ids` (tokens the account holds or held) in `fold`, priced as of now."""
    states, price = fold.states, ex.pricer()
    out = []
    for token_id in token_ids:
        market = ex.market_of(token_id)
        out.append(Holding(token_id, market, states[token_id], price(token_id),
                           _mergeable(states, market, token_id), *fold.times[token_id]))
    return out


def _mergeable(states: Mapping[str, PositionState], market: Market, token_id: str) -> bool:
    other = states.get(market.other(token_id).token_id)
    return states[token_id].size > 0 and other is not None and other.size > 0


# ---- query parameters --------------------------------------------------------------------


def is_our_user(ex: PolymarketExchange, params: Params) -> bool:
    """The Data API serves any wallet; this sim knows one and answers others with nothing."""
    user = params.get("user")
    if not user:
        raise QueryError("required query param 'user' not provided")
    return user.lower() == ex.config.address.lower()


def _decimal_param(params: Params, name: str, default: Decimal) -> Decimal:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise QueryError(f"invalid {name}") from None
    if not value.is_finite():
        raise QueryError(f"invalid {name}")
    return value


def _bool_param(params: Params, name: str) -> bool | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    return raw.lower() == "true"


def _csv(params: Params, *names: str) -> set[str] | None:
    """The first of `names` given, as a lower-cased set (condition ids are case-insensitive)."""
    for name in names:
        raw = params.get(name)
        if raw:
            return {part.strip().lower() for part in raw.split(",") if part.strip()}
    return None


# ---- Data API positions ------------------------------------------------------------------

# Sorts by the positions alone: the held tokens in such an order are kept with the fold, so a
# page of a big account costs its own rows (not a sort of every holding) until the next change.
_V1_FOLD_SORT_KEYS: dict[str, Callable[[PositionState], Any]] = {
    "TOKENS": lambda state: state.size,
    "INITIAL": lambda state: state.initial_value,
    "AVGPRICE": lambda state: state.avg_price,
}
# Sorts by market fields: no prices needed, so only the page's rows are priced.
_V1_MARKET_SORT_KEYS: dict[str, Callable[[Market], Any]] = {
    "TITLE": lambda market: market.question,
    "RESOLVING": lambda market: market.end_date,
}
# Sorts by price: every row is priced first.
_V1_PRICE_SORT_KEYS: dict[str, Callable[[Holding], Any]] = {
    "CURRENT": lambda h: h.current_value,
    "CASHPNL": lambda h: h.cash_pnl,
    "PERCENTPNL": lambda h: h.percent_pnl,
    "PRICE": lambda h: h.cur_price,
}
_V1_SORTS = {*_V1_FOLD_SORT_KEYS, *_V1_MARKET_SORT_KEYS, *_V1_PRICE_SORT_KEYS}


@dataclass(frozen=True)
class PositionsV1Query:
    page: OffsetPage
    size_threshold: Decimal
    sort_by: str  # one of _V1_SORTS
    descending: bool
    markets: set[str] | None
    redeemable: bool | None
    mergeable: bool | None


def parse_positions_v1(params: Params) -> PositionsV1Query:
    page = parse_offset_page(params, POSITIONS_DEFAULT_LIMIT, POSITIONS_MAX_LIMIT, POSITIONS_MAX_OFFSET)
    threshold = _decimal_param(params, "sizeThreshold", Decimal(1))
    sort_by = (params.get("sortBy") or "TOKENS").upper()
    if sort_by not in _V1_SORTS:
        raise QueryError(f"invalid sortBy {sort_by}")
    return PositionsV1Query(
        page, threshold, sort_by, (params.get("sortDirection") or "DESC").upper() != "ASC",
        _csv(params, "market"), _bool_param(params, "redeemable"), _bool_param(params, "mergeable"),
    )


def positions_v1(ex: PolymarketExchange, q: PositionsV1Query) -> Page[Holding]:
    """Held tokens at or above `sizeThreshold`; sorted by the key, ties by asset id, then paged."""
    fold = ex.fold()
    states = fold.states
    fold_key = _V1_FOLD_SORT_KEYS.get(q.sort_by)

    def held_in_order() -> tuple[str, ...]:
        tokens = sorted(token_id for token_id, state in states.items() if state.size > 0)
        if fold_key is not None:
            tokens.sort(key=lambda token_id: fold_key(states[token_id]), reverse=q.descending)
        return tuple(tokens)

    order = (q.sort_by, q.descending) if fold_key is not None else "asset"
    tokens: Sequence[str] = fold.view(("positions_v1", order), held_in_order)
    # Every held size is positive, so a threshold of zero or less keeps them all (the usual full read).
    if q.size_threshold > 0 or q.markets is not None or q.redeemable is not None or q.mergeable is not None:
        tokens = [
            token_id for token_id in tokens
            if states[token_id].size >= q.size_threshold
            and (q.markets is None or ex.token_market[token_id].lower() in q.markets)
            and (q.redeemable is None or (ex.market_of(token_id).winner_index is not None) == q.redeemable)
            and (q.mergeable is None or _mergeable(states, ex.market_of(token_id), token_id) == q.mergeable)
        ]
    market_key = _V1_MARKET_SORT_KEYS.get(q.sort_by)
    if market_key is not None:
        tokens = sorted(tokens, key=lambda token_id: market_key(ex.market_of(token_id)), reverse=q.descending)
    price_key = _V1_PRICE_SORT_KEYS.get(q.sort_by)
    if price_key is not None:
        rows = holdings(ex, fold, tokens)
        rows.sort(key=price_key, reverse=q.descending)
        return q.page.take(rows)
    page = q.page.take(tokens)
    return Page(holdings(ex, fold, page.items), page.page_no, page.next_cursor)


_V2_STATUSES: dict[str, Callable[[Holding], bool]] = {
    "": lambda h: h.status != "CLOSED",
    "OPEN": lambda h: h.status == "OPEN",
    "REDEEMABLE": lambda h: h.status == "REDEEMABLE",
    "REDEEMABLE_LOST": lambda h: h.status == "REDEEMABLE" and h.cur_price == 0,
    "MERGEABLE": lambda h: h.mergeable,
    "CLOSED": lambda h: h.status == "CLOSED",
}


@dataclass(frozen=True)
class PositionsV2Query:
    page: CursorPage
    wanted: Callable[[Holding], bool]
    markets: set[str] | None


def parse_positions_v2(params: Params) -> PositionsV2Query:
    page = parse_cursor_page(params, V2_DEFAULT_LIMIT, V2_MAX_LIMIT)
    status = (params.get("status") or "").upper()
    if status not in _V2_STATUSES:
        raise QueryError(f"invalid status {status}")
    return PositionsV2Query(page, _V2_STATUSES[status], _csv(params, "condition_id", "market"))


def positions_v2(ex: PolymarketExchange, q: PositionsV2Query) -> Page[Holding]:
    """Every traded token (CLOSED ones only when asked), largest current value first."""
    fold = ex.fold()
    tokens = [t for t in fold.states if q.markets is None or ex.token_market[t].lower() in q.markets]
    rows = [h for h in holdings(ex, fold, tokens) if q.wanted(h)]
    rows.sort(key=lambda h: (-h.current_value, h.token_id))
    return q.page.take(rows)


def portfolio_value(ex: PolymarketExchange, params: Params) -> Decimal:
    if not is_our_user(ex, params):
        return ZERO
    markets = _csv(params, "market", "condition_id")
    price = ex.pricer()
    return sum(
        (state.size * price(token_id) for token_id, state in ex.positions().items()
         if markets is None or ex.token_market[token_id].lower() in markets),
        ZERO,
    )


# ---- Data API trades and activity --------------------------------------------------------


def parse_trades_v1_page(params: Params) -> OffsetPage:
    return parse_offset_page(params, TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT)


def parse_activity_page(params: Params) -> OffsetPage:
    return parse_offset_page(params, TRADES_DEFAULT_LIMIT, ACTIVITY_MAX_LIMIT)


def parse_trades_v2_page(params: Params) -> CursorPage:
    return parse_cursor_page(params, V2_DEFAULT_LIMIT, V2_MAX_LIMIT)


def data_trades(ex: PolymarketExchange, params: Params) -> list[Trade]:
    """Our trades the chain has seen (MINED onwards), newest first.

    The Data API indexes the chain, so a fill shows here once its settlement is mined.
    """
    if not is_our_user(ex, params):
        return []
    markets = _csv(params, "market", "condition_id")
    side = (params.get("side") or "").upper()
    taker_only = _bool_param(params, "takerOnly")
    trades = [
        t for t in ex.trades
        if ex.trade_status(t) in ("MINED", "CONFIRMED")
        and (markets is None or t.market.lower() in markets)
        and (not side or t.side == side)
        and (taker_only is False or t.trader_side == "TAKER")
    ]
    return sorted(trades, key=lambda t: (-t.match_ms, -t.seq))


# ---- CLOB (authenticated) ----------------------------------------------------------------


def _asset(params: Params) -> str | None:
    return params.get("asset_id") or params.get("token_id")


def clob_orders(ex: PolymarketExchange, params: Params) -> list[Order]:
    """Open orders matching `id` / `market` / `asset_id`, oldest first (as the CLOB pages them)."""
    asset = _asset(params)
    rows = [
        o for o in ex.open_orders()
        if params.get("id") in (None, o.id) and params.get("market") in (None, o.market)
        and asset in (None, o.intent.token_id)
    ]
    return sorted(rows, key=lambda o: (o.created_s, o.id))


def clob_trades(ex: PolymarketExchange, params: Params) -> list[Trade | InjectedTradeRow]:
    """Every trade of ours at any status, plus injected raw rows, newest first.

    `after` / `before` are unix seconds, both exclusive.
    """
    asset = _asset(params)
    after, before = int_param(params, "after", -1), int_param(params, "before", 2**63)

    def keep(trade_id: Any, market: Any, token_id: Any, match_ms: int) -> bool:
        return (params.get("id") in (None, trade_id) and params.get("market") in (None, market)
                and asset in (None, token_id) and after < match_ms // 1000 < before)

    rows: list[Trade | InjectedTradeRow] = [
        t for t in ex.trades if keep(t.id, t.market, t.token_id, t.match_ms)
    ]
    rows += [
        i for i in ex.injected_trade_rows
        if keep(i.row.get("id"), i.row.get("market"), i.row.get("asset_id"), i.match_ms)
    ]
    return sorted(rows, key=lambda r: (-r.match_ms, -r.seq))
