"""`/_sim/polymarket/...` (no auth, not a venue protocol): inject outside trades, token transfers
and malformed trade rows, fill resting orders, resolve markets, inspect the state.

  GET  /state                          the account, orders, trades, transfers and markets
  POST /external-trades                {"asset","side":"BUY|SELL","size","price"[,"will_fail"]}
  POST /transfers                      {"asset","size"[,"avg_price"]}: outcome tokens moved into
                                       (size > 0) or out of (size < 0) the wallet, not a trade:
                                       /positions changes, the trade history does not -> what
                                       moved and {"position": {"size","avg_price"}}
  POST /trades/malformed               {} or {"row": {...}}: a raw /data/trades row -> {"id"}
  POST /orders/{order_id}/fill         {"size"}: someone takes our resting order
  POST /markets/{condition_id}/resolve {"winner": "<outcome label>"}
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from litestar import Request, Response, Router, get, post
from litestar.exceptions import HTTPException

from services.venue_sim.adapters import polymarket_wire as wire
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.handlers.polymarket_common import (
    EXCEPTION_HANDLERS,
    error_response,
    json_body,
    json_response,
)


def _decimal(body: dict, name: str) -> Decimal:
    value = body.get(name)
    if isinstance(value, float) or value is None:
        raise HTTPException(status_code=400, detail=f"{name} must be a decimal string")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise HTTPException(status_code=400, detail=f"{name} must be a decimal string") from None


async def _object_body(request: Request, *, empty_ok: bool = False) -> dict:
    body = json_body(await request.body())
    if body is None and empty_ok:
        return {}
    if not isinstance(body, dict):
        raise HTTPException(status_code=400, detail="expected an object")
    return body


def polymarket_admin_router(sim: Simulator) -> Router:
    @get("/state")
    async def state() -> Response[bytes]:
        return json_response(sim.polymarket.state())

    @post("/external-trades", status_code=201)
    async def external_trade(request: Request) -> Response[bytes]:
        body = await _object_body(request)
        ex = sim.polymarket
        try:
            trade = ex.record_external_trade(
                str(body.get("asset") or body.get("token_id") or ""), str(body.get("side", "")).upper(),
                _decimal(body, "size"), _decimal(body, "price"),
                will_fail=body.get("will_fail") if isinstance(body.get("will_fail"), bool) else None,
            )
        except KeyError:
            return error_response("unknown asset", 404)
        except ValueError as error:
            return error_response(str(error), 400)
        return json_response(wire.clob_trade_row(ex, trade), 201)

    @post("/transfers", status_code=201)
    async def transfer(request: Request) -> Response[bytes]:
        body = await _object_body(request)
        ex = sim.polymarket
        avg_price = _decimal(body, "avg_price") if body.get("avg_price") is not None else None
        try:
            moved = ex.record_transfer(str(body.get("asset") or body.get("token_id") or ""),
                                       _decimal(body, "size"), avg_price)
        except KeyError:
            return error_response("unknown asset", 404)
        except ValueError as error:
            return error_response(str(error), 400)
        return json_response(wire.transfer_row(ex, moved), 201)

    @post("/trades/malformed", status_code=201)
    async def malformed_trade(request: Request) -> Response[bytes]:
        """A row the CLOB serves among our trades exactly as given; by default, real-looking
        but for `size: "not-a-number"`. It changes no position or balance."""
        body = await _object_body(request, empty_ok=True)
        ex = sim.polymarket
        now_ms = ex.clock.now_ms()
        # Unique across scenario resets too, so a reader's quarantine never mistakes it for an old one.
        handle = f"malformed-{now_ms}-{len(ex.injected_trade_rows) + 1}"
        row = body.get("row")
        if row is None:
            market = next(iter(ex.markets.values()), None)
            if market is None:
                return error_response("no market to trade in: load a scenario first", 409)
            row = wire.malformed_trade_row(ex, handle, market, now_ms // 1000)
        elif not isinstance(row, dict):
            return error_response("row must be an object", 400)
        injected = ex.inject_trade_row(row)
        trade_id = injected.row.get("id")
        return json_response({"id": trade_id if isinstance(trade_id, str) else handle}, 201)

    @post("/orders/{order_id:str}/fill", status_code=201)
    async def fill_order(request: Request, order_id: str) -> Response[bytes]:
        body = await _object_body(request)
        ex = sim.polymarket
        try:
            trade = ex.fill_resting_order(order_id, _decimal(body, "size"))
        except ValueError as error:
            return error_response(str(error), 400)
        return json_response(wire.clob_trade_row(ex, trade), 201)

    @post("/markets/{condition_id:str}/resolve", status_code=200)
    async def resolve(request: Request, condition_id: str) -> Response[bytes]:
        body = json_body(await request.body())
        winner = body.get("winner") if isinstance(body, dict) else None
        ex = sim.polymarket
        if condition_id not in ex.markets:
            return error_response("unknown market", 404)
        try:
            market = ex.resolve_market(condition_id, str(winner or ""))
        except ValueError as error:
            return error_response(str(error), 400)
        return json_response({"condition_id": market.condition_id,
                              "winner": market.tokens[market.winner_index].outcome})

    return Router(
        path="/_sim/polymarket",
        route_handlers=[state, external_trade, transfer, malformed_trade, fill_order, resolve],
        exception_handlers=EXCEPTION_HANDLERS,
    )
