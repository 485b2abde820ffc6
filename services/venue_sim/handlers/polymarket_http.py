"""HTTP faces of the simulated Polymarket venue: the Data API, the CLOB, and `/_sim/polymarket`.

Errors use Polymarket's shape, `{"error": "..."}`. Rate limits are the README's sliding 10 s
windows and, like the real venue, *throttle* (delay) over-limit requests instead of rejecting
them. Handlers never await between reading and changing `sim.polymarket`, so each request sees
and leaves a consistent state on the single event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Litestar, Request, Response, Router, delete, get, post
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp

from services.venue_sim.adapters import polymarket_wire as wire
from services.venue_sim.adapters.polymarket_auth import (
    ApiCredentials,
    AuthError,
    BadOrder,
    require_v2,
    verify_l1,
    verify_l2,
    verify_order,
)
from services.venue_sim.domain.polymarket import (
    END_CURSOR,
    Market,
    OrderRejected,
    PolymarketExchange,
    decode_cursor,
    encode_cursor,
)
from services.venue_sim.domain.polymarket_ratelimit import CLOB_LIMITS, DATA_API_LIMITS, SlidingWindowThrottle
from services.venue_sim.handlers.faults_http import fault_middleware

POSITIONS_DEFAULT_LIMIT, POSITIONS_MAX_LIMIT, POSITIONS_MAX_OFFSET = 100, 500, 10_000
V2_DEFAULT_LIMIT, V2_MAX_LIMIT = 100, 1000
TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT = 100, 10_000
CLOB_PAGE_SIZE = 100  # the CLOB's fixed page size for /data/orders and /data/trades
# How long a write that "timed out after accept" keeps the client waiting before a 504.
# Longer than any sane client timeout, short enough not to stall a test server's shutdown.
TIMEOUT_AFTER_ACCEPT_S = 15.0


def _json(body: Any, status: int = 200) -> Response[bytes]:
    return Response(content=wire.dumps(body), status_code=status, media_type="application/json")


def _error(message: str, status: int) -> Response[bytes]:
    return _json({"error": message}, status)


def _exchange(sim: Any) -> PolymarketExchange:
    return sim.polymarket


def _faults(sim: Any) -> Any:
    return sim.faults.for_venue("polymarket")


async def _throttle(throttle: SlidingWindowThrottle, *buckets: str) -> None:
    delay = throttle.reserve(list(buckets), time.monotonic())
    if delay > 0:
        await asyncio.sleep(delay)


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"invalid {name}") from None


def _decimal_param(request: Request, name: str, default: Decimal) -> Decimal:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise HTTPException(status_code=400, detail=f"invalid {name}") from None
    if not value.is_finite():
        raise HTTPException(status_code=400, detail=f"invalid {name}")
    return value


def _bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    return raw.lower() == "true"


def _csv(request: Request, *names: str) -> set[str] | None:
    for name in names:
        raw = request.query_params.get(name)
        if raw:
            return {part.strip().lower() for part in raw.split(",") if part.strip()}
    return None


def _http_error_handler(_: Request, exc: HTTPException) -> Response[bytes]:
    return _error(str(exc.detail), exc.status_code)


def _app(handlers: list, sim: Any) -> Litestar:
    middleware: list[Callable[[ASGIApp], ASGIApp]] = [fault_middleware(sim.faults, "polymarket")]
    return Litestar(
        route_handlers=handlers,
        middleware=middleware,
        exception_handlers={HTTPException: _http_error_handler},
        openapi_config=None,
        # One log format for every process: shared.logs configures it; Litestar must not replace it.
        logging_config=None,
    )


# ---- Data API ----------------------------------------------------------------------------


def _is_our_user(ex: PolymarketExchange, request: Request) -> bool:
    user = request.query_params.get("user")
    if not user:
        raise HTTPException(status_code=400, detail="required query param 'user' not provided")
    return user.lower() == ex.config.address.lower()


def _held(ex: PolymarketExchange) -> dict[str, Any]:
    """Positions with their first/last trade times and whether both outcomes are held."""
    states = ex.positions()
    times: dict[str, list[int]] = {}
    for trade in ex.effective_trades():
        times.setdefault(trade.token_id, []).append(trade.match_ms)
    rows = {}
    for token_id, state in states.items():
        other = ex.market_of(token_id).other(token_id).token_id
        mergeable = state.size > 0 and states.get(other) is not None and states[other].size > 0
        rows[token_id] = (state, mergeable, min(times[token_id]), max(times[token_id]))
    return rows


_V1_SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "TOKENS": lambda r: r["size"],
    "CURRENT": lambda r: r["currentValue"],
    "INITIAL": lambda r: r["initialValue"],
    "CASHPNL": lambda r: r["cashPnl"],
    "PERCENTPNL": lambda r: r["percentPnl"],
    "PRICE": lambda r: r["curPrice"],
    "AVGPRICE": lambda r: r["avgPrice"],
    "TITLE": lambda r: r["title"],
    "RESOLVING": lambda r: r["endDate"],
}


def build_data_api_app(sim: Any) -> Litestar:
    throttle = SlidingWindowThrottle(DATA_API_LIMITS)

    @get("/positions")
    async def positions(request: Request) -> Response[bytes]:
        await _throttle(throttle, "data", "positions")
        ex = _exchange(sim)
        limit = min(_int_param(request, "limit", POSITIONS_DEFAULT_LIMIT), POSITIONS_MAX_LIMIT)
        offset = _int_param(request, "offset", 0)
        if limit < 0 or offset < 0 or offset > POSITIONS_MAX_OFFSET:
            return _error(f"offset must be between 0 and {POSITIONS_MAX_OFFSET}, limit at least 0", 400)
        threshold = _decimal_param(request, "sizeThreshold", Decimal(1))
        sort_by = (request.query_params.get("sortBy") or "TOKENS").upper()
        if sort_by not in _V1_SORT_KEYS:
            return _error(f"invalid sortBy {sort_by}", 400)
        descending = (request.query_params.get("sortDirection") or "DESC").upper() != "ASC"
        if not _is_our_user(ex, request):
            return _json([])
        if _faults(sim).page_fails("positions", offset // max(limit, 1) + 1):
            return _error("internal server error", 500)
        markets = _csv(request, "market")
        redeemable, mergeable = _bool_param(request, "redeemable"), _bool_param(request, "mergeable")
        rows = []
        for token_id, (state, can_merge, _, _) in _held(ex).items():
            row = wire.position_row_v1(ex, token_id, state, can_merge)
            if state.size <= 0 or state.size < threshold:
                continue
            if markets is not None and row["conditionId"].lower() not in markets:
                continue
            if redeemable is not None and row["redeemable"] != redeemable:
                continue
            if mergeable is not None and row["mergeable"] != mergeable:
                continue
            rows.append(row)
        # Stable order for paging: the sort key, then the asset id.
        rows.sort(key=lambda r: r["asset"])
        rows.sort(key=_V1_SORT_KEYS[sort_by], reverse=descending)
        return _json(rows[offset : offset + limit])

    @get("/v2/positions")
    async def positions_v2(request: Request) -> Response[bytes]:
        await _throttle(throttle, "data", "positions")
        ex = _exchange(sim)
        limit = min(_int_param(request, "limit", V2_DEFAULT_LIMIT), V2_MAX_LIMIT)
        try:
            offset = decode_cursor(request.query_params.get("cursor"))
        except ValueError as error:
            return _error(str(error), 400)
        if limit <= 0:
            return _error("limit must be positive", 400)
        status = (request.query_params.get("status") or "").upper()
        if not _is_our_user(ex, request):
            return _json({"data": [], "pagination": {"has_more": False, "next_cursor": None}})
        if _faults(sim).page_fails("positions", offset // limit + 1):
            return _error("internal server error", 500)
        markets = _csv(request, "condition_id", "market")
        rows = []
        for token_id, (state, can_merge, first_ms, last_ms) in sorted(_held(ex).items()):
            row = wire.position_row_v2(ex, token_id, state, can_merge, first_ms, last_ms)
            if markets is not None and row["condition_id"].lower() not in markets:
                continue
            wanted = {
                "": row["status"] != "CLOSED",
                "OPEN": row["status"] == "OPEN",
                "REDEEMABLE": row["status"] == "REDEEMABLE",
                "REDEEMABLE_LOST": row["status"] == "REDEEMABLE" and row["current_price"] == 0,
                "MERGEABLE": row["mergeable"],
                "CLOSED": row["status"] == "CLOSED",
            }.get(status)
            if wanted is None:
                return _error(f"invalid status {status}", 400)
            if wanted:
                rows.append(row)
        rows.sort(key=lambda r: (-r["current_value"], r["token_id"]))
        page = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        return _json({"data": page, "pagination": {"has_more": more, "next_cursor": encode_cursor(offset + limit) if more else None}})

    def _our_trades(request: Request) -> list:
        ex = _exchange(sim)
        if not _is_our_user(ex, request):
            return []
        markets = _csv(request, "market", "condition_id")
        side = (request.query_params.get("side") or "").upper()
        taker_only = _bool_param(request, "takerOnly")
        # The Data API indexes the chain: a fill shows here once its settlement is mined.
        trades = [
            t for t in ex.trades
            if ex.trade_status(t) in ("MINED", "CONFIRMED")
            and (markets is None or t.market.lower() in markets)
            and (not side or t.side == side)
            and (taker_only is False or t.trader_side == "TAKER")
        ]
        return sorted(trades, key=lambda t: (-t.match_ms, -t.seq))

    @get("/trades")
    async def trades(request: Request) -> Response[bytes]:
        await _throttle(throttle, "data", "trades")
        limit = min(_int_param(request, "limit", TRADES_DEFAULT_LIMIT), TRADES_MAX_LIMIT)
        offset = _int_param(request, "offset", 0)
        if limit < 0 or offset < 0:
            return _error("invalid limit or offset", 400)
        if _faults(sim).page_fails("trades", offset // max(limit, 1) + 1):
            return _error("internal server error", 500)
        found = _our_trades(request)[offset : offset + limit]
        return _json([wire.data_trade_row_v1(_exchange(sim), t) for t in found])

    @get("/activity")
    async def activity(request: Request) -> Response[bytes]:
        await _throttle(throttle, "data")
        limit = min(_int_param(request, "limit", TRADES_DEFAULT_LIMIT), 500)
        offset = _int_param(request, "offset", 0)
        if limit < 0 or offset < 0:
            return _error("invalid limit or offset", 400)
        found = _our_trades(request)[offset : offset + limit]
        return _json([wire.activity_row_v1(_exchange(sim), t) for t in found])

    @get("/v2/trades")
    async def trades_v2(request: Request) -> Response[bytes]:
        await _throttle(throttle, "data", "trades")
        limit = min(_int_param(request, "limit", V2_DEFAULT_LIMIT), V2_MAX_LIMIT)
        try:
            offset = decode_cursor(request.query_params.get("cursor"))
        except ValueError as error:
            return _error(str(error), 400)
        if limit <= 0:
            return _error("limit must be positive", 400)
        if _faults(sim).page_fails("trades", offset // limit + 1):
            return _error("internal server error", 500)
        found = _our_trades(request)
        more = offset + limit < len(found)
        return _json({
            "data": [wire.data_trade_row_v2(_exchange(sim), t) for t in found[offset : offset + limit]],
            "pagination": {"has_more": more, "next_cursor": encode_cursor(offset + limit) if more else None},
        })

    def _value(request: Request) -> Decimal:
        ex = _exchange(sim)
        if not _is_our_user(ex, request):
            return Decimal(0)
        markets = _csv(request, "market", "condition_id")
        return sum(
            (state.size * ex.current_price(token_id) for token_id, state in ex.positions().items()
             if markets is None or ex.token_market[token_id].lower() in markets),
            Decimal(0),
        )

    @get("/value")
    async def value(request: Request) -> Response[bytes]:
        await _throttle(throttle, "data")
        return _json([{"user": _exchange(sim).config.address, "value": _value(request)}])

    @get("/v2/value")
    async def value_v2(request: Request) -> Response[bytes]:
        await _throttle(throttle, "data")
        return _json({"data": {"proxy_wallet": _exchange(sim).config.address, "value": _value(request)}})

    return _app([positions, positions_v2, trades, activity, trades_v2, value, value_v2], sim)


# ---- CLOB --------------------------------------------------------------------------------


def _creds(ex: PolymarketExchange) -> ApiCredentials:
    c = ex.config
    return ApiCredentials(c.api_key, c.api_secret, c.api_passphrase, c.address)


async def _authenticate(ex: PolymarketExchange, request: Request) -> bytes:
    """Verify L2 headers over the exact body bytes; return the body. Raises AuthError."""
    body = await request.body()
    verify_l2(request.headers, request.method, request.url.path, body, _creds(ex), int(time.time()))
    return body


def _market_for_token(ex: PolymarketExchange, token_id: str | None) -> Market:
    if not token_id:
        raise HTTPException(status_code=400, detail="Invalid token id")
    try:
        return ex.market_of(token_id)
    except KeyError:
        raise HTTPException(status_code=404, detail="No orderbook exists for the requested token id") from None


def _cursor_page(rows: list, cursor: str | None) -> tuple[list, str, int]:
    """One CLOB page: (items, next_cursor, offset). Raises ValueError on a bad cursor."""
    if cursor == END_CURSOR:
        return [], END_CURSOR, len(rows)
    offset = decode_cursor(cursor)
    end = offset + CLOB_PAGE_SIZE
    return rows[offset:end], encode_cursor(end) if end < len(rows) else END_CURSOR, offset


def build_clob_app(sim: Any) -> Litestar:
    throttle = SlidingWindowThrottle(CLOB_LIMITS)

    async def authed(request: Request, *buckets: str) -> bytes | Response[bytes]:
        await _throttle(throttle, "clob", *buckets)
        try:
            return await _authenticate(_exchange(sim), request)
        except AuthError as error:
            return _error(str(error), 401)

    # -- public market data --

    @get("/")
    async def ok() -> Response[bytes]:
        return _json("OK")

    @get("/time")
    async def server_time() -> Response[bytes]:
        # Wall-clock seconds: what L2 POLY_TIMESTAMP freshness is checked against.
        return _json(int(time.time()))

    @get("/book")
    async def book(request: Request) -> Response[bytes]:
        await _throttle(throttle, "clob")
        ex = _exchange(sim)
        token_id = request.query_params.get("token_id")
        market = _market_for_token(ex, token_id)
        return _json(wire.book_body(ex, market, token_id, ex.book_view(token_id), ex.clock.now_ms()))

    @post("/books", status_code=200)
    async def books(request: Request) -> Response[bytes]:
        await _throttle(throttle, "clob")
        ex = _exchange(sim)
        items = _json_body(await request.body())
        if not isinstance(items, list):
            return _error("Invalid payload", 400)
        out = []
        for item in items:
            token_id = item.get("token_id") if isinstance(item, dict) else None
            market = _market_for_token(ex, token_id)
            out.append(wire.book_body(ex, market, token_id, ex.book_view(token_id), ex.clock.now_ms()))
        return _json(out)

    @get("/midpoint")
    async def midpoint(request: Request) -> Response[bytes]:
        await _throttle(throttle, "clob")
        ex = _exchange(sim)
        token_id = request.query_params.get("token_id")
        _market_for_token(ex, token_id)
        mid = ex.midpoint(token_id)
        if mid is None:
            return _error("No orderbook exists for the requested token id", 404)
        return _json({"mid": wire.plain(mid)})

    @get("/price")
    async def price(request: Request) -> Response[bytes]:
        await _throttle(throttle, "clob")
        ex = _exchange(sim)
        token_id = request.query_params.get("token_id")
        side = (request.query_params.get("side") or "").upper()
        _market_for_token(ex, token_id)
        if side not in ("BUY", "SELL"):
            return _error("Invalid side", 400)
        # Per the CLOB docs: BUY answers the best bid, SELL the best ask.
        best = ex.best(token_id, "BUY" if side == "BUY" else "SELL")
        if best is None:
            return _error("No orderbook exists for the requested token id", 404)
        return _json({"price": wire.plain(best)})

    @get("/tick-size")
    async def tick_size(request: Request) -> Response[bytes]:
        market = _market_for_token(_exchange(sim), request.query_params.get("token_id"))
        return _json({"minimum_tick_size": market.tick_size})

    @get("/neg-risk")
    async def neg_risk(request: Request) -> Response[bytes]:
        market = _market_for_token(_exchange(sim), request.query_params.get("token_id"))
        return _json({"neg_risk": market.neg_risk})

    @get("/markets-by-token/{token_id:str}")
    async def market_by_token(token_id: str) -> Response[bytes]:
        market = _market_for_token(_exchange(sim), token_id)
        return _json({"condition_id": market.condition_id, "primary_token_id": market.tokens[0].token_id,
                      "secondary_token_id": market.tokens[1].token_id})

    @get("/clob-markets/{condition_id:str}")
    async def clob_market(condition_id: str) -> Response[bytes]:
        market = _exchange(sim).markets.get(condition_id)
        if market is None:
            return _error("market not found", 404)
        # Compact CLOB market info as polymarket-client reads it (nr, t[].t, mts, fd).
        return _json({
            "c": market.condition_id,
            "t": [{"t": t.token_id, "o": t.outcome} for t in market.tokens],
            "mts": market.tick_size,
            "mos": market.min_order_size,
            "nr": market.neg_risk,
            "fd": {"r": Decimal(0), "e": Decimal(0)},
        })

    @get("/markets/{condition_id:str}")
    async def clob_market_full(condition_id: str) -> Response[bytes]:
        ex = _exchange(sim)
        market = ex.markets.get(condition_id)
        if market is None:
            return _error("market not found", 404)
        resolved = market.winner_index is not None
        return _json({
            "condition_id": market.condition_id,
            "question": market.question,
            "market_slug": market.slug,
            "end_date_iso": f"{market.end_date}T00:00:00Z",
            "active": not resolved,
            "closed": resolved,
            "accepting_orders": not resolved,
            "enable_order_book": True,
            "minimum_order_size": market.min_order_size,
            "minimum_tick_size": market.tick_size,
            "neg_risk": market.neg_risk,
            "tokens": [
                {"token_id": t.token_id, "outcome": t.outcome, "price": ex.current_price(t.token_id),
                 "winner": resolved and t.outcome_index == market.winner_index}
                for t in market.tokens
            ],
        })

    # -- auth --

    @get("/auth/api-keys")
    async def api_keys(request: Request) -> Response[bytes]:
        checked = await authed(request)
        if isinstance(checked, Response):
            return checked
        return _json({"apiKeys": [_exchange(sim).config.api_key]})

    async def _l1_creds(request: Request) -> Response[bytes]:
        ex = _exchange(sim)
        try:
            address = verify_l1(request.headers, ex.config.chain_id, int(time.time()))
        except AuthError as error:
            return _error(str(error), 401)
        if address.lower() != ex.config.address.lower():
            return _error("Unauthorized/Invalid api key: this simulator serves one account", 401)
        c = ex.config
        return _json({"apiKey": c.api_key, "secret": c.api_secret, "passphrase": c.api_passphrase})

    @post("/auth/api-key", status_code=200)
    async def create_api_key(request: Request) -> Response[bytes]:
        return await _l1_creds(request)

    @get("/auth/derive-api-key")
    async def derive_api_key(request: Request) -> Response[bytes]:
        return await _l1_creds(request)

    @get("/auth/ban-status/closed-only")
    async def closed_only(request: Request) -> Response[bytes]:
        checked = await authed(request)
        if isinstance(checked, Response):
            return checked
        return _json({"closed_only": False})

    @get("/balance-allowance")
    async def balance_allowance(request: Request) -> Response[bytes]:
        checked = await authed(request)
        if isinstance(checked, Response):
            return checked
        ex = _exchange(sim)
        token_id = request.query_params.get("token_id")
        if (request.query_params.get("asset_type") or "").upper() == "COLLATERAL" or not token_id:
            amount = ex.collateral()
        else:
            amount = ex.position(token_id).size
        units = str(int(amount * 1_000_000))
        unlimited = str(2**256 - 1)
        return _json({"balance": units, "allowances": {"0xE111180000d2663C0091e4f400237545B87B996B": unlimited,
                                                       "0xe2222d279d744050d28e00520010520000310F59": unlimited}})

    @get("/balance-allowance/update")
    async def balance_allowance_update(request: Request) -> Response[bytes]:
        checked = await authed(request)
        if isinstance(checked, Response):
            return checked
        return _json("OK")

    # -- orders --

    async def _place(payload: Any) -> tuple[int, dict[str, Any]]:
        ex = _exchange(sim)
        if not isinstance(payload, dict):
            return 400, {"error": "Invalid order payload"}
        try:
            token_id = str(require_v2(payload).get("tokenId") or "")
        except BadOrder as error:
            return 400, {"error": str(error)}
        try:
            market = ex.market_of(token_id)
        except KeyError:
            return 400, {"error": "Invalid token id"}
        try:
            intent = verify_order(payload, owner_address=ex.config.address, api_key=ex.config.api_key,
                                  chain_id=ex.config.chain_id, neg_risk=market.neg_risk)
            result = ex.place_order(intent)
        except (BadOrder, OrderRejected) as error:
            return 400, {"error": getattr(error, "message", str(error))}
        return 200, {
            "success": True,
            "errorMsg": "",
            "orderID": result.order_id,
            "status": result.status,
            "makingAmount": wire.plain(result.making_amount),
            "takingAmount": wire.plain(result.taking_amount),
            "transactionsHashes": [],
            "tradeIDs": list(result.trade_ids),
        }

    async def _maybe_time_out() -> Response[bytes] | None:
        """The write is applied; with timeout_after_accept the client never hears back in time."""
        if _faults(sim).timeout_after_accept:
            await asyncio.sleep(TIMEOUT_AFTER_ACCEPT_S)
            return _error("upstream request timeout", 504)
        return None

    @post("/order", status_code=200)
    async def post_order(request: Request) -> Response[bytes]:
        checked = await authed(request, "post_order")
        if isinstance(checked, Response):
            return checked
        status, body = await _place(_json_body(checked))
        return await _maybe_time_out() or _json(body, status)

    @post("/orders", status_code=200)
    async def post_orders(request: Request) -> Response[bytes]:
        checked = await authed(request, "post_order")
        if isinstance(checked, Response):
            return checked
        payloads = _json_body(checked)
        if not isinstance(payloads, list) or not 0 < len(payloads) <= 15:
            return _error("Invalid payload: expected 1 to 15 orders", 400)
        results = []
        for payload in payloads:
            status, body = await _place(payload)
            if status != 200:
                body = {"success": False, "errorMsg": body["error"], "orderID": "", "status": "",
                        "makingAmount": "", "takingAmount": "", "transactionsHashes": [], "tradeIDs": []}
            results.append(body)
        return await _maybe_time_out() or _json(results)

    async def _cancel(request: Request, pick: Callable[[Any], list[str] | None]) -> Response[bytes]:
        checked = await authed(request, "delete_order")
        if isinstance(checked, Response):
            return checked
        ids = pick(_json_body(checked) if checked else None)
        if ids is None:
            return _error("Invalid order payload", 400)
        canceled, not_canceled = _exchange(sim).cancel(ids)
        return await _maybe_time_out() or _json({"canceled": canceled, "not_canceled": not_canceled})

    @delete("/order", status_code=200)
    async def cancel_order(request: Request) -> Response[bytes]:
        def pick(body: Any) -> list[str] | None:
            oid = body.get("orderID") if isinstance(body, dict) else None
            return [oid] if isinstance(oid, str) and oid else None
        return await _cancel(request, pick)

    @delete("/orders", status_code=200)
    async def cancel_orders(request: Request) -> Response[bytes]:
        def pick(body: Any) -> list[str] | None:
            ok = isinstance(body, list) and body and all(isinstance(i, str) for i in body)
            return list(body) if ok else None
        return await _cancel(request, pick)

    @delete("/cancel-all", status_code=200)
    async def cancel_all(request: Request) -> Response[bytes]:
        return await _cancel(request, lambda _: [o.id for o in _exchange(sim).open_orders()])

    @delete("/cancel-market-orders", status_code=200)
    async def cancel_market_orders(request: Request) -> Response[bytes]:
        def pick(body: Any) -> list[str] | None:
            if not isinstance(body, dict) or not (body.get("market") or body.get("asset_id")):
                return None
            return [o.id for o in _exchange(sim).open_orders()
                    if body.get("market") in (None, o.market) and body.get("asset_id") in (None, o.intent.token_id)]
        return await _cancel(request, pick)

    @get("/data/order/{order_id:str}")
    async def get_order(request: Request, order_id: str) -> Response[bytes]:
        checked = await authed(request)
        if isinstance(checked, Response):
            return checked
        ex = _exchange(sim)
        ex.open_orders()  # applies GTD expiry before reading
        order = ex.orders.get(order_id)
        if order is None:
            return _error("order not found", 404)
        return _json(wire.order_row(ex, order))

    @get("/data/orders")
    async def list_orders(request: Request) -> Response[bytes]:
        checked = await authed(request, "data_orders")
        if isinstance(checked, Response):
            return checked
        ex = _exchange(sim)
        q = request.query_params
        rows = [
            o for o in ex.open_orders()
            if q.get("id") in (None, o.id) and q.get("market") in (None, o.market)
            and (q.get("asset_id") or q.get("token_id")) in (None, o.intent.token_id)
        ]
        rows.sort(key=lambda o: (o.created_s, o.id))
        return _page(rows, request, "orders", lambda o: wire.order_row(ex, o))

    @get("/data/trades")
    async def list_trades(request: Request) -> Response[bytes]:
        checked = await authed(request, "data_trades")
        if isinstance(checked, Response):
            return checked
        ex = _exchange(sim)
        q = request.query_params
        after, before = q.get("after"), q.get("before")
        rows = [
            t for t in ex.trades
            if q.get("id") in (None, t.id) and q.get("market") in (None, t.market)
            and (q.get("asset_id") or q.get("token_id")) in (None, t.token_id)
            and (after is None or t.match_ms // 1000 > int(after))
            and (before is None or t.match_ms // 1000 < int(before))
        ]
        rows.sort(key=lambda t: (-t.match_ms, -t.seq))
        return _page(rows, request, "trades", lambda t: wire.clob_trade_row(ex, t))

    def _page(rows: list, request: Request, endpoint: str, render: Callable[[Any], dict]) -> Response[bytes]:
        try:
            items, next_cursor, offset = _cursor_page(rows, request.query_params.get("next_cursor"))
        except ValueError as error:
            return _error(str(error), 400)
        if _faults(sim).page_fails(endpoint, offset // CLOB_PAGE_SIZE + 1):
            return _error("internal server error", 500)
        return _json({"data": [render(r) for r in items], "next_cursor": next_cursor,
                      "limit": CLOB_PAGE_SIZE, "count": len(items)})

    return _app(
        [ok, server_time, book, books, midpoint, price, tick_size, neg_risk, market_by_token, clob_market,
         clob_market_full, api_keys, create_api_key, derive_api_key, closed_only, balance_allowance,
         balance_allowance_update, post_order, post_orders, cancel_order, cancel_orders, cancel_all,
         cancel_market_orders, get_order, list_orders, list_trades],
        sim,
    )


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal) if raw else None
    except ValueError:
        raise HTTPException(status_code=400, detail="Invalid JSON body") from None


# ---- admin -------------------------------------------------------------------------------


def polymarket_admin_router(sim: Any) -> Router:
    """`/_sim/polymarket/...`: inject outside trades, fill resting orders, resolve, inspect."""

    def _decimal(body: dict, name: str) -> Decimal:
        value = body.get(name)
        if isinstance(value, float) or value is None:
            raise HTTPException(status_code=400, detail=f"{name} must be a decimal string")
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise HTTPException(status_code=400, detail=f"{name} must be a decimal string") from None

    @get("/state")
    async def state() -> Response[bytes]:
        return _json(_exchange(sim).state())

    @post("/external-trades", status_code=201)
    async def external_trade(request: Request) -> Response[bytes]:
        body = _json_body(await request.body())
        if not isinstance(body, dict):
            return _error("expected an object", 400)
        ex = _exchange(sim)
        try:
            trade = ex.record_external_trade(
                str(body.get("asset") or body.get("token_id") or ""), str(body.get("side", "")).upper(),
                _decimal(body, "size"), _decimal(body, "price"),
                will_fail=body.get("will_fail") if isinstance(body.get("will_fail"), bool) else None,
            )
        except KeyError:
            return _error("unknown asset", 404)
        except ValueError as error:
            return _error(str(error), 400)
        return _json(wire.clob_trade_row(ex, trade), 201)

    @post("/orders/{order_id:str}/fill", status_code=201)
    async def fill_order(request: Request, order_id: str) -> Response[bytes]:
        body = _json_body(await request.body())
        if not isinstance(body, dict):
            return _error("expected an object", 400)
        ex = _exchange(sim)
        try:
            trade = ex.fill_resting_order(order_id, _decimal(body, "size"))
        except ValueError as error:
            return _error(str(error), 400)
        return _json(wire.clob_trade_row(ex, trade), 201)

    @post("/markets/{condition_id:str}/resolve", status_code=200)
    async def resolve(request: Request, condition_id: str) -> Response[bytes]:
        body = _json_body(await request.body())
        winner = body.get("winner") if isinstance(body, dict) else None
        ex = _exchange(sim)
        if condition_id not in ex.markets:
            return _error("unknown market", 404)
        try:
            market = ex.resolve_market(condition_id, str(winner or ""))
        except ValueError as error:
            return _error(str(error), 400)
        return _json({"condition_id": market.condition_id, "winner": market.tokens[market.winner_index].outcome})

    return Router(
        path="/_sim/polymarket",
        route_handlers=[state, external_trade, fill_order, resolve],
        exception_handlers={HTTPException: _http_error_handler},
    )
