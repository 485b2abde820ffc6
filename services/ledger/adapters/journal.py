"""The journal in Postgres: append-only and idempotent. Each insert says which records were new,
so a redelivered message is journaled once and moves no position a second time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from services.ledger.domain.fold import Reversal, reversal_of
from shared.contracts import Fill, SettlementRecorded
from shared.contracts.client_order_ids import strategy_of
from shared.db import numeric_texts


@dataclass(frozen=True)
class JournaledFills:
    fills: list[Fill]  # first copies, not failed: they count unless reversed
    reversals: list[Reversal]  # new reversals (FAILED copies)


def _raw(record: Fill | SettlementRecorded) -> str:
    # The venue payload is kept as it came; its numbers are already decimal strings (the gateway's encoder).
    return json.dumps(record.raw, default=str)


async def journal_fills(conn: asyncpg.Connection, fills: Sequence[Fill]) -> JournaledFills:
    """Append fill copies. Returns the fills journaled for the first time (excluding FAILED ones,
    which never count) and the reversals recorded for the first time."""
    if not fills:
        return JournaledFills([], [])
    # Each status a provisional (Polymarket) trade reached; a Kalshi fill is final when it arrives.
    provisional = [f for f in fills if f.venue == "polymarket"]
    if provisional:
        await conn.execute(
            "INSERT INTO journal_fill_statuses (venue, fill_id, status, event_id, occurred_at) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) "
            "ON CONFLICT DO NOTHING",
            [f.venue for f in provisional], [f.fill_id for f in provisional], [f.status for f in provisional],
            [f.event_id for f in provisional], [f.occurred_at for f in provisional],
        )
    strategies = [strategy_of(f.client_order_id) for f in fills]
    inserted = await conn.fetch(
        "INSERT INTO journal_fills (venue, fill_id, event_id, account, order_id, client_order_id, instrument_id, "
        "outcome, side, quantity, price, fee, status, is_taker, executed_at, occurred_at, origin, strategy_name, raw) "
        "SELECT v, f, e, a, o, c, i, oc, s, q, p, fe, st, t, x, oa, og, sn, r::jsonb FROM unnest("
        "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
        "$10::text[]::numeric[], $11::text[]::numeric[], $12::text[]::numeric[], $13::text[], $14::boolean[], $15::timestamptz[], "
        "$16::timestamptz[], $17::text[], $18::text[], $19::text[]) AS u(v, f, e, a, o, c, i, oc, s, q, p, fe, st, t, "
        "x, oa, og, sn, r) ON CONFLICT (venue, fill_id) DO NOTHING RETURNING venue, fill_id",
        [f.venue for f in fills], [f.fill_id for f in fills], [f.event_id for f in fills], [f.account for f in fills],
        [f.order_id for f in fills], [f.client_order_id for f in fills], [f.instrument_id for f in fills],
        [f.outcome for f in fills], [f.side for f in fills], numeric_texts(f.quantity for f in fills),
        numeric_texts(f.price for f in fills), numeric_texts(f.fee for f in fills), [f.status for f in fills], [f.is_taker for f in fills],
        [f.executed_at for f in fills], [f.occurred_at for f in fills],
        ["own" if s is not None else "external" for s in strategies], strategies, [_raw(f) for f in fills],
    )
    new_ids = {(r["venue"], r["fill_id"]) for r in inserted}
    first_copies: dict[tuple[str, str], Fill] = {}
    for fill in fills:
        key = (fill.venue, fill.fill_id)
        if key in new_ids and key not in first_copies:
            first_copies[key] = fill
    failed = {(f.venue, f.fill_id): f for f in fills if f.status == "failed"}
    reversals: list[Reversal] = []
    if failed:
        candidates = [reversal_of(f) for f in failed.values()]
        rows = await conn.fetch(
            "INSERT INTO journal_reversals (venue, fill_id, reversed_at, reason, event_id) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[]) "
            "ON CONFLICT DO NOTHING RETURNING venue, fill_id",
            [r.venue for r in candidates], [r.fill_id for r in candidates], [r.reversed_at for r in candidates],
            [r.reason for r in candidates], [failed[(r.venue, r.fill_id)].event_id for r in candidates],
        )
        fresh = {(r["venue"], r["fill_id"]) for r in rows}
        reversals = [r for r in candidates if (r.venue, r.fill_id) in fresh]
    counting = [f for key, f in first_copies.items() if f.status != "failed" and key not in failed]
    return JournaledFills(counting, reversals)


async def instruments_of_fills(conn: asyncpg.Connection, reversals: Sequence[Reversal]) -> set[tuple[str, str]]:
    if not reversals:
        return set()
    rows = await conn.fetch(
        "SELECT venue, instrument_id FROM journal_fills WHERE (venue, fill_id) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[]))", [r.venue for r in reversals], [r.fill_id for r in reversals])
    return {(r["venue"], r["instrument_id"]) for r in rows}


async def journal_settlements(conn: asyncpg.Connection, settlements: Sequence[SettlementRecorded]) -> list[SettlementRecorded]:
    """Append settlements; returns those journaled for the first time."""
    if not settlements:
        return []
    s = settlements
    rows = await conn.fetch(
        "INSERT INTO journal_settlements (venue, account, instrument_id, event_id, yes_token_id, no_token_id, result, "
        "value, yes_count, no_count, yes_cost, no_cost, revenue, fees, settled_at, occurred_at, raw) "
        "SELECT v, a, i, e, y, n, r, val, yc, nc, ycost, ncost, rev, fe, sa, oa, raw::jsonb FROM unnest("
        "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]::numeric[], "
        "$9::text[]::numeric[], $10::text[]::numeric[], $11::text[]::numeric[], $12::text[]::numeric[], "
        "$13::text[]::numeric[], $14::text[]::numeric[], "
        "$15::timestamptz[], $16::timestamptz[], $17::text[]) AS u(v, a, i, e, y, n, r, val, yc, nc, ycost, ncost, rev, "
        "fe, sa, oa, raw) ON CONFLICT (venue, account, instrument_id) DO NOTHING RETURNING venue, account, instrument_id",
        [x.venue for x in s], [x.account for x in s], [x.instrument_id for x in s], [x.event_id for x in s],
        [x.yes_token_id for x in s], [x.no_token_id for x in s], [x.result for x in s], numeric_texts(x.value for x in s),
        numeric_texts(x.yes_count for x in s), numeric_texts(x.no_count for x in s), numeric_texts(x.yes_cost for x in s),
        numeric_texts(x.no_cost for x in s), numeric_texts(x.revenue for x in s), numeric_texts(x.fees for x in s), [x.settled_at for x in s], [x.occurred_at for x in s],
        [_raw(x) for x in s],
    )
    new = {(r["venue"], r["account"], r["instrument_id"]) for r in rows}
    seen: set[tuple[str, str, str]] = set()
    fresh = []
    for settlement in settlements:
        key = (settlement.venue, settlement.account, settlement.instrument_id)
        if key in new and key not in seen:
            seen.add(key)
            fresh.append(settlement)
    return fresh


async def journaled_fill(conn: asyncpg.Connection, venue: str, fill_id: str) -> asyncpg.Record | None:
    """The journal's copy of one fill, if it holds one."""
    return await conn.fetchrow(
        "SELECT venue, fill_id, instrument_id, outcome, side, quantity, price, raw FROM journal_fills "
        "WHERE venue = $1 AND fill_id = $2", venue, fill_id)
