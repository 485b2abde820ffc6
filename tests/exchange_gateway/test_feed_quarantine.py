"""A malformed venue row, injected through the simulator's admin API, is quarantined with one
alert while every other fill keeps flowing (real sim, real NATS, real Postgres)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import httpx

from services.exchange_gateway.adapters.fill_store import FillStore
from services.exchange_gateway.handlers.feed_poller import FeedPoller, fills_feed
from shared.contracts import utcnow
from tests.exchange_gateway.feed_plumbing import Plumbing, quiet
from tests.support.venue_sim import RunningSim


def fill_poller(client, plumbing: Plumbing) -> FeedPoller:
    """A fresh poller, as after a restart: same database, new objects."""
    return FeedPoller(client.venue, fills_feed(client), FillStore(plumbing.pool), plumbing.bus, 0.1)


async def quarantined(plumbing: Plumbing, venue: str) -> list:
    return await plumbing.pool.fetch(
        "SELECT row_key, raw, error, alert_id FROM quarantined_rows WHERE venue = $1 AND feed = 'fills'", venue)


async def test_kalshi_malformed_fill_is_quarantined_once_and_the_page_goes_on(
        sim: RunningSim, admin: httpx.AsyncClient, clients, plumbing: Plumbing) -> None:
    x = sim.sim.kalshi
    real = {f.fill_id for f in x.fills}
    # Injected before the first poll, so it sits in the middle of the backfill's pages.
    injected = (await admin.post("/kalshi/fills/malformed", json={})).json()["fill_id"]
    kalshi = clients["kalshi"]
    first = fill_poller(kalshi, plumbing)
    await first.poll_once()
    await quiet(plumbing.seen.fills, len(real))
    assert {f.fill_id for f in plumbing.seen.fills} == real  # every real fill, on the same pages as the bad one

    later = x.external_trade("KXSB-27-KC", "ask", Decimal("4"), Decimal("0.37"))
    again = fill_poller(kalshi, plumbing)  # a restart, reading the bad row again in its overlap
    await again.poll_once()
    await again.poll_once()
    await quiet(plumbing.seen.alerts, 1)
    await quiet(plumbing.seen.fills, len(real) + 1)

    assert [f.fill_id for f in plumbing.seen.fills if f.fill_id not in real] == [later.fill_id]
    [row] = await quarantined(plumbing, "kalshi")
    raw = json.loads(row["raw"])
    assert row["row_key"] == injected and raw["count_fp"] == "not-a-number" and raw["fill_id"] == injected
    assert "count_fp" in row["error"]
    [alert] = plumbing.seen.alerts
    assert (alert.severity, alert.code, alert.event_id) == ("critical", "feed.row_quarantined", row["alert_id"])
    assert alert.details["row_key"] == injected and alert.details["venue"] == "kalshi"
    assert first.health.quarantined == again.health.quarantined == 1
    assert "quarantined 1" in again.health.report(utcnow(), timedelta(seconds=60))


async def test_polymarket_malformed_trade_is_quarantined_once_without_its_api_key(
        sim: RunningSim, admin: httpx.AsyncClient, clients, plumbing: Plumbing) -> None:
    ex = sim.sim.polymarket
    polymarket = clients["polymarket"]
    poller = fill_poller(polymarket, plumbing)
    await poller.poll_once()  # backfill
    await quiet(plumbing.seen.fills, 1)
    before = len(plumbing.seen.fills)

    injected = (await admin.post("/polymarket/trades/malformed", json={})).json()["id"]
    token = next(t.token_id for m in ex.markets.values() if m.winner_index is None for t in m.tokens)
    later = ex.record_external_trade(token, "BUY", Decimal("5"), Decimal("0.25"), will_fail=False)
    await poller.poll_once()
    await fill_poller(polymarket, plumbing).poll_once()  # a restart sees the bad row again
    await quiet(plumbing.seen.alerts, 1)
    await quiet(plumbing.seen.fills, before + 1)

    assert later.id in {f.fill_id for f in plumbing.seen.fills[before:]}
    [row] = await quarantined(plumbing, "polymarket")
    raw = json.loads(row["raw"])
    assert row["row_key"] == injected and raw["size"] == "not-a-number" and "size" in row["error"]
    assert "owner" not in json.dumps(raw)  # the API key never reaches storage
    [alert] = plumbing.seen.alerts
    assert alert.event_id == row["alert_id"] and alert.details["venue"] == "polymarket"
    assert sim.credentials.polymarket_api_key not in alert.model_dump_json()
    assert poller.health.quarantined == 1
