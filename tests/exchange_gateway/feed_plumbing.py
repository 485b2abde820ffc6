"""Real Postgres + NATS for the gateway's feed pollers, and consumers that record what reached the bus
(the ledger's fills and settlements, the notifier's alerts, each as its own NATS user)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from services.exchange_gateway import main as gateway_main
from shared.bus import Bus
from shared.contracts import Alert, Fill, SettlementRecorded
from shared.contracts.channels import ALERTS, FILLS, SETTLEMENTS
from shared.db import apply_migrations, create_pool


@dataclass
class BusRecord:
    """Everything the gateway put on the fills, settlements and alerts subjects, as a consumer sees it."""

    fills: list[Fill] = field(default_factory=list)
    settlements: list[SettlementRecorded] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    async def fill(self, event: Fill) -> None:
        self.fills.append(event)

    async def settlement(self, event: SettlementRecorded) -> None:
        self.settlements.append(event)

    async def alert(self, event: Alert) -> None:
        self.alerts.append(event)


@dataclass
class Plumbing:
    pool: asyncpg.Pool
    bus: Bus
    seen: BusRecord


async def feed_plumbing(nats_users: dict[str, str], provision_bus: Callable[[str], Awaitable[None]],
                        database_url: str) -> AsyncIterator[Plumbing]:
    namespace = f"f{uuid.uuid4().hex[:10]}"
    schema = f"gw_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(database_url, schema=schema)
    await apply_migrations(pool, schema, gateway_main.MIGRATIONS)
    await provision_bus(namespace)
    publisher = Bus(nats_users["exchange-gateway"], namespace, "exchange-gateway")
    ledger = Bus(nats_users["ledger"], namespace, "ledger")
    notifier = Bus(nats_users["notifier"], namespace, "notifier")
    seen = BusRecord()
    ledger.consume(FILLS, seen.fill)
    ledger.consume(SETTLEMENTS, seen.settlement)
    notifier.consume(ALERTS, seen.alert)
    await publisher.start()
    await ledger.start()
    await notifier.start()
    try:
        yield Plumbing(pool, publisher, seen)
    finally:
        await notifier.stop()
        await ledger.stop()
        await publisher.stop()
        await pool.close()


async def quiet(events: list, expected: int, timeout: float = 15.0) -> None:
    """Wait until `expected` events arrived, then a little longer: a duplicate would arrive now."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(events) < expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
