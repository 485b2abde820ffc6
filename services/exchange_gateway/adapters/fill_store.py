"""Postgres persistence for the fill pollers (schema `gateway`)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.exchange_gateway.domain.fill_checkpoint import FillCheckpoint
from shared.contracts import Fill


class FillStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load_checkpoint(self, venue: str) -> FillCheckpoint:
        row = await self._pool.fetchrow(
            "SELECT backfill_done, backfill_cursor, high_water FROM fill_checkpoints WHERE venue = $1", venue
        )
        if row is None:
            return FillCheckpoint(venue)
        return FillCheckpoint(venue, row["backfill_done"], row["backfill_cursor"], row["high_water"])

    async def unpublished(self, fills: list[Fill]) -> list[Fill]:
        """The fills (by venue + fill id + status) this gateway has not published yet."""
        if not fills:
            return []
        rows = await self._pool.fetch(
            "SELECT event_id FROM published_fills WHERE event_id = ANY($1::text[])", [f.event_id for f in fills]
        )
        seen = {r["event_id"] for r in rows}
        return [f for f in fills if f.event_id not in seen]

    async def record(self, fills: list[Fill], checkpoint: FillCheckpoint) -> None:
        """Called after the fills are stored in JetStream: marks them sent and moves the checkpoint."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                """INSERT INTO published_fills (venue, fill_id, status, event_id, executed_at)
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
                [(f.venue, f.fill_id, f.status, f.event_id, f.executed_at) for f in fills],
            )
            await conn.execute(
                """INSERT INTO fill_checkpoints (venue, backfill_done, backfill_cursor, high_water, updated_at)
                   VALUES ($1, $2, $3, $4, now())
                   ON CONFLICT (venue) DO UPDATE SET backfill_done = EXCLUDED.backfill_done,
                       backfill_cursor = EXCLUDED.backfill_cursor, high_water = EXCLUDED.high_water,
                       updated_at = now()""",
                checkpoint.venue,
                checkpoint.backfill_done,
                checkpoint.backfill_cursor,
                checkpoint.high_water,
            )

    async def oldest_provisional(self, venue: str) -> datetime | None:
        """Executed time of the oldest fill whose latest known status is not final yet."""
        return await self._pool.fetchval(
            """SELECT min(p.executed_at) FROM published_fills p
               WHERE p.venue = $1 AND p.status NOT IN ('confirmed', 'failed')
                 AND NOT EXISTS (SELECT 1 FROM published_fills t
                                 WHERE t.venue = p.venue AND t.fill_id = p.fill_id
                                   AND t.status IN ('confirmed', 'failed'))""",
            venue,
        )

    async def published_count(self, venue: str) -> int:
        return await self._pool.fetchval("SELECT count(*) FROM published_fills WHERE venue = $1", venue)
