"""The ledger answers the reconciler: the venue ids `trueup import` loaded, and an operator's
adoption of a venue holding (booked into the journal and the book, as ingest books a fill)."""

from __future__ import annotations

import asyncpg

from services.ledger.adapters import queries
from services.ledger.adapters.book import lock_book, open_positions
from services.ledger.adapters.journal import journal_fills, journaled_fill
from services.ledger.domain.reconciliation import (
    ID_KEYS,
    AdoptionRefused,
    adjustment_fill,
    check_adoptable,
    same_adoption,
    venue_ids,
)
from services.ledger.handlers.ingest import fold_into_book
from shared.chassis import Service
from shared.contracts import ErrorInfo, utcnow
from shared.contracts.channels import LEDGER_ADOPT, LEDGER_IMPORTED_MARKETS
from shared.contracts.reconciler import (
    AdoptionReply,
    AdoptionRequest,
    ImportedMarket,
    ImportedMarketsReply,
    ImportedMarketsRequest,
)
from shared.logs import get_logger

log = get_logger(__name__)


async def imported_markets(pool: asyncpg.Pool) -> ImportedMarketsReply:
    markets = []
    for market_id, description, external_ids in await queries.latest_imported_external_ids(pool, ID_KEYS):
        try:
            ids = venue_ids(external_ids)
        except ValueError as exc:
            # One record's unusable id must not hide every other market's mapping.
            log.warning("imported external ids skipped", market_id=market_id, error=str(exc))
            continue
        if ids is not None:
            markets.append(ImportedMarket(market_id=market_id, description=description or None, external_ids=ids))
    return ImportedMarketsReply(markets=tuple(markets))


async def adopt(pool: asyncpg.Pool, request: AdoptionRequest) -> AdoptionReply:
    """Book the adoption once: a retry (same event id, same holding) is answered booked without
    booking again. The check and the booking share one transaction under the book's lock, so
    no fill folded in between can make the check stale."""
    try:
        fill = adjustment_fill(request, at=utcnow())
        async with pool.acquire() as conn, conn.transaction():
            await lock_book(conn)
            journaled = await journaled_fill(conn, fill.venue, fill.fill_id)
            if journaled is not None:
                if not same_adoption(journaled, fill):
                    raise AdoptionRefused("conflict", f"event id {request.event_id} already booked a different "
                                                      "adoption; a new adoption takes a new event id")
                return AdoptionReply(booked=True)
            check_adoptable(request, await open_positions(conn, [(fill.venue, fill.instrument_id)]))
            fresh = await journal_fills(conn, [fill])
            await fold_into_book(conn, fresh.fills, recompute=set())
    except AdoptionRefused as refused:
        log.warning("adoption refused", venue=request.venue, instrument_id=request.instrument_id,
                    event_id=request.event_id, actor=request.actor, error=str(refused))
        return AdoptionReply(booked=False, error=ErrorInfo(code=refused.code, message=str(refused),
                                                           venue=request.venue))
    log.info("venue holding adopted", venue=fill.venue, instrument_id=fill.instrument_id, outcome=fill.outcome,
             side=fill.side, quantity=str(fill.quantity), price=str(fill.price), fill_id=fill.fill_id,
             actor=request.actor, reason=request.reason)
    return AdoptionReply(booked=True)


def answer_reconciler(service: Service) -> None:
    """Register the responders to the reconciler; call before the service starts."""

    def pool() -> asyncpg.Pool:
        assert service.pool is not None, "the ledger owns a schema: its pool opens at start"
        return service.pool

    async def markets(_request: ImportedMarketsRequest) -> ImportedMarketsReply:
        return await imported_markets(pool())

    async def adoption(request: AdoptionRequest) -> AdoptionReply:
        return await adopt(pool(), request)

    service.bus.respond(LEDGER_IMPORTED_MARKETS.subject(), markets)
    service.bus.respond(LEDGER_ADOPT.subject(), adoption)
