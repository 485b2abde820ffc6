"""Marks, balances and venue snapshots: kept as the latest fact each, beside the journal."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.ledger.adapters.facts import record_balances, record_marks, record_venue_snapshot
from shared.contracts import BalanceSnapshot, ExternalPositionsSnapshot, Mark


async def ingest_marks(pool: asyncpg.Pool, marks: Sequence[Mark]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await record_marks(conn, marks)


async def ingest_balances(pool: asyncpg.Pool, balances: Sequence[BalanceSnapshot]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await record_balances(conn, balances)


async def mirror_venue_snapshots(pool: asyncpg.Pool, snapshots: Sequence[ExternalPositionsSnapshot]) -> None:
    # Oldest first: each is judged against what the mirror shows after the previous one.
    async with pool.acquire() as conn, conn.transaction():
        for snapshot in sorted(snapshots, key=lambda s: s.snapshot_time):
            await record_venue_snapshot(conn, snapshot)
