"""A real ledger process on its own database and bus namespace, and what tests compare it with."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from services.ledger.adapters.book import all_positions, journal_records, position_id
from services.ledger.domain.fold import Record, fold_history
from services.ledger.domain.positions import Position
from shared.bus import Bus, BusConfig
from shared.bus.provision import provision_bus
from shared.contracts.channels import ADMIN, EXCHANGE_GATEWAY, LEDGER
from tests.exchange_gateway.stack import free_port, spawn
from tests.support.db_roles import service_database_urls


@dataclass
class Ledger:
    env: dict[str, str]
    admin_db_url: str
    namespace: str
    log: Path = field(default_factory=lambda: Path(tempfile.mkdtemp()) / "ledger.log")
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = spawn("services.ledger", self.env, self.log)

    def kill(self) -> None:
        """SIGKILL: no shutdown path runs, whatever the ledger was doing."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def migrated(self, timeout: float = 30.0) -> None:
        """Wait until the ledger has made its schema (it does so before it reads the bus)."""
        conn = await asyncpg.connect(self.admin_db_url)
        try:
            async def made() -> bool:
                assert self.proc is not None and self.proc.poll() is None, "the ledger exited"
                return await conn.fetchval("SELECT to_regclass('ledger.positions_valued') IS NOT NULL")

            await eventually(made, timeout, what="the ledger's schema")
        finally:
            await conn.close()

    async def connect(self) -> asyncpg.Connection:
        """The database as an auditor reads it (superuser), in the ledger's schema."""
        return await asyncpg.connect(self.admin_db_url, server_settings={"search_path": "ledger"})


@asynccontextmanager
async def running_ledger(nats_users: dict[str, str], database_factory: Callable[[str], str],
                         **extra: str) -> AsyncIterator[Ledger]:
    """A fresh database and namespace, the bus provisioned, the ledger started (and stopped after)."""
    namespace = f"l{uuid.uuid4().hex[:10]}"
    await provision_bus(nats_users[ADMIN], namespace, BusConfig.defaults())
    admin_db_url = database_factory("trueup_ledger")
    db_url = await asyncio.to_thread(lambda: service_database_urls(admin_db_url)["ledger"])
    env = {"PATH": os.environ["PATH"], "BUS_NAMESPACE": namespace, "LOG_LEVEL": "DEBUG",
           "NATS_URL": nats_users[LEDGER], "DATABASE_URL": db_url, "METRICS_PORT": str(free_port()), **extra}
    ledger = Ledger(env, admin_db_url, namespace)
    ledger.start()
    try:
        await ledger.migrated()
        yield ledger
    except BaseException:
        print(ledger.stop()[-5000:])
        raise
    ledger.stop()


@asynccontextmanager
async def gateway_bus(nats_users: dict[str, str], namespace: str) -> AsyncIterator[Bus]:
    """The bus as the exchange-gateway sees it: the only publisher of fills and settlements."""
    bus = Bus(nats_users[EXCHANGE_GATEWAY], namespace, EXCHANGE_GATEWAY)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def projection(positions: Iterable[Position]) -> dict[str, Position]:
    """Positions by id, compared field by field (the database hands back the same Decimals)."""
    return {position_id(p): p for p in positions}


async def book_and_reference(conn: asyncpg.Connection) -> tuple[dict[str, Position], dict[str, Position]]:
    """The stored book, and the reference fold of the whole stored journal."""
    instruments = [(r["venue"], r["instrument_id"]) for r in await conn.fetch(
        "SELECT venue, instrument_id FROM journal_fills UNION SELECT venue, instrument_id FROM journal_openings "
        "UNION SELECT venue, yes_token_id FROM journal_settlements WHERE yes_token_id IS NOT NULL "
        "UNION SELECT venue, no_token_id FROM journal_settlements WHERE no_token_id IS NOT NULL "
        "UNION SELECT venue, instrument_id FROM journal_settlements WHERE venue = 'kalshi'")]
    records: list[Record] = await journal_records(conn, instruments)
    return projection(await all_positions(conn)), projection(fold_history(records))


def same_positions(left: dict[str, Position], right: dict[str, Position]) -> bool:
    """Equal as money: Decimal('1.0') == Decimal('1.00'), so the numbers' scale does not matter."""
    return not differences(left, right)


def differences(left: dict[str, Position], right: dict[str, Position]) -> list[str]:
    """What a failing comparison should print: each position only one side has, or that differs."""
    found = [f"only left: {left[k]}" for k in left.keys() - right.keys()]
    found += [f"only right: {right[k]}" for k in right.keys() - left.keys()]
    found += [f"{left[k]} != {right[k]}" for k in left.keys() & right.keys() if left[k] != right[k]]
    return found
