"""What the reconciler asks of other services over the bus: the ledger's open positions and
imported markets, the gateway's venue snapshots, and the ledger's booking of an adoption."""

from __future__ import annotations

from shared.bus import Bus
from shared.contracts.channels import (
    GATEWAY_POSITIONS,
    GATEWAY_REPLY_TIMEOUT_SECONDS,
    LEDGER_ADOPT,
    LEDGER_IMPORTED_MARKETS,
    LEDGER_POSITIONS,
)
from shared.contracts.base import Venue
from shared.contracts.events import ExternalPositionsSnapshot
from shared.contracts.gateway import PositionsRequest
from shared.contracts.ledger import LedgerPosition, PositionsQuery
from shared.contracts.reconciler import AdoptionReply, AdoptionRequest, ImportedMarket, ImportedMarketsRequest

# The ledger's largest page (a big reply comes in parts): each page is a scan of the ledger's
# valued positions, so fewer, bigger pages make a big account's run seconds faster.
_PAGE = 10_000
_LEDGER_TIMEOUT_SECONDS = 10.0


async def open_positions(bus: Bus, venue: Venue | None = None) -> list[LedgerPosition]:
    """Every open position in the ledger (of `venue`, or all), read page by page until `total`."""
    positions: list[LedgerPosition] = []
    while True:
        page = await bus.request(LEDGER_POSITIONS.subject(),
                                 PositionsQuery(status="open", venue=venue, limit=_PAGE, offset=len(positions)),
                                 timeout=_LEDGER_TIMEOUT_SECONDS)
        positions.extend(page.positions)
        # An empty page ends it too: positions closing between pages shrink `total`.
        if not page.positions or len(positions) >= page.total:
            return positions


async def venue_snapshots(bus: Bus, *, force_refresh: bool,
                          venues: tuple[Venue, ...] = ("kalshi", "polymarket")) -> tuple[ExternalPositionsSnapshot, ...]:
    """Each venue's holdings from the gateway: its TTL-cached snapshot unless `force_refresh`."""
    reply = await bus.request(GATEWAY_POSITIONS.subject(), PositionsRequest(venues=venues, force_refresh=force_refresh),
                              timeout=GATEWAY_REPLY_TIMEOUT_SECONDS)
    return reply.snapshots


async def imported_markets(bus: Bus) -> tuple[ImportedMarket, ...]:
    reply = await bus.request(LEDGER_IMPORTED_MARKETS.subject(), ImportedMarketsRequest(),
                              timeout=_LEDGER_TIMEOUT_SECONDS)
    return reply.markets


async def adopt(bus: Bus, request: AdoptionRequest) -> AdoptionReply:
    return await bus.request(LEDGER_ADOPT.subject(), request, timeout=_LEDGER_TIMEOUT_SECONDS)
