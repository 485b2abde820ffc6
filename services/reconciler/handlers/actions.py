"""Operator actions on one (venue, instrument, outcome), each audit-logged with who, why and
what came of it: acknowledge a known difference, adopt the venue's holding into the ledger, or
map the instrument to a market."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from services.reconciler.adapters import audit, operator_state, sources
from services.reconciler.adapters import mappings as mapping_store
from services.reconciler.adapters.operator_state import Acknowledgement
from services.reconciler.adapters.runs import run_items
from services.reconciler.domain.reasons import price as price_text
from services.reconciler.domain.reasons import qty
from services.reconciler.handlers.mapping_sources import current_mappings
from services.reconciler.handlers.runs import Reconciler, current_fingerprint, item_key
from shared.bus import Bus, BusError
from shared.contracts import deterministic_id, utcnow
from shared.contracts.channels import RECONCILER_ACTION
from shared.contracts.reconciler import (
    AdoptionRequest,
    ExternalIds,
    InstrumentMapping,
    OperatorActionReply,
    OperatorActionRequest,
)
from shared.logs import get_logger

log = get_logger(__name__)


class Refused(Exception):
    """The action was not carried out; the message says why, for the operator."""


def _target(request: OperatorActionRequest) -> dict:
    return {"venue": request.venue, "instrument_id": request.instrument_id, "outcome": request.outcome,
            "market_id": request.market_id}


def _where(request: OperatorActionRequest) -> str:
    return f"{request.venue} {request.instrument_id} {request.outcome.upper()}"


async def acknowledge(reconciler: Reconciler, request: OperatorActionRequest) -> str:
    """Store the difference as known, with its current fingerprint: it stays visible (marked
    acknowledged) and is not alerted on until it changes.

    A trader acknowledges a *difference* (orphaned, ghost, drift): only an item that has one is
    acknowledged, because only such an acknowledgement holds — a run forgets one whose item has no
    difference (`lapsed_acknowledgements`). An unmapped holding whose quantities agree (even if the
    cost basis, which is not compared, differs) is refused: its fix is the map action."""
    computed = await reconciler.compute("overview", refresh_external=False)
    key = (request.venue, request.instrument_id, request.outcome)
    item = next((i for i in run_items(computed.run) if item_key(i) == key), None)
    if item is None:
        raise Refused(f"{_where(request)} is held on neither side; nothing to acknowledge")
    if item.status == "api_error":
        raise Refused(f"{_where(request)} could not be compared ({item.reason}); nothing to acknowledge yet")
    if item.status == "match":
        raise Refused(f"{_where(request)} matches; nothing to acknowledge")
    if item.difference is None:
        raise Refused(f"{_where(request)} has no difference to acknowledge (acknowledge is for an orphaned, ghost "
                      f"or drift holding); what it needs is a mapping: {item.reason}")
    await operator_state.acknowledge(reconciler.pool, key, Acknowledgement(
        current_fingerprint(item), request.actor, request.reason, utcnow()))
    return f"{_where(request)} acknowledged: {item.reason}"


async def adopt(bus: Bus, request: OperatorActionRequest) -> str:
    """Book what the venue holds beyond the ledger (external − internal) at the venue's average
    price, read from a fresh snapshot; a ghost (held only internally) is removed at the ledger's
    own average price, so removing it realizes nothing."""
    (snapshot,) = await sources.venue_snapshots(bus, force_refresh=True, venues=(request.venue,))
    if snapshot.status != "ok" or not snapshot.complete:
        raise Refused(f"the {request.venue} holdings could not be read in full ({snapshot.error or snapshot.status}); "
                      "adopt needs a complete snapshot — try again")
    held = [p for p in snapshot.positions if (p.instrument_id, p.outcome) == (request.instrument_id, request.outcome)]
    internal = [p for p in await sources.open_positions(bus, venue=request.venue)
                if (p.instrument_id, p.outcome) == (request.instrument_id, request.outcome)]
    external_quantity = sum((p.quantity for p in held), Decimal(0))
    internal_quantity = sum((p.quantity for p in internal), Decimal(0))
    quantity = external_quantity - internal_quantity
    if quantity == 0:
        raise Refused(f"{_where(request)}: the ledger and the venue both hold {qty(external_quantity)}; "
                      "nothing to adopt")
    price = _venue_price(held) if held else (internal[0].avg_price if internal else None)
    if price is None:
        raise Refused(f"{_where(request)}: the venue reports no average price for the holding; cannot book it")
    reply = await sources.adopt(bus, AdoptionRequest(
        # Derived from the operator's request: a retried request books once.
        event_id=deterministic_id("adopt", request.event_id), venue=request.venue, account=snapshot.account,
        instrument_id=request.instrument_id, outcome=request.outcome, quantity=quantity, price=price,
        actor=request.actor, reason=request.reason))
    if not reply.booked:
        raise Refused(reply.error.message if reply.error else "the ledger did not book the adoption")
    sign = "+" if quantity > 0 else ""
    return (f"{_where(request)}: booked {sign}{qty(quantity)} at {price_text(request.venue, price)} into the ledger "
            f"(ledger {qty(internal_quantity)} → venue {qty(external_quantity)})")


def _venue_price(held: list) -> Decimal | None:
    position = held[0]
    if position.avg_price is not None:
        return position.avg_price
    if position.cost_basis is not None and position.quantity:
        return position.cost_basis / position.quantity
    return None


def _slot(request: OperatorActionRequest) -> str:
    if request.venue == "kalshi":
        return "kalshi_market_ticker"
    return "poly_asset_yes" if request.outcome == "yes" else "poly_asset_no"


async def map_instrument(pool: asyncpg.Pool, bus: Bus, request: OperatorActionRequest) -> str:
    """Create or extend the market's operator mapping with the instrument (an imported mapping
    of the market is copied into it, so nothing it mapped is lost)."""
    assert request.market_id is not None  # the request's validator requires it for map
    slot = _slot(request)
    mappings = await current_mappings(pool, bus)
    rivals = [m.market_id for m in mappings
              if m.market_id != request.market_id and getattr(m.external_ids, slot) == request.instrument_id]
    if rivals:
        raise Refused(f"{_where(request)} is already mapped to {', '.join(rivals)}; unmap it there first")
    existing = next((m for m in mappings if m.market_id == request.market_id), None)
    ids = existing.external_ids.model_dump() if existing else {}
    if ids.get(slot) == request.instrument_id:
        return f"{_where(request)} is already mapped to {request.market_id}"
    if ids.get(slot):
        raise Refused(f"market {request.market_id} already maps {slot} to {ids[slot]}; "
                      "change the mapping itself to replace it")
    mapping = InstrumentMapping(market_id=request.market_id, external_ids=ExternalIds(**{**ids, slot: request.instrument_id}),
                                title=existing.title if existing else None, source="operator", updated_at=utcnow(),
                                updated_by=request.actor)
    await mapping_store.put_mapping(pool, mapping)
    return f"{_where(request)} mapped to {request.market_id} as {slot}"


def answer_actions(reconciler: Reconciler) -> None:
    bus = reconciler.bus

    async def act(request: OperatorActionRequest) -> OperatorActionReply:
        try:
            if request.action == "acknowledge":
                message = await acknowledge(reconciler, request)
            elif request.action == "adopt":
                message = await adopt(bus, request)
            else:
                message = await map_instrument(reconciler.pool, bus, request)
            done = True
        except Refused as refused:
            done, message = False, str(refused)
        except BusError as exc:
            # For adopt an unanswered request is an unknown outcome: the operator retries the
            # same request (same event id), which books at most once.
            done, message = False, f"not done: a service did not answer ({exc}); try again"
        await audit.record(reconciler.pool, actor=request.actor, action=request.action, target=_target(request),
                           reason=request.reason, outcome=("done: " if done else "refused: ") + message)
        log.info("operator action", action=request.action, actor=request.actor, done=done, message=message)
        return OperatorActionReply(done=done, message=message)

    bus.respond(RECONCILER_ACTION.subject(), act)
