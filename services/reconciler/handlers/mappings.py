"""Mapping requests: list (operator and imported), put and delete (operator's, audit-logged)."""

from __future__ import annotations

import asyncpg

from services.reconciler.adapters import audit
from services.reconciler.adapters import mappings as mapping_store
from services.reconciler.handlers.mapping_sources import current_mappings
from services.reconciler.handlers.runs import Reconciler
from shared.contracts import ErrorInfo, utcnow
from shared.contracts.channels import RECONCILER_DELETE_MAPPING, RECONCILER_MAPPINGS, RECONCILER_PUT_MAPPING
from shared.contracts.reconciler import (
    DeleteMappingRequest,
    InstrumentMapping,
    MappingReply,
    MappingsReply,
    MappingsRequest,
    PutMappingRequest,
)


def _target(market_id: str, mapping: InstrumentMapping | None) -> dict:
    return {"market_id": market_id, **({"mapping": mapping.model_dump(mode="json")} if mapping else {})}


def answer_mappings(reconciler: Reconciler) -> None:
    """Register the mapping responders (before the service starts)."""
    bus = reconciler.bus

    def pool() -> asyncpg.Pool:
        return reconciler.pool

    async def list_(request: MappingsRequest) -> MappingsReply:
        return MappingsReply(mappings=tuple(await current_mappings(pool(), bus, request.market_id)))

    async def put(request: PutMappingRequest) -> MappingReply:
        mapping = InstrumentMapping(market_id=request.market_id, external_ids=request.external_ids,
                                    title=request.title, source="operator", updated_at=utcnow(),
                                    updated_by=request.actor)
        async with pool().acquire() as conn, conn.transaction():
            before = await mapping_store.get_mapping(conn, request.market_id)
            await mapping_store.put_mapping(conn, mapping)
            await audit.record(conn, actor=request.actor, action="put_mapping",
                               target={**_target(request.market_id, mapping),
                                       "replaced": before.model_dump(mode="json") if before else None},
                               reason=request.reason, outcome="done")
        return MappingReply(mapping=mapping)

    async def delete(request: DeleteMappingRequest) -> MappingReply:
        async with pool().acquire() as conn, conn.transaction():
            removed = await mapping_store.delete_mapping(conn, request.market_id)
            outcome = "done" if removed else "refused: no operator mapping for this market"
            await audit.record(conn, actor=request.actor, action="delete_mapping",
                               target=_target(request.market_id, removed), reason=request.reason, outcome=outcome)
        if removed is None:
            # An imported mapping is the ledger's: it goes when its import record does.
            return MappingReply(error=ErrorInfo(code="not_found",
                                                message=f"no operator mapping for market {request.market_id}"))
        return MappingReply(mapping=removed)

    bus.respond(RECONCILER_MAPPINGS.subject(), list_)
    bus.respond(RECONCILER_PUT_MAPPING.subject(), put)
    bus.respond(RECONCILER_DELETE_MAPPING.subject(), delete)
