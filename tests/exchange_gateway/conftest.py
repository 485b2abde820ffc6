"""Shared fixtures for the exchange-gateway tests (both venues' adapters).

`sim` is one in-process simulator per module on the demo scenario; each test gets it reset to a
fresh demo state with no faults, on Kalshi's "prime" tier (tests that exercise rate limits set
the tier themselves). `admin` is an httpx client on the sim's `/_sim` admin API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.exchange_gateway.adapters.venues import build_venue_clients
from services.venue_sim.scenarios.demo import load_scenario
from tests.exchange_gateway.feed_plumbing import Plumbing, feed_plumbing
from tests.exchange_gateway.gateway_env import gateway_settings
from tests.support.venue_sim import RunningSim, running_sim, vectors

SEED = 7


@pytest.fixture(scope="module")
async def _module_sim() -> AsyncIterator[RunningSim]:
    async with running_sim(scenario="demo", seed=SEED, kalshi_tier="prime") as handle:
        yield handle


@pytest.fixture
async def sim(_module_sim: RunningSim) -> RunningSim:
    load_scenario(_module_sim.sim, "demo", SEED)
    _module_sim.sim.faults.clear()
    _module_sim.sim.kalshi_limiter.set_tier("prime")
    _module_sim.sim.kalshi_requests.clear()
    return _module_sim


@pytest.fixture
async def admin(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{sim.admin_url}/_sim", timeout=10) as http:
        yield http


@pytest.fixture(scope="session")
def signing_vectors() -> dict:
    """tests/data/vectors.json (the official SDKs' signing vectors)."""
    return vectors()


@pytest.fixture
async def plumbing(nats_users, provision_bus, database_url) -> AsyncIterator[Plumbing]:
    """A fresh gateway schema and bus namespace, and a consumer recording fills, settlements, alerts."""
    async for p in feed_plumbing(nats_users, provision_bus, database_url):
        yield p


@pytest.fixture
async def clients(sim: RunningSim, tmp_path):
    """Both venues' gateway clients, configured against `sim`."""
    built = build_venue_clients(gateway_settings(sim, tmp_path))
    yield built
    for client in built.values():
        await client.aclose()
