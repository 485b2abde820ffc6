"""The venue mirror (SPEC-013): the latest holding each venue reported, with `last_synced`; what a
complete snapshot no longer reports is closed; an incomplete or older snapshot closes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.exchange_gateway.domain.snapshot_parts import snapshot_parts
from services.ledger.handlers.venue_facts import ingest_marks, mirror_venue_snapshots
from shared.contracts import ExternalPosition, ExternalPositionsSnapshot, Mark
from shared.db import apply_migrations, create_pool

T0 = datetime(2026, 7, 1, tzinfo=UTC)
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "ledger" / "adapters" / "migrations"


@pytest.fixture
async def pool(database_factory):
    pool = await create_pool(database_factory("trueup_mirror"), schema="ledger")
    await pool.execute("CREATE SCHEMA ledger")
    await apply_migrations(pool, "ledger", MIGRATIONS)
    yield pool
    await pool.close()


def held(instrument: str, qty: str, *, venue: str = "polymarket", outcome: str = "yes",
         raw: dict | None = None) -> ExternalPosition:
    return ExternalPosition(venue=venue, account="acct", instrument_id=instrument, outcome=outcome, quantity=D(qty),
                            avg_price=D("0.40"), cost_basis=D(qty) * D("0.40"), title=f"Market {instrument}",
                            raw=raw or {})


def snapshot(seconds: int, *positions: ExternalPosition, complete: bool = True, venue: str = "polymarket",
             status: str = "ok") -> ExternalPositionsSnapshot:
    return ExternalPositionsSnapshot(venue=venue, account="acct", snapshot_time=T0 + timedelta(seconds=seconds),
                                     complete=complete, status=status, positions=positions)


async def mirror(pool) -> dict[str, tuple]:
    rows = await pool.fetch("SELECT instrument_id, quantity, last_synced, closed_at FROM venue_positions")
    return {r["instrument_id"]: (r["quantity"], r["last_synced"], r["closed_at"]) for r in rows}


async def test_complete_snapshots_keep_the_latest_holdings_and_close_what_is_gone(pool):
    await mirror_venue_snapshots(pool, [snapshot(0, held("T1", "10", raw={"conditionId": "C1"}), held("T2", "5"))])
    await mirror_venue_snapshots(pool, [snapshot(60, held("T1", "12"))])
    state = await mirror(pool)
    assert state["T1"] == (D(12), T0 + timedelta(seconds=60), None)
    assert state["T2"] == (D(0), T0 + timedelta(seconds=60), T0 + timedelta(seconds=60))
    # The Data API named the token's market: the ledger now knows its market and title.
    instrument = await pool.fetchrow("SELECT market_id, title FROM instruments WHERE instrument_id = 'T1'")
    assert (instrument["market_id"], instrument["title"]) == ("C1", "Market T1")
    # Held again later: reopened, quantity back.
    await mirror_venue_snapshots(pool, [snapshot(120, held("T1", "12"), held("T2", "3"))])
    assert (await mirror(pool))["T2"] == (D(3), T0 + timedelta(seconds=120), None)


async def test_an_incomplete_snapshot_closes_nothing_and_an_older_one_changes_nothing(pool):
    await mirror_venue_snapshots(pool, [snapshot(0, held("T1", "10"), held("T2", "5"))])
    await mirror_venue_snapshots(pool, [snapshot(60, held("T1", "11"), complete=False)])
    state = await mirror(pool)
    assert state["T1"][0] == D(11) and state["T2"] == (D(5), T0, None)  # T2 may be on the failed page
    await mirror_venue_snapshots(pool, [snapshot(30, held("T1", "1"))])  # late delivery of an older fact
    assert (await mirror(pool))["T1"][0] == D(11)
    # Another venue's snapshot never touches this venue's holdings.
    await mirror_venue_snapshots(pool, [snapshot(90, held("KX", "4", venue="kalshi"), venue="kalshi")])
    assert (await mirror(pool))["T2"] == (D(5), T0, None)


async def test_a_snapshot_in_parts_closes_what_is_gone_only_once_every_part_is_in(pool):
    await mirror_venue_snapshots(pool, [snapshot(0, *(held(f"T{i}", "10") for i in range(6)))])
    # 60 s later the venue holds T0..T3 (T4 and T5 are gone); the fact comes in parts, out of order.
    whole = snapshot(60, *(held(f"T{i}", "20") for i in range(4)))
    parts = snapshot_parts(whole, budget_bytes=len(held("T0", "20").model_dump_json()) * 2)
    assert len(parts) == 2 and {p.snapshot_id for p in parts} == {whole.event_id}
    await mirror_venue_snapshots(pool, [parts[1]])
    state = await mirror(pool)
    assert state["T3"][0] == D(20) and state["T4"] == (D(10), T0, None)  # part 0 may still hold T4
    await mirror_venue_snapshots(pool, [parts[1]])  # a redelivered part counts once
    assert (await mirror(pool))["T5"] == (D(10), T0, None)
    await mirror_venue_snapshots(pool, [parts[0]])
    state = await mirror(pool)
    assert [state[f"T{i}"][0] for i in range(6)] == [D(20)] * 4 + [D(0)] * 2
    assert state["T5"][2] == T0 + timedelta(seconds=60)


async def test_an_incomplete_snapshot_in_parts_closes_nothing_even_with_every_part_in(pool):
    await mirror_venue_snapshots(pool, [snapshot(0, *(held(f"T{i}", "10") for i in range(4)))])
    whole = snapshot(60, held("T0", "1"), held("T1", "1"), complete=False)
    parts = snapshot_parts(whole, budget_bytes=1)
    await mirror_venue_snapshots(pool, parts)
    assert (await mirror(pool))["T3"] == (D(10), T0, None)


async def test_not_configured_venue_is_not_mirrored(pool):
    await mirror_venue_snapshots(pool, [snapshot(0, held("T1", "10"))])
    await mirror_venue_snapshots(pool, [snapshot(60, complete=False, status="not_configured")])
    assert (await mirror(pool))["T1"] == (D(10), T0, None)


async def test_marks_keep_the_newest_per_instrument(pool):
    newer = Mark(venue="kalshi", instrument_id="KX", best_bid=D("0.40"), best_ask=D("0.44"), as_of=T0)
    older = Mark(venue="kalshi", instrument_id="KX", mid=D("0.10"), as_of=T0 - timedelta(seconds=5))
    await ingest_marks(pool, [newer])
    await ingest_marks(pool, [older])
    row = await pool.fetchrow("SELECT price, as_of FROM marks WHERE instrument_id = 'KX'")
    assert (row["price"], row["as_of"]) == (D("0.42"), T0)  # mid of bid/ask when the venue sends no mid
