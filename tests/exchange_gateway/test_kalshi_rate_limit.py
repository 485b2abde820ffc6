"""A 429 storm on the basic tier: many concurrent reads through one budget stay under the venue's
limit (counted at the simulator) and all complete; without the budget the venue refuses some and
the read retries still complete them."""

from __future__ import annotations

import asyncio
import time

import httpx

from services.exchange_gateway.adapters.http import RetryPolicy
from services.exchange_gateway.adapters.kalshi_client import KalshiClient
from services.exchange_gateway.adapters.kalshi_signing import KalshiSigner
from services.exchange_gateway.domain.rate_budget import RateBudget, TokenBucket, kalshi_budget
from tests.support.venue_sim import RunningSim

READS = 45
ROUTE = "GET /trade-api/v2/portfolio/balance"


def _client(sim: RunningSim, budget: RateBudget) -> KalshiClient:
    signer = KalshiSigner.from_pem(sim.credentials.kalshi_key_id, sim.credentials.kalshi_private_key_pem)
    return KalshiClient(base_url=sim.kalshi_base_url, signer=signer, budget=budget,
                        retry=RetryPolicy(attempts=8, base_s=0.05, cap_s=0.5))


async def _sent(admin: httpx.AsyncClient) -> int:
    return (await admin.get("/kalshi/requests")).json()["by_route"].get(ROUTE, 0)


async def test_storm_within_budget_never_draws_a_429(sim: RunningSim, admin: httpx.AsyncClient) -> None:
    await admin.post("/kalshi/tier", json={"tier": "basic"})
    client = _client(sim, kalshi_budget("basic"))
    started = time.monotonic()
    try:
        results = await asyncio.gather(*(client.fetch_balance() for _ in range(READS)))
    finally:
        await client.aclose()
    elapsed = time.monotonic() - started
    assert len(results) == READS and all(r.cash == sim.sim.kalshi.balance for r in results)
    # Exactly one request per read reached the venue: not one was refused with 429 and retried.
    assert await _sent(admin) == READS
    # And the arrival rate at the venue stayed inside basic's 20 reads/s (+ its 20-request burst).
    assert READS <= 20 + 20 * elapsed


async def test_storm_without_a_budget_is_refused_but_reads_retry_to_completion(sim: RunningSim, admin: httpx.AsyncClient) -> None:
    await admin.post("/kalshi/tier", json={"tier": "basic"})
    unlimited = RateBudget({"read": (TokenBucket(10_000, 10_000),), "write": (TokenBucket(10_000, 10_000),)})
    client = _client(sim, unlimited)
    try:
        results = await asyncio.gather(*(client.fetch_balance() for _ in range(READS)))
    finally:
        await client.aclose()
    assert len(results) == READS
    assert await _sent(admin) > READS, "the venue refused part of the burst (429) and those reads were retried"
    # Kalshi sends no Retry-After: each refusal still held the key's read budget for its backoff.
    assert unlimited.stats["read"].held >= 1


async def test_clients_of_one_key_share_one_budget(sim: RunningSim) -> None:
    signer = KalshiSigner.from_pem(sim.credentials.kalshi_key_id, sim.credentials.kalshi_private_key_pem)
    a = KalshiClient(base_url=sim.kalshi_base_url, signer=signer)
    b = KalshiClient(base_url=sim.kalshi_base_url, signer=signer)
    try:
        assert a.http.budget is b.http.budget
    finally:
        await a.aclose()
        await b.aclose()
