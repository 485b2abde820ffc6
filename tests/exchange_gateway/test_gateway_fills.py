"""Fill poller against the simulator over real HTTP, real NATS (JetStream) and real Postgres."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from decimal import Decimal

import pytest

from services.exchange_gateway.adapters.fill_store import FillStore
from services.exchange_gateway.adapters.venues import build_venue_clients
from services.exchange_gateway.handlers.feed_poller import FeedPoller, fills_feed
from shared.bus import Bus
from shared.contracts import Fill
from tests.exchange_gateway.feed_plumbing import quiet
from tests.exchange_gateway.gateway_env import gateway_settings
from tests.support.venue_sim import running_sim


def by_key(fills: list[Fill]) -> dict[tuple[str, str], set[str]]:
    """(fill id, status) -> the event ids it was published under: one each, or a fill was doubled."""
    ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in fills:
        ids[(e.fill_id, e.status)].add(e.event_id)
    return ids


def fill_poller(client, store: FillStore, bus: Bus, interval: float) -> FeedPoller:
    return FeedPoller(client.venue, fills_feed(client), store, bus, interval)


class CrashAfterPublish(FillStore):
    """Dies between publishing a page and recording it: the worst moment for a restart."""

    def __init__(self, pool, crash_on_call: int) -> None:
        super().__init__(pool)
        self.calls = 0
        self.crash_on_call = crash_on_call

    async def record(self, fills, checkpoint):
        self.calls += 1
        if self.calls == self.crash_on_call:
            raise RuntimeError("process killed")
        await super().record(fills, checkpoint)


async def test_kalshi_backfill_survives_a_restart_without_loss_or_duplicates(plumbing, tmp_path, monkeypatch):
    pool, bus, seen = plumbing.pool, plumbing.bus, plumbing.seen
    monkeypatch.setattr("services.exchange_gateway.handlers.feed_poller.PAGE_LIMIT", 50)
    async with running_sim(scenario="demo") as sim:
        clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
        expected = {f.fill_id for f in sim.sim.kalshi.fills}
        assert len(expected) > 150  # several pages at limit 50
        try:
            first = fill_poller(clients["kalshi"], CrashAfterPublish(pool, crash_on_call=3), bus, 0.1)
            with pytest.raises(RuntimeError, match="killed"):
                await first.poll_once()
            # A new process: same database, fresh objects.
            second = fill_poller(clients["kalshi"], FillStore(pool), bus, 0.1)
            await second.poll_once()
            await quiet(seen.fills, len(expected))
        finally:
            for client in clients.values():
                await client.aclose()

    published = by_key(seen.fills)
    assert {fill_id for fill_id, _ in published} == expected
    assert all(len(ids) == 1 for ids in published.values()), "a fill got two different event ids"
    assert len(seen.fills) == len(expected), "a fill was delivered twice"
    sim_fill = next(f for f in sim.sim.kalshi.fills)
    event = next(e for e in seen.fills if e.fill_id == sim_fill.fill_id)
    assert event.quantity == sim_fill.count and event.fee == sim_fill.fee
    assert event.price == (sim_fill.yes_price if event.outcome == "yes" else Decimal(1) - sim_fill.yes_price)


async def test_external_kalshi_trade_appears_within_one_poll_interval(plumbing, tmp_path):
    pool, bus, seen = plumbing.pool, plumbing.bus, plumbing.seen
    async with running_sim(scenario="demo") as sim:
        clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("kalshi",)))
        poller = fill_poller(clients["kalshi"], FillStore(pool), bus, 0.5)
        try:
            await poller.poll_once()  # backfill
            await quiet(seen.fills, len(sim.sim.kalshi.fills))
            before = len(seen.fills)
            ticker = next(iter(sim.sim.kalshi.markets))
            manual = sim.sim.kalshi.external_trade(ticker, "bid", Decimal("3"), Decimal("0.41"))
            task = asyncio.create_task(poller.run_forever())
            await quiet(seen.fills, before + 1, timeout=poller.interval + 3)
            task.cancel()
        finally:
            for client in clients.values():
                await client.aclose()
    new = [e for e in seen.fills[before:]]
    assert [e.fill_id for e in new] == [manual.fill_id]
    assert new[0].quantity == Decimal("3") and new[0].instrument_id == ticker


async def test_polymarket_trade_that_fails_is_published_with_each_status(plumbing, tmp_path):
    pool, bus, seen = plumbing.pool, plumbing.bus, plumbing.seen
    async with running_sim(scenario="demo", manual_clock=True) as sim:
        clients = build_venue_clients(gateway_settings(sim, tmp_path, venues=("polymarket",)))
        poller = fill_poller(clients["polymarket"], FillStore(pool), bus, 0.1)
        try:
            exchange = sim.sim.polymarket
            clock = sim.sim.clock
            clock.advance(3_600_000)  # every demo trade has settled
            await poller.poll_once()
            history = {t.id for t in exchange.trades}
            await quiet(seen.fills, 1)
            token = next(t.token_id for m in exchange.markets.values() for t in m.tokens)
            doomed = exchange.record_external_trade(token, "BUY", Decimal("5"), Decimal("0.25"), will_fail=True)
            await poller.poll_once()
            clock.advance(exchange.config.confirmed_after_ms + 1)
            await poller.poll_once()
            await quiet(seen.fills, len(seen.fills) + 1)
        finally:
            for client in clients.values():
                await client.aclose()
    statuses = [e.status for e in seen.fills if e.fill_id == doomed.id]
    assert statuses[0] == "matched" and statuses[-1] == "failed"
    assert {e.fill_id for e in seen.fills} >= history
    assert all(len(ids) == 1 for ids in by_key(seen.fills).values())
