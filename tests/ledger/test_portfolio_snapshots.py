"""The portfolio snapshot task: a snapshot at start and every interval, the cash refreshed from the
exchange-gateway first (best effort), a stop that ends the wait at once."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal as D

from services.ledger.handlers.portfolio_snapshots import snapshot_portfolio_task
from shared.chassis import Service
from shared.settings import BaseServiceSettings
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import get_external, start_stack
from tests.ledger.ledger_seed import MIGRATIONS, T0, add_balance, add_mark, add_position
from tests.support.venue_sim import running_sim


def ledger(nats_url: str, namespace: str, database_url: str, interval: float) -> Service:
    settings = BaseServiceSettings(nats_url=nats_url, bus_namespace=namespace, database_url=database_url)
    service = Service("ledger", settings, schema="ledger", migrations=MIGRATIONS)
    service.background(snapshot_portfolio_task(service, interval))
    return service


async def snapshots(service: Service, at_least: int) -> list:
    assert service.pool is not None
    for _ in range(200):
        rows = await service.pool.fetch("SELECT * FROM portfolio_snapshots ORDER BY snapshot_at")
        if len(rows) >= at_least:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} snapshots were stored")


async def test_without_the_gateway_the_stored_cash_is_used_and_snapshots_repeat(nats_users, provision_bus,
                                                                                 database_factory):
    namespace = f"l{uuid.uuid4().hex[:10]}"
    await provision_bus(namespace)  # no exchange-gateway in this namespace: nobody answers balances
    service = ledger(nats_users["ledger"], namespace, database_factory("trueup_ledger_snap"), interval=1)
    await service.start()
    try:
        assert service.pool is not None
        await add_balance(service.pool, "kalshi", D("100.50"), T0)
        await add_mark(service.pool, "kalshi", "K1", D("0.60"))
        await add_position(service.pool, "a", quantity=D("10"), avg_price=D("0.50"), cost_basis=D("5.00"))
        first, second = (await snapshots(service, 3))[-2:]  # the first may predate the seeded rows
        assert second["snapshot_at"] > first["snapshot_at"] and second["snapshot_at"].microsecond == 0
        assert (second["cash"], second["total_market_value"], second["net_liquidation"]) == (
            D("100.50"), D("6.00"), D("106.50"))
        assert second["open_positions"] == 1 and second["unrealized_pnl"] == D("1.00")
    finally:
        # Stop ends the wait for the next interval at once (a hang here would time the test out).
        await asyncio.wait_for(service.stop(), timeout=10)


async def test_no_snapshot_until_some_venue_cash_is_known(nats_users, provision_bus, database_factory):
    """Net liquidation without cash would start the chart with a cliff: the first snapshot waits."""
    namespace = f"l{uuid.uuid4().hex[:10]}"
    await provision_bus(namespace)
    service = ledger(nats_users["ledger"], namespace, database_factory("trueup_ledger_snap"), interval=0.5)
    await service.start()
    try:
        assert service.pool is not None
        await add_position(service.pool, "a", quantity=D("10"), avg_price=D("0.50"), cost_basis=D("5.00"))
        await asyncio.sleep(2)  # several rounds of the task, none with a balance
        assert await service.pool.fetchval("SELECT count(*) FROM portfolio_snapshots") == 0
        await add_balance(service.pool, "kalshi", D("20"), T0)
        (first,) = (await snapshots(service, 1))[:1]
        assert (first["cash"], first["net_liquidation"]) == (D("20"), D("25.00"))  # no mark: valued at cost
    finally:
        await asyncio.wait_for(service.stop(), timeout=10)


async def test_the_gateway_balances_are_stored_before_the_snapshot(nats_users, database_url, database_factory,
                                                                   tmp_path):
    async with running_sim(scenario="demo") as sim:
        stack = start_stack(nats_users, database_url, gateway_env(sim, tmp_path))
        try:
            async with stack.client(timeout=40) as client:
                await get_external(client)  # the gateway is up and answering
            service = ledger(nats_users["ledger"], stack.namespace, database_factory("trueup_ledger_snap"),
                             interval=3600)
            await service.start()
            try:
                assert service.pool is not None
                (snapshot,) = await snapshots(service, 1)
                balances = {r["venue"]: r for r in await service.pool.fetch("SELECT * FROM balances")}
                assert set(balances) == {"kalshi", "polymarket"}
                assert balances["kalshi"]["cash"] == sim.sim.kalshi.balance
                assert snapshot["cash"] == sum((r["cash"] for r in balances.values()), D(0))
                assert snapshot["net_liquidation"] == snapshot["cash"]  # an empty book
            finally:
                await asyncio.wait_for(service.stop(), timeout=10)
        finally:
            stack.stop()
