"""A big account (thousands of holdings per venue) through the gateway: titles read in batches,
the holdings answer whole over the bus though it is several NATS messages long, and the snapshot
fact stored in parts that each fit JetStream."""

from __future__ import annotations

import uuid

import pytest

from services.exchange_gateway.adapters.venues import build_venue_clients
from services.exchange_gateway.handlers.queries import VenueQueries
from services.venue_sim.scenarios.bulk import kalshi_ticker, load_bulk_account, quantity
from shared.bus import Bus
from shared.contracts import ExternalPositionsSnapshot, PositionsRequest
from shared.contracts.channels import EVENTS_STREAM, GATEWAY_POSITIONS
from tests.exchange_gateway.gateway_env import gateway_settings
from tests.support import jetstream
from tests.support.venue_sim import running_sim

HOLDINGS = 2500  # per venue: both venues' holdings with their raw rows come to ~5 MB
MARKETS_LIST = "GET /trade-api/v2/markets"


@pytest.fixture
def namespace():
    return f"b{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def buses(nats_users, provision_bus, namespace):
    await provision_bus(namespace)
    gateway = Bus(nats_users["exchange-gateway"], namespace, "exchange-gateway")
    reconciler = Bus(nats_users["reconciler"], namespace, "reconciler")
    yield gateway, reconciler
    await reconciler.stop()
    await gateway.stop()


async def test_a_big_account_is_answered_whole_titled_and_stored_in_parts(buses, nats_users, namespace, tmp_path):
    gateway, reconciler = buses
    async with running_sim(scenario="empty", kalshi_tier="prime") as sim:
        load_bulk_account(sim.sim, HOLDINGS)
        clients = build_venue_clients(gateway_settings(sim, tmp_path))
        queries = VenueQueries(clients, gateway, ttl_seconds=10)
        queries.register(gateway)
        await gateway.start()
        await reconciler.start()
        try:
            reply = await reconciler.request(GATEWAY_POSITIONS.subject(), PositionsRequest(force_refresh=True),
                                             timeout=60)
            await queries.facts.drain(timeout=30)
        finally:
            for client in clients.values():
                await client.aclose()
        title_reads = sum(n for route, n in sim.sim.kalshi_requests.items() if route.startswith(MARKETS_LIST))

    assert len(reply.model_dump_json()) > 3 * 1024 * 1024  # several NATS messages' worth
    kalshi, poly = (next(s for s in reply.snapshots if s.venue == v) for v in ("kalshi", "polymarket"))
    assert kalshi.complete and poly.complete
    assert {p.instrument_id: p.quantity for p in kalshi.positions} == {
        kalshi_ticker(i): quantity(i) for i in range(HOLDINGS)}
    assert len(poly.positions) == HOLDINGS and all(p.raw for p in poly.positions)
    # Every Kalshi holding titled, at 100 tickers per `GET /markets?tickers=` read.
    assert all(p.title == f"Benchmark market {int(p.instrument_id[-6:])}" for p in kalshi.positions)
    assert title_reads == HOLDINGS // 100

    # The snapshot facts: each venue's in parts that together are exactly what was answered.
    stored = [ExternalPositionsSnapshot.model_validate_json(m.data)
              for m in await jetstream.stored(nats_users["admin"], namespace, EVENTS_STREAM)
              if m.subject.startswith(f"{namespace}.evt.external_snapshots.")]
    for answered in (kalshi, poly):
        parts = sorted((s for s in stored if s.venue == answered.venue), key=lambda s: s.part)
        assert len(parts) > 1 and {(s.snapshot_id, s.parts) for s in parts} == {(answered.event_id, len(parts))}
        assert [s.part for s in parts] == list(range(len(parts)))
        assert [p.instrument_id for s in parts for p in s.positions] == [p.instrument_id for p in answered.positions]
