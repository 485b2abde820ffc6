"""Postgres persistence for the settlement pollers (schema `gateway`): which markets' settlements were published."""

from __future__ import annotations

from services.exchange_gateway.adapters.feed_store import FeedStore
from services.exchange_gateway.domain.feed_checkpoint import FeedCheckpoint
from shared.contracts import SettlementRecorded


class SettlementStore(FeedStore):
    feed = "settlements"

    async def unpublished(self, settlements: list[SettlementRecorded]) -> list[SettlementRecorded]:
        """The settlements (one per venue, account and market) this gateway has not published yet."""
        if not settlements:
            return []
        rows = await self._pool.fetch(
            "SELECT event_id FROM published_settlements WHERE event_id = ANY($1::text[])",
            [s.event_id for s in settlements],
        )
        seen = {r["event_id"] for r in rows}
        return [s for s in settlements if s.event_id not in seen]

    async def record(self, settlements: list[SettlementRecorded], checkpoint: FeedCheckpoint) -> None:
        """Called after the settlements are stored in JetStream: marks them sent and moves the checkpoint."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                """INSERT INTO published_settlements (venue, account, instrument_id, event_id, result, settled_at)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
                [(s.venue, s.account, s.instrument_id, s.event_id, s.result, s.settled_at) for s in settlements],
            )
            await self._save_checkpoint(conn, checkpoint)

    async def published_count(self, venue: str) -> int:
        return await self._pool.fetchval("SELECT count(*) FROM published_settlements WHERE venue = $1", venue)
