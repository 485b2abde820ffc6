"""Portfolio area: the ledger's own book (positions from fills, valued at the latest mark), its
totals and their history. Query parameters are checked first (params.py), so a bad one is a 400
that names it; the ledger is then asked over the bus."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_404_NOT_FOUND, HTTP_503_SERVICE_UNAVAILABLE
from pydantic import BaseModel

from services.api_gateway.handlers.params import (
    BadParameter,
    at_most,
    boolean,
    choice,
    integer,
    only_known,
    paging,
    parameter_problem,
    text_filter,
    timestamp,
)
from shared.bus import Bus, BusError
from shared.contracts import VENUES
from shared.contracts.channels import LEDGER_PORTFOLIO_HISTORY, LEDGER_POSITION, LEDGER_POSITIONS, LEDGER_SUMMARY
from shared.contracts.ledger import (
    DEFAULT_HISTORY_LIMIT,
    PortfolioHistoryRequest,
    PortfolioSummaryRequest,
    PositionRequest,
    PositionsQuery,
)

# The ledger answers from its own database: a few seconds is plenty, and the page polls anyway.
LEDGER_TIMEOUT_SECONDS = 5.0
# A page of the API (the contract lets services read bigger ones) and the contract's bound on history.
MAX_POSITIONS_LIMIT = 1000
MAX_HISTORY_LIMIT = 10_000
MAX_POSITION_ID_LENGTH = 64
STATUSES = ("open", "closed")
ORDER_BY = ("unrealized_pnl", "cost_basis", "opened_at")
# Message envelope fields: bus bookkeeping, not part of an HTTP answer.
ENVELOPE = {"event_id", "schema_version", "occurred_at"}


def ledger_unavailable(_request: Request, exc: BusError) -> Response[dict[str, str]]:
    """A controller's exception handler: the ledger did not answer (down, or past the timeout)."""
    return Response({"error": f"ledger unavailable: {exc}"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)


def answer(reply: BaseModel) -> Response[dict[str, Any]]:
    return Response(reply.model_dump(mode="json", exclude=ENVELOPE), status_code=HTTP_200_OK)


def positions_query(params: dict[str, str | None]) -> PositionsQuery:
    return PositionsQuery(
        status=choice("status", params["status"], STATUSES),
        strategy_name=text_filter("strategy_name", params["strategy_name"], 64),
        market_id=text_filter("market_id", params["market_id"], 256),
        venue=choice("venue", params["venue"], VENUES),
        **paging(params["limit"], params["offset"], default_limit=100, max_limit=MAX_POSITIONS_LIMIT),
        order_by=choice("order_by", params["order_by"], ORDER_BY) or "opened_at",
        asc=boolean("asc", params["asc"]),
    )


def history_request(since_text: str | None, until_text: str | None, limit: str | None) -> PortfolioHistoryRequest:
    since, until = timestamp("since", since_text), timestamp("until", until_text)
    if since is not None and until is not None and since > until:
        raise BadParameter("since", "must not be after until")
    return PortfolioHistoryRequest(since=since, until=until,
                                   limit=integer("limit", limit, DEFAULT_HISTORY_LIMIT, 1, MAX_HISTORY_LIMIT))


class PortfolioController(Controller):
    path = "/api/v2"
    tags = ["portfolio"]
    exception_handlers = {BadParameter: parameter_problem, BusError: ledger_unavailable}

    # Every parameter is taken as text and checked by params.py (not by Litestar), so a bad one
    # answers in the API's own error shape, naming the parameter.
    @get("/positions", summary="The ledger's positions, filtered, sorted and paged; amounts as decimal strings")
    async def positions(
        self,
        request: Request,
        bus: Bus,
        status: str | None = Parameter(default=None, description="open | closed"),
        strategy_name: str | None = Parameter(default=None),
        market_id: str | None = Parameter(default=None),
        venue: str | None = Parameter(default=None, description="kalshi | polymarket"),
        limit: str | None = Parameter(default=None, description=f"1..{MAX_POSITIONS_LIMIT}, default 100"),
        offset: str | None = Parameter(default=None, description=">= 0, default 0"),
        order_by: str | None = Parameter(default=None, description="unrealized_pnl | cost_basis | opened_at (default)"),
        asc: str | None = Parameter(default=None, description="true | false (default) | 1 | 0"),
    ) -> Response[dict[str, Any]]:
        params = dict(status=status, strategy_name=strategy_name, market_id=market_id, venue=venue, limit=limit,
                      offset=offset, order_by=order_by, asc=asc)
        only_known(request, set(params))
        query = positions_query(params)
        return answer(await bus.request(LEDGER_POSITIONS.subject(), query, timeout=LEDGER_TIMEOUT_SECONDS))

    @get("/positions/summary", summary="The portfolio's totals now: cost, value, PnL, cash, net liquidation")
    async def summary(self, request: Request, bus: Bus) -> Response[dict[str, Any]]:
        only_known(request, set())
        reply = await bus.request(LEDGER_SUMMARY.subject(), PortfolioSummaryRequest(), timeout=LEDGER_TIMEOUT_SECONDS)
        return answer(reply)

    @get("/positions/{position_id:str}", summary="One ledger position by id")
    async def position(self, bus: Bus, position_id: str) -> Response[dict[str, Any]]:
        at_most("position_id", position_id, MAX_POSITION_ID_LENGTH)
        reply = await bus.request(LEDGER_POSITION.subject(), PositionRequest(position_id=position_id),
                                  timeout=LEDGER_TIMEOUT_SECONDS)
        if reply.position is None:
            return Response({"error": f"no position {position_id!r}"}, status_code=HTTP_404_NOT_FOUND)
        return answer(reply)

    @get("/portfolio/history", summary="Portfolio snapshots within since..until, the latest `limit` of them, "
                                        "oldest first")
    async def history(
        self,
        request: Request,
        bus: Bus,
        since: str | None = Parameter(default=None, description="RFC 3339, inclusive"),
        until: str | None = Parameter(default=None, description="RFC 3339, inclusive"),
        limit: str | None = Parameter(default=None, description=f"1..{MAX_HISTORY_LIMIT}, default {DEFAULT_HISTORY_LIMIT}"),
    ) -> Response[dict[str, Any]]:
        only_known(request, {"since", "until", "limit"})
        query = history_request(since, until, limit)
        reply = await bus.request(LEDGER_PORTFOLIO_HISTORY.subject(), query, timeout=LEDGER_TIMEOUT_SECONDS)
        return answer(reply)
