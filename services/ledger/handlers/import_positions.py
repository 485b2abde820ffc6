"""`trueup import`: write a planned import (`domain.imports`) to the ledger in one transaction.

All or nothing: the import row, its records, the instruments, the openings and the recomputed
positions of every instrument it changes commit together, or nothing does.

Re-importing changes nothing: a holding equal to its instrument's latest opening (same numbers,
`opened_at` and strategy) is skipped, so fills journaled since that opening keep counting. A
holding that differs becomes a new opening as of this import, which then *is* the instrument's
position (the fold takes the latest opening). When every holding is skipped nothing at all is
written, not even the import row. A Polymarket leg an earlier file left on an `unmapped:`
placeholder and a later file maps gets an empty closing opening on the placeholder (see
`domain.imports`). A market missing from a later file is left as it was: an import adds what the
file says, it never closes what the file no longer mentions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.ledger.adapters.book import lock_book, recompute_instruments
from services.ledger.domain.fold import OpeningBalance
from services.ledger.domain.imports import ImportedRecord, ImportPlan, json_text
from shared.db import apply_migrations, create_pool

SCHEMA = "ledger"
MIGRATIONS = Path(__file__).resolve().parents[1] / "adapters" / "migrations"
# Records written per statement; progress is reported after each chunk.
CHUNK = 500

Progress = Callable[[int, int], None]  # (records done, records in all)


class ImportConflict(RuntimeError):
    """The ledger already holds a later opening for an instrument this import would set."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    import_id: str | None  # None when nothing was new (nothing written)
    records: int
    openings_written: int
    openings_skipped: int  # already the instrument's latest opening
    placeholders_retired: int  # `unmapped:` holdings of an earlier import, now mapped
    instruments: int  # instruments whose positions were recomputed


_SAME = ("outcome", "quantity", "avg_price", "cost_basis", "realized_pnl", "fees", "opened_at", "strategy_name")


def _same_holding(row: asyncpg.Record, opening: OpeningBalance) -> bool:
    return all(row[field] == getattr(opening, field) for field in _SAME)


async def _latest_openings(conn: asyncpg.Connection, openings: Sequence[OpeningBalance],
                           ) -> dict[tuple[str, str], asyncpg.Record]:
    keys = sorted({(o.venue, o.instrument_id) for o in openings})
    # The fold's order among openings of one instrument: as_of, then source_id (byte order, as Python's).
    rows = await conn.fetch(
        "SELECT DISTINCT ON (venue, instrument_id) venue, instrument_id, as_of, "
        f"{', '.join(_SAME)} FROM journal_openings "
        "WHERE (venue, instrument_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) "
        'ORDER BY venue, instrument_id, as_of DESC, source_id COLLATE "C" DESC',
        [k[0] for k in keys], [k[1] for k in keys],
    )
    return {(r["venue"], r["instrument_id"]): r for r in rows}


async def _insert_records(conn: asyncpg.Connection, import_id: str, records: Sequence[ImportedRecord]) -> None:
    await conn.execute(
        "INSERT INTO import_records (import_id, market_id, description, status, external_ids, raw) "
        "SELECT $1, m, d, s, e::jsonb, r::jsonb FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], "
        "$6::text[]) AS u(m, d, s, e, r)",
        import_id, [r.market_id for r in records], [r.description for r in records], [r.status for r in records],
        [None if r.external_ids is None else json_text(r.external_ids) for r in records],
        [json_text(r.raw) for r in records],
    )
    instruments = [i for r in records for i in r.instruments]
    # The import's market id is the operator's word on what the instrument belongs to; a venue's
    # title, when the ledger has one, stays unless the record has its own.
    await conn.execute(
        "INSERT INTO instruments (venue, instrument_id, market_id, title) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
        "ON CONFLICT (venue, instrument_id) DO UPDATE SET market_id = EXCLUDED.market_id, "
        "title = COALESCE(EXCLUDED.title, instruments.title), updated_at = now()",
        [i.venue for i in instruments], [i.instrument_id for i in instruments],
        [i.market_id for i in instruments], [i.title for i in instruments],
    )


async def _insert_openings(conn: asyncpg.Connection, openings: Sequence[OpeningBalance]) -> None:
    await conn.execute(
        "INSERT INTO journal_openings (source_id, venue, instrument_id, outcome, quantity, avg_price, cost_basis, "
        "realized_pnl, fees, opened_at, as_of, strategy_name) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], "
        "$7::numeric[], $8::numeric[], $9::numeric[], $10::timestamptz[], $11::timestamptz[], $12::text[]) "
        "ON CONFLICT (source_id) DO NOTHING",
        [o.source_id for o in openings], [o.venue for o in openings], [o.instrument_id for o in openings],
        [o.outcome for o in openings], [o.quantity for o in openings], [o.avg_price for o in openings],
        [o.cost_basis for o in openings], [o.realized_pnl for o in openings], [o.fees for o in openings],
        [o.opened_at for o in openings], [o.as_of for o in openings], [o.strategy_name for o in openings],
    )


async def write_import(conn: asyncpg.Connection, plan: ImportPlan, *, progress: Progress | None = None) -> ImportResult:
    """Write `plan` inside the caller's transaction; returns what was written and what skipped."""
    await lock_book(conn)  # the live ingest folds into the same positions
    retirements = [r for record in plan.records for r in record.retirements]
    latest = await _latest_openings(conn, [*plan.openings, *retirements])

    def current(opening: OpeningBalance) -> asyncpg.Record | None:
        row = latest.get((opening.venue, opening.instrument_id))
        if row is not None and row["as_of"] > plan.as_of:
            raise ImportConflict(
                f"{opening.venue} instrument {opening.instrument_id!r} has an opening as of {row['as_of']}, "
                f"later than this import ({plan.as_of})")
        return row

    new: set[str] = set()
    skipped = retired = 0
    for opening in plan.openings:
        row = current(opening)
        if row is not None and _same_holding(row, opening):
            skipped += 1
        else:
            new.add(opening.source_id)
    for retirement in retirements:
        row = current(retirement)
        if row is not None and not _same_holding(row, retirement):
            new.add(retirement.source_id)
            retired += 1
    total = len(plan.records)
    if not new:
        if progress:
            progress(total, total)
        return ImportResult(None, total, 0, skipped, 0, 0)
    await conn.execute(
        "INSERT INTO imports (import_id, file_name, file_sha256, records, strategy_name, imported_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        plan.import_id, plan.file_name, plan.file_sha256, total, plan.strategy_name, plan.as_of,
    )
    touched: set[tuple[str, str]] = set()
    for start in range(0, total, CHUNK):
        chunk = plan.records[start:start + CHUNK]
        await _insert_records(conn, plan.import_id, chunk)
        openings = [o for r in chunk for o in (*r.openings, *r.retirements) if o.source_id in new]
        await _insert_openings(conn, openings)
        touched.update((o.venue, o.instrument_id) for o in openings)
        if progress:
            progress(min(start + CHUNK, total), total)
    await recompute_instruments(conn, touched)
    return ImportResult(plan.import_id, total, len(new) - retired, skipped, retired, len(touched))


async def import_plan(database_url: str, plan: ImportPlan, *, progress: Progress | None = None) -> ImportResult:
    """Connect as the ledger does, make sure its schema is current, and write `plan` in one transaction."""
    pool = await create_pool(database_url, schema=SCHEMA, min_size=1, max_size=1)
    try:
        await apply_migrations(pool, SCHEMA, MIGRATIONS)
        async with pool.acquire() as conn, conn.transaction():
            return await write_import(conn, plan, progress=progress)
    finally:
        await pool.close()
