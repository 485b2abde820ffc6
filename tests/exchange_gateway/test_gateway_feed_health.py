"""The gateway and the API as real processes against the simulator: the demo's settled markets
reach the bus as `SettlementRecorded`, a malformed fill shows in the gateway's health as a
quarantined row while health stays ok, and a feed the venue keeps failing turns it degraded, then
ok again once the venue recovers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from shared.bus import Bus
from shared.contracts import SettlementRecorded
from shared.contracts.channels import SETTLEMENTS
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import start_stack, wait_for_gateway
from tests.support.venue_sim import running_sim

STALL_SECONDS = 3


async def gateway_health_until(client: httpx.AsyncClient, wanted: Callable[[dict], bool], timeout: float = 30.0) -> dict:
    """The gateway's entry of `GET /api/health` once `wanted` holds for it."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: dict = {}
    while asyncio.get_running_loop().time() < deadline:
        last = (await client.get("/api/health")).json()["services"]["exchange-gateway"]
        if wanted(last):
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"gateway health never got there; last: {last}")


async def settlements_on_the_bus(ledger_url: str, namespace: str, expected: int, timeout: float = 15.0) -> list:
    """Every `SettlementRecorded` in the stack's stream, read by a durable consumer as the ledger would."""
    seen: list[SettlementRecorded] = []

    async def record(event: SettlementRecorded) -> None:
        seen.append(event)

    listener = Bus(ledger_url, namespace, "ledger")
    listener.consume(SETTLEMENTS, record)
    await listener.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(seen) < expected and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a duplicate would arrive now
    finally:
        await listener.stop()
    return seen


async def test_settlements_published_and_health_counts_quarantine_and_degrades_when_stuck(
        nats_users, database_factory, tmp_path):
    async with running_sim(scenario="demo") as sim:
        env = gateway_env(sim, tmp_path) | {"FEED_STALL_SECONDS": str(STALL_SECONDS),
                                            "SETTLEMENT_POLL_INTERVAL_SECONDS": "0.5"}
        # Its own database: the gateway records what it published, and other stacks expect to publish it all.
        stack = start_stack(nats_users, database_factory("trueup_feeds"), env)
        try:
            async with stack.client(timeout=10) as api, \
                    httpx.AsyncClient(base_url=f"{sim.admin_url}/_sim", timeout=10) as admin:
                await wait_for_gateway(api)
                feeds = ("kalshi.fills", "kalshi.settlements", "polymarket.fills", "polymarket.settlements")
                healthy = await gateway_health_until(api, lambda h: all(
                    h["detail"].get(f, "").startswith("ok: last successful poll") for f in feeds))
                assert healthy["status"] == "ok"
                demo_settled = ({("kalshi", s.ticker) for s in sim.sim.kalshi.settlements}
                                | {("polymarket", m.condition_id) for m in sim.sim.polymarket.markets.values()
                                   if m.winner_index is not None})
                assert {v for v, _ in demo_settled} == {"kalshi", "polymarket"}  # the demo settles on each venue
                settled = await settlements_on_the_bus(nats_users["ledger"], stack.namespace, expected=len(demo_settled))
                assert sorted((s.venue, s.instrument_id) for s in settled) == sorted(demo_settled)  # once each

                assert (await admin.post("/kalshi/fills/malformed", json={})).status_code == 201
                counted = await gateway_health_until(api, lambda h: "quarantined 1" in h["detail"]["kalshi.fills"])
                assert counted["status"] == "ok"  # one bad row is set aside; the feed is not stuck
                assert "quarantined 0" in counted["detail"]["polymarket.fills"]

                assert (await admin.post("/faults", json={"venue": "kalshi", "malformed_json": True})).status_code < 300
                stuck = await gateway_health_until(api, lambda h: h["detail"]["kalshi.fills"].startswith("stalled"))
                assert stuck["status"] == "degraded"
                assert stuck["detail"]["kalshi.fills"].startswith("stalled: no successful poll for ")
                assert f"(threshold {STALL_SECONDS:.1f}s)" in stuck["detail"]["kalshi.fills"]
                assert "malformed JSON" in stuck["detail"]["kalshi.fills"] and "quarantined 1" in stuck["detail"]["kalshi.fills"]
                assert stuck["detail"]["polymarket.fills"].startswith("ok:")

                assert (await admin.delete("/faults")).status_code < 300
                recovered = await gateway_health_until(api, lambda h: h["status"] == "ok")
                assert recovered["detail"]["kalshi.fills"].startswith("ok: last successful poll")
        finally:
            sim.sim.faults.clear()
            output = stack.stop()
    assert output["exchange-gateway"].count("venue row quarantined") == 1
