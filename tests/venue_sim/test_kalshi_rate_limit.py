"""Per-key token buckets: a burst past the tier is refused with Kalshi's 429, then refills."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.venue_sim import running_sim


async def test_basic_tier_burst_gets_429_and_the_bucket_refills(signer) -> None:
    async with running_sim(kalshi_tier="basic") as h, httpx.AsyncClient(base_url=h.kalshi_url, timeout=10) as http:
        kalshi = signer(http, h.credentials.kalshi_key_id, h.credentials.kalshi_private_key_pem)
        burst = await asyncio.gather(*(kalshi.get("/portfolio/balance") for _ in range(25)))
        codes = [r.status_code for r in burst]
        refused = [r for r in burst if r.status_code == 429]
        # 20 reads/s at 10 tokens per call: a 200-token bucket. A few tokens may refill mid-burst.
        assert 20 <= codes.count(200) <= 22 and len(refused) == 25 - codes.count(200)
        for r in refused:
            assert r.json() == {"error": "too many requests"}
            assert "retry-after" not in r.headers

        # Writes have their own, smaller bucket (10/s), unaffected by the exhausted reads.
        writes = await asyncio.gather(*(kalshi.delete(f"/portfolio/events/orders/none-{i}") for i in range(12)))
        assert [w.status_code for w in writes].count(404) >= 10
        assert 429 in [w.status_code for w in writes]

        await asyncio.sleep(1.0)
        again = await asyncio.gather(*(kalshi.get("/portfolio/balance") for _ in range(15)))
        assert all(r.status_code == 200 for r in again)
        limits = (await kalshi.get("/account/limits")).json()
        assert limits["usage_tier"] == "basic"
        assert limits["read"] == {"refill_rate": 200, "bucket_capacity": 200}
        assert limits["write"] == {"refill_rate": 100, "bucket_capacity": 100}
