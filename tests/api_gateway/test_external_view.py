"""The `external` object of GET /api/positions/external: per-venue holdings, balances and totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.api_gateway.domain.external import external_view, venue_totals
from shared.contracts import BalancesReply, BalanceSnapshot, ErrorInfo, ExternalPosition, ExternalPositionsSnapshot, PositionsReply

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def held(instrument, quantity, cost, value=None, unrealized=None, venue="kalshi"):
    d = lambda v: Decimal(v) if v is not None else None  # noqa: E731
    return ExternalPosition(venue=venue, account="acct", instrument_id=instrument, outcome="yes",
                            quantity=Decimal(quantity), cost_basis=d(cost), market_value=d(value),
                            unrealized_pnl=d(unrealized), valuation_source="mark" if value else None)


def test_view_keeps_its_shape_and_adds_totals_per_venue():
    kalshi = ExternalPositionsSnapshot(
        venue="kalshi", account="acct", snapshot_time=NOW - timedelta(seconds=3), complete=True,
        positions=(held("A", "10", "4.00", "5.50", "1.50"), held("B", "5", "3.25", None, None)),
    )
    poly = ExternalPositionsSnapshot(venue="polymarket", account="0xabc", snapshot_time=NOW, complete=False,
                                     status="error", error="polymarket: page 2 failed")
    balances = BalancesReply(
        balances=(BalanceSnapshot(venue="kalshi", account="acct", cash=Decimal("8852.26"), as_of=NOW),),
        errors=(ErrorInfo(code="venue_error", message="polymarket: balance failed", venue="polymarket"),),
    )
    view = external_view(PositionsReply(snapshots=(kalshi, poly)), balances, NOW)

    assert view["snapshot_time"] == kalshi.snapshot_time.isoformat()
    assert view["errors"] == {"polymarket": "polymarket: page 2 failed"}
    k = view["kalshi"]
    # What clients read before stays where it was.
    assert {"status", "complete", "account", "snapshot_time", "age_seconds", "positions", "balance"} <= set(k)
    assert k["age_seconds"] == "3.0" and k["balance"]["cash"] == "8852.26"
    first = k["positions"][0]
    assert (first["instrument_id"], first["quantity"], first["market_value"], first["unrealized_pnl"]) == ("A", "10", "5.50", "1.50")
    assert k["totals"] == {"cost_basis": "7.25", "market_value": "5.50", "unrealized_pnl": "1.50", "unvalued": 1,
                           "cash": "8852.26"}
    assert view["polymarket"]["totals"]["cash"] is None and view["polymarket"]["complete"] is False


amounts = st.decimals(min_value=-10**6, max_value=10**6, places=6)


@given(st.lists(st.tuples(amounts, amounts, st.booleans()), max_size=30), st.one_of(st.none(), amounts))
def test_totals_are_exact_sums_and_count_what_could_not_be_valued(rows, cash):
    positions = [held(f"I{i}", "1", str(cost), str(value) if valued else None, str(value - cost) if valued else None)
                 for i, (cost, value, valued) in enumerate(rows)]
    totals = venue_totals(positions, cash)
    valued = [(c, v) for c, v, ok in rows if ok]
    assert totals.cost_basis == sum((c for c, _, _ in rows), Decimal(0))
    assert totals.market_value == sum((v for _, v in valued), Decimal(0))
    assert totals.unrealized_pnl == totals.market_value - sum((c for c, _ in valued), Decimal(0))
    assert totals.unvalued == len(rows) - len(valued) and totals.cash == cash
