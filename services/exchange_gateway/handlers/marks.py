"""Publishes best bid/ask/mid/last for every instrument the account holds, on an interval: what
the venue holds, and what the ledger holds open there (a ghost, gone from the venue, must still be
valued in the ledger's book).

Which instruments are held comes from the newest holdings snapshot while it is younger than
SNAPSHOT_REUSE_ROUNDS mark intervals; only an older one costs a positions read. Why two rounds
and not one: a round's own snapshot is always a little more than one interval old when the next
round starts, so a one-interval window would re-read positions every round whenever nobody else
asks. With two, at idle the previous round's read serves the next round (half the reads), and
whenever anyone reads holdings (the UI polls every 15 s, a Refresh, the reconciler) marks never
read positions themselves. The cost: a holding first seen by nobody but the marks publisher gets
its first mark at most one round later.

A holding no round has tried yet (a Refresh shows a market just bought) starts a round at once
instead of waiting out the interval, so it is valued within seconds; that round reuses the
snapshot that revealed it.

The ledger is asked what it holds (its answer reused for the same window as the snapshot) while
the venue's holdings are read and marked: their marks are published first and never wait for the
ledger; only the instruments the venue does not hold wait for its answer, which is bounded by a
short timeout (`LedgerHoldings`) and usually in by then.
"""

from __future__ import annotations

import asyncio

from services.exchange_gateway.adapters.ledger_holdings import LedgerHoldings
from services.exchange_gateway.adapters.venue import VenueClient
from services.exchange_gateway.handlers.queries import VenueQueries
from shared.bus import Bus
from shared.contracts import Mark, Venue
from shared.contracts.channels import MARKS
from shared.logs import get_logger

log = get_logger(__name__)

SNAPSHOT_REUSE_ROUNDS = 2


async def publish_marks_once(client: VenueClient, queries: VenueQueries, ledger: LedgerHoldings, bus: Bus,
                             interval: float) -> int:
    """One round; returns how many marks it published."""
    max_age_s = SNAPSHOT_REUSE_ROUNDS * interval
    ledger_held = asyncio.create_task(ledger.open_instruments(client.venue, max_age_s=max_age_s))
    try:
        instruments = await queries.held_instruments(client.venue, max_age_s=max_age_s)
        marks = await client.fetch_marks(instruments) if instruments else []
        # Handed to the positions answers before publishing, so a holding is valued as soon as possible.
        queries.record_marks(client.venue, instruments, marks)
        await _publish(bus, client.venue, marks)
        ghosts = sorted((await ledger_held) - set(instruments))
    finally:
        ledger_held.cancel()  # only when the venue's part failed: the round is over either way
    ghost_marks = await client.fetch_marks(ghosts) if ghosts else []
    await _publish(bus, client.venue, ghost_marks)
    return len(marks) + len(ghost_marks)


async def _publish(bus: Bus, venue: Venue, marks: list[Mark]) -> None:
    for mark in marks:
        await bus.publish(MARKS.subject(venue=venue), mark)


async def run_mark_publisher(client: VenueClient, queries: VenueQueries, ledger: LedgerHoldings, bus: Bus,
                             interval: float) -> None:
    while True:
        try:
            await publish_marks_once(client, queries, ledger, bus, interval)
        except Exception as exc:  # a venue hiccup skips one round of marks; the next round retries
            log.warning("marks failed", venue=client.venue, error=str(exc))
            await asyncio.sleep(interval)  # a failing round never retries at once, whatever is untried
            continue
        try:
            await asyncio.wait_for(queries.untried_holdings(client.venue).wait(), timeout=interval)
        except TimeoutError:
            pass
