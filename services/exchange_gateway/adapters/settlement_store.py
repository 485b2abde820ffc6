"""Postgres persistence for the settlement pollers (schema `gateway`): which markets' settlements were published."""

from __future__ import annotations

from services.exchange_gateway.adapters.feed_store import FeedStore
from services.exchange_gateway.domain.feed_checkpoint import FeedCheckpoint
from shared.contracts import SettlementRecorded


class SettlementStore(FeedStore):
    feed = "settlements"
    published_table = "published_settlements"  # one event id per (venue, account, market)

    async def record(self, settlements: list[SettlementRecorded], checkpoint: FeedCheckpoint) -> None:
        """Called after the settlements are stored in JetStream: marks them sent and moves the checkpoint."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                """INSERT INTO published_settlements (venue, account, instrument_id, event_id, result, settled_at)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
                [(s.venue, s.account, s.instrument_id, s.event_id, s.result, s.settled_at) for s in settlements],
            )
            await self._save_checkpoint(conn, checkpoint)
