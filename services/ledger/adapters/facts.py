"""Venue facts the ledger keeps beside its journal: latest marks and balances, the venue mirror
(what each venue last said it holds) and what it knows about instruments (market, title).

Each keeps only the newest fact: an older one arriving late (redelivery, a slow replica) changes
nothing, so these writes are idempotent and order-independent too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import asyncpg

from services.ledger.domain.positions import mark_price
from shared.contracts import BalanceSnapshot, ExternalPositionsSnapshot, Mark
from shared.db import numeric_texts


def _newest_per_key(items: Iterable, key, when) -> list:
    newest: dict = {}
    for item in items:
        k = key(item)
        if k not in newest or when(item) > when(newest[k]):
            newest[k] = item
    return list(newest.values())


async def record_marks(conn: asyncpg.Connection, marks: Sequence[Mark]) -> None:
    latest = _newest_per_key(marks, lambda m: (m.venue, m.instrument_id), lambda m: m.as_of)
    if not latest:
        return
    await conn.execute(
        "INSERT INTO marks (venue, instrument_id, best_bid, best_ask, mid, last, price, as_of, event_id) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]::numeric[], $4::text[]::numeric[], "
        "$5::text[]::numeric[], $6::text[]::numeric[], $7::text[]::numeric[], $8::timestamptz[], $9::text[]) "
        "ON CONFLICT (venue, instrument_id) DO UPDATE SET best_bid = EXCLUDED.best_bid, best_ask = EXCLUDED.best_ask, "
        "mid = EXCLUDED.mid, last = EXCLUDED.last, price = EXCLUDED.price, as_of = EXCLUDED.as_of, "
        "event_id = EXCLUDED.event_id WHERE marks.as_of <= EXCLUDED.as_of",
        [m.venue for m in latest], [m.instrument_id for m in latest], numeric_texts(m.best_bid for m in latest),
        numeric_texts(m.best_ask for m in latest), numeric_texts(m.mid for m in latest),
        numeric_texts(m.last for m in latest), numeric_texts(mark_price(m) for m in latest),
        [m.as_of for m in latest], [m.event_id for m in latest],
    )


async def record_balances(conn: asyncpg.Connection, balances: Iterable[BalanceSnapshot]) -> None:
    latest = _newest_per_key(balances, lambda b: b.venue, lambda b: b.as_of)
    if not latest:
        return
    await conn.execute(
        "INSERT INTO balances (venue, account, cash, portfolio_value, as_of, event_id) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]::numeric[], $4::text[]::numeric[], "
        "$5::timestamptz[], $6::text[]) "
        "ON CONFLICT (venue) DO UPDATE SET account = EXCLUDED.account, cash = EXCLUDED.cash, "
        "portfolio_value = EXCLUDED.portfolio_value, as_of = EXCLUDED.as_of, event_id = EXCLUDED.event_id "
        "WHERE balances.as_of <= EXCLUDED.as_of",
        [b.venue for b in latest], [b.account for b in latest], numeric_texts(b.cash for b in latest),
        numeric_texts(b.portfolio_value for b in latest), [b.as_of for b in latest], [b.event_id for b in latest],
    )


async def record_venue_snapshot(conn: asyncpg.Connection, snapshot: ExternalPositionsSnapshot) -> bool:
    """Mirror one venue snapshot; False when it is older than what the mirror already shows.

    Every reported holding is upserted with `last_synced`. Only a complete snapshot closes what it
    no longer reports (quantity 0, `closed_at`): an incomplete one (a page failed) proves nothing
    about the holdings it is missing.
    """
    if snapshot.status == "not_configured":
        return False
    newest = await conn.fetchval(
        "SELECT max(last_synced) FROM venue_positions WHERE venue = $1 AND account = $2",
        snapshot.venue, snapshot.account)
    if newest is not None and snapshot.snapshot_time < newest:
        return False
    at = snapshot.snapshot_time
    positions = [p for p in snapshot.positions if p.quantity != 0]
    if positions:
        await conn.execute(
            "INSERT INTO venue_positions (venue, account, instrument_id, outcome, quantity, avg_price, cost_basis, "
            "market_value, title, raw, first_seen, last_synced) "
            "SELECT v, a, i, o, q, ap, cb, mv, t, r::jsonb, $11, $11 FROM unnest($1::text[], $2::text[], $3::text[], "
            "$4::text[], $5::text[]::numeric[], $6::text[]::numeric[], $7::text[]::numeric[], "
            "$8::text[]::numeric[], $9::text[], $10::text[]) "
            "AS u(v, a, i, o, q, ap, cb, mv, t, r) "
            "ON CONFLICT (venue, account, instrument_id, outcome) DO UPDATE SET quantity = EXCLUDED.quantity, "
            "avg_price = EXCLUDED.avg_price, cost_basis = EXCLUDED.cost_basis, market_value = EXCLUDED.market_value, "
            "title = COALESCE(EXCLUDED.title, venue_positions.title), raw = EXCLUDED.raw, "
            "last_synced = EXCLUDED.last_synced, closed_at = NULL, "
            "first_seen = CASE WHEN venue_positions.closed_at IS NULL THEN venue_positions.first_seen "
            "ELSE EXCLUDED.first_seen END",
            [p.venue for p in positions], [p.account for p in positions], [p.instrument_id for p in positions],
            [p.outcome for p in positions], numeric_texts(p.quantity for p in positions),
            numeric_texts(p.avg_price for p in positions), numeric_texts(p.cost_basis for p in positions),
            numeric_texts(p.market_value for p in positions), [p.title for p in positions],
            [json.dumps(p.raw, default=str) for p in positions], at,
        )
        await record_instruments(conn, [
            (p.venue, p.instrument_id, _market_of(p.raw), p.title) for p in positions])
    if snapshot.complete and snapshot.status == "ok" and await _every_part_in(conn, snapshot):
        await conn.execute(
            "UPDATE venue_positions SET quantity = 0, closed_at = $3, last_synced = $3 "
            "WHERE venue = $1 AND account = $2 AND closed_at IS NULL AND last_synced < $3",
            snapshot.venue, snapshot.account, at)
    return True


async def _every_part_in(conn: asyncpg.Connection, snapshot: ExternalPositionsSnapshot) -> bool:
    """True once every part of the snapshot has been mirrored (at once for a one-part snapshot):
    what the venue no longer holds is known only from all of them."""
    if snapshot.parts == 1:
        return True
    await conn.execute("DELETE FROM venue_snapshot_parts WHERE snapshot_time < $1::timestamptz - interval '1 day'",
                       snapshot.snapshot_time)
    await conn.execute(
        "INSERT INTO venue_snapshot_parts (snapshot_id, part, parts, snapshot_time) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING", snapshot.snapshot_id, snapshot.part, snapshot.parts, snapshot.snapshot_time)
    seen = await conn.fetchval("SELECT count(*) FROM venue_snapshot_parts WHERE snapshot_id = $1",
                               snapshot.snapshot_id)
    return seen == snapshot.parts


def _market_of(raw: dict) -> str | None:
    """Polymarket's Data API names the market (condition id) of each held token; Kalshi's ticker
    is itself the market."""
    market = raw.get("conditionId")
    return market if isinstance(market, str) and market else None


async def record_instruments(conn: asyncpg.Connection,
                             instruments: Sequence[tuple[str, str, str | None, str | None]]) -> None:
    """(venue, instrument_id, market_id, title): a known market id is kept (an import's own id wins
    over the venue's); a title is refreshed whenever the venue sends one."""
    instruments = list({(i[0], i[1]): i for i in instruments}.values())  # one row per key per statement
    if not instruments:
        return
    await conn.execute(
        "INSERT INTO instruments (venue, instrument_id, market_id, title) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
        "ON CONFLICT (venue, instrument_id) DO UPDATE SET market_id = COALESCE(instruments.market_id, "
        "EXCLUDED.market_id), title = COALESCE(EXCLUDED.title, instruments.title), updated_at = now()",
        [i[0] for i in instruments], [i[1] for i in instruments], [i[2] for i in instruments],
        [i[3] for i in instruments],
    )
