"""Operator mappings in the reconciler's schema: internal market id ↔ its venue ids."""

from __future__ import annotations

import asyncpg

from shared.contracts.reconciler import ExternalIds, InstrumentMapping

Connection = asyncpg.Connection | asyncpg.Pool

_ID_COLUMNS = tuple(ExternalIds.model_fields)
_COLUMNS = f"market_id, {', '.join(_ID_COLUMNS)}, title, source, updated_at, updated_by"


def _mapping(row: asyncpg.Record) -> InstrumentMapping:
    return InstrumentMapping(
        market_id=row["market_id"],
        external_ids=ExternalIds(**{name: row[name] for name in _ID_COLUMNS}),
        title=row["title"],
        source=row["source"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


async def list_mappings(conn: Connection, market_id: str | None = None) -> list[InstrumentMapping]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM mappings WHERE $1::text IS NULL OR market_id = $1 "
                            "ORDER BY market_id", market_id)
    return [_mapping(row) for row in rows]


async def get_mapping(conn: Connection, market_id: str) -> InstrumentMapping | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM mappings WHERE market_id = $1", market_id)
    return _mapping(row) if row is not None else None


async def put_mapping(conn: Connection, mapping: InstrumentMapping) -> None:
    """Create or replace the market's mapping (its venue ids as given: an omitted id is removed)."""
    ids = mapping.external_ids.model_dump()
    values = ", ".join(f"${n}" for n in range(1, len(_ID_COLUMNS) + 6))
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in (*_ID_COLUMNS, "title", "source",
                                                                       "updated_at", "updated_by"))
    await conn.execute(
        f"INSERT INTO mappings ({_COLUMNS}) VALUES ({values}) ON CONFLICT (market_id) DO UPDATE SET {updates}",
        mapping.market_id, *(ids[name] for name in _ID_COLUMNS), mapping.title, mapping.source,
        mapping.updated_at, mapping.updated_by,
    )


async def delete_mapping(conn: Connection, market_id: str) -> InstrumentMapping | None:
    """Remove the market's mapping; returns what was removed (None: there was none)."""
    row = await conn.fetchrow(f"DELETE FROM mappings WHERE market_id = $1 RETURNING {_COLUMNS}", market_id)
    return _mapping(row) if row is not None else None
