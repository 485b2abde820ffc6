"""The Kalshi Trade API v2 face of the simulator (everything under /trade-api/v2).

Request path through the middleware, outermost first: request counting (so tests can count
calls at the venue), injected faults, then the gate: signature auth and per-key token buckets
on private routes (/portfolio, /account). Handlers translate the domain to Kalshi JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from litestar import Litestar, Request, Response, Router, delete, get, post
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

from services.venue_sim.adapters import kalshi_wire as wire
from services.venue_sim.adapters.kalshi_auth import KalshiAuthenticator
from services.venue_sim.adapters.wire_json import dumps
from services.venue_sim.domain import kalshi_queries as queries
from services.venue_sim.domain.kalshi_pages import PageRequest, paginate, parse_page_request
from services.venue_sim.domain.kalshi_units import KalshiError, parse_count, parse_price
from services.venue_sim.domain.rate_limit import COST, TIERS
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.handlers.faults_http import fault_middleware

PREFIX = "/trade-api/v2"
PRIVATE_PREFIXES = (f"{PREFIX}/portfolio", f"{PREFIX}/account")
# How long a "timeout after accept" response is held back: far past any sane client timeout.
HANG_S = 3600.0
TOO_MANY = json.dumps({"error": "too many requests"}).encode()


def _json(body: Any, status: int = 200) -> Response[bytes]:
    return Response(dumps(body), status_code=status, media_type="application/json")


def error_body(err: KalshiError) -> dict:
    return {"error": {"code": err.code, "message": err.message, "details": err.details, "service": "exchange"}}


def _error(err: KalshiError) -> Response[bytes]:
    return _json(error_body(err), err.status)


def _bad_request(details: str) -> Response[bytes]:
    # An unparseable body or a wrongly typed field: Kalshi puts code/message/details at the top.
    return _json({"code": "bad_request", "message": "bad request", "details": details}, 400)


async def _raw_send(send: Send, status: int, body: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body, "more_body": False})


def counting_middleware(sim: Simulator) -> Callable[[ASGIApp], ASGIApp]:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and not scope["path"].startswith("/_sim"):
                sim.kalshi_requests[f"{scope['method']} {scope['path']}"] += 1
            await app(scope, receive, send)

        return middleware

    return factory


def gate_middleware(sim: Simulator, auth: KalshiAuthenticator) -> Callable[[ASGIApp], ASGIApp]:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope["path"]
            if scope["type"] != "http" or not path.startswith(PRIVATE_PREFIXES):
                await app(scope, receive, send)
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                key_id = auth.authenticate(headers, scope["method"], path)
            except KalshiError as err:
                await _raw_send(send, err.status, json.dumps(error_body(err)).encode())
                return
            kind = "read" if scope["method"] in ("GET", "HEAD") else "write"
            if not sim.kalshi_limiter.allow(key_id, kind, time.monotonic()):
                await _raw_send(send, 429, TOO_MANY)  # no Retry-After, like Kalshi
                return
            await app(scope, receive, send)

        return middleware

    return factory


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items()}


def _page(sim: Simulator, endpoint: str, params: dict[str, str]) -> PageRequest:
    page = parse_page_request(params.get("cursor"), params.get("limit"))
    if sim.faults.for_venue("kalshi").page_fails(endpoint, page.page_no):
        raise KalshiError(500, "internal_server_error", "internal server error", f"simulated failure of {endpoint} page {page.page_no}")
    return page


def kalshi_routes(sim: Simulator) -> list:
    @get("/portfolio/balance")
    async def balance() -> Response[bytes]:
        return _json(wire.balance_json(sim.kalshi))

    @get("/portfolio/positions")
    async def positions(request: Request) -> Response[bytes]:
        params = _params(request)
        page = queries.positions(sim.kalshi, params, _page(sim, "positions", params))
        # Event rows are not paged by the market cursor: all of them come with the first page.
        events: list[dict] = []
        if page.page_no == 1:
            everything = queries.positions(sim.kalshi, params, PageRequest(None, 1, 10**9)).items
            events = [wire.event_position_json(e, ps) for e, ps in queries.event_positions(everything).items()]
        resting = sim.kalshi.resting_counts()
        return _json({
            "market_positions": [wire.position_json(p, resting[p.ticker]) for p in page.items],
            "event_positions": events,
            "cursor": page.cursor,
        })

    @get("/portfolio/fills")
    async def fills(request: Request) -> Response[bytes]:
        params = _params(request)
        page = queries.fills(sim.kalshi, params, _page(sim, "fills", params))
        return _json({"fills": [wire.fill_json(f) for f in page.items], "cursor": page.cursor})

    @get("/portfolio/orders")
    async def orders(request: Request) -> Response[bytes]:
        params = _params(request)
        page = queries.orders(sim.kalshi, params, _page(sim, "orders", params))
        return _json({"orders": [wire.order_json(o) for o in page.items], "cursor": page.cursor})

    @get("/portfolio/orders/{order_id:str}")
    async def get_order(order_id: str) -> Response[bytes]:
        return _json({"order": wire.order_json(sim.kalshi.order(order_id))})

    @get("/portfolio/settlements")
    async def settlements(request: Request) -> Response[bytes]:
        params = _params(request)
        page = queries.settlements(sim.kalshi, params, _page(sim, "settlements", params))
        return _json({"settlements": [wire.settlement_json(s) for s in page.items], "cursor": page.cursor})

    @post("/portfolio/events/orders", status_code=201)
    async def create_order(request: Request) -> Response[bytes]:
        try:
            body = json.loads(await request.body(), parse_float=Decimal)
        except ValueError as exc:
            return _bad_request(f"invalid JSON: {exc}")
        if not isinstance(body, dict):
            return _bad_request("body must be a JSON object")
        typed = _check_types(body)
        if typed:
            return _bad_request(typed)
        x = sim.kalshi
        if not body.get("ticker"):
            raise KalshiError(400, "missing_parameters", "missing parameters", "ticker is required")
        if not body.get("client_order_id"):
            raise KalshiError(400, "missing_parameters", "missing parameters", "client_order_id is required")
        for name in ("side", "count", "price"):
            if body.get(name) in (None, ""):
                raise KalshiError(400, "invalid_order", "invalid order", f"{name} is required")
        market = x.market(body["ticker"])
        expiration = body.get("expiration_time")
        result = x.place_order(
            ticker=body["ticker"],
            client_order_id=body["client_order_id"],
            side=body["side"],
            count=parse_count(body["count"], market.fractional),
            price=parse_price(body["price"], market.tick),
            time_in_force=body.get("time_in_force") or "good_till_canceled",
            post_only=bool(body.get("post_only", False)),
            reduce_only=bool(body.get("reduce_only", False)),
            self_trade_prevention_type=body.get("self_trade_prevention_type") or "taker_at_cross",
            order_group_id=body.get("order_group_id"),
            expiration_ms=int(expiration) * 1000 if expiration else None,
        )
        response = _json(wire.create_order_json(result.order, result.fills, sim.clock.now_ms()), 201)
        await _maybe_hang(sim)
        return response

    @delete("/portfolio/events/orders/{order_id:str}", status_code=200)
    async def cancel_order(request: Request, order_id: str) -> Response[bytes]:
        order, reduced = sim.kalshi.cancel_order(order_id, request.query_params.get("market_ticker"))
        response = _json(wire.cancel_order_json(order, reduced, sim.clock.now_ms()))
        await _maybe_hang(sim)
        return response

    @get("/account/limits")
    async def limits() -> Response[bytes]:
        tier = sim.kalshi_limiter.tier
        read, write = TIERS[tier]
        return _json({
            "usage_tier": tier,
            "read": {"refill_rate": read * COST, "bucket_capacity": read * COST},
            "write": {"refill_rate": write * COST, "bucket_capacity": write * COST},
            "grants": [],
        })

    @get("/exchange/status")
    async def exchange_status() -> Response[bytes]:
        return _json({"exchange_active": True, "trading_active": True})

    @get("/markets")
    async def markets(request: Request) -> Response[bytes]:
        params = _params(request)
        page = parse_page_request(params.get("cursor"), params.get("limit"))
        tickers = {t for t in (params.get("tickers") or "").split(",") if t}
        event, status = params.get("event_ticker"), params.get("status")
        wanted = {"open": "active", "closed": "closed", "settled": "finalized"}.get(status or "", status)
        known = sim.kalshi.markets
        # Named markets are looked up, not searched for: a client titling 10,000 holdings asks 100 at a time.
        candidates = [known[t] for t in tickers if t in known] if tickers else known.values()
        chosen = sorted(
            (m for m in candidates if (not event or m.event_ticker == event) and (not wanted or m.status == wanted)),
            key=lambda m: m.ticker,
        )
        result = paginate(chosen, lambda m: (m.ticker,), page)
        return _json({"markets": [wire.market_json(sim.kalshi, m) for m in result.items], "cursor": result.cursor})

    @get("/markets/trades")
    async def trades(request: Request) -> Response[bytes]:
        params = _params(request)
        page = queries.trades(sim.kalshi, params, parse_page_request(params.get("cursor"), params.get("limit")))
        return _json({"trades": [wire.trade_json(t) for t in page.items], "cursor": page.cursor})

    @get("/markets/{ticker:str}")
    async def market(ticker: str) -> Response[bytes]:
        return _json({"market": wire.market_json(sim.kalshi, sim.kalshi.market(ticker))})

    @get("/markets/{ticker:str}/orderbook")
    async def orderbook(request: Request, ticker: str) -> Response[bytes]:
        depth_raw = request.query_params.get("depth")
        if depth_raw is not None and not depth_raw.isdigit():
            raise KalshiError(400, "invalid_parameters", "invalid parameters", "depth must be a non-negative integer")
        return _json(wire.orderbook_json(sim.kalshi.market(ticker), int(depth_raw) if depth_raw else None))

    @get("/events/{event_ticker:str}")
    async def event(event_ticker: str) -> Response[bytes]:
        ev = sim.kalshi.events.get(event_ticker)
        if ev is None:
            raise KalshiError(404, "not_found", "not found", f"event {event_ticker} not found")
        return _json(wire.event_json(sim.kalshi, ev))

    return [balance, positions, fills, orders, get_order, settlements, create_order, cancel_order, limits,
            exchange_status, markets, trades, market, orderbook, event]


def _check_types(body: dict) -> str:
    for name in ("ticker", "client_order_id", "side", "count", "price", "time_in_force",
                 "self_trade_prevention_type", "order_group_id"):
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"{name} must be a string"
    for name in ("post_only", "reduce_only"):
        if body.get(name) is not None and not isinstance(body[name], bool):
            return f"{name} must be a boolean"
    exp = body.get("expiration_time")
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, int)):
        return "expiration_time must be an integer (Unix seconds)"
    return ""


async def _maybe_hang(sim: Simulator) -> None:
    """Timeout-after-accept: the write is already applied; the client never hears back."""
    if sim.faults.for_venue("kalshi").timeout_after_accept:
        await asyncio.sleep(HANG_S)


def _kalshi_error_handler(_: Request, exc: KalshiError) -> Response[bytes]:
    return _error(exc)


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def _http_error_handler(request: Request, exc: HTTPException) -> Response[bytes]:
    """Framework errors (unknown route, wrong method) in the venue's shape; admin keeps its own."""
    if request.url.path.startswith("/_sim"):
        return _json({"error": str(exc.detail)}, exc.status_code)
    code = _HTTP_CODES.get(exc.status_code, "internal_server_error" if exc.status_code >= 500 else "bad_request")
    return _error(KalshiError(exc.status_code, code, code.replace("_", " "), str(exc.detail)))


def build_kalshi_app(sim: Simulator, auth: KalshiAuthenticator, admin_routers: list[Router]) -> Litestar:
    api = Router(path=PREFIX, route_handlers=kalshi_routes(sim))
    return Litestar(
        route_handlers=[api, *admin_routers],
        middleware=[counting_middleware(sim), fault_middleware(sim.faults, "kalshi"), gate_middleware(sim, auth)],
        exception_handlers={KalshiError: _kalshi_error_handler, HTTPException: _http_error_handler},
        openapi_config=None,
        # One log format for every process: shared.logs configures it; Litestar must not replace it.
        logging_config=None,
    )
