"""Ingest: each batch from the bus is journaled and folded into the book in one transaction.

The bus acks the batch only after this returns (after commit), so a crash anywhere redelivers it,
and the journal's uniqueness makes the second pass a no-op: nothing lost, nothing doubled.

Per batch, the new events are grouped by the instruments they touch (a Polymarket settlement
links a market's two tokens). A group whose events all fall after what its instruments already
applied is folded on from their open positions (the fast, usual path); a group with an event in
the past (late or reordered delivery), or touched by a reversal, is recomputed from the journal.
Either way the result equals the reference fold of the whole journal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import asyncpg

from services.ledger.adapters.book import (
    Instrument,
    SortKey,
    cursors,
    lock_book,
    open_positions,
    recompute_instruments,
    touched_instruments,
    write_cursors,
    write_positions,
)
from services.ledger.adapters.facts import record_instruments
from services.ledger.adapters.journal import instruments_of_fills, journal_fills, journal_settlements
from services.ledger.domain.fold import Book, sort_key
from services.ledger.domain.positions import Position
from shared.contracts import Fill, SettlementRecorded
from shared.logs import get_logger

log = get_logger(__name__)

Event = Fill | SettlementRecorded


async def ingest_fills(pool: asyncpg.Pool, fills: Sequence[Fill]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await lock_book(conn)
        journaled = await journal_fills(conn, fills)
        reversed_instruments = await instruments_of_fills(conn, journaled.reversals)
        await fold_into_book(conn, journaled.fills, recompute=reversed_instruments)
    if journaled.reversals:
        log.info("provisional fills reversed", fills=[f"{r.venue}:{r.fill_id}" for r in journaled.reversals])


async def ingest_settlements(pool: asyncpg.Pool, settlements: Sequence[SettlementRecorded]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await lock_book(conn)
        fresh = await journal_settlements(conn, settlements)
        # A Polymarket settlement names its market (condition id) and both tokens of it.
        await record_instruments(conn, [(s.venue, token, s.instrument_id, None) for s in fresh
                                        for token in (s.yes_token_id, s.no_token_id) if token])
        await fold_into_book(conn, fresh, recompute=set())


def _groups(events: Sequence[Event]) -> list[tuple[set[Instrument], list[Event]]]:
    """Events grouped so that no two groups share an instrument (union of linked instruments)."""
    parent: dict[Instrument, Instrument] = {}

    def root(i: Instrument) -> Instrument:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for event in events:
        first, *rest = touched_instruments(event) or ((event.venue, event.instrument_id),)
        root(first)
        for other in rest:
            parent[root(other)] = root(first)
    members: dict[Instrument, set[Instrument]] = defaultdict(set)
    grouped: dict[Instrument, list[Event]] = defaultdict(list)
    for instrument in list(parent):
        members[root(instrument)].add(instrument)
    for event in events:
        first = (touched_instruments(event) or ((event.venue, event.instrument_id),))[0]
        grouped[root(first)].append(event)
    return [(members[r], sorted(grouped[r], key=sort_key)) for r in grouped]


async def fold_into_book(conn: asyncpg.Connection, events: Sequence[Event], *, recompute: set[Instrument]) -> None:
    """Apply newly journaled events to the positions (inside the caller's transaction)."""
    groups = _groups(events)
    instruments = {i for members, _ in groups for i in members}
    applied = await cursors(conn, instruments)
    forward: list[tuple[set[Instrument], list[Event]]] = []
    for members, group_events in groups:
        first = sort_key(group_events[0])
        if members & recompute or any(i in applied and first <= applied[i] for i in members):
            recompute |= members
        else:
            forward.append((members, group_events))
    held: dict[Instrument, list[Position]] = defaultdict(list)
    for position in await open_positions(conn, {i for members, _ in forward for i in members}):
        held[(position.venue, position.instrument_id)].append(position)
    changed: list[Position] = []
    moved: dict[Instrument, SortKey] = {}
    for members, group_events in forward:
        book = Book(p for i in members for p in held[i])
        for event in group_events:
            book.apply(event)
            for instrument in touched_instruments(event):
                moved[instrument] = sort_key(event)
        changed += book.lifecycles
    await write_positions(conn, changed)
    await write_cursors(conn, moved)
    if recompute:
        await recompute_instruments(conn, recompute)
