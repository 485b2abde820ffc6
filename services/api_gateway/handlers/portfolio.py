"""Portfolio area: the ledger's own book (positions from fills, valued at the latest mark), its
totals and their history. Query parameters are checked here, so a bad one is a 400 that names
it; the ledger is then asked over the bus."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST, HTTP_404_NOT_FOUND, HTTP_503_SERVICE_UNAVAILABLE
from pydantic import BaseModel

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
# The contracts' bounds (PositionsQuery.limit, PortfolioHistoryRequest.limit).
MAX_POSITIONS_LIMIT = 1000
MAX_HISTORY_LIMIT = 10_000
MAX_POSITION_ID_LENGTH = 64
# Far beyond any book, and within Postgres' bigint (a bigger one would fail in the ledger as a 503).
MAX_OFFSET = 10**9
STATUSES = ("open", "closed")
ORDER_BY = ("unrealized_pnl", "cost_basis", "opened_at")
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# RFC 3339 date-time: a full date and time with an explicit offset (or Z).
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
# Message envelope fields: bus bookkeeping, not part of an HTTP answer.
ENVELOPE = {"event_id", "schema_version", "occurred_at"}


class BadParameter(ValueError):
    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter


def bad_request(exc: BadParameter) -> Response[dict[str, str]]:
    return Response({"error": str(exc), "parameter": exc.parameter}, status_code=HTTP_400_BAD_REQUEST)


def ledger_unavailable(exc: BusError) -> Response[dict[str, str]]:
    return Response({"error": f"ledger unavailable: {exc}"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)


def answer(reply: BaseModel) -> Response[dict[str, Any]]:
    return Response(reply.model_dump(mode="json", exclude=ENVELOPE), status_code=HTTP_200_OK)


def only_known(request: Request, known: set[str]) -> None:
    """A misspelt parameter (`order=`, `state=`) is refused rather than silently ignored."""
    for name in request.query_params:
        if name not in known:
            expected = f"expected one of {', '.join(sorted(known))}" if known else "this route takes none"
            raise BadParameter(name, f"unknown parameter; {expected}")


def integer(name: str, text: str | None, default: int, low: int, high: int | None = None) -> int:
    if text is None:
        return default
    if not re.fullmatch(r"\d+", text) or int(text) < low or (high is not None and int(text) > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise BadParameter(name, f"must be an integer {bound}, got {text!r}")
    return int(text)


def choice(name: str, text: str | None, choices: tuple[str, ...]) -> str | None:
    if text is not None and text not in choices:
        raise BadParameter(name, f"must be one of {', '.join(choices)}, got {text!r}")
    return text


def text_filter(name: str, text: str | None, max_length: int) -> str | None:
    if text is not None and not 1 <= len(text) <= max_length:
        raise BadParameter(name, f"must be 1 to {max_length} characters")
    return text


def boolean(name: str, text: str | None) -> bool:
    if text is None:
        return False
    if text.lower() not in BOOLEANS:
        raise BadParameter(name, f"must be true, false, 1 or 0, got {text!r}")
    return BOOLEANS[text.lower()]


def timestamp(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    if not RFC3339.match(text):
        raise BadParameter(name, f"must be an RFC 3339 time with an offset, e.g. 2026-01-31T09:00:00Z "
                                 f"(send '+' as %2B), got {text!r}")
    try:
        return datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadParameter(name, f"not a valid date and time: {text!r}") from None


def positions_query(params: dict[str, str | None]) -> PositionsQuery:
    return PositionsQuery(
        status=choice("status", params["status"], STATUSES),
        strategy_name=text_filter("strategy_name", params["strategy_name"], 64),
        market_id=text_filter("market_id", params["market_id"], 256),
        venue=choice("venue", params["venue"], VENUES),
        limit=integer("limit", params["limit"], 100, 1, MAX_POSITIONS_LIMIT),
        offset=integer("offset", params["offset"], 0, 0, MAX_OFFSET),
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

    # Every parameter is taken as text and checked by this module (not by Litestar), so a bad one
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
        try:
            only_known(request, set(params))
            query = positions_query(params)
        except BadParameter as exc:
            return bad_request(exc)
        try:
            return answer(await bus.request(LEDGER_POSITIONS.subject(), query, timeout=LEDGER_TIMEOUT_SECONDS))
        except BusError as exc:
            return ledger_unavailable(exc)

    @get("/positions/summary", summary="The portfolio's totals now: cost, value, PnL, cash, net liquidation")
    async def summary(self, request: Request, bus: Bus) -> Response[dict[str, Any]]:
        try:
            only_known(request, set())
        except BadParameter as exc:
            return bad_request(exc)
        try:
            reply = await bus.request(LEDGER_SUMMARY.subject(), PortfolioSummaryRequest(), timeout=LEDGER_TIMEOUT_SECONDS)
        except BusError as exc:
            return ledger_unavailable(exc)
        return answer(reply)

    @get("/positions/{position_id:str}", summary="One ledger position by id")
    async def position(self, bus: Bus, position_id: str) -> Response[dict[str, Any]]:
        if len(position_id) > MAX_POSITION_ID_LENGTH:
            return bad_request(BadParameter("position_id", f"at most {MAX_POSITION_ID_LENGTH} characters"))
        try:
            reply = await bus.request(LEDGER_POSITION.subject(), PositionRequest(position_id=position_id),
                                      timeout=LEDGER_TIMEOUT_SECONDS)
        except BusError as exc:
            return ledger_unavailable(exc)
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
        try:
            only_known(request, {"since", "until", "limit"})
            query = history_request(since, until, limit)
        except BadParameter as exc:
            return bad_request(exc)
        try:
            reply = await bus.request(LEDGER_PORTFOLIO_HISTORY.subject(), query, timeout=LEDGER_TIMEOUT_SECONDS)
        except BusError as exc:
            return ledger_unavailable(exc)
        return answer(reply)
