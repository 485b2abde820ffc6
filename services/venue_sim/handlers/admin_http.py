"""`/_sim` admin API (never part of a venue protocol; no auth), mounted on every sim host.

Shared: state, scenario reset, faults, clock. Kalshi: outside trades, crossing resting orders,
settlement, request counts, rate-limit tier. Polymarket admin lives in polymarket_admin.py.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, Response, Router, delete, get, post

from services.venue_sim.adapters import kalshi_wire as wire
from services.venue_sim.domain.clock import ManualClock
from services.venue_sim.domain.kalshi_units import ONE, ZERO, KalshiError, dollars
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.scenarios.demo import SCENARIOS, load_scenario


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(body: Any, status: int = 200) -> Response[bytes]:
    return Response(json.dumps(body).encode(), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict:
    raw = await request.body()
    try:
        body = json.loads(raw, parse_float=Decimal) if raw else {}
    except ValueError:
        raise AdminError(400, "invalid JSON body") from None
    if not isinstance(body, dict):
        raise AdminError(400, "body must be a JSON object")
    return body


def _decimal(body: dict, name: str) -> Decimal:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise AdminError(400, f"{name} must be a decimal string")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise AdminError(400, f"{name} must be a decimal string") from None


def _side_and_price(body: dict) -> tuple[str, Decimal]:
    """`side` bid|ask with a YES `price`, or `side` yes|no + `action` buy|sell with that side's price."""
    side, price = body.get("side"), _decimal(body, "price")
    if not ONE > price > 0:
        raise AdminError(400, "price must be between 0 and 1")
    if side in ("bid", "ask"):
        return side, price
    action = body.get("action", "buy")
    if side in ("yes", "no") and action in ("buy", "sell"):
        buys_yes = (side == "yes") == (action == "buy")
        return ("bid" if buys_yes else "ask"), (price if side == "yes" else ONE - price)
    raise AdminError(400, "side must be bid|ask, or yes|no with action buy|sell")


def kalshi_state(sim: Simulator) -> dict:
    x = sim.kalshi
    resting = x.resting_counts()
    return {
        "balance_dollars": dollars(x.balance),
        "positions": [
            {**wire.position_json(p, resting[p.ticker]), "event_ticker": p.event_ticker, "settled": p.settled}
            for p in sorted(x.positions.values(), key=lambda p: p.ticker)
        ],
        "resting_orders": [wire.order_json(o) for o in x.orders.values() if o.status == "resting"],
        "markets": [
            {"ticker": m.ticker, "event_ticker": m.event_ticker, "title": m.title, "status": m.status,
             "result": m.result, "yes_bid": dollars(m.best("yes") or ZERO), "no_bid": dollars(m.best("no") or ZERO)}
            for m in sorted(x.markets.values(), key=lambda m: m.ticker)
        ],
        "fill_count": len(x.fills),
        "order_count": len(x.orders),
        "settlement_count": len(x.settlements),
        "rate_limit_tier": sim.kalshi_limiter.tier,
    }


def admin_router(sim: Simulator) -> Router:
    @get("/state")
    async def state() -> Response[bytes]:
        return _json({
            "scenario": sim.scenario,
            "seed": sim.seed,
            "clock": {"now_ms": sim.clock.now_ms(), "manual": isinstance(sim.clock, ManualClock)},
            "faults": sim.faults.summary(),
            "kalshi": kalshi_state(sim),
            "polymarket": sim.polymarket.state(),
        })

    @post("/scenario", status_code=200)
    async def scenario(request: Request) -> Response[bytes]:
        body = await _body(request)
        name, seed = body.get("name", "demo"), body.get("seed", sim.seed)
        if name not in SCENARIOS:
            raise AdminError(400, f"unknown scenario {name!r}; expected one of {sorted(SCENARIOS)}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise AdminError(400, "seed must be an integer")
        load_scenario(sim, name, seed)
        return _json({"scenario": name, "seed": seed})

    @post("/faults", status_code=200)
    async def set_faults(request: Request) -> Response[bytes]:
        body = await _body(request)
        venue = body.pop("venue", None)
        if isinstance(body.get("error_rate"), Decimal):
            body["error_rate"] = float(body["error_rate"])  # a probability, not money
        try:
            updated = sim.faults.set(str(venue), **body)
        except ValueError as exc:
            raise AdminError(400, str(exc)) from None
        return _json(updated.summary())

    @delete("/faults", status_code=200)
    async def clear_faults(request: Request) -> Response[bytes]:
        venue = request.query_params.get("venue")
        try:
            sim.faults.clear(venue)
        except ValueError as exc:
            raise AdminError(400, str(exc)) from None
        return _json(sim.faults.summary())

    @post("/clock/advance", status_code=200)
    async def advance(request: Request) -> Response[bytes]:
        body = await _body(request)
        ms = body.get("ms")
        if not isinstance(sim.clock, ManualClock):
            raise AdminError(409, "the simulator runs on the system clock; start it with a manual clock")
        if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
            raise AdminError(400, "ms must be a non-negative integer")
        sim.clock.advance(ms)
        return _json({"now_ms": sim.clock.now_ms()})

    @get("/kalshi/state")
    async def k_state() -> Response[bytes]:
        return _json(kalshi_state(sim))

    @get("/kalshi/requests")
    async def k_requests() -> Response[bytes]:
        by_path: dict[str, int] = {}
        for route, n in sim.kalshi_requests.items():
            path = route.split(" ", 1)[1]
            by_path[path] = by_path.get(path, 0) + n
        return _json({"by_path": by_path, "by_route": dict(sim.kalshi_requests),
                      "total": sum(sim.kalshi_requests.values())})

    @delete("/kalshi/requests", status_code=200)
    async def k_requests_reset() -> Response[bytes]:
        sim.kalshi_requests.clear()
        return _json({"total": 0})

    @post("/kalshi/tier", status_code=200)
    async def k_tier(request: Request) -> Response[bytes]:
        body = await _body(request)
        try:
            sim.kalshi_limiter.set_tier(str(body.get("tier")))
        except ValueError as exc:
            raise AdminError(400, str(exc)) from None
        return _json({"tier": sim.kalshi_limiter.tier})

    @post("/kalshi/external-trades", status_code=201)
    async def k_external(request: Request) -> Response[bytes]:
        body = await _body(request)
        side, price = _side_and_price(body)
        count = _decimal(body, "count")
        if count <= 0:
            raise AdminError(400, "count must be positive")
        fill = sim.kalshi.external_trade(str(body.get("ticker")), side, count, price)
        return _json({"fill": wire.fill_json(fill)}, 201)

    @post("/kalshi/markets/{ticker:str}/trade", status_code=200)
    async def k_trade(request: Request, ticker: str) -> Response[bytes]:
        """Another participant's IOC order at `price`: it crosses resting orders, ours included."""
        body = await _body(request)
        side, price = _side_and_price(body)
        count = _decimal(body, "count")
        if count <= 0:
            raise AdminError(400, "count must be positive")
        fills = sim.kalshi.market_trade(ticker, side, count, price)
        return _json({"our_fills": [wire.fill_json(f) for f in fills]})

    @post("/kalshi/markets/{ticker:str}/liquidity", status_code=200)
    async def k_liquidity(request: Request, ticker: str) -> Response[bytes]:
        """Adds another participant's resting bid on `side` yes|no at that side's `price`."""
        body = await _body(request)
        side, price, count = body.get("side"), _decimal(body, "price"), _decimal(body, "count")
        if side not in ("yes", "no") or not ONE > price > 0 or count <= 0:
            raise AdminError(400, "side must be yes|no, 0 < price < 1, count > 0")
        sim.kalshi.add_liquidity(ticker, side, price, count)
        return _json(wire.orderbook_json(sim.kalshi.market(ticker), None))

    @post("/kalshi/markets/{ticker:str}/settle", status_code=200)
    async def k_settle(request: Request, ticker: str) -> Response[bytes]:
        body = await _body(request)
        result = body.get("result")
        if result not in ("yes", "no"):
            raise AdminError(400, "result must be yes or no")
        observed = body.get("expiration_value", "")
        if not isinstance(observed, str):
            raise AdminError(400, "expiration_value must be a string (the value the result was decided on)")
        settled = sim.kalshi.settle(ticker, result, expiration_value=observed)
        return _json({"market": wire.market_json(sim.kalshi, sim.kalshi.market(ticker)),
                      "settlements": [wire.settlement_json(s) for s in settled]})

    @post("/kalshi/fills/malformed", status_code=201)
    async def k_malformed_fill(request: Request) -> Response[bytes]:
        """A garbage row in the account's fills (for testing a reader's quarantine): the given
        `row` verbatim, or a real-looking fill whose `count_fp` is not a number."""
        body = await _body(request)  # numbers stay Decimal; the fills page writes them back verbatim
        x, now = sim.kalshi, sim.clock.now_ms()
        if "row" in body:
            row = body["row"]
            if not isinstance(row, dict):
                raise AdminError(400, "row must be a JSON object")
        else:
            if not x.markets:
                raise AdminError(409, "no Kalshi market to attach a fill to; load a scenario first")
            # The injection time in the id keeps it unique across scenario resets, so a reader's
            # quarantine (which remembers ids) sees each injected row as new.
            row = wire.malformed_fill_row(f"{now}-{len(x.raw_fill_rows) + 1}", min(x.markets), now)
        x.add_raw_fill_row(row)
        return _json({"fill_id": row.get("fill_id")}, 201)

    def admin_error(_: Request, exc: AdminError) -> Response[bytes]:
        return _json({"error": str(exc)}, exc.status)

    def kalshi_error(_: Request, exc: KalshiError) -> Response[bytes]:
        return _json({"error": exc.details or exc.message, "code": exc.code}, exc.status)

    return Router(
        path="/_sim",
        route_handlers=[state, scenario, set_faults, clear_faults, advance, k_state, k_requests,
                        k_requests_reset, k_tier, k_external, k_trade, k_liquidity, k_settle, k_malformed_fill],
        exception_handlers={AdminError: admin_error, KalshiError: kalshi_error},
    )

