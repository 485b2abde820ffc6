"""A reconciliation's inputs: the ledger's open positions and the gateway's venue snapshots, read
concurrently, turned into the domain's holdings. Either source may be unavailable; what that
means for the comparison is decided here, once, for runs and the overview alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from services.reconciler.adapters import sources
from services.reconciler.domain.reconcile import Holding, VenueSide
from shared.bus import Bus, BusError
from shared.contracts.base import VENUES
from shared.contracts.events import ExternalPositionsSnapshot
from shared.contracts.ledger import LedgerPosition
from shared.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Inputs:
    internal: tuple[LedgerPosition, ...]
    external: tuple[ExternalPositionsSnapshot, ...]
    ledger_error: str | None = None
    gateway_error: str | None = None


async def read_inputs(bus: Bus, *, refresh_external: bool) -> Inputs:
    """Both sources at once; a source that does not answer is reported, never taken as empty."""
    began = time.perf_counter()

    async def timed(read: Awaitable[T], source: str) -> T:
        try:
            return await read
        finally:
            seconds[source] = round(time.perf_counter() - began, 3)

    seconds: dict[str, float] = {}
    internal, external = await asyncio.gather(
        timed(sources.open_positions(bus), "ledger_s"),
        timed(sources.venue_snapshots(bus, force_refresh=refresh_external), "gateway_s"),
        return_exceptions=True,
    )
    log.debug("reconciliation sources read", **seconds)
    for result in (internal, external):
        if isinstance(result, BaseException) and not isinstance(result, BusError):
            raise result
    ledger_error = None
    if isinstance(internal, sources.LedgerNotCaughtUp):
        ledger_error = str(internal)
    elif isinstance(internal, BusError):
        ledger_error = f"ledger unavailable: {internal}"
    gateway_error = f"exchange-gateway unavailable: {external}" if isinstance(external, BusError) else None
    if ledger_error or gateway_error:
        log.warning("reconciliation source unavailable", ledger=ledger_error, gateway=gateway_error)
    return Inputs(
        internal=() if ledger_error else tuple(internal),  # type: ignore[arg-type]
        external=() if gateway_error else tuple(external),  # type: ignore[arg-type]
        ledger_error=ledger_error,
        gateway_error=gateway_error,
    )


def internal_holding(position: LedgerPosition) -> Holding:
    return Holding(position.venue, position.instrument_id, position.outcome, position.quantity,
                   cost_basis=position.cost_basis, title=position.title, market_hint=position.market_id)


def venue_side(snapshot: ExternalPositionsSnapshot) -> VenueSide:
    holdings = tuple(
        Holding(p.venue, p.instrument_id, p.outcome, p.quantity, cost_basis=p.cost_basis, title=p.title,
                # Polymarket's Data API names each asset's market (its condition id): it lets a
                # mapping that knows only the condition id claim the asset.
                market_hint=_condition_id(p.raw) if p.venue == "polymarket" else None)
        for p in snapshot.positions
        if not _resolved(p.raw)
    )
    return VenueSide(snapshot.venue, snapshot.complete, snapshot.error, holdings)


def _resolved(raw: dict) -> bool:
    """A Polymarket holding of a resolved market, listed until it is redeemed: the market is over
    and the ledger closes it from the settlement feed, so it is no open holding to compare (it
    would read as an orphan, and adopting it would book settled shares again)."""
    return raw.get("redeemable") is True


def _condition_id(raw: dict) -> str | None:
    value = raw.get("conditionId")
    return value if isinstance(value, str) and value else None


def domain_inputs(inputs: Inputs) -> tuple[list[Holding], dict[str, VenueSide]]:
    """The holdings to compare. A venue the gateway has no credentials for is left out (there is
    nothing to compare it with). Without the gateway every venue is an api_error; without the
    ledger nothing can be compared, so every venue is marked incomplete with that reason: its
    holdings are listed as api_error, never as orphans."""
    if inputs.gateway_error:
        venues = [VenueSide(venue, False, inputs.gateway_error, ()) for venue in VENUES]
    else:
        venues = [venue_side(s) for s in inputs.external if s.status != "not_configured"]
    if inputs.ledger_error:
        venues = [replace(side, complete=False, error=inputs.ledger_error) for side in venues]
    internal = [internal_holding(p) for p in inputs.internal if p.venue in {side.venue for side in venues}]
    return internal, {side.venue: side for side in venues}


def snapshot_time(inputs: Inputs, fallback: datetime) -> datetime:
    """The oldest venue snapshot's time: how old the external side of the comparison is."""
    times = [s.snapshot_time for s in inputs.external if s.status != "not_configured"]
    return min(times) if times else fallback
