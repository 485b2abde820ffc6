"""The ledger's read side against real Postgres: filters, ordering, paging, totals, history."""

from __future__ import annotations

import asyncio
import concurrent.futures
from datetime import timedelta
from decimal import Decimal as D

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ledger.adapters.queries import (
    get_position,
    insert_portfolio_snapshot,
    list_positions,
    portfolio_history,
    portfolio_totals,
)
from shared.contracts.ledger import DEFAULT_HISTORY_LIMIT, PortfolioHistoryRequest, PositionsQuery
from tests.ledger.ledger_seed import (
    T0,
    add_balance,
    add_instrument,
    add_mark,
    add_position,
    add_snapshot,
    clear,
    ledger_pool,
)


def _in_thread(coro_fn, *args):
    """Run a coroutine on its own loop in a worker thread (hypothesis drives a sync test)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn(*args))).result()


@pytest.fixture(scope="module")
def ledger_url(database_factory) -> str:
    url = database_factory("trueup_ledger_read")

    async def migrate() -> None:
        pool = await ledger_pool(url)
        await pool.close()

    _in_thread(migrate)
    return url


@pytest.fixture
async def db(ledger_url):
    pool = await ledger_pool(ledger_url)
    await clear(pool)
    try:
        yield pool
    finally:
        await pool.close()


async def ids(db, **query) -> list[str]:
    return [p.id for p in (await list_positions(db, PositionsQuery(**query))).positions]


async def test_filters_combine_and_count_before_paging(db):
    await add_instrument(db, "polymarket", "tokA", "0xcond", "Lakers make playoffs?")
    await add_position(db, "k-open", strategy_name="s1")
    await add_position(db, "k-closed", strategy_name="s1", quantity=D(0), cost_basis=D(0), closed_at=T0 + timedelta(hours=1))
    await add_position(db, "p-open", venue="polymarket", instrument_id="tokA", strategy_name="s2")
    await add_position(db, "k-other", instrument_id="K2")

    assert set(await ids(db, status="open")) == {"k-open", "p-open", "k-other"}
    assert await ids(db, status="closed") == ["k-closed"]
    assert set(await ids(db, strategy_name="s1")) == {"k-open", "k-closed"}
    assert await ids(db, strategy_name="s1", status="open") == ["k-open"]
    assert await ids(db, venue="polymarket") == ["p-open"]
    # The market is the instrument's market when known (a Polymarket condition), else the ticker.
    assert await ids(db, market_id="0xcond") == ["p-open"]
    assert set(await ids(db, market_id="K1")) == {"k-open", "k-closed"}
    assert await ids(db, strategy_name="nobody") == []

    page = await list_positions(db, PositionsQuery(status="open", limit=1, offset=1))
    assert (page.total, page.limit, page.offset, len(page.positions)) == (3, 1, 1, 1)
    beyond = await list_positions(db, PositionsQuery(offset=50))
    assert beyond.positions == () and beyond.total == 4


async def test_ordering_puts_unvalued_last_both_ways_and_breaks_ties_by_id(db):
    for instrument, price in (("UP", "0.70"), ("FLAT", "0.50"), ("DOWN", "0.40")):
        await add_mark(db, "kalshi", instrument, D(price))
    # avg 0.50 x 10: unrealized +2.00, 0, −1.00; two without a mark (NULL unrealized).
    await add_position(db, "b-up", instrument_id="UP")
    await add_position(db, "a-flat", instrument_id="FLAT", opened_at=T0 + timedelta(hours=2))
    await add_position(db, "c-flat", instrument_id="FLAT", opened_at=T0 + timedelta(hours=2))
    await add_position(db, "d-down", instrument_id="DOWN", cost_basis=D("9.00"))
    await add_position(db, "z-none", instrument_id="NOMARK", opened_at=T0 + timedelta(hours=5))
    await add_position(db, "y-none", instrument_id="NOMARK2", cost_basis=D("1.00"))

    assert await ids(db, order_by="unrealized_pnl") == ["b-up", "a-flat", "c-flat", "d-down", "y-none", "z-none"]
    assert await ids(db, order_by="unrealized_pnl", asc=True) == ["d-down", "a-flat", "c-flat", "b-up", "y-none",
                                                                  "z-none"]
    assert (await ids(db, order_by="cost_basis"))[0] == "d-down"
    assert (await ids(db, order_by="cost_basis", asc=True))[0] == "y-none"
    # Default: newest opened first.
    assert await ids(db) == ["z-none", "a-flat", "c-flat", "b-up", "d-down", "y-none"]
    assert await ids(db, order_by="opened_at", asc=True) == ["b-up", "d-down", "y-none", "a-flat", "c-flat", "z-none"]


async def test_pages_cover_the_ordering_exactly_once(db):
    for i in range(23):
        await add_mark(db, "kalshi", f"I{i}", D(i % 4) / 10 + D("0.30"))
        await add_position(db, f"p{i:02}", instrument_id=f"I{i}" if i % 5 else f"NOMARK{i}")
    full = await ids(db, order_by="unrealized_pnl", limit=100)
    paged: list[str] = []
    for offset in range(0, 30, 7):
        page = await list_positions(db, PositionsQuery(order_by="unrealized_pnl", limit=7, offset=offset))
        assert page.total == 23
        paged += [p.id for p in page.positions]
    assert paged == full and len(set(full)) == 23


async def test_a_position_is_valued_at_the_mark_of_the_outcome_held(db):
    await add_instrument(db, "kalshi", "KX", "KX", "Rain tomorrow?")
    await add_mark(db, "kalshi", "KX", D("0.30"))
    await add_mark(db, "polymarket", "NO-TOKEN", D("0.2500"))
    await add_position(db, "k-no", instrument_id="KX", outcome="no", quantity=D("10"), avg_price=D("0.60"),
                       cost_basis=D("6.00"))
    await add_position(db, "p-no", venue="polymarket", instrument_id="NO-TOKEN", outcome="no", quantity=D("4"),
                       avg_price=D("0.20"), cost_basis=D("0.80"))
    await add_position(db, "k-unmarked", instrument_id="KY")

    k_no = await get_position(db, "k-no")
    assert k_no is not None and k_no.title == "Rain tomorrow?" and k_no.status == "open"
    # Kalshi marks the YES side: a NO is worth 1 − 0.30.
    assert (k_no.mark_price, k_no.market_value, k_no.unrealized_pnl) == (D("0.70"), D("7.0000"), D("1.0000"))
    p_no = await get_position(db, "p-no")  # a Polymarket token is its own outcome: its own price
    assert p_no is not None and (p_no.mark_price, p_no.market_value) == (D("0.2500"), D("1.0000"))
    unmarked = await get_position(db, "k-unmarked")
    assert unmarked is not None and unmarked.mark_price is None and unmarked.unrealized_pnl is None
    assert unmarked.market_id == "KY" and unmarked.title is None
    assert await get_position(db, "nope") is None


async def test_totals_without_any_balance_have_no_cash(db):
    await add_position(db, "a", cost_basis=D("5.00"))
    totals, cash_as_of = await portfolio_totals(db)
    assert totals.cash is None and cash_as_of is None
    assert totals.net_liquidation == D("5.00") and totals.unvalued_positions == 1  # valued at cost


money = st.decimals(min_value=-5000, max_value=5000, places=2)
prices = st.decimals(min_value=0, max_value=1, places=4)
position_rows = st.lists(
    st.fixed_dictionaries({
        "venue": st.sampled_from(["kalshi", "polymarket"]), "outcome": st.sampled_from(["yes", "no"]),
        "quantity": st.decimals(min_value=0, max_value=10_000, places=2), "avg_price": prices,
        "realized_pnl": money, "fees": st.decimals(min_value=0, max_value=100, places=2),
        "closed": st.booleans(), "mark": st.one_of(st.none(), prices),
    }),
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=position_rows, cash=st.dictionaries(st.sampled_from(["kalshi", "polymarket"]),
                                                st.decimals(min_value=0, max_value=10**6, places=2)))
def test_totals_are_exact(ledger_url, rows, cash):
    """Independent of the SQL: every total recomputed here in Decimal, to the cent and beyond."""

    async def check() -> None:
        conn = await asyncpg.connect(ledger_url, server_settings={"search_path": "ledger"})
        try:
            await clear(conn)
            for i, row in enumerate(rows):
                instrument = f"I{i}"
                cost = row["quantity"] * row["avg_price"]
                if row["mark"] is not None:
                    await add_mark(conn, row["venue"], instrument, row["mark"])
                await add_position(conn, f"p{i}", venue=row["venue"], instrument_id=instrument, outcome=row["outcome"],
                                   quantity=row["quantity"], avg_price=row["avg_price"], cost_basis=cost,
                                   realized_pnl=row["realized_pnl"], fees=row["fees"],
                                   closed_at=T0 if row["closed"] else None)
            for venue, amount in cash.items():
                await add_balance(conn, venue, amount, T0 - timedelta(minutes=len(venue)))
            totals, cash_as_of = await portfolio_totals(conn)
        finally:
            await conn.close()

        held = [r for r in rows if not r["closed"]]

        def value(r):
            if r["mark"] is None:
                return r["quantity"] * r["avg_price"]
            mark = 1 - r["mark"] if r["venue"] == "kalshi" and r["outcome"] == "no" else r["mark"]
            return r["quantity"] * mark

        cost = sum((r["quantity"] * r["avg_price"] for r in held), D(0))
        market_value = sum((value(r) for r in held), D(0))
        assert totals.open_positions == len(held)
        assert totals.total_cost_basis == cost and totals.total_market_value == market_value
        assert totals.unrealized_pnl == market_value - cost
        assert totals.realized_pnl == sum((r["realized_pnl"] for r in rows), D(0))
        assert totals.fees == sum((r["fees"] for r in rows), D(0))
        assert totals.unvalued_positions == sum(1 for r in held if r["mark"] is None)
        assert totals.cash == (sum(cash.values(), D(0)) if cash else None)
        assert totals.net_liquidation == sum(cash.values(), D(0)) + market_value
        # The oldest balance: how stale the cash may be (polymarket's here, 10 minutes before T0).
        expected_as_of = T0 - timedelta(minutes=max(len(v) for v in cash)) if cash else None
        assert cash_as_of == expected_as_of

    _in_thread(check)


async def test_history_window_is_inclusive_and_keeps_the_latest_oldest_first(db):
    for hour in range(200):
        await add_snapshot(db, T0 + timedelta(hours=hour), D(hour))

    default = (await portfolio_history(db, PortfolioHistoryRequest())).snapshots
    assert len(default) == DEFAULT_HISTORY_LIMIT == 168
    assert [s.totals.net_liquidation for s in default] == [D(h) for h in range(32, 200)]

    window = PortfolioHistoryRequest(since=T0 + timedelta(hours=10), until=T0 + timedelta(hours=20))
    assert [s.snapshot_at for s in (await portfolio_history(db, window)).snapshots] == [
        T0 + timedelta(hours=h) for h in range(10, 21)]
    latest_three = window.model_copy(update={"limit": 3})
    assert [s.totals.net_liquidation for s in (await portfolio_history(db, latest_three)).snapshots] == [
        D(18), D(19), D(20)]
    only_since = PortfolioHistoryRequest(since=T0 + timedelta(hours=195))
    assert len((await portfolio_history(db, only_since)).snapshots) == 5
    only_until = PortfolioHistoryRequest(until=T0 + timedelta(hours=1))
    assert [s.totals.net_liquidation for s in (await portfolio_history(db, only_until)).snapshots] == [D(0), D(1)]


async def test_a_snapshot_round_trips_and_the_first_of_a_second_wins(db):
    await add_mark(db, "kalshi", "K1", D("0.55"))
    await add_position(db, "a", quantity=D("3"), avg_price=D("0.3333"), cost_basis=D("0.9999"), fees=D("0.07"))
    await add_balance(db, "kalshi", D("100.01"))
    totals, _ = await portfolio_totals(db)
    await insert_portfolio_snapshot(db, T0, totals)
    await add_balance(db, "polymarket", D("5"))
    later, _ = await portfolio_totals(db)
    await insert_portfolio_snapshot(db, T0, later)  # same instant: kept as first written
    (stored,) = (await portfolio_history(db, PortfolioHistoryRequest())).snapshots
    assert stored.snapshot_at == T0 and stored.totals == totals
    assert totals.net_liquidation == D("101.66") and totals.unrealized_pnl == D("0.6501")
