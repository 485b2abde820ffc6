"""The ledger process end to end: fills and settlements published on the bus by the gateway's user
become journal rows and positions exactly equal to the reference fold, whatever the duplication,
order, provisional statuses, poison messages or a SIGKILL in the middle of a batch."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from services.ledger.domain.fold import fold_history
from shared.contracts import Fill, Mark, SettlementRecorded, deterministic_id
from shared.contracts.channels import ADMIN, DEAD_LETTER_STREAM, FILLS, MARKS, SETTLEMENTS
from shared.contracts.client_order_ids import client_order_id
from tests.ledger.harness import (
    book_and_reference,
    differences,
    eventually,
    gateway_bus,
    projection,
    running_ledger,
    same_positions,
)
from tests.support.jetstream import stored

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def fill(fill_id: str, side: str, qty: str, price: str, *, venue: str = "kalshi", inst: str = "KX-A",
         outcome: str = "yes", fee: str = "0", status: str = "confirmed", t: float = 0, coid: str | None = None) -> Fill:
    return Fill(
        event_id=deterministic_id(venue, "fill", fill_id, status), venue=venue, account="acct", fill_id=fill_id,
        client_order_id=coid, instrument_id=inst, outcome=outcome, side=side, quantity=D(qty), price=D(price),
        fee=D(fee), status=status, executed_at=T0 + timedelta(seconds=t), raw={"trade_id": fill_id},
    )


async def publish_all(bus, events) -> None:
    for event in events:
        channel = FILLS if isinstance(event, Fill) else SETTLEMENTS
        await bus.publish(channel.subject(venue=event.venue), event)


async def test_published_fills_become_the_reference_book(nats_users, database_factory):
    own = client_order_id("arb", "plan-1/leg-1")
    fills = [
        fill("k1", "buy", "10", "0.40", fee="0.07", t=1, coid=own),
        fill("k2", "buy", "30", "0.60", t=2),
        fill("k3", "sell", "45", "0.70", fee="0.02", t=3),
        fill("k4", "buy", "5", "0.55", inst="KX-B", t=4),
        # Polymarket: matched, then confirmed (same trade); another trade that FAILED on chain.
        fill("p1", "buy", "100", "0.25", venue="polymarket", inst="TOK-Y", status="matched", t=5),
        fill("p1", "buy", "100", "0.25", venue="polymarket", inst="TOK-Y", status="confirmed", t=5),
        fill("p2", "buy", "50", "0.30", venue="polymarket", inst="TOK-Y", status="matched", t=6),
        fill("p3", "buy", "20", "0.70", venue="polymarket", inst="TOK-N", outcome="no", t=7),
    ]
    failed = fill("p2", "buy", "50", "0.30", venue="polymarket", inst="TOK-Y", status="failed", t=6)
    settled = SettlementRecorded(
        event_id=deterministic_id("polymarket", "settlement", "acct", "COND-1"), venue="polymarket", account="acct",
        instrument_id="COND-1", yes_token_id="TOK-Y", no_token_id="TOK-N", result="yes", value=D(1),
        yes_count=D(100), no_count=D(20), yes_cost=D(25), no_cost=D(14), revenue=D(100), fees=D(0),
        settled_at=T0 + timedelta(seconds=20),
    )
    late = fill("k0", "buy", "2", "0.35", t=0.5)  # executed before everything else, delivered last
    expected = projection(fold_history([*fills, failed, settled, late]))
    async with running_ledger(nats_users, database_factory) as ledger, gateway_bus(nats_users, ledger.namespace) as bus:
        shuffled = fills[:]
        random.Random(7).shuffle(shuffled)
        await publish_all(bus, shuffled + fills[:3])  # and some redelivered copies
        await bus.jetstream.publish(f"{ledger.namespace}.evt.fills.kalshi", b'{"venue": "kalshi", "price": 0.5}')
        await publish_all(bus, [failed, settled, late])
        await bus.publish(MARKS.subject(venue="kalshi"), Mark(venue="kalshi", instrument_id="KX-B", mid=D("0.61"),
                                                              as_of=T0))
        conn = await ledger.connect()
        try:
            async def caught_up() -> bool:
                book, _ = await book_and_reference(conn)
                return same_positions(book, expected)

            await eventually(caught_up, what="the book to equal the reference fold")
            book, reference = await book_and_reference(conn)
            assert same_positions(book, reference)  # and a recomputation from the journal agrees
            assert await conn.fetchval("SELECT count(*) FROM journal_fills") == 8  # distinct (venue, fill id)
            assert await conn.fetchval("SELECT count(*) FROM journal_reversals") == 1
            origin = await conn.fetchrow("SELECT origin, strategy_name FROM journal_fills WHERE fill_id = 'k1'")
            assert (origin["origin"], origin["strategy_name"]) == ("own", "arb")
            # What the trader sees: YES 42 sold 45, so NO 3 at 1 - 0.70 remain...
            rows = {(r["instrument_id"], r["outcome"], r["status"]): r for r in await conn.fetch(
                "SELECT * FROM positions_valued")}
            no_side = rows[("KX-A", "no", "open")]
            assert (no_side["quantity"], no_side["avg_price"]) == (D(3), D("0.30"))
            await eventually(lambda: _has_mark(conn, "KX-B"), what="the mark")
            kx_b = await conn.fetchrow("SELECT * FROM positions_valued WHERE instrument_id = 'KX-B'")
            assert kx_b["unrealized_pnl"] == (D("0.61") - D("0.55")) * 5
            # ...KX-B valued at its mark, the FAILED Polymarket trade reversed, and the settlement closing both tokens with payout.
            yes_token = rows[("TOK-Y", "yes", "closed")]
            assert yes_token["quantity"] == 0 and yes_token["realized_pnl"] == 100 - D(25)
            assert rows[("TOK-N", "no", "closed")]["realized_pnl"] == -D(14)
            letters = await stored(nats_users[ADMIN], ledger.namespace, DEAD_LETTER_STREAM)
            assert len(letters) == 1 and b"ledger-fills" in letters[0].data
        finally:
            await conn.close()


async def _has_mark(conn, instrument: str) -> bool:
    return await conn.fetchval("SELECT mark_price IS NOT NULL FROM positions_valued WHERE instrument_id = $1",
                               instrument) is True


async def test_a_fill_the_ledger_cannot_book_is_dead_lettered_and_the_batch_commits(nats_users, database_factory):
    good = [fill(f"g{i}", "buy", "1", "0.50", inst=f"KX-{i % 3}", t=i) for i in range(20)]
    poison = fill("zero", "buy", "0", "0.50", inst="KX-0", t=5)  # valid on the wire, a fill of nothing
    extra = dict(BUS_MAX_DELIVER="2", BUS_REDELIVERY_BACKOFF_SECONDS="0.2", INGEST_BATCH_MAX_WAIT_SECONDS="0.5")
    async with running_ledger(nats_users, database_factory, **extra) as ledger, \
            gateway_bus(nats_users, ledger.namespace) as bus:
        await publish_all(bus, good[:10] + [poison] + good[10:])
        conn = await ledger.connect()
        try:
            async def dead_lettered() -> bool:
                return len(await stored(nats_users[ADMIN], ledger.namespace, DEAD_LETTER_STREAM)) == 1

            await eventually(dead_lettered, what="the poison fill in the dead-letter stream")
            assert await conn.fetchval("SELECT count(*) FROM journal_fills") == 20
            book, _ = await book_and_reference(conn)
            diffs = differences(book, projection(fold_history(good)))
            assert not diffs, "\n".join(diffs)
        finally:
            await conn.close()


async def test_sigkill_mid_batch_loses_and_doubles_nothing(nats_users, database_factory):
    rng = random.Random(11)
    distinct = []
    for i in range(12_000):
        venue = "kalshi" if i % 2 else "polymarket"
        distinct.append(fill(f"f{i}", rng.choice(["buy", "buy", "sell"]), str(rng.randint(1, 50)),
                             f"0.{rng.randint(1, 99):02d}", venue=venue, inst=f"{venue[:2]}-{rng.randrange(200)}",
                             fee=f"0.0{rng.randint(0, 9)}", t=i / 10))
    published = distinct + rng.sample(distinct, 1_200)  # 10% duplicates
    rng.shuffle(published)
    async with running_ledger(nats_users, database_factory, INGEST_BATCH_MAX_MESSAGES="200") as ledger, \
            gateway_bus(nats_users, ledger.namespace) as bus:
        conn = await ledger.connect()
        try:
            async def some_journaled() -> bool:
                return await conn.fetchval("SELECT count(*) FROM journal_fills") >= 2_000

            publisher = asyncio.create_task(_publish_pipelined(bus, published))
            await eventually(some_journaled, what="the ledger to be busy")
            ledger.kill()
            killed_at = await conn.fetchval("SELECT count(*) FROM journal_fills")
            assert killed_at < len(distinct), "the kill came too late to prove anything"
            await publisher
            ledger.start()

            async def all_journaled() -> bool:
                return await conn.fetchval("SELECT count(*) FROM journal_fills") == len(distinct)

            await eventually(all_journaled, timeout=120, what="every distinct fill journaled")
            expected = projection(fold_history(distinct))

            async def caught_up() -> bool:
                book, _ = await book_and_reference(conn)
                return same_positions(book, expected)

            await eventually(caught_up, what="positions equal to the fold of the distinct fills")
        finally:
            await conn.close()


async def _publish_pipelined(bus, events, window: int = 500) -> None:
    for start in range(0, len(events), window):
        await asyncio.gather(*(bus.publish(FILLS.subject(venue=e.venue), e) for e in events[start:start + window]))
