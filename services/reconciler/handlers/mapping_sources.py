"""The mappings a run uses: the operator's (this service's table) merged with the markets the
ledger imported with `external_ids` — the operator's win for the same market id."""

from __future__ import annotations

import asyncpg

from services.reconciler.adapters import mappings as mapping_store
from services.reconciler.adapters import sources
from shared.bus import Bus, BusError
from shared.contracts import utcnow
from shared.contracts.reconciler import ImportedMarket, InstrumentMapping
from shared.logs import get_logger

log = get_logger(__name__)

IMPORT_ACTOR = "trueup import"


def imported_mapping(market: ImportedMarket) -> InstrumentMapping:
    # The ledger keeps no time per imported market; "now" says only that the import still holds it.
    return InstrumentMapping(market_id=market.market_id, external_ids=market.external_ids,
                             title=market.description, source="import", updated_at=utcnow(),
                             updated_by=IMPORT_ACTOR)


def merge(operator: list[InstrumentMapping], imported: tuple[ImportedMarket, ...]) -> list[InstrumentMapping]:
    own = {m.market_id for m in operator}
    merged = operator + [imported_mapping(m) for m in imported
                         if m.market_id not in own and any(m.external_ids.model_dump().values())]
    return sorted(merged, key=lambda m: m.market_id)


async def current_mappings(pool: asyncpg.Pool, bus: Bus, market_id: str | None = None) -> list[InstrumentMapping]:
    """Operator and imported mappings. Without the ledger's answer, the operator's alone (logged)."""
    operator = await mapping_store.list_mappings(pool)
    try:
        imported = await sources.imported_markets(bus)
    except BusError as exc:
        log.warning("imported mappings unavailable; using the operator's alone", error=str(exc))
        imported = ()
    merged = merge(operator, imported)
    return [m for m in merged if market_id is None or m.market_id == market_id]
