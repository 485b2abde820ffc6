"""The gateway's answers: short snapshot cache, forced refresh, single flight, errors per venue."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.exchange_gateway.adapters.venues import build_venue_clients
from services.exchange_gateway.handlers.queries import VenueQueries
from services.venue_sim.testing import running_sim
from shared.bus import Bus
from shared.contracts import FillsPageRequest, OrderLookupRequest, PositionsRequest
from tests.exchange_gateway.gateway_env import gateway_settings

POSITIONS = "GET /trade-api/v2/portfolio/positions"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def bus(nats_url):
    bus = Bus(nats_url, f"q{uuid.uuid4().hex[:10]}", "exchange-gateway")
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
