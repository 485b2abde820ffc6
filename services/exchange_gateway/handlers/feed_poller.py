"""Publishes every event of a venue feed (fills, settlements) exactly once, from a persisted checkpoint.

Order of effects per page: quarantine the rows that could not be read (alert to JetStream, then
the row to Postgres), publish the events to JetStream (deterministic event ids, so a re-publish
after a crash is dropped by JetStream and by consumers), then record them and the new checkpoint
in one transaction. A crash in between re-publishes the same ids; it can never skip an event, and
one unreadable row never holds back the rows around it.

Every poll's outcome goes to the feed's `FeedHealth`, which the gateway's health check reports.
The fills feed also tells the bus when its venue is lost and regained (`VenueConnectivity`, on
transitions only; see `domain.venue_connectivity`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.exchange_gateway.adapters.fill_store import FillStore
from services.exchange_gateway.adapters.settlement_store import SettlementStore
from services.exchange_gateway.adapters.venue import FillsPage, SettlementsPage, VenueClient, VenueError
from services.exchange_gateway.domain.feed_checkpoint import FeedCheckpoint, incremental_min_ts
from services.exchange_gateway.domain.feed_health import FeedHealth
from services.exchange_gateway.domain.quarantine import RejectedRow, quarantine_alert
from services.exchange_gateway.domain.venue_connectivity import VenueLink
from shared.bus import Bus
from shared.contracts import Fill, Message, SettlementRecorded, utcnow
from shared.contracts.channels import ALERTS, FILLS, SETTLEMENTS, VENUE_CONNECTIVITY, EventSubject
from shared.logs import get_logger

log = get_logger(__name__)

PAGE_LIMIT = 200


Page = FillsPage | SettlementsPage


@dataclass(frozen=True)
class Feed:
    """What differs between feeds: where pages come from, where events go, and their venue time."""

    name: str
    subject: EventSubject[Any]
    fetch_page: Callable[[str | None, datetime | None, int], Awaitable[Page]]
    time_of: Callable[[Any], datetime]
    # Whether this feed's polls stand for reaching the venue at all (one feed per venue does).
    tells_connectivity: bool = False


def fills_feed(client: VenueClient) -> Feed:
    return Feed("fills", FILLS.subject(venue=client.venue), client.fetch_fills_page,
                _fill_time, tells_connectivity=True)


def settlements_feed(client: VenueClient) -> Feed:
    return Feed("settlements", SETTLEMENTS.subject(venue=client.venue), client.fetch_settlements_page,
                _settled_time)


def _fill_time(fill: Fill) -> datetime:
    return fill.executed_at


def _settled_time(settlement: SettlementRecorded) -> datetime:
    return settlement.settled_at


class FeedPoller:
    def __init__(self, venue: str, feed: Feed, store: FillStore | SettlementStore, bus: Bus, interval_seconds: float,
                 health: FeedHealth | None = None) -> None:
        self.venue = venue
        self.feed = feed
        self.store = store
        self.bus = bus
        self.interval = interval_seconds
        self.health = health or FeedHealth(venue, feed.name, utcnow())
        self.link = VenueLink(venue) if feed.tells_connectivity else None

    async def run_forever(self) -> None:
        await self._count_quarantined()
        while True:
            started = utcnow()
            try:
                await self.poll_once()
            except VenueError as exc:
                # The venue is down or refusing us: keep the checkpoint, try again next interval;
                # the feed's health turns degraded if this lasts past the stall threshold.
                self.health.poll_failed(str(exc))
                log.warning("feed poll failed", venue=self.venue, feed=self.feed.name, error=str(exc))
                await self._tell_connectivity(False, utcnow(), f"{self.feed.name} poll failed: {exc}")
            else:
                await self._tell_connectivity(True, started, f"{self.feed.name} polled successfully again")
            await asyncio.sleep(self.interval)

    async def poll_once(self) -> int:
        """One poll: backfill pages (until history is done) or an incremental sweep. Returns events published."""
        started = utcnow()
        checkpoint = await self.store.load_checkpoint(self.venue)
        if not checkpoint.backfill_done:
            published, checkpoint = await self._backfill(checkpoint)
        else:
            published, checkpoint = await self._incremental(checkpoint)
        self.health.poll_succeeded(started, checkpoint.high_water)
        await self._count_quarantined()
        return published

    async def _backfill(self, checkpoint: FeedCheckpoint) -> tuple[int, FeedCheckpoint]:
        published = 0
        while not checkpoint.backfill_done:
            page = await self.feed.fetch_page(checkpoint.backfill_cursor, None, PAGE_LIMIT)
            checkpoint = checkpoint.after_backfill_page(page.next_cursor, self._newest(page.events))
            published += await self._publish(list(page.events), list(page.rejected), checkpoint)
            log.info(
                "feed backfill progress",
                venue=self.venue,
                feed=self.feed.name,
                page_events=len(page.events),
                published_total=await self.store.published_count(self.venue),
                done=checkpoint.backfill_done,
            )
        return published, checkpoint

    async def _incremental(self, checkpoint: FeedCheckpoint) -> tuple[int, FeedCheckpoint]:
        min_ts = incremental_min_ts(checkpoint, await self.store.oldest_provisional(self.venue))
        cursor: str | None = None
        events: list[Message] = []
        rejected: list[RejectedRow] = []
        while True:
            page = await self.feed.fetch_page(cursor, min_ts, PAGE_LIMIT)
            events.extend(page.events)
            rejected.extend(page.rejected)
            cursor = page.next_cursor
            if cursor is None:
                break
        # The checkpoint only moves once the whole sweep was read: a failed page retries it all.
        checkpoint = checkpoint.after_incremental_poll(self._newest(events))
        return await self._publish(events, rejected, checkpoint), checkpoint

    async def _publish(self, events: list[Message], rejected: list[RejectedRow], checkpoint: FeedCheckpoint) -> int:
        await self._quarantine(rejected)
        fresh = await self.store.unpublished(list({e.event_id: e for e in events}.values()))
        for event in sorted(fresh, key=self.feed.time_of):
            await self.bus.publish(self.feed.subject, event)
        await self.store.record(fresh, checkpoint)
        return len(fresh)

    async def _quarantine(self, rejected: list[RejectedRow]) -> None:
        for row in await self.store.not_quarantined(self.venue, rejected):
            alert = quarantine_alert(self.venue, self.feed.name, row)
            await self.bus.publish(ALERTS.subject(), alert)
            await self.store.quarantine(self.venue, row, alert.event_id)
            log.error("venue row quarantined", venue=self.venue, feed=self.feed.name, row_key=row.key,
                      error=row.error, alert_id=alert.event_id)

    async def _tell_connectivity(self, connected: bool, at: datetime, reason: str) -> None:
        if self.link is None:
            return
        event = self.link.observe(connected, at, reason)
        if event is None:
            return
        try:
            await self.bus.publish(VENUE_CONNECTIVITY.subject(venue=self.venue), event)
        except Exception as exc:  # the feed goes on; the transition stays pending for the next poll
            log.warning("venue connectivity not published; retrying next poll", venue=self.venue,
                        connected=connected, error=str(exc))
            return
        self.link.published(event)
        log.info("venue connectivity changed", venue=self.venue, connected=connected,
                 since=event.since.isoformat(), reason=event.reason)

    async def _count_quarantined(self) -> None:
        """From the database, not a counter: the count survives restarts and covers every replica."""
        self.health.quarantined = await self.store.quarantined_count(self.venue)

    def _newest(self, events: Sequence[Message]) -> datetime | None:
        return max((self.feed.time_of(e) for e in events), default=None)
