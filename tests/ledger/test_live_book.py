"""The live path against Postgres: any fills and settlements, cut into any batches, delivered in
any order with any duplication, leave the stored book equal to the reference fold — and so does
a recomputation of it from the journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ledger.adapters.book import all_positions, recompute_instruments
from services.ledger.domain.fold import fold_history
from services.ledger.handlers.ingest import ingest_fills, ingest_settlements
from shared.contracts import Fill, SettlementRecorded, deterministic_id
from shared.db import apply_migrations, create_pool
from tests.ledger.harness import differences, projection

T0 = datetime(2026, 5, 1, tzinfo=UTC)
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "ledger" / "adapters" / "migrations"
INSTRUMENTS = [("kalshi", "KX-1", "yes"), ("kalshi", "KX-2", "yes"), ("polymarket", "TY", "yes"),
               ("polymarket", "TN", "no")]


@pytest.fixture(scope="module")
async def pool(database_factory):
    pool = await create_pool(database_factory("trueup_book"), schema="ledger")
    await pool.execute("CREATE SCHEMA ledger")
    await apply_migrations(pool, "ledger", MIGRATIONS)
    yield pool
    await pool.close()


async def _empty(pool) -> None:
    await pool.execute("TRUNCATE journal_fills, journal_fill_statuses, journal_reversals, journal_settlements, "
                       "journal_openings, positions, instrument_cursors, instruments")


@st.composite
def histories(draw):
    events = []
    for n in range(draw(st.integers(1, 18))):
        venue, inst, outcome = draw(st.sampled_from(INSTRUMENTS))
        status = "confirmed" if venue == "kalshi" else draw(st.sampled_from(["matched", "confirmed", "failed"]))
        events.append(Fill(
            event_id=deterministic_id("f", n, status), venue=venue, account="a", fill_id=f"f{n}", instrument_id=inst,
            outcome=outcome, side=draw(st.sampled_from(["buy", "buy", "sell"])),
            quantity=D(draw(st.integers(1, 40))), price=D(draw(st.integers(1, 99))) / 100,
            fee=D(draw(st.integers(0, 9))) / 100, status=status,
            executed_at=T0 + timedelta(seconds=draw(st.integers(0, 30))),
        ))
    if draw(st.booleans()):
        events.append(SettlementRecorded(
            event_id=deterministic_id("s", "pm"), venue="polymarket", account="a", instrument_id="COND",
            yes_token_id="TY", no_token_id="TN", result=draw(st.sampled_from(["yes", "no", "void"])), yes_count=D(0),
            no_count=D(0), yes_cost=D(0), no_cost=D(0), revenue=D(0), fees=D(draw(st.integers(0, 3))),
            settled_at=T0 + timedelta(seconds=draw(st.integers(0, 35))),
        ))
    if draw(st.booleans()):
        events.append(SettlementRecorded(
            event_id=deterministic_id("s", "k"), venue="kalshi", account="a", instrument_id="KX-1", result="yes",
            yes_count=D(0), no_count=D(0), yes_cost=D(0), no_cost=D(0), revenue=D(0), fees=D(0),
            settled_at=T0 + timedelta(seconds=draw(st.integers(0, 35))),
        ))
    # Redelivery: some events again, everything in any order, cut into batches.
    delivered = events + draw(st.lists(st.sampled_from(events), max_size=6))
    delivered = draw(st.permutations(delivered))
    cuts = sorted(draw(st.lists(st.integers(0, len(delivered)), max_size=5)))
    batches = [delivered[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivered)], strict=True) if b > a]
    return events, batches


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories())
async def test_any_batching_and_order_gives_the_reference_book(pool, history):
    events, batches = history
    await _empty(pool)
    for batch in batches:
        fills = [e for e in batch if isinstance(e, Fill)]
        settlements = [e for e in batch if isinstance(e, SettlementRecorded)]
        if fills:
            await ingest_fills(pool, fills)
        if settlements:
            await ingest_settlements(pool, settlements)
    expected = projection(fold_history(events))
    async with pool.acquire() as conn:
        diffs = differences(projection(await all_positions(conn)), expected)
        assert not diffs, "\n".join(diffs)
        async with conn.transaction():
            await recompute_instruments(conn, [(venue, inst) for venue, inst, _ in INSTRUMENTS])
        assert not differences(projection(await all_positions(conn)), expected)
