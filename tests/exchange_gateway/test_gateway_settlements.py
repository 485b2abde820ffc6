"""Settlement pollers against the simulator over real HTTP, real NATS (JetStream) and real Postgres:
a market settled on the venue reaches the bus once, with the venue's numbers, across restarts."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from services.exchange_gateway.adapters.settlement_store import SettlementStore
from services.exchange_gateway.handlers.feed_poller import FeedPoller, settlements_feed
from shared.bus import Bus
from shared.contracts import deterministic_id
from tests.exchange_gateway.feed_plumbing import Plumbing, quiet
from tests.support.venue_sim import RunningSim

def poller(client, store: SettlementStore, bus: Bus) -> FeedPoller:
    return FeedPoller(client.venue, settlements_feed(client), store, bus, 0.1)


class CrashAfterPublish(SettlementStore):
    """Dies between publishing and recording: the worst moment for a restart."""

    async def record(self, settlements, checkpoint):
        if settlements:
            raise RuntimeError("process killed")
        await super().record(settlements, checkpoint)


async def test_kalshi_settlements_reach_the_bus_once_with_the_venues_numbers(
        sim: RunningSim, admin: httpx.AsyncClient, clients, plumbing: Plumbing, monkeypatch) -> None:
    monkeypatch.setattr("services.exchange_gateway.handlers.feed_poller.PAGE_LIMIT", 1)  # every page boundary
    x = sim.sim.kalshi
    history = {s.ticker for s in x.settlements}
    assert history, "the demo holds a settled market"
    kalshi = clients["kalshi"]
    await poller(kalshi, SettlementStore(plumbing.pool), plumbing.bus).poll_once()  # backfill
    await quiet(plumbing.seen.settlements, len(history))
    assert {s.instrument_id for s in plumbing.seen.settlements} == history

    # A YES holding that wins and a NO holding that loses, both settled "yes".
    before = {t: (x.positions[t].side, x.positions[t].held, x.positions[t].exposure)
              for t in ("KXHIGHNY-26DEC01-B45", "KXSB-27-KC")}
    assert [side for side, _, _ in before.values()] == ["yes", "no"]
    for ticker in before:
        response = await admin.post(f"/kalshi/markets/{ticker}/settle", json={"result": "yes"})
        assert response.status_code == 200, response.text

    # The first process dies after publishing, before recording; the next one must not publish again.
    with pytest.raises(RuntimeError, match="killed"):
        await poller(kalshi, CrashAfterPublish(plumbing.pool), plumbing.bus).poll_once()
    await poller(kalshi, SettlementStore(plumbing.pool), plumbing.bus).poll_once()
    restarted = poller(kalshi, SettlementStore(plumbing.pool), plumbing.bus)
    assert await restarted.poll_once() == 0
    await quiet(plumbing.seen.settlements, len(history) + 2)
    assert len(plumbing.seen.settlements) == len(history) + 2

    for ticker, (side, held, cost) in before.items():
        [settled] = [s for s in plumbing.seen.settlements if s.instrument_id == ticker]
        assert (settled.venue, settled.result, settled.value, settled.fees) == ("kalshi", "yes", Decimal(1), 0)
        if side == "yes":
            assert (settled.yes_count, settled.yes_cost, settled.no_count, settled.no_cost) == (held, cost, 0, 0)
            assert settled.revenue == held  # $1 per winning contract
        else:
            assert (settled.yes_count, settled.yes_cost, settled.no_count, settled.no_cost) == (0, 0, held, cost)
            assert settled.revenue == 0
        assert settled.event_id == deterministic_id("kalshi", "settlement", kalshi.account, ticker)
        assert int(settled.settled_at.timestamp()) == x.markets[ticker].settled_ms // 1000


async def test_polymarket_resolution_reaches_the_bus_once_paying_one_per_winning_share(
        sim: RunningSim, admin: httpx.AsyncClient, clients, plumbing: Plumbing) -> None:
    ex = sim.sim.polymarket
    holdings = ex.positions()

    def held_markets(resolved: bool) -> list:
        return [m for m in ex.markets.values() if (m.winner_index is not None) == resolved
                and any(holdings.get(t.token_id) and holdings[t.token_id].size > 0 for t in m.tokens)]

    already = {m.condition_id for m in held_markets(resolved=True)}
    polymarket = clients["polymarket"]
    await poller(polymarket, SettlementStore(plumbing.pool), plumbing.bus).poll_once()
    await quiet(plumbing.seen.settlements, len(already))
    assert {s.instrument_id for s in plumbing.seen.settlements} == already
    for settled in plumbing.seen.settlements:  # the demo's market that resolved before we looked
        market = ex.markets[settled.instrument_id]
        winner = holdings.get(market.tokens[market.winner_index].token_id)
        assert settled.result == ("yes" if market.winner_index == 0 else "no")
        assert settled.revenue == (winner.size if winner else 0)

    market = next(m for m in held_markets(resolved=False)
                  if holdings.get(m.tokens[0].token_id) and holdings[m.tokens[0].token_id].size > 0)
    yes, no = (holdings.get(t.token_id) for t in market.tokens)
    response = await admin.post(f"/polymarket/markets/{market.condition_id}/resolve",
                                json={"winner": market.tokens[0].outcome})
    assert response.status_code == 200, response.text

    await poller(polymarket, SettlementStore(plumbing.pool), plumbing.bus).poll_once()
    assert await poller(polymarket, SettlementStore(plumbing.pool), plumbing.bus).poll_once() == 0  # a restart
    await quiet(plumbing.seen.settlements, len(already) + 1)

    new = [s for s in plumbing.seen.settlements if s.instrument_id == market.condition_id]
    assert len(new) == 1 and len(plumbing.seen.settlements) == len(already) + 1
    [settled] = new
    no_size = no.size if no else Decimal(0)
    assert (settled.venue, settled.result, settled.value) == ("polymarket", "yes", Decimal(1))
    assert (settled.yes_token_id, settled.no_token_id) == (market.tokens[0].token_id, market.tokens[1].token_id)
    assert (settled.yes_count, settled.no_count) == (yes.size, no_size)
    assert settled.yes_cost == yes.initial_value
    assert settled.revenue == yes.size  # 1 per winning share, 0 per losing one
    assert settled.fees == 0 and settled.account == polymarket.account
