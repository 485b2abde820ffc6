"""Publishes every venue fill exactly once per status, from a persisted checkpoint.

Order of effects per page: publish to JetStream (deterministic event id, so a re-publish after a
crash is dropped by JetStream and by consumers), then record the fills and the new checkpoint in
one transaction. A crash in between re-publishes the same ids; it can never skip a fill.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.exchange_gateway.adapters.fill_store import FillStore
from services.exchange_gateway.adapters.venue import VenueClient, VenueError
from services.exchange_gateway.domain.fill_checkpoint import FillCheckpoint, incremental_min_ts
from shared.bus import Bus
from shared.contracts import Fill, subjects
from shared.logs import get_logger

log = get_logger(__name__)

PAGE_LIMIT = 200


class FillPoller:
    def __init__(self, client: VenueClient, store: FillStore, bus: Bus, interval_seconds: float) -> None:
        self.client = client
        self.store = store
        self.bus = bus
        self.interval = interval_seconds
        self.venue = client.venue

    async def run_forever(self) -> None:
        while True:
            try:
                await self.poll_once()
            except VenueError as exc:
                # The venue is down or refusing us: keep the checkpoint, try again next interval.
                log.warning("fill poll failed", venue=self.venue, error=str(exc))
            await asyncio.sleep(self.interval)

    async def poll_once(self) -> int:
        """One poll: a backfill page (until history is done) or an incremental sweep. Returns fills published."""
        checkpoint = await self.store.load_checkpoint(self.venue)
        if not checkpoint.backfill_done:
            return await self._backfill(checkpoint)
        return await self._incremental(checkpoint)

    async def _backfill(self, checkpoint: FillCheckpoint) -> int:
        published = 0
        while not checkpoint.backfill_done:
            page = await self.client.fetch_fills_page(checkpoint.backfill_cursor, None, PAGE_LIMIT)
            checkpoint = checkpoint.after_backfill_page(page.next_cursor, _newest(page.fills))
            published += await self._publish(list(page.fills), checkpoint)
            log.info(
                "fill backfill progress",
                venue=self.venue,
                page_fills=len(page.fills),
                published_total=await self.store.published_count(self.venue),
                done=checkpoint.backfill_done,
            )
        return published

    async def _incremental(self, checkpoint: FillCheckpoint) -> int:
        min_ts = incremental_min_ts(checkpoint, await self.store.oldest_provisional(self.venue))
        cursor: str | None = None
        fills: list[Fill] = []
        while True:
            page = await self.client.fetch_fills_page(cursor, min_ts, PAGE_LIMIT)
            fills.extend(page.fills)
            cursor = page.next_cursor
            if cursor is None:
                break
        # The checkpoint only moves once the whole sweep was read: a failed page retries it all.
        return await self._publish(fills, checkpoint.after_incremental_poll(_newest(fills)))

    async def _publish(self, fills: list[Fill], checkpoint: FillCheckpoint) -> int:
        fresh = await self.store.unpublished(_unique(fills))
        for fill in sorted(fresh, key=lambda f: f.executed_at):
            await self.bus.publish(subjects.per_venue(subjects.FILLS, self.venue), fill)
        await self.store.record(fresh, checkpoint)
        return len(fresh)


def _newest(fills: tuple[Fill, ...] | list[Fill]) -> datetime | None:
    return max((f.executed_at for f in fills), default=None)


def _unique(fills: list[Fill]) -> list[Fill]:
    return list({f.event_id: f for f in fills}.values())
