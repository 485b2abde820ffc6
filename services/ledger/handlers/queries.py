"""The ledger answers questions about its book: positions, one position, totals, history."""

from __future__ import annotations

import asyncpg

from services.ledger.adapters import queries
from shared.chassis import Service
from shared.contracts import utcnow
from shared.contracts.channels import FILLS, LEDGER_PORTFOLIO_HISTORY, LEDGER_POSITION, LEDGER_POSITIONS, LEDGER_SUMMARY
from shared.contracts.ledger import (
    PortfolioHistoryReply,
    PortfolioHistoryRequest,
    PortfolioSummary,
    PortfolioSummaryRequest,
    PositionReply,
    PositionRequest,
    PositionsPage,
    PositionsQuery,
)
from shared.logs import get_logger

log = get_logger(__name__)


def answer_queries(service: Service) -> None:
    """Register the ledger's responders; call before the service starts (the pool exists by the
    time a request arrives: the chassis opens the database before the bus)."""

    def pool() -> asyncpg.Pool:
        assert service.pool is not None, "the ledger owns a schema: its pool opens at start"
        return service.pool

    async def positions(query: PositionsQuery) -> PositionsPage:
        page = await queries.list_positions(pool(), query)
        return page.model_copy(update={"fills_pending": await fills_pending()})

    async def fills_pending() -> int | None:
        """Fills published but not booked yet: waiting in the ledger's consumer or being booked."""
        bus = service.bus
        try:
            info = await bus.jetstream.consumer_info(bus.stream_name(FILLS.stream), FILLS.durable(bus.service))
        except Exception as exc:  # the page is still right; only its freshness is unknown
            log.warning("fill backlog unknown", error=str(exc))
            return None
        return info.num_pending + info.num_ack_pending

    async def position(request: PositionRequest) -> PositionReply:
        return PositionReply(position=await queries.get_position(pool(), request.position_id))

    async def summary(_request: PortfolioSummaryRequest) -> PortfolioSummary:
        async with pool().acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            # One snapshot of the database, so the book and the cash are of the same moment.
            totals, cash_as_of = await queries.portfolio_totals(conn)
        return PortfolioSummary(as_of=utcnow(), totals=totals, cash_as_of=cash_as_of)

    async def history(request: PortfolioHistoryRequest) -> PortfolioHistoryReply:
        return await queries.portfolio_history(pool(), request)

    service.bus.respond(LEDGER_POSITIONS.subject(), positions)
    service.bus.respond(LEDGER_POSITION.subject(), position)
    service.bus.respond(LEDGER_SUMMARY.subject(), summary)
    service.bus.respond(LEDGER_PORTFOLIO_HISTORY.subject(), history)
