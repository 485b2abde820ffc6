"""The book in Postgres: positions rows, each instrument's cursor, and recomputation from the journal.

Every function runs inside the caller's transaction. Positions are written whole (upsert by id):
a lifecycle's id is derived from what opened it, so the live path and a recomputation from the
journal write the same row for the same lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.ledger.domain.fold import Book, OpeningBalance, Record, Reversal, effective, sort_key
from services.ledger.domain.positions import Position
from shared.contracts import Fill, SettlementRecorded, deterministic_id

Instrument = tuple[str, str]  # (venue, instrument_id)
SortKey = tuple[datetime, int, str, str]

_POSITION_COLUMNS = (
    "id", "venue", "instrument_id", "outcome", "quantity", "avg_price", "cost_basis", "realized_pnl", "fees",
    "unmatched_sold", "opened_at", "closed_at", "opened_by", "strategy_name", "origin", "settlement_result",
)
_SELECT_POSITION = ("venue, instrument_id, outcome, opened_at, quantity, avg_price, cost_basis, realized_pnl, fees, "
                    "closed_at, unmatched_sold, settlement_result, opened_by, strategy_name, origin")
_IN_INSTRUMENTS = "(venue, instrument_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"


# One writer of the book at a time (the fills and settlements readers, an import, another replica):
# a transaction-scoped advisory lock, released at commit or rollback.
_BOOK_LOCK = deterministic_id("trueup", "ledger", "book")


async def lock_book(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", _BOOK_LOCK)


def position_id(position: Position) -> str:
    return deterministic_id("position", position.venue, position.instrument_id, position.outcome,
                            position.opened_at.isoformat(), position.opened_by)


def _columns(instruments: Iterable[Instrument]) -> tuple[list[str], list[str]]:
    pairs = sorted(set(instruments))
    return [venue for venue, _ in pairs], [instrument for _, instrument in pairs]


def _position(row: asyncpg.Record) -> Position:
    return Position(*row.values())


async def open_positions(conn: asyncpg.Connection, instruments: Iterable[Instrument]) -> list[Position]:
    rows = await conn.fetch(f"SELECT {_SELECT_POSITION} FROM positions WHERE closed_at IS NULL AND {_IN_INSTRUMENTS}",
                            *_columns(instruments))
    return [_position(row) for row in rows]


async def all_positions(conn: asyncpg.Connection) -> list[Position]:
    return [_position(row) for row in await conn.fetch(f"SELECT {_SELECT_POSITION} FROM positions")]


async def cursors(conn: asyncpg.Connection, instruments: Iterable[Instrument]) -> dict[Instrument, SortKey]:
    rows = await conn.fetch(
        f"SELECT venue, instrument_id, applied_at, applied_kind, applied_venue, applied_id FROM instrument_cursors "
        f"WHERE {_IN_INSTRUMENTS}", *_columns(instruments))
    return {(r["venue"], r["instrument_id"]): (r["applied_at"], r["applied_kind"], r["applied_venue"], r["applied_id"])
            for r in rows}


async def write_positions(conn: asyncpg.Connection, positions: Sequence[Position]) -> None:
    if not positions:
        return
    columns: list[list[Any]] = [[] for _ in _POSITION_COLUMNS]
    for p in positions:
        values = (position_id(p), p.venue, p.instrument_id, p.outcome, str(p.quantity), str(p.avg_price),
                  str(p.cost_basis), str(p.realized_pnl), str(p.fees), str(p.unmatched_sold), p.opened_at,
                  p.closed_at, p.opened_by, p.strategy_name, p.origin, p.settlement_result)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    # Amounts travel as text (see shared.db.numeric_texts) and are cast back to numeric exactly.
    types = ("text", "text", "text", "text", "text[]::numeric", "text[]::numeric", "text[]::numeric",
             "text[]::numeric", "text[]::numeric", "text[]::numeric", "timestamptz", "timestamptz", "text", "text",
             "text", "text")
    unnest = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, start=1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _POSITION_COLUMNS[1:])
    await conn.execute(
        f"INSERT INTO positions ({', '.join(_POSITION_COLUMNS)}) SELECT * FROM unnest({unnest}) "
        f"ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = now()",
        *columns,
    )


async def write_cursors(conn: asyncpg.Connection, applied: dict[Instrument, SortKey]) -> None:
    if not applied:
        return
    items = sorted(applied.items())
    await conn.execute(
        "INSERT INTO instrument_cursors (venue, instrument_id, applied_at, applied_kind, applied_venue, applied_id) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::smallint[], $5::text[], $6::text[]) "
        "ON CONFLICT (venue, instrument_id) DO UPDATE SET applied_at = EXCLUDED.applied_at, "
        "applied_kind = EXCLUDED.applied_kind, applied_venue = EXCLUDED.applied_venue, applied_id = EXCLUDED.applied_id",
        [i[0] for i, _ in items], [i[1] for i, _ in items], [k[0] for _, k in items], [k[1] for _, k in items],
        [k[2] for _, k in items], [k[3] for _, k in items],
    )


def touched_instruments(event: Fill | SettlementRecorded | OpeningBalance) -> tuple[Instrument, ...]:
    if isinstance(event, SettlementRecorded):
        if event.venue == "kalshi":
            return ((event.venue, event.instrument_id),)
        tokens = (event.yes_token_id, event.no_token_id)
        return tuple((event.venue, token) for token in tokens if token)
    return ((event.venue, event.instrument_id),)


# ---- the journal as fold records ----------------------------------------------------------------

_FILL_FIELDS = ("event_id, venue, account, fill_id, order_id, client_order_id, instrument_id, outcome, side, "
                "quantity, price, fee, status, is_taker, executed_at, occurred_at")
_SETTLEMENT_FIELDS = ("event_id, venue, account, instrument_id, yes_token_id, no_token_id, result, value, yes_count, "
                      "no_count, yes_cost, no_cost, revenue, fees, settled_at, occurred_at")
_OPENING_FIELDS = ("source_id, venue, instrument_id, outcome, quantity, avg_price, cost_basis, realized_pnl, fees, "
                   "opened_at, as_of, strategy_name")


async def journal_records(conn: asyncpg.Connection, instruments: Iterable[Instrument]) -> list[Record]:
    """Everything the journal holds about these instruments, as the fold reads it. Rows were
    validated when they were journaled, so they are rebuilt without validating again."""
    venues, ids = _columns(instruments)
    records: list[Record] = []
    for row in await conn.fetch(f"SELECT {_FILL_FIELDS} FROM journal_fills WHERE {_IN_INSTRUMENTS}", venues, ids):
        records.append(Fill.model_construct(**dict(row), raw={}, schema_version=1))
    for row in await conn.fetch(
        "SELECT r.venue, r.fill_id, r.reversed_at, r.reason FROM journal_reversals r "
        "JOIN journal_fills f USING (venue, fill_id) WHERE (f.venue, f.instrument_id) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[]))", venues, ids,
    ):
        records.append(Reversal(*row.values()))
    for row in await conn.fetch(
        f"SELECT {_SETTLEMENT_FIELDS} FROM journal_settlements WHERE (venue, instrument_id) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[])) OR (venue, yes_token_id) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[])) OR (venue, no_token_id) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[]))", venues, ids,
    ):
        records.append(SettlementRecorded.model_construct(**dict(row), raw={}, schema_version=1))
    for row in await conn.fetch(f"SELECT {_OPENING_FIELDS} FROM journal_openings WHERE {_IN_INSTRUMENTS}",
                                venues, ids):
        records.append(OpeningBalance(**dict(row)))
    return records


async def settlement_siblings(conn: asyncpg.Connection, instruments: set[Instrument]) -> set[Instrument]:
    """The instruments plus every instrument a journaled settlement links them to (a Polymarket
    market's other token): the fold settles those together, so they are recomputed together."""
    group = set(instruments)
    while True:
        venues, ids = _columns(group)
        rows = await conn.fetch(
            "SELECT venue, yes_token_id, no_token_id FROM journal_settlements WHERE venue = 'polymarket' AND "
            "((venue, yes_token_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) OR "
            "(venue, no_token_id) IN (SELECT * FROM unnest($1::text[], $2::text[])))", venues, ids)
        linked = {(r["venue"], token) for r in rows for token in (r["yes_token_id"], r["no_token_id"]) if token}
        if linked <= group:
            return group
        group |= linked


async def recompute_instruments(conn: asyncpg.Connection, instruments: Iterable[Instrument]) -> None:
    """Rewrite these instruments' positions (and their settlement siblings') from the journal:
    for events that arrive out of order, reversals and imports. Same fold as the reference."""
    group = await settlement_siblings(conn, set(instruments))
    if not group:
        return
    records = await journal_records(conn, group)
    book = Book()
    applied: dict[Instrument, SortKey] = {}
    for event in effective(records):
        book.apply(event)
        for instrument in touched_instruments(event):
            applied[instrument] = sort_key(event)
    await conn.execute(f"DELETE FROM positions WHERE {_IN_INSTRUMENTS}", *_columns(group))
    await conn.execute(f"DELETE FROM instrument_cursors WHERE {_IN_INSTRUMENTS}", *_columns(group))
    await write_positions(conn, book.lifecycles)
    await write_cursors(conn, applied)
