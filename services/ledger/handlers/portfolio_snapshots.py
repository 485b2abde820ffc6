"""The portfolio history: the book's totals stored at start-up and then every interval (hourly by
default), for the net-value chart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from services.ledger.adapters.facts import record_balances
from services.ledger.adapters.queries import insert_portfolio_snapshot, portfolio_totals
from shared.bus import BusError
from shared.chassis import Service
from shared.contracts import BalancesRequest, utcnow
from shared.contracts.channels import GATEWAY_BALANCES, GATEWAY_REPLY_TIMEOUT_SECONDS
from shared.logs import get_logger

log = get_logger(__name__)


# Until some venue has reported its cash, net liquidation would be the positions alone and the
# chart would start with a cliff; so the first snapshot waits for a balance, asking this often.
WAIT_FOR_CASH_SECONDS = 10.0


async def take_snapshot(service: Service) -> bool:
    """Refresh the cash from the venues (best effort: without an answer the stored balances
    stand), then store the totals as of now, to the second. False when no venue's cash is known
    yet (nothing stored)."""
    assert service.pool is not None
    try:
        reply = await service.bus.request(GATEWAY_BALANCES.subject(), BalancesRequest(),
                                          timeout=GATEWAY_REPLY_TIMEOUT_SECONDS)
    except BusError as exc:
        log.info("balances unavailable; the snapshot uses the stored ones", error=str(exc))
        reply = None
    if reply is not None and reply.errors:
        log.warning("some venues sent no balance; their stored one stands",
                    errors=[error.message for error in reply.errors])
    async with service.pool.acquire() as conn, conn.transaction():
        if reply is not None:
            await record_balances(conn, reply.balances)
        totals, _ = await portfolio_totals(conn)
        if totals.cash is None:
            return False
        await insert_portfolio_snapshot(conn, utcnow().replace(microsecond=0), totals)
    return True


def snapshot_portfolio_task(service: Service, interval_seconds: float) -> Callable[[], Awaitable[None]]:
    """A background task for `service.background`: a snapshot now (as soon as a venue's cash is
    known), then one every interval."""

    async def snapshot_portfolio() -> None:
        while not service.stopping.is_set():
            stored = await take_snapshot(service)
            if not stored:
                log.info("no venue balance yet; the portfolio snapshot waits for one")
            try:
                # Waiting on `stopping`, not sleeping: a stop ends the wait at once.
                await asyncio.wait_for(service.stopping.wait(),
                                       timeout=interval_seconds if stored else min(interval_seconds,
                                                                                   WAIT_FOR_CASH_SECONDS))
            except TimeoutError:
                pass

    return snapshot_portfolio
