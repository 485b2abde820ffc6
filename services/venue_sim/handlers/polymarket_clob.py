"""The simulated Polymarket CLOB: public market data, L1/L2 auth, V2 orders, and the account's
open orders and trades (cursor pages of 100)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from litestar import Litestar, Request, Response, delete, get, post
from litestar.exceptions import HTTPException

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
from services.venue_sim.domain import polymarket_queries as queries
from services.venue_sim.domain.polymarket import Market, OrderRejected, PolymarketExchange
from services.venue_sim.domain.polymarket_pages import CLOB_PAGE_SIZE, Page, clob_page
from services.venue_sim.domain.polymarket_ratelimit import CLOB_LIMITS, SlidingWindowThrottle
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.handlers.polymarket_common import (
    error_response,
    faults,
    json_body,
    json_response,
    page_failure,
    params,
    polymarket_app,
    throttle,
)

# How long a write that "timed out after accept" keeps the client waiting before a 504.
# Longer than any sane client timeout, short enough not to stall a test server's shutdown.
TIMEOUT_AFTER_ACCEPT_S = 15.0
# Where the real CLOB's allowances point (the V2 exchange contracts); the sim grants them all.
ALLOWANCE_SPENDERS = ("0xE111180000d2663C0091e4f400237545B87B996B", "0xe2222d279d744050d28e00520010520000310F59")


def _creds(ex: PolymarketExchange) -> ApiCredentials:
    c = ex.config
    return ApiCredentials(c.api_key, c.api_secret, c.api_passphrase, c.address)


def _market_for_token(ex: PolymarketExchange, token_id: str | None) -> Market:
    if not token_id:
        raise HTTPException(status_code=400, detail="Invalid token id")
    try:
        return ex.market_of(token_id)
    except KeyError:
        raise HTTPException(status_code=404, detail="No orderbook exists for the requested token id") from None


def build_clob_app(sim: Simulator) -> Litestar:
    limiter = SlidingWindowThrottle(CLOB_LIMITS)

    async def authed(request: Request, *buckets: str) -> bytes:
        """Verify L2 headers over the exact body bytes and return the body; a failure is the
        venue's 401 `{"error": ...}` (raised, so a handler needs no check of its own)."""
        await throttle(limiter, "clob", *buckets)
        body = await request.body()
        try:
            verify_l2(request.headers, request.method, request.url.path, body, _creds(sim.polymarket),
                      int(time.time()))
        except AuthError as error:
            raise HTTPException(status_code=401, detail=str(error)) from None
        return body

    # -- public market data --

    @get("/")
    async def ok() -> Response[bytes]:
        return json_response("OK")

    @get("/time")
    async def server_time() -> Response[bytes]:
        # Wall-clock seconds: what L2 POLY_TIMESTAMP freshness is checked against.
        return json_response(int(time.time()))

    def _book(ex: PolymarketExchange, token_id: Any) -> dict[str, Any]:
        market = _market_for_token(ex, token_id)
        return wire.book_body(ex, market, token_id, ex.book_view(token_id), ex.clock.now_ms())

    @get("/book")
    async def book(request: Request) -> Response[bytes]:
        await throttle(limiter, "clob")
        return json_response(_book(sim.polymarket, request.query_params.get("token_id")))

    @post("/books", status_code=200)
    async def books(request: Request) -> Response[bytes]:
        await throttle(limiter, "clob")
        items = json_body(await request.body())
        if not isinstance(items, list):
            return error_response("Invalid payload", 400)
        return json_response([
            _book(sim.polymarket, item.get("token_id") if isinstance(item, dict) else None) for item in items
        ])

    @get("/midpoint")
    async def midpoint(request: Request) -> Response[bytes]:
        await throttle(limiter, "clob")
        ex = sim.polymarket
        token_id = request.query_params.get("token_id")
        _market_for_token(ex, token_id)
        mid = ex.midpoint(token_id)
        if mid is None:
            return error_response("No orderbook exists for the requested token id", 404)
        return json_response({"mid": wire.plain(mid)})

    @get("/price")
    async def price(request: Request) -> Response[bytes]:
        await throttle(limiter, "clob")
        ex = sim.polymarket
        token_id = request.query_params.get("token_id")
        side = (request.query_params.get("side") or "").upper()
        _market_for_token(ex, token_id)
        if side not in ("BUY", "SELL"):
            return error_response("Invalid side", 400)
        # Per the CLOB docs: BUY answers the best bid, SELL the best ask.
        best = ex.best(token_id, "BUY" if side == "BUY" else "SELL")
        if best is None:
            return error_response("No orderbook exists for the requested token id", 404)
        return json_response({"price": wire.plain(best)})

    @get("/tick-size")
    async def tick_size(request: Request) -> Response[bytes]:
        market = _market_for_token(sim.polymarket, request.query_params.get("token_id"))
        return json_response({"minimum_tick_size": market.tick_size})

    @get("/neg-risk")
    async def neg_risk(request: Request) -> Response[bytes]:
        market = _market_for_token(sim.polymarket, request.query_params.get("token_id"))
        return json_response({"neg_risk": market.neg_risk})

    @get("/markets-by-token/{token_id:str}")
    async def market_by_token(token_id: str) -> Response[bytes]:
        return json_response(wire.market_by_token(_market_for_token(sim.polymarket, token_id)))

    @get("/clob-markets/{condition_id:str}")
    async def clob_market_info(condition_id: str) -> Response[bytes]:
        market = sim.polymarket.markets.get(condition_id)
        if market is None:
            return error_response("market not found", 404)
        return json_response(wire.clob_market_info(market))

    @get("/markets/{condition_id:str}")
    async def clob_market(condition_id: str) -> Response[bytes]:
        ex = sim.polymarket
        market = ex.markets.get(condition_id)
        if market is None:
            return error_response("market not found", 404)
        return json_response(wire.clob_market(ex, market))

    # -- auth --

    @get("/auth/api-keys")
    async def api_keys(request: Request) -> Response[bytes]:
        await authed(request)
        return json_response({"apiKeys": [sim.polymarket.config.api_key]})

    async def _l1_creds(request: Request) -> Response[bytes]:
        c = sim.polymarket.config
        try:
            address = verify_l1(request.headers, c.chain_id, int(time.time()))
        except AuthError as error:
            return error_response(str(error), 401)
        if address.lower() != c.address.lower():
            return error_response("Unauthorized/Invalid api key: this simulator serves one account", 401)
        return json_response({"apiKey": c.api_key, "secret": c.api_secret, "passphrase": c.api_passphrase})

    @post("/auth/api-key", status_code=200)
    async def create_api_key(request: Request) -> Response[bytes]:
        return await _l1_creds(request)

    @get("/auth/derive-api-key")
    async def derive_api_key(request: Request) -> Response[bytes]:
        return await _l1_creds(request)

    @get("/auth/ban-status/closed-only")
    async def closed_only(request: Request) -> Response[bytes]:
        await authed(request)
        return json_response({"closed_only": False})

    @get("/balance-allowance")
    async def balance_allowance(request: Request) -> Response[bytes]:
        await authed(request)
        ex = sim.polymarket
        token_id = request.query_params.get("token_id")
        if (request.query_params.get("asset_type") or "").upper() == "COLLATERAL" or not token_id:
            amount = ex.collateral()
        else:
            amount = ex.position(token_id).size
        unlimited = str(2**256 - 1)
        return json_response({"balance": str(int(amount * 1_000_000)),
                              "allowances": {spender: unlimited for spender in ALLOWANCE_SPENDERS}})

    @get("/balance-allowance/update")
    async def balance_allowance_update(request: Request) -> Response[bytes]:
        await authed(request)
        return json_response("OK")

    # -- orders --

    async def _place(payload: Any) -> tuple[int, dict[str, Any]]:
        ex = sim.polymarket
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
        if faults(sim).timeout_after_accept:
            await asyncio.sleep(TIMEOUT_AFTER_ACCEPT_S)
            return error_response("upstream request timeout", 504)
        return None

    @post("/order", status_code=200)
    async def post_order(request: Request) -> Response[bytes]:
        status, body = await _place(json_body(await authed(request, "post_order")))
        return await _maybe_time_out() or json_response(body, status)

    @post("/orders", status_code=200)
    async def post_orders(request: Request) -> Response[bytes]:
        payloads = json_body(await authed(request, "post_order"))
        if not isinstance(payloads, list) or not 0 < len(payloads) <= 15:
            return error_response("Invalid payload: expected 1 to 15 orders", 400)
        results = []
        for payload in payloads:
            status, body = await _place(payload)
            if status != 200:
                body = {"success": False, "errorMsg": body["error"], "orderID": "", "status": "",
                        "makingAmount": "", "takingAmount": "", "transactionsHashes": [], "tradeIDs": []}
            results.append(body)
        return await _maybe_time_out() or json_response(results)

    async def _cancel(request: Request, pick: Callable[[Any], list[str] | None]) -> Response[bytes]:
        raw = await authed(request, "delete_order")
        ids = pick(json_body(raw) if raw else None)
        if ids is None:
            return error_response("Invalid order payload", 400)
        canceled, not_canceled = sim.polymarket.cancel(ids)
        return await _maybe_time_out() or json_response({"canceled": canceled, "not_canceled": not_canceled})

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
        return await _cancel(request, lambda _: [o.id for o in sim.polymarket.open_orders()])

    @delete("/cancel-market-orders", status_code=200)
    async def cancel_market_orders(request: Request) -> Response[bytes]:
        def pick(body: Any) -> list[str] | None:
            if not isinstance(body, dict) or not (body.get("market") or body.get("asset_id")):
                return None
            return [o.id for o in sim.polymarket.open_orders()
                    if body.get("market") in (None, o.market) and body.get("asset_id") in (None, o.intent.token_id)]
        return await _cancel(request, pick)

    # -- the account's orders and trades --

    @get("/data/order/{order_id:str}")
    async def get_order(request: Request, order_id: str) -> Response[bytes]:
        await authed(request)
        ex = sim.polymarket
        ex.open_orders()  # applies GTD expiry before reading
        order = ex.orders.get(order_id)
        if order is None:
            return error_response("order not found", 404)
        return json_response(wire.order_row(ex, order))

    def _page(page: Page, endpoint: str, render: Callable[[Any], dict]) -> Response[bytes]:
        failed = page_failure(sim, endpoint, page.page_no)
        if failed:
            return failed
        return json_response({"data": [render(r) for r in page.items], "next_cursor": page.next_cursor,
                              "limit": CLOB_PAGE_SIZE, "count": len(page.items)})

    @get("/data/orders")
    async def list_orders(request: Request) -> Response[bytes]:
        await authed(request, "data_orders")
        p, ex = params(request), sim.polymarket
        page = clob_page(queries.clob_orders(ex, p), p.get("next_cursor"))
        return _page(page, "orders", lambda o: wire.order_row(ex, o))

    @get("/data/trades")
    async def list_trades(request: Request) -> Response[bytes]:
        await authed(request, "data_trades")
        p, ex = params(request), sim.polymarket
        page = clob_page(queries.clob_trades(ex, p), p.get("next_cursor"))
        return _page(page, "trades", lambda t: wire.clob_trades_item(ex, t))

    return polymarket_app(
        [ok, server_time, book, books, midpoint, price, tick_size, neg_risk, market_by_token, clob_market_info,
         clob_market, api_keys, create_api_key, derive_api_key, closed_only, balance_allowance,
         balance_allowance_update, post_order, post_orders, cancel_order, cancel_orders, cancel_all,
         cancel_market_orders, get_order, list_orders, list_trades],
        sim,
    )
