"""The gateway's answers: short snapshot cache, forced refresh, single flight, errors per venue."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from services.exchange_gateway.adapters.ledger_holdings import LedgerHoldings
from services.exchange_gateway.adapters.venues import build_venue_clients
from services.exchange_gateway.handlers.marks import SNAPSHOT_REUSE_ROUNDS, publish_marks_once, run_mark_publisher
from services.exchange_gateway.handlers.queries import VenueQueries
from shared.bus import Bus
from shared.contracts import BalancesRequest, ExternalPositionsSnapshot, FillsPageRequest, OrderLookupRequest, PositionsRequest
from shared.contracts.channels import EVENTS_STREAM, EXTERNAL_SNAPSHOTS
from tests.exchange_gateway.gateway_env import gateway_settings
from tests.support import jetstream
from tests.support.venue_sim import running_sim

POSITIONS = "GET /trade-api/v2/portfolio/positions"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def bus(nats_users, provision_bus):
    namespace = f"q{uuid.uuid4().hex[:10]}"
    await provision_bus(namespace)
    bus = Bus(nats_users["exchange-gateway"], namespace, "exchange-gateway")
    await bus.start()
    yield bus
    await bus.stop()


async def test_cache_serves_inside_ttl_and_refresh_forces_a_venue_call(bus, tmp_path):
    async with running_sim(scenario="demo") as sim:
        clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
        clock = FakeClock()
        queries = VenueQueries(clients, bus, ttl_seconds=10, clock=clock)
        try:
            first = await queries.positions(PositionsRequest(venues=("kalshi",)))
            calls = sim.sim.kalshi_requests[POSITIONS]
            assert calls >= 1 and first.snapshots[0].complete

            clock.now += 9
            again = await queries.positions(PositionsRequest(venues=("kalshi",)))
            assert sim.sim.kalshi_requests[POSITIONS] == calls  # served from cache
            assert again.snapshots[0].event_id == first.snapshots[0].event_id

            await queries.positions(PositionsRequest(venues=("kalshi",), force_refresh=True))
            assert sim.sim.kalshi_requests[POSITIONS] == 2 * calls

            clock.now += 11  # past the TTL
            await queries.positions(PositionsRequest(venues=("kalshi",)))
            assert sim.sim.kalshi_requests[POSITIONS] == 3 * calls

            # Ten concurrent refreshes cost two venue reads, not ten: the first starts one, the
            # other nine asked after it started, so they share the one that starts next.
            await asyncio.gather(*(queries.positions(PositionsRequest(venues=("kalshi",), force_refresh=True))
                                   for _ in range(10)))
            assert sim.sim.kalshi_requests[POSITIONS] == 5 * calls
        finally:
            for client in clients.values():
                await client.aclose()


async def test_unconfigured_venue_and_bad_requests_are_explicit_errors(bus, tmp_path):
    async with running_sim(scenario="demo") as sim:
        clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
        queries = VenueQueries(clients, bus, ttl_seconds=10)
        try:
            reply = await queries.positions(PositionsRequest())
            poly = next(s for s in reply.snapshots if s.venue == "polymarket")
            assert poly.status == "not_configured" and poly.complete is False

            page = await queries.fills_page(FillsPageRequest(venue="polymarket"))
            assert page.error is not None and page.error.code == "not_configured"

            lookup = await queries.order_lookup(OrderLookupRequest(venue="kalshi"))
            assert lookup.error is not None and lookup.error.code == "invalid_request"

            missing = await queries.order_lookup(OrderLookupRequest(venue="kalshi", order_id="no-such-order"))
            assert missing.error is not None and missing.error.code == "not_found"

            fills = await queries.fills_page(FillsPageRequest(venue="kalshi", limit=50))
            assert len(fills.fills) == 50 and fills.next_cursor
        finally:
            for client in clients.values():
                await client.aclose()


async def test_a_fills_page_with_an_unreadable_row_says_so_and_still_carries_the_rest(bus, sim, admin, tmp_path):
    injected = (await admin.post("/kalshi/fills/malformed", json={})).json()["fill_id"]
    clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
    queries = VenueQueries(clients, bus, ttl_seconds=10)
    try:
        page = await queries.fills_page(FillsPageRequest(venue="kalshi", limit=1000))
        assert {f.fill_id for f in page.fills} == {f.fill_id for f in sim.sim.kalshi.fills}
        assert page.error is not None and page.error.code == "unreadable_rows" and injected in page.error.message
    finally:
        for client in clients.values():
            await client.aclose()


async def test_a_slow_venue_gets_an_explicit_incomplete_answer_inside_the_deadline(bus, sim, tmp_path):
    # Every Kalshi call takes 1.5 s, so the paged holdings read (several calls) cannot finish in
    # 1 s: the asker must hear "not read in time" from the gateway, not time out on the bus.
    sim.sim.faults.set("kalshi", latency_ms=1500)
    clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
    queries = VenueQueries(clients, bus, ttl_seconds=10, answer_deadline_seconds=1)
    try:
        reply = await queries.positions(PositionsRequest(venues=("kalshi",)))
        (snapshot,) = reply.snapshots
        assert (snapshot.complete, snapshot.status, snapshot.positions) == (False, "error", ())
        assert "not read within 1 s" in (snapshot.error or "")

        balances = await queries.balances(BalancesRequest(venues=("kalshi",)))
        assert balances.balances == () and [e.code for e in balances.errors] == ["venue_timeout"]

        sim.sim.faults.clear()  # the venue recovers: the next answer is whole again
        recovered = await queries.positions(PositionsRequest(venues=("kalshi",)))
        assert recovered.snapshots[0].complete and recovered.snapshots[0].positions
    finally:
        for client in clients.values():
            await client.aclose()


# ---- one venue read per need: marks reuse snapshots, answers never wait for the bus ------------

MARKETS_PREFIX = "GET /trade-api/v2/markets"  # the batched `markets?tickers=` reads (titles and marks)


def venue_reads(sim, prefix: str) -> int:
    return sum(n for route, n in sim.sim.kalshi_requests.items() if route.startswith(prefix))


async def test_marks_rounds_within_a_snapshots_freshness_cost_no_positions_read(bus, sim, tmp_path):
    clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
    client = clients["kalshi"]
    clock = FakeClock()
    queries = VenueQueries(clients, bus, ttl_seconds=10, clock=clock)
    ledger = LedgerHoldings(bus, clock=clock)  # no ledger runs here: only the venue's holdings are marked
    interval = 30.0
    try:
        await queries.positions(PositionsRequest(venues=("kalshi",)))  # the UI read holdings
        reads = sim.sim.kalshi_requests[POSITIONS]
        assert reads >= 1
        held = {t for t, p in sim.sim.kalshi.positions.items() if p.signed != 0}

        books_before = venue_reads(sim, MARKETS_PREFIX)
        for _ in range(SNAPSHOT_REUSE_ROUNDS * 3 - 1):  # every round inside the snapshot's freshness
            clock.now += interval / 3
            assert await publish_marks_once(client, queries, ledger, bus, interval) == len(held)
        assert sim.sim.kalshi_requests[POSITIONS] == reads  # marks were read, positions were not
        assert venue_reads(sim, MARKETS_PREFIX) > books_before

        clock.now += interval  # now older than the reuse window: one read, then reused again
        await publish_marks_once(client, queries, ledger, bus, interval)
        await publish_marks_once(client, queries, ledger, bus, interval)
        assert sim.sim.kalshi_requests[POSITIONS] == 2 * reads
    finally:
        await queries.facts.drain()
        await client.aclose()


class GatedBus(Bus):
    """The real bus, with JetStream made slow on demand: publishes wait until the gate opens,
    and the first `failures` attempts fail as a timed-out publish would."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.failures = 0

    async def publish(self, subject, event) -> None:
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise TimeoutError("publish timed out")
        await super().publish(subject, event)


async def test_positions_are_answered_before_the_snapshot_fact_is_acked_and_the_fact_follows(
        nats_users, provision_bus, sim, tmp_path):
    namespace = f"q{uuid.uuid4().hex[:10]}"
    await provision_bus(namespace)
    bus = GatedBus(nats_users["exchange-gateway"], namespace, "exchange-gateway")
    await bus.start()
    clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
    queries = VenueQueries(clients, bus, ttl_seconds=10)
    try:
        # JetStream "hangs": the trader's answers come back anyway, each with its own snapshot.
        first = await asyncio.wait_for(queries.positions(PositionsRequest(venues=("kalshi",))), timeout=5)
        second = await asyncio.wait_for(
            queries.positions(PositionsRequest(venues=("kalshi",), force_refresh=True)), timeout=5)
        assert first.snapshots[0].complete and queries.facts.pending == 2

        bus.failures = 1  # and when it comes back, the first attempt still fails
        bus.gate.set()
        await asyncio.wait_for(queries.facts.drain(), timeout=10)
        assert queries.facts.pending == 0

        # Both facts were stored, in the order they were taken.
        subject = bus.address(EXTERNAL_SNAPSHOTS.subject(venue="kalshi"))
        events = await jetstream.stored(nats_users["admin"], namespace, EVENTS_STREAM)
        stored = [ExternalPositionsSnapshot.model_validate_json(m.data) for m in events if m.subject == subject]
        assert [s.event_id for s in stored] == [first.snapshots[0].event_id, second.snapshots[0].event_id]
    finally:
        for client in clients.values():
            await client.aclose()
        await bus.stop()


async def test_holdings_are_answered_with_titles_and_valued_at_the_latest_marks(bus, sim, tmp_path):
    clients = build_venue_clients(gateway_settings(sim, tmp_path))
    queries = VenueQueries(clients, bus, ttl_seconds=10)
    try:
        unvalued = await queries.positions(PositionsRequest(venues=("kalshi",)))
        assert all(p.valuation_source is None and p.market_value is None for p in unvalued.snapshots[0].positions)
        for client in clients.values():
            await publish_marks_once(client, queries, LedgerHoldings(bus), bus, 30.0)

        markets_read = venue_reads(sim, MARKETS_PREFIX)
        reply = await queries.positions(PositionsRequest(force_refresh=True))
        kalshi, poly = (next(s for s in reply.snapshots if s.venue == v) for v in ("kalshi", "polymarket"))
        # Titles were read once per ticker: a refresh reads positions, not markets again.
        assert venue_reads(sim, MARKETS_PREFIX) == markets_read

        assert kalshi.positions
        for p in kalshi.positions:
            market = sim.sim.kalshi.markets[p.instrument_id]
            assert p.title == market.title
            # The sim's own book: YES mid = (best YES bid + (1 - best NO bid)) / 2.
            yes_mid = (market.best("yes") + (1 - market.best("no"))) / 2
            price = yes_mid if p.outcome == "yes" else 1 - yes_mid
            assert (p.valuation_source, p.mark_price) == ("mark", price)
            assert p.market_value == p.quantity * price and p.unrealized_pnl == p.market_value - p.cost_basis

        assert poly.positions and all(p.title for p in poly.positions)
        for p in poly.positions:
            assert p.valuation_source in ("mark", "venue") and p.market_value is not None
            if p.valuation_source == "mark":
                assert p.market_value == p.quantity * p.mark_price
            assert p.unrealized_pnl == p.market_value - p.cost_basis
    finally:
        await queries.facts.drain()
        for client in clients.values():
            await client.aclose()


async def test_a_new_holding_is_marked_at_once_from_the_snapshot_that_revealed_it(bus, sim, tmp_path):
    clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
    queries = VenueQueries(clients, bus, ttl_seconds=10)
    # An hour between rounds: only a new holding can start one.
    publisher = asyncio.create_task(run_mark_publisher(clients["kalshi"], queries, LedgerHoldings(bus), bus,
                                                       interval=3600))
    try:
        async def valued(ticker: str | None = None, timeout: float = 10.0) -> dict:
            deadline = asyncio.get_running_loop().time() + timeout
            while True:
                reply = await queries.positions(PositionsRequest(venues=("kalshi",)))
                by_ticker = {p.instrument_id: p for p in reply.snapshots[0].positions}
                if by_ticker and all(p.valuation_source == "mark" for p in by_ticker.values()) and (
                        ticker is None or ticker in by_ticker):
                    return by_ticker
                assert asyncio.get_running_loop().time() < deadline, "holdings were not valued in time"
                await asyncio.sleep(0.1)

        before = await valued()
        reads = sim.sim.kalshi_requests[POSITIONS]
        new = next(t for t in sim.sim.kalshi.markets if t not in before and sim.sim.kalshi.markets[t].status == "active")
        sim.sim.kalshi.external_trade(new, "bid", Decimal("7"), Decimal("0.33"))

        await queries.positions(PositionsRequest(venues=("kalshi",), force_refresh=True))  # the trader's Refresh
        after = await valued(new)
        assert after[new].market_value == after[new].quantity * after[new].mark_price
        assert sim.sim.kalshi_requests[POSITIONS] == reads + 1  # only the Refresh read positions
        assert not queries.untried_holdings("kalshi").is_set()
    finally:
        publisher.cancel()
        await asyncio.gather(publisher, return_exceptions=True)
        await queries.facts.drain()
        for client in clients.values():
            await client.aclose()
