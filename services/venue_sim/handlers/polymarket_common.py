"""HTTP plumbing shared by the simulated Polymarket hosts (Data API, CLOB) and their admin router.

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
from decimal import Decimal
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp

from services.venue_sim.adapters.wire_json import dumps
from services.venue_sim.domain.faults import VenueFaults
from services.venue_sim.domain.polymarket_pages import QueryError
from services.venue_sim.domain.polymarket_ratelimit import SlidingWindowThrottle
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.handlers.faults_http import fault_middleware


def json_response(body: Any, status: int = 200) -> Response[bytes]:
    return Response(content=dumps(body), status_code=status, media_type="application/json")


def error_response(message: str, status: int) -> Response[bytes]:
    return json_response({"error": message}, status)


def params(request: Request) -> dict[str, str]:
    return dict(request.query_params.items())


def faults(sim: Simulator) -> VenueFaults:
    return sim.faults.for_venue("polymarket")


def page_failure(sim: Simulator, endpoint: str, page_no: int) -> Response[bytes] | None:
    """The injected failure of this page of `endpoint`, if one is set."""
    if faults(sim).page_fails(endpoint, page_no):
        return error_response("internal server error", 500)
    return None


async def throttle(limiter: SlidingWindowThrottle, *buckets: str) -> None:
    delay = limiter.reserve(list(buckets), time.monotonic())
    if delay > 0:
        await asyncio.sleep(delay)


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal) if raw else None
    except ValueError:
        raise HTTPException(status_code=400, detail="Invalid JSON body") from None


def _http_error(_: Request, exc: HTTPException) -> Response[bytes]:
    return error_response(str(exc.detail), exc.status_code)


def _query_error(_: Request, exc: QueryError) -> Response[bytes]:
    return error_response(exc.message, 400)


EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Any], Response[bytes]]] = {HTTPException: _http_error, QueryError: _query_error}


def polymarket_app(handlers: list, sim: Simulator) -> Litestar:
    middleware: list[Callable[[ASGIApp], ASGIApp]] = [fault_middleware(sim.faults, "polymarket")]
    return Litestar(
        route_handlers=handlers,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=None,
        # One log format for every process: shared.logs configures it; Litestar must not replace it.
        logging_config=None,
    )
