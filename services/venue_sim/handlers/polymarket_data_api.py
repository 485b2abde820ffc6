"""The simulated Polymarket Data API (public, by wallet address): positions, trades, activity, value.

It knows one wallet, the account's; any other `user` gets an empty answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar, Request, Response, get

from services.venue_sim.adapters import polymarket_wire as wire
from services.venue_sim.domain import polymarket_queries as queries
from services.venue_sim.domain.polymarket_pages import Page
from services.venue_sim.domain.polymarket_ratelimit import DATA_API_LIMITS, SlidingWindowThrottle
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.handlers.polymarket_common import (
    json_response,
    page_failure,
    params,
    polymarket_app,
    throttle,
)


def _v2_response(page: Page[Any], render: Callable[[Any], dict]) -> Response[bytes]:
    """The v2 envelope: rows under `data`, and whether (and where) the next page is."""
    return json_response({
        "data": [render(row) for row in page.items],
        "pagination": {"has_more": page.next_cursor is not None, "next_cursor": page.next_cursor},
    })


def build_data_api_app(sim: Simulator) -> Litestar:
    limiter = SlidingWindowThrottle(DATA_API_LIMITS)

    @get("/positions")
    async def positions(request: Request) -> Response[bytes]:
        await throttle(limiter, "data", "positions")
        p, ex = params(request), sim.polymarket
        query = queries.parse_positions_v1(p)
        if not queries.is_our_user(ex, p):
            return json_response([])
        failed = page_failure(sim, "positions", query.page.page_no)
        if failed:
            return failed
        return json_response([wire.position_row_v1(ex, h) for h in queries.positions_v1(ex, query).items])

    @get("/v2/positions")
    async def positions_v2(request: Request) -> Response[bytes]:
        await throttle(limiter, "data", "positions")
        p, ex = params(request), sim.polymarket
        query = queries.parse_positions_v2(p)
        if queries.is_our_user(ex, p):
            failed = page_failure(sim, "positions", query.page.page_no)
            if failed:
                return failed
            page = queries.positions_v2(ex, query)
        else:
            page = query.page.take([])
        return _v2_response(page, lambda h: wire.position_row_v2(ex, h))

    @get("/trades")
    async def trades(request: Request) -> Response[bytes]:
        await throttle(limiter, "data", "trades")
        p, ex = params(request), sim.polymarket
        page = queries.parse_trades_v1_page(p)
        failed = page_failure(sim, "trades", page.page_no)
        if failed:
            return failed
        return json_response([wire.data_trade_row_v1(ex, t) for t in page.take(queries.data_trades(ex, p)).items])

    @get("/activity")
    async def activity(request: Request) -> Response[bytes]:
        await throttle(limiter, "data")
        p, ex = params(request), sim.polymarket
        page = queries.parse_activity_page(p)
        return json_response([wire.activity_row_v1(ex, t) for t in page.take(queries.data_trades(ex, p)).items])

    @get("/v2/trades")
    async def trades_v2(request: Request) -> Response[bytes]:
        await throttle(limiter, "data", "trades")
        p, ex = params(request), sim.polymarket
        request_page = queries.parse_trades_v2_page(p)
        failed = page_failure(sim, "trades", request_page.page_no)
        if failed:
            return failed
        return _v2_response(request_page.take(queries.data_trades(ex, p)), lambda t: wire.data_trade_row_v2(ex, t))

    @get("/value")
    async def value(request: Request) -> Response[bytes]:
        await throttle(limiter, "data")
        ex = sim.polymarket
        return json_response([{"user": ex.config.address, "value": queries.portfolio_value(ex, params(request))}])

    @get("/v2/value")
    async def value_v2(request: Request) -> Response[bytes]:
        await throttle(limiter, "data")
        ex = sim.polymarket
        return json_response({"data": {"proxy_wallet": ex.config.address,
                                       "value": queries.portfolio_value(ex, params(request))}})

    return polymarket_app([positions, positions_v2, trades, activity, trades_v2, value, value_v2], sim)
