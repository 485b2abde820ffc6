"""A ledger database for read-side tests: the real schema (the ledger's migrations), rows written
with plain SQL, the real ledger responders on the bus (the chassis' `Service` with
`answer_queries`, without the ingest side) and a real api-gateway process in front."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from services.ledger.handlers.queries import answer_queries
from shared.chassis import Service
from shared.db import apply_migrations, create_pool
from shared.settings import BaseServiceSettings
from tests.api_gateway.conftest import wait_until
from tests.exchange_gateway.stack import free_port, spawn

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "ledger" / "adapters" / "migrations"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

POSITION_DEFAULTS: dict[str, Any] = dict(
    venue="kalshi", instrument_id="K1", outcome="yes", quantity=D("10"), avg_price=D("0.50"), cost_basis=D("5.00"),
    realized_pnl=D("0"), fees=D("0"), unmatched_sold=D("0"), opened_at=T0, closed_at=None, opened_by="fill:1",
    strategy_name=None, origin="own", settlement_result=None,
)
TABLES = ("positions", "marks", "instruments", "balances", "portfolio_snapshots")


async def ledger_pool(database_url: str) -> asyncpg.Pool:
    pool = await create_pool(database_url, schema="ledger")
    await apply_migrations(pool, "ledger", MIGRATIONS)
    return pool


async def clear(conn) -> None:
    await conn.execute(f"TRUNCATE {', '.join(TABLES)}")


async def add_position(conn, position_id: str, **fields: Any) -> None:
    row = {**POSITION_DEFAULTS, **fields}
    columns = ["id", *row]
    await conn.execute(
        f"INSERT INTO positions ({', '.join(columns)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})",
        position_id, *row.values(),
    )


async def add_mark(conn, venue: str, instrument_id: str, price: D | None, as_of: datetime = T0) -> None:
    await conn.execute(
        """INSERT INTO marks (venue, instrument_id, mid, price, as_of, event_id) VALUES ($1, $2, $3, $3, $4, 'e')
           ON CONFLICT (venue, instrument_id) DO UPDATE SET price = $3, mid = $3, as_of = $4""",
        venue, instrument_id, price, as_of,
    )


async def add_instrument(conn, venue: str, instrument_id: str, market_id: str | None, title: str | None) -> None:
    await conn.execute("INSERT INTO instruments (venue, instrument_id, market_id, title) VALUES ($1, $2, $3, $4)",
                       venue, instrument_id, market_id, title)


async def add_balance(conn, venue: str, cash: D, as_of: datetime = T0) -> None:
    await conn.execute("INSERT INTO balances (venue, account, cash, as_of, event_id) VALUES ($1, 'acct', $2, $3, 'e')",
                       venue, cash, as_of)


async def add_snapshot(conn, at: datetime, net_liquidation: D, **fields: Any) -> None:
    row = dict(open_positions=1, total_cost_basis=D("0"), total_market_value=D("0"), unrealized_pnl=D("0"),
               realized_pnl=D("0"), fees=D("0"), cash=None, net_liquidation=net_liquidation, unvalued_positions=0)
    row.update(fields)
    columns = ["snapshot_at", *row]
    await conn.execute(
        f"INSERT INTO portfolio_snapshots ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})",
        at, *row.values(),
    )


POLY_TOKEN = "71240952873958711836542375987350192847301298347129834712983471293847129388841"
POLY_CONDITION = "0x5f1c2b7e8a9d0c3b4a5968f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3"


async def seed_demo_book(conn, now: datetime) -> None:
    """A small realistic book: Kalshi YES and NO, a Polymarket holding, one without a mark, two
    closed, cash on both venues and two days of hourly snapshots ending at `now`."""
    await clear(conn)
    k_fed, k_rain, k_cpi = "KXFEDDECISION-26MAR-H0", "KXRAINNYC-26MAR02", "KXCPI-26FEB-T0.3"
    await add_instrument(conn, "kalshi", k_fed, k_fed, "Fed holds rates in March?")
    await add_instrument(conn, "kalshi", k_rain, k_rain, "Rain in NYC on Mar 2?")
    await add_instrument(conn, "kalshi", k_cpi, k_cpi, "CPI above 0.3% in February?")
    await add_instrument(conn, "polymarket", POLY_TOKEN, POLY_CONDITION, "Will the Lakers make the playoffs?")
    await add_mark(conn, "kalshi", k_fed, D("0.62"))
    await add_mark(conn, "kalshi", k_rain, D("0.35"))  # held NO: valued at 0.65
    await add_mark(conn, "polymarket", POLY_TOKEN, D("0.4100"))
    day = timedelta(days=1)
    await add_position(conn, "p-fed", instrument_id=k_fed, quantity=D("120"), avg_price=D("0.55"),
                       cost_basis=D("66.00"), fees=D("1.20"), realized_pnl=D("-1.20"), strategy_name="fed-momentum",
                       opened_at=now - 3 * day)
    await add_position(conn, "p-rain", instrument_id=k_rain, outcome="no", quantity=D("40"), avg_price=D("0.70"),
                       cost_basis=D("28.00"), fees=D("0.40"), realized_pnl=D("-0.40"), strategy_name="weather",
                       origin="external", opened_at=now - 2 * day)
    await add_position(conn, "p-lakers", venue="polymarket", instrument_id=POLY_TOKEN, quantity=D("250.5"),
                       avg_price=D("0.4530"), cost_basis=D("113.4765"), strategy_name="nba",
                       opened_at=now - 5 * day)
    await add_position(conn, "p-cpi", instrument_id=k_cpi, quantity=D("15"), avg_price=D("0.20"),
                       cost_basis=D("3.00"), origin="imported", opened_at=now - day)
    await add_position(conn, "p-closed-win", instrument_id=k_cpi, quantity=D("0"), avg_price=D("0.30"),
                       cost_basis=D("0"), realized_pnl=D("12.35"), fees=D("0.65"), strategy_name="weather",
                       opened_at=now - 9 * day, closed_at=now - 6 * day, settlement_result="yes")
    await add_position(conn, "p-closed-loss", instrument_id=k_fed, quantity=D("0"), avg_price=D("0.81"),
                       cost_basis=D("0"), realized_pnl=D("-8.10"), fees=D("0.10"), strategy_name="fed-momentum",
                       opened_at=now - 8 * day, closed_at=now - 7 * day)
    await add_balance(conn, "kalshi", D("1250.75"), now - timedelta(minutes=2))
    await add_balance(conn, "polymarket", D("310.20"), now - timedelta(minutes=1))
    start = now - timedelta(hours=47)
    for hour in range(48):
        wiggle = D(hour % 7 - 3) * D("1.85") + D(hour) * D("0.42")
        await add_snapshot(conn, start + timedelta(hours=hour), D("1760.00") + wiggle, cash=D("1560.95"))


@asynccontextmanager
async def ledger_responders(nats_url: str, namespace: str, database_url: str):
    """The ledger's read side answering on the bus as the `ledger` NATS user; yields its pool."""
    settings = BaseServiceSettings(nats_url=nats_url, bus_namespace=namespace, database_url=database_url)
    service = Service("ledger", settings, schema="ledger", migrations=MIGRATIONS)
    answer_queries(service)
    await service.start()
    try:
        assert service.pool is not None
        yield service.pool
    finally:
        await service.stop()


@asynccontextmanager
async def api_gateway(nats_users: dict[str, str], namespace: str) -> AsyncIterator[httpx.AsyncClient]:
    """The api-gateway as its own process; yields a client sending its token."""
    port, token = free_port(), secrets.token_urlsafe(32)
    env = {"PATH": os.environ["PATH"], "BUS_NAMESPACE": namespace, "NATS_URL": nats_users["api-gateway"],
           "API_PORT": str(port), "API_TOKEN": token}
    proc = spawn("services.api_gateway", env, Path(tempfile.mkdtemp()) / "api-gateway.log")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            await wait_until(lambda: _answers(client), timeout=30)
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=15)


async def _answers(client: httpx.AsyncClient) -> bool:
    return (await client.get("/api/health")).status_code in (200, 503)
