"""What the reconciler asks of other services over the bus: the ledger's open positions and
imported markets, the gateway's venue snapshots, and the ledger's booking of an adoption."""

from __future__ import annotations

import asyncio

from shared.bus import Bus, BusError
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

# How long a run waits for the ledger to book the fills already on the bus (a restart's backlog,
# or a burst) before reporting it not caught up: its items are then api_error, never alerted on.
CATCH_UP_SECONDS = 10.0
_CATCH_UP_POLL_SECONDS = 0.25
# The ledger's largest page (a big reply comes in parts): each page is a scan of the ledger's
# valued positions, so fewer, bigger pages make a big account's run seconds faster.
_PAGE = 10_000
_LEDGER_TIMEOUT_SECONDS = 10.0


class LedgerNotCaughtUp(BusError):
    """The ledger has fills it has not booked yet: its book is behind the venues, and comparing it
    would report those fills' positions as orphaned (after a restart, every one of them)."""


async def open_positions(bus: Bus, venue: Venue | None = None) -> list[LedgerPosition]:
    """Every open position in the ledger (of `venue`, or all), read page by page until `total`,
    once the ledger has booked the fills already on the bus (waiting up to CATCH_UP_SECONDS)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_SECONDS
    positions: list[LedgerPosition] = []
    while True:
        page = await bus.request(LEDGER_POSITIONS.subject(),
                                 PositionsQuery(status="open", venue=venue, limit=_PAGE, offset=len(positions)),
                                 timeout=_LEDGER_TIMEOUT_SECONDS)
        if not positions and page.fills_pending:  # 0, or unknown: nothing says the book is behind
            if loop.time() >= deadline:
                raise LedgerNotCaughtUp(f"the ledger is still booking {page.fills_pending} fill(s) from the venues; "
                                        f"its book is compared once it has caught up")
            await asyncio.sleep(_CATCH_UP_POLL_SECONDS)
            continue
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
