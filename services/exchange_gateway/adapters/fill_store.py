"""Postgres persistence for the fill pollers (schema `gateway`): which (fill, status) pairs were published."""

from __future__ import annotations

from datetime import datetime

from services.exchange_gateway.adapters.feed_store import FeedStore
from services.exchange_gateway.domain.feed_checkpoint import FeedCheckpoint
from shared.contracts import Fill


class FillStore(FeedStore):
    feed = "fills"
    published_table = "published_fills"  # one event id per (venue, fill id, status)

    async def record(self, fills: list[Fill], checkpoint: FeedCheckpoint) -> None:
        """Called after the fills are stored in JetStream: marks them sent and moves the checkpoint."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                """INSERT INTO published_fills (venue, fill_id, status, event_id, executed_at)
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
                [(f.venue, f.fill_id, f.status, f.event_id, f.executed_at) for f in fills],
            )
            await self._save_checkpoint(conn, checkpoint)

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
