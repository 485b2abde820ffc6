"""Ledger ingest throughput, three figures from one run on one machine:

(a) raw JetStream publish rate (pipelined acks) of the same fill messages, nobody consuming;
(b) trueup end to end: the fills published (10% duplicates, across 2k instruments) while the real
    ledger process runs, from the first publish until every distinct fill is journaled — positions
    are written in the same transaction, so that is when the book is complete;
(c) the seeds' row-at-a-time style on the same database: per fill one INSERT, the position read
    and updated, one commit.

Then the book must equal a pure recomputation from the journal (the reference fold).

Settings (environment): BENCH_FILLS (default 200000), BENCH_INSTRUMENTS (2000),
BENCH_BASELINE_FILLS (20000: the baseline's rate is steady, a sample is enough).
Figures are printed and written to build/benchmarks/ledger_ingest.json; docs/benchmarks.md records them.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import nats
import pytest

from services.ledger.adapters.book import open_positions, position_id
from services.ledger.domain.positions import apply_fill
from shared.bus import BusConfig
from shared.bus.provision import provision_bus
from shared.contracts import Fill, deterministic_id
from shared.contracts.channels import ADMIN, EXCHANGE_GATEWAY, FILLS, inbox_prefix
from shared.db import apply_migrations, create_pool
from tests.ledger.harness import book_and_reference, differences, eventually, running_ledger

FILLS_COUNT = int(os.environ.get("BENCH_FILLS", "200000"))
INSTRUMENTS = int(os.environ.get("BENCH_INSTRUMENTS", "2000"))
BASELINE_FILLS = int(os.environ.get("BENCH_BASELINE_FILLS", "20000"))
RESULTS = Path(__file__).resolve().parents[1] / "build" / "benchmarks" / "ledger_ingest.json"
MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "ledger" / "adapters" / "migrations"
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def workload() -> tuple[list[Fill], list[Fill]]:
    """(distinct fills in feed order, what is published: each duplicate a little after its original)."""
    rng = random.Random(2026)
    distinct_count = FILLS_COUNT * 9 // 10
    distinct = []
    for i in range(distinct_count):
        venue = "kalshi" if i % 2 else "polymarket"
        instrument = rng.randrange(INSTRUMENTS)
        distinct.append(Fill(
            event_id=deterministic_id("bench", i), venue=venue, account="bench", fill_id=f"b{i}",
            instrument_id=f"{venue[:2].upper()}-{instrument}", outcome="yes" if instrument % 3 else "no",
            side="sell" if rng.random() < 0.3 else "buy", quantity=Decimal(rng.randint(1, 100)),
            price=Decimal(rng.randint(1, 99)) / 100, fee=Decimal(rng.randint(0, 7)) / 100, status="confirmed",
            executed_at=T0 + timedelta(milliseconds=10 * i), raw={"trade_id": f"b{i}"},
        ))
    published = list(distinct)
    for original in rng.sample(range(distinct_count), FILLS_COUNT - distinct_count):
        published.insert(min(len(published), original + rng.randint(1, 2000)), distinct[original])
    return distinct, published


async def publish_pipelined(url: str, namespace: str, user: str, fills: list[Fill], window: int = 5000) -> float:
    """Publish pre-serialized fills with pipelined acks (as the Go client's PublishAsync does): every
    message names one reply subject, JetStream acks arrive there, at most `window` unacknowledged.
    Returns the seconds until the last ack."""
    payloads = []
    copies: dict[str, int] = {}
    for f in fills:
        # A duplicate gets its own message id, as a re-publish after JetStream's dedupe window
        # would: the ledger's journal, not the stream, must absorb it.
        copies[f.event_id] = copies.get(f.event_id, -1) + 1
        message_id = f.event_id if not copies[f.event_id] else f"{f.event_id}#{copies[f.event_id]}"
        payloads.append((f"{namespace}.{FILLS.subject(venue=f.venue).relative}", f.model_dump_json().encode(),
                         {"Nats-Msg-Id": message_id}))
    connection = await nats.connect(url, inbox_prefix=inbox_prefix(namespace, user), allow_reconnect=False)
    acked = 0
    room = asyncio.Semaphore(window)
    done = asyncio.Event()

    async def on_ack(msg) -> None:
        nonlocal acked
        if b'"error"' in msg.data:
            raise AssertionError(f"JetStream refused a publish: {msg.data!r}")
        acked += 1
        room.release()
        if acked == len(payloads):
            done.set()

    try:
        acks = f"{inbox_prefix(namespace, user)}.bench-acks"
        await connection.subscribe(acks, cb=on_ack, pending_msgs_limit=window * 2)
        started = time.perf_counter()
        for subject, data, headers in payloads:
            await room.acquire()
            await connection.publish(subject, data, reply=acks, headers=headers)
        await asyncio.wait_for(done.wait(), timeout=600)
        return time.perf_counter() - started
    finally:
        await connection.close()


async def row_at_a_time(database_factory, fills: list[Fill]) -> float:
    """The seeds' way: parse, INSERT, read the position, UPDATE it, COMMIT — once per fill."""
    pool = await create_pool(database_factory("trueup_bench_rows"), schema="ledger", max_size=2)
    try:
        await pool.execute("CREATE SCHEMA ledger")
        await apply_migrations(pool, "ledger", MIGRATIONS)
        wire = [f.model_dump_json() for f in fills]
        started = time.perf_counter()
        async with pool.acquire() as conn:
            for text in wire:
                fill = Fill.model_validate_json(text)
                async with conn.transaction():
                    new = await conn.fetchval(
                        "INSERT INTO journal_fills (venue, fill_id, event_id, account, instrument_id, outcome, side, "
                        "quantity, price, fee, status, executed_at, occurred_at, origin, raw) VALUES "
                        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'external', $14::jsonb) "
                        "ON CONFLICT DO NOTHING RETURNING true",
                        fill.venue, fill.fill_id, fill.event_id, fill.account, fill.instrument_id, fill.outcome,
                        fill.side, fill.quantity, fill.price, fill.fee, fill.status, fill.executed_at,
                        fill.occurred_at, json.dumps(fill.raw))
                    if not new:
                        continue
                    held = await open_positions(conn, [(fill.venue, fill.instrument_id)])
                    for p in apply_fill(held[0] if held else None, fill):
                        await conn.execute(
                            "INSERT INTO positions (id, venue, instrument_id, outcome, quantity, avg_price, cost_basis, "
                            "realized_pnl, fees, unmatched_sold, opened_at, closed_at, opened_by, origin) VALUES "
                            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO UPDATE "
                            "SET quantity = $5, avg_price = $6, cost_basis = $7, realized_pnl = $8, fees = $9, "
                            "unmatched_sold = $10, closed_at = $12",
                            position_id(p), p.venue, p.instrument_id, p.outcome, p.quantity, p.avg_price,
                            p.cost_basis, p.realized_pnl, p.fees, p.unmatched_sold, p.opened_at, p.closed_at,
                            p.opened_by, p.origin)
        return time.perf_counter() - started
    finally:
        await pool.close()


@pytest.mark.timeout(1800)
async def test_ledger_ingest_throughput(nats_users, database_factory):
    distinct, published = workload()

    raw_namespace = f"r{uuid.uuid4().hex[:10]}"
    await provision_bus(nats_users[ADMIN], raw_namespace, BusConfig.defaults())
    raw_seconds = await publish_pipelined(nats_users[EXCHANGE_GATEWAY], raw_namespace, EXCHANGE_GATEWAY, published)

    async with running_ledger(nats_users, database_factory) as ledger:
        conn = await ledger.connect()
        try:
            publishing = asyncio.create_task(
                publish_pipelined(nats_users[EXCHANGE_GATEWAY], ledger.namespace, EXCHANGE_GATEWAY, published))
            started = time.perf_counter()

            async def all_journaled() -> bool:
                return await conn.fetchval("SELECT count(*) FROM journal_fills") == len(distinct)

            await eventually(all_journaled, timeout=1500, what="every distinct fill journaled")
            e2e_seconds = time.perf_counter() - started
            publish_seconds = await publishing
            book, reference = await book_and_reference(conn)
            diffs = differences(book, reference)
            assert not diffs, "\n".join(diffs[:20])
            positions = await conn.fetchval("SELECT count(*) FROM positions")
        finally:
            await conn.close()

    baseline = published[:BASELINE_FILLS]
    baseline_seconds = await row_at_a_time(database_factory, baseline)

    a = len(published) / raw_seconds
    b = len(published) / e2e_seconds
    c = len(baseline) / baseline_seconds
    figures = {
        "fills_published": len(published), "distinct_fills": len(distinct), "instruments": INSTRUMENTS,
        "positions": positions,
        "a_raw_publish_per_s": round(a), "b_end_to_end_per_s": round(b), "c_row_at_a_time_per_s": round(c),
        "b_over_a": round(b / a, 3), "b_over_c": round(b / c, 1),
        "e2e_seconds": round(e2e_seconds, 2), "publish_seconds_during_e2e": round(publish_seconds, 2),
        "baseline_fills": len(baseline),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "node": platform.node()},
        "book_equals_recomputation": True,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
