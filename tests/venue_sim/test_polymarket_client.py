"""The official polymarket-client 0.14.0, unchanged, against the simulator over real HTTP
(pointed at it by tests/conformance/polymarket_sdk_client.py)."""

from __future__ import annotations

from decimal import Decimal

from services.venue_sim.scenarios.polymarket_demo import load_polymarket_demo
from tests.conformance.polymarket_sdk_client import official_client
from tests.support.venue_sim import running_sim


async def test_official_client_reads_positions_orders_and_trades() -> None:
    async with running_sim() as h:
        ex = h.sim.polymarket
        if not ex.markets:
            load_polymarket_demo(ex, seed=1)
        async with await official_client(h) as client:
            positions = [p async for p in client.list_positions(page_size=2).iter_items()]
            held = {t: p for t, p in ex.positions().items() if p.size > 0}
            assert {p.asset_id for p in positions} == set(held)
            for p in positions:
                assert p.current_size == held[p.asset_id].size and p.avg_price == held[p.asset_id].avg_price

            open_orders = [o async for o in client.list_open_orders().iter_items()]
            assert {o.id for o in open_orders} == {o.id for o in ex.open_orders()}

            trades = [t async for t in client.list_account_trades().iter_items()]
            assert len(trades) == len(ex.trades) and len({t.id for t in trades}) == len(trades)
            assert {t.status for t in trades} <= {"MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"}

            value = await client.get_portfolio_value()
            assert value.value == sum((p.size * ex.current_price(t) for t, p in held.items()), Decimal(0))


async def test_official_client_places_fills_and_cancels_v2_orders() -> None:
    async with running_sim() as h:
        ex = h.sim.polymarket
        if not ex.markets:
            load_polymarket_demo(ex, seed=1)
        market = next(m for m in ex.markets.values() if m.winner_index is None and m.neg_risk)
        token = market.tokens[0].token_id
        best_ask = ex.best(token, "SELL")
        before = ex.position(token).size
        async with await official_client(h) as client:
            resting = await client.place_limit_order(token_id=token, price="0.05", size="10", side="BUY")
            assert resting.ok and resting.status == "live"
            fetched = await client.get_order(order_id=resting.order_id)
            assert fetched.status == "LIVE" and fetched.original_size == Decimal("10")

            taker = await client.place_limit_order(token_id=token, price=str(best_ask), size="5", side="BUY")
            assert taker.ok and taker.status == "matched" and len(taker.trade_ids) == 1
            assert taker.making_amount == best_ask * 5 and taker.taking_amount == Decimal("5")
            assert ex.position(token).size == before + 5

            canceled = await client.cancel_order(order_id=resting.order_id)
            assert canceled.canceled == (resting.order_id,)
            again = await client.cancel_order(order_id=resting.order_id)
            assert again.canceled == () and resting.order_id in again.not_canceled
            assert resting.order_id not in {o.id for o in ex.open_orders()}
