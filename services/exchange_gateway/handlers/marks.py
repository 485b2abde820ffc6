"""Publishes best bid/ask/mid/last for every instrument the account holds, on an interval."""

from __future__ import annotations

import asyncio

from services.exchange_gateway.adapters.venue import VenueClient
from services.exchange_gateway.handlers.queries import VenueQueries
from shared.bus import Bus
from shared.contracts import subjects
from shared.logs import get_logger

log = get_logger(__name__)


async def publish_marks_once(client: VenueClient, queries: VenueQueries, bus: Bus) -> int:
    # Uses the cached snapshot when fresh: marks must not cost a positions call every time.
    await queries.snapshot(client.venue)
    instruments = queries.held_instruments(client.venue)
    if not instruments:
        return 0
    marks = await client.fetch_marks(instruments)
    for mark in marks:
        await bus.publish(subjects.per_venue(subjects.MARKS, client.venue), mark)
    return len(marks)


async def run_mark_publisher(client: VenueClient, queries: VenueQueries, bus: Bus, interval: float) -> None:
    while True:
        try:
            await publish_marks_once(client, queries, bus)
        except Exception as exc:  # a venue hiccup skips one round of marks; the next round retries
            log.warning("marks failed", venue=client.venue, error=str(exc))
        await asyncio.sleep(interval)
