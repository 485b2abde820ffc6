"""The ledger's read side: positions, portfolio totals and their history, straight from SQL.

Every amount comes back from `numeric` as a Decimal and stays one; sums are done by Postgres
(exact) rather than in Python, so the totals a trader reads are the book's own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared.contracts.ledger import (
    LedgerPosition,
    PortfolioHistoryReply,
    PortfolioHistoryRequest,
    PortfolioSnapshot,
    PortfolioTotals,
    PositionOrderBy,
    PositionsPage,
    PositionsQuery,
)

Connection = asyncpg.Connection | asyncpg.Pool

_POSITION_COLUMNS = """id, venue, instrument_id, market_id, title, outcome, status, quantity, avg_price, cost_basis,
    realized_pnl, fees, mark_price, mark_as_of, market_value, unrealized_pnl, strategy_name, origin, opened_at,
    closed_at, settlement_result, unmatched_sold, updated_at"""

# Column names only from this table: `order_by` never reaches the SQL text as given.
_ORDER_COLUMNS: dict[PositionOrderBy, str] = {
    "unrealized_pnl": "unrealized_pnl",
    "cost_basis": "cost_basis",
    "opened_at": "opened_at",
}

_FILTERS = """($1::text IS NULL OR status = $1)
    AND ($2::text IS NULL OR strategy_name = $2)
    AND ($3::text IS NULL OR market_id = $3)
    AND ($4::text IS NULL OR venue = $4)"""

_TOTAL_FIELDS = ("open_positions", "total_cost_basis", "total_market_value", "unrealized_pnl", "realized_pnl",
                 "fees", "cash", "net_liquidation", "unvalued_positions")


def _position(row: asyncpg.Record) -> LedgerPosition:
    return LedgerPosition(**dict(row))


async def list_positions(conn: Connection, query: PositionsQuery) -> PositionsPage:
    filters = (query.status, query.strategy_name, query.market_id, query.venue)
    direction = "ASC" if query.asc else "DESC"
    # Unvalued positions (no mark: unrealized NULL) go last whichever way the page is sorted; the
    # id breaks ties so pages never overlap or skip a row.
    rows = await conn.fetch(
        f"""SELECT {_POSITION_COLUMNS} FROM positions_valued WHERE {_FILTERS}
            ORDER BY {_ORDER_COLUMNS[query.order_by]} {direction} NULLS LAST, id ASC
            LIMIT $5 OFFSET $6""",
        *filters, query.limit, query.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM positions_valued WHERE {_FILTERS}", *filters)
    return PositionsPage(positions=tuple(_position(r) for r in rows), total=total, limit=query.limit,
                         offset=query.offset)


async def open_instruments(conn: Connection, venue: str) -> list[str]:
    """The instruments with an open position on `venue`, each once (a Kalshi ticker held both YES
    and NO is one), sorted; the partial index of open positions (`positions_open`) serves it."""
    rows = await conn.fetch(
        "SELECT DISTINCT instrument_id FROM positions WHERE venue = $1 AND closed_at IS NULL ORDER BY instrument_id",
        venue,
    )
    return [r["instrument_id"] for r in rows]


async def get_position(conn: Connection, position_id: str) -> LedgerPosition | None:
    row = await conn.fetchrow(f"SELECT {_POSITION_COLUMNS} FROM positions_valued WHERE id = $1", position_id)
    return _position(row) if row is not None else None


async def portfolio_totals(conn: Connection) -> tuple[PortfolioTotals, datetime | None]:
    """The book's totals now, and the oldest `as_of` among the venues' balances (how stale the
    cash may be). Open positions give cost, value and unrealized; realized and fees are over every
    position, closed ones included. A position without a mark counts at cost."""
    book = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'open') AS open_positions,
                  COALESCE(sum(cost_basis) FILTER (WHERE status = 'open'), 0) AS total_cost_basis,
                  COALESCE(sum(COALESCE(market_value, cost_basis)) FILTER (WHERE status = 'open'), 0)
                      AS total_market_value,
                  COALESCE(sum(COALESCE(unrealized_pnl, 0)) FILTER (WHERE status = 'open'), 0) AS unrealized_pnl,
                  COALESCE(sum(realized_pnl), 0) AS realized_pnl,
                  COALESCE(sum(fees), 0) AS fees,
                  count(*) FILTER (WHERE status = 'open' AND mark_price IS NULL) AS unvalued_positions
           FROM positions_valued"""
    )
    cash_row = await conn.fetchrow("SELECT sum(cash) AS cash, min(as_of) AS as_of FROM balances")
    cash = cash_row["cash"]
    totals = PortfolioTotals(
        **dict(book),
        cash=cash,
        net_liquidation=(cash if cash is not None else 0) + book["total_market_value"],
    )
    return totals, cash_row["as_of"]


async def portfolio_history(conn: Connection, request: PortfolioHistoryRequest) -> PortfolioHistoryReply:
    """The most recent `limit` snapshots within [since, until], oldest first."""
    rows = await conn.fetch(
        f"""SELECT * FROM (
                SELECT snapshot_at, {", ".join(_TOTAL_FIELDS)} FROM portfolio_snapshots
                WHERE ($1::timestamptz IS NULL OR snapshot_at >= $1)
                  AND ($2::timestamptz IS NULL OR snapshot_at <= $2)
                ORDER BY snapshot_at DESC LIMIT $3
            ) latest ORDER BY snapshot_at ASC""",
        request.since, request.until, request.limit,
    )
    return PortfolioHistoryReply(snapshots=tuple(_snapshot(r) for r in rows))


def _snapshot(row: asyncpg.Record) -> PortfolioSnapshot:
    values: dict[str, Any] = dict(row)
    snapshot_at = values.pop("snapshot_at")
    return PortfolioSnapshot(snapshot_at=snapshot_at, totals=PortfolioTotals(**values))


async def insert_portfolio_snapshot(conn: Connection, at: datetime, totals: PortfolioTotals) -> None:
    """Store the totals at `at`; a second snapshot for the same instant (a restart within the
    second) keeps the first."""
    placeholders = ", ".join(f"${i}" for i in range(2, len(_TOTAL_FIELDS) + 2))
    await conn.execute(
        f"""INSERT INTO portfolio_snapshots (snapshot_at, {", ".join(_TOTAL_FIELDS)})
            VALUES ($1, {placeholders}) ON CONFLICT (snapshot_at) DO NOTHING""",
        at, *(getattr(totals, name) for name in _TOTAL_FIELDS),
    )


async def latest_imported_external_ids(conn: Connection, keys: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(market_id, description, external_ids) of each market's latest imported record whose
    `external_ids` name one of `keys` (with a value): a later file's ids replace an earlier one's."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (r.market_id) r.market_id, r.description, r.external_ids
            FROM import_records r JOIN imports i USING (import_id)
            WHERE jsonb_typeof(r.external_ids) = 'object' AND jsonb_strip_nulls(r.external_ids) ?| $1::text[]
            ORDER BY r.market_id, i.imported_at DESC, i.import_id DESC""",
        list(keys),
    )
    return [(r["market_id"], r["description"], json.loads(r["external_ids"])) for r in rows]
