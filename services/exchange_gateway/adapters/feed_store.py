"""Postgres persistence every venue feed shares (schema `gateway`): its checkpoint and its
quarantined rows. `FillStore` and `SettlementStore` add what each feed publishes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TypeVar

import asyncpg

from services.exchange_gateway.domain.feed_checkpoint import FeedCheckpoint
from services.exchange_gateway.domain.quarantine import RejectedRow
from shared.contracts import Message


E = TypeVar("E", bound=Message)


class FeedStore:
    feed: str
    # The table of this feed's published event ids (a class constant, never input: safe in SQL text).
    published_table: str

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def unpublished(self, events: list[E]) -> list[E]:
        """The events (by their deterministic event id) this gateway has not published yet."""
        if not events:
            return []
        rows = await self._pool.fetch(
            f"SELECT event_id FROM {self.published_table} WHERE event_id = ANY($1::text[])",
            [e.event_id for e in events],
        )
        seen = {r["event_id"] for r in rows}
        return [e for e in events if e.event_id not in seen]

    async def published_count(self, venue: str) -> int:
        return await self._pool.fetchval(f"SELECT count(*) FROM {self.published_table} WHERE venue = $1", venue)

    async def load_checkpoint(self, venue: str) -> FeedCheckpoint:
        row = await self._pool.fetchrow(
            "SELECT backfill_done, backfill_cursor, high_water FROM feed_checkpoints WHERE venue = $1 AND feed = $2",
            venue, self.feed,
        )
        if row is None:
            return FeedCheckpoint(venue)
        return FeedCheckpoint(venue, row["backfill_done"], row["backfill_cursor"], row["high_water"])

    async def _save_checkpoint(self, conn: asyncpg.Connection, checkpoint: FeedCheckpoint) -> None:
        await conn.execute(
            """INSERT INTO feed_checkpoints (venue, feed, backfill_done, backfill_cursor, high_water, updated_at)
               VALUES ($1, $2, $3, $4, $5, now())
               ON CONFLICT (venue, feed) DO UPDATE SET backfill_done = EXCLUDED.backfill_done,
                   backfill_cursor = EXCLUDED.backfill_cursor, high_water = EXCLUDED.high_water,
                   updated_at = now()""",
            checkpoint.venue, self.feed, checkpoint.backfill_done, checkpoint.backfill_cursor, checkpoint.high_water,
        )

    async def oldest_provisional(self, venue: str) -> datetime | None:
        """Where an incremental poll must reach back to at least; only fills can be provisional."""
        return None

    # -- quarantine -----------------------------------------------------------------------------

    async def not_quarantined(self, venue: str, rows: list[RejectedRow]) -> list[RejectedRow]:
        """The rejected rows (by key, each once) this feed has not quarantined yet."""
        unique = list({row.key: row for row in rows}.values())
        if not unique:
            return []
        known = await self._pool.fetch(
            "SELECT row_key FROM quarantined_rows WHERE venue = $1 AND feed = $2 AND row_key = ANY($3::text[])",
            venue, self.feed, [row.key for row in unique],
        )
        seen = {r["row_key"] for r in known}
        return [row for row in unique if row.key not in seen]

    async def quarantine(self, venue: str, row: RejectedRow, alert_id: str) -> None:
        """Called after the row's alert is stored in JetStream (a crash between re-sends the same alert id)."""
        await self._pool.execute(
            """INSERT INTO quarantined_rows (venue, feed, row_key, raw, error, alert_id)
               VALUES ($1, $2, $3, $4::jsonb, $5, $6) ON CONFLICT DO NOTHING""",
            venue, self.feed, row.key, json.dumps(row.raw, default=str), row.error, alert_id,
        )

    async def quarantined_count(self, venue: str) -> int:
        return await self._pool.fetchval(
            "SELECT count(*) FROM quarantined_rows WHERE venue = $1 AND feed = $2", venue, self.feed
        )
