"""Persisted reconciliation runs: the whole run as computed (JSON) and one row per item."""

from __future__ import annotations

import json

import asyncpg

from shared.contracts.events import ReconciliationItem
from shared.contracts.reconciler import ReconciliationRun, ReconciliationSummary, ReconciliationsPage

Connection = asyncpg.Connection | asyncpg.Pool

_ITEM_COLUMNS = ("venue", "instrument_id", "outcome", "market_id", "status", "difference", "internal_quantity",
                 "external_quantity", "diff_quantity", "internal_cost_basis", "external_cost_basis",
                 "diff_cost_basis", "acknowledged", "reason")


def run_items(run: ReconciliationRun) -> list[ReconciliationItem]:
    """Every item of a run: the mapped markets' (in market order), then the unmapped."""
    return [item for market_id in sorted(run.by_market_id) for item in run.by_market_id[market_id].items] + \
        list(run.unmapped)


async def save_run(conn: asyncpg.Connection, run: ReconciliationRun) -> None:
    """Store a finished run and its items (call inside a transaction: all or nothing)."""
    await conn.execute(
        """INSERT INTO runs (run_id, trigger, started_at, finished_at, snapshot_time, summary, errors, run)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb)""",
        run.run_id, run.trigger, run.started_at, run.finished_at, run.snapshot_time,
        json.dumps(run.summary), json.dumps(run.errors), run.model_dump_json(),
    )
    # COPY, not row-by-row INSERTs: a big account's run has tens of thousands of items.
    await conn.copy_records_to_table(
        "run_items", columns=("run_id", "item_no", *_ITEM_COLUMNS),
        records=[(run.run_id, n, *(getattr(item, column) for column in _ITEM_COLUMNS))
                 for n, item in enumerate(run_items(run))],
    )


async def list_runs(conn: Connection, limit: int, offset: int) -> ReconciliationsPage:
    # One statement, so the page and its total see the same runs (a run stored between two
    # queries would show in one and not the other).
    rows = await conn.fetch(
        """SELECT run_id, trigger, started_at, finished_at, snapshot_time, summary, count(*) OVER () AS total
           FROM runs ORDER BY started_at DESC, run_id LIMIT $1 OFFSET $2""", limit, offset)
    total = rows[0]["total"] if rows else await conn.fetchval("SELECT count(*) FROM runs")
    return ReconciliationsPage(
        runs=tuple(ReconciliationSummary(**{**{k: v for k, v in row.items() if k != "total"},
                                              "summary": json.loads(row["summary"])}) for row in rows),
        total=total,
    )


async def get_run(conn: Connection, run_id: str) -> ReconciliationRun | None:
    stored = await conn.fetchval("SELECT run::text FROM runs WHERE run_id = $1", run_id)
    return ReconciliationRun.model_validate_json(stored) if stored is not None else None
