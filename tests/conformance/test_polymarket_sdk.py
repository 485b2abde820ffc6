"""Conformance: the official polymarket-client 0.14.0, unchanged, against venue-sim, call by call.

Every client call the sim serves must parse into the client's own models (a shape the client
does not accept raises inside it) and carry the values the sim holds, read here from the sim's
in-process state. The client only targets production hosts; its private hooks
(`_create_environment`, `dataclasses.replace` on the config) point it at the sim
(protocols/README.md). Calls the client makes only internally while signing an order
(tick size, neg risk, markets-by-token, clob-markets) are driven through the same internal
functions it uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from polymarket._internal.actions.orders import market_data
from polymarket._internal.actions.orders.place import _refresh_balance_allowance
from polymarket.models.clob import ApiKeyCreds
from polymarket.models.clob.order_response import AcceptedOrder, RejectedOrder

from services.venue_sim.domain.polymarket import Market, PolymarketExchange
from tests.conformance.polymarket_sdk_client import official_client
from tests.support.venue_sim import RunningSim, running_sim

UNITS = Decimal(1_000_000)  # USDC and shares both have 6 decimals on chain


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(scenario="demo", seed=7) as handle:
        yield handle


def _open_market(ex: PolymarketExchange) -> Market:
    return next(m for m in ex.markets.values() if m.winner_index is None and m.neg_risk)


def _seconds(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC)


async def test_credentials_derived_by_l1_signature_and_listed_by_l2(sim) -> None:
    c = sim.sim.polymarket.config
    async with await official_client(sim, derive=True) as client:
        assert client.credentials == ApiKeyCreds(key=c.api_key, secret=c.api_secret, passphrase=c.api_passphrase)
        assert await client.fetch_api_keys() == (c.api_key,)
        assert await client.get_closed_only_mode() is False


async def test_positions_every_page_with_the_sims_values(sim) -> None:
    ex = sim.sim.polymarket
    async with await official_client(sim) as client:
        got = [p async for p in client.list_positions(page_size=2).iter_items()]
        closed = [p async for p in client.list_positions(status="CLOSED", page_size=2).iter_items()]
    states = ex.positions()
    held = {t for t, s in states.items() if s.size > 0}
    assert len(got) == len({p.asset_id for p in got}) == len(held) > 2  # several pages, each row once
    assert {p.asset_id for p in got} == held
    assert {p.asset_id for p in closed} == {t for t, s in states.items() if s.size == 0}
    for p in got + closed:
        state, market = states[p.asset_id], ex.market_of(p.asset_id)
        token, other = market.token(p.asset_id), market.other(p.asset_id)
        resolved = market.winner_index is not None
        assert p.wallet.lower() == ex.config.address.lower() and p.condition_id == market.condition_id
        assert (p.current_size, p.avg_price, p.realized_pnl) == (state.size, state.avg_price, state.realized_pnl)
        assert p.total_size == state.total_bought
        assert p.current_price == ex.current_price(p.asset_id)
        assert p.current_value == state.size * ex.current_price(p.asset_id)
        assert p.entry_cost_usdc == state.size * state.avg_price
        assert p.unrealized_pnl == p.current_value - p.entry_cost_usdc
        assert p.status == ("CLOSED" if state.size == 0 else "REDEEMABLE" if resolved else "OPEN")
        assert p.redeemable is resolved and p.negative_risk is market.neg_risk
        assert (p.title, p.slug, p.outcome, p.outcome_index) == (market.question, market.slug, token.outcome,
                                                                  token.outcome_index)
        assert (p.opposite_outcome, p.opposite_asset_id) == (other.outcome, other.token_id)
        assert p.end_date is not None and p.end_date.isoformat() == market.end_date
    resolved_held = [p for p in got if p.status == "REDEEMABLE"]
    assert resolved_held and all(p.current_price in (0, 1) for p in resolved_held)


async def test_data_api_trades_every_page_and_portfolio_value(sim) -> None:
    ex = sim.sim.polymarket
    async with await official_client(sim) as client:
        got = [t async for t in client.list_trades(page_size=50).iter_items()]
        value = await client.get_portfolio_value()
    # The Data API indexes the chain: a trade shows once its settlement is mined.
    expected = {t.id: t for t in ex.trades if ex.trade_status(t) in ("MINED", "CONFIRMED")}
    assert len(got) == len(expected) > 100
    by_hash = {ex.transaction_hash(t): t for t in expected.values()}
    assert {t.transaction_hash for t in got} == set(by_hash)
    for row in got:
        trade = by_hash[row.transaction_hash]
        assert (row.asset_id, row.condition_id, row.side) == (trade.token_id, trade.market, trade.side)
        assert (row.size, row.price) == (trade.size, trade.price)
        assert row.timestamp == _seconds(trade.match_ms)
        assert row.wallet.lower() == ex.config.address.lower()
    assert [r.timestamp for r in got] == sorted((r.timestamp for r in got), reverse=True)
    assert value.value == sum((s.size * ex.current_price(t) for t, s in ex.positions().items()), Decimal(0))


async def test_account_trades_every_page_with_the_sims_values(sim) -> None:
    ex = sim.sim.polymarket
    async with await official_client(sim) as client:
        got = [t async for t in client.list_account_trades().iter_items()]
        since = ex.trades[len(ex.trades) // 2].match_ms // 1000
        recent = [t async for t in client.list_account_trades(after=str(since)).iter_items()]
    assert len(got) == len({t.id for t in got}) == len(ex.trades) > 200  # three CLOB pages
    trades = {t.id: t for t in ex.trades}
    for row in got:
        trade = trades[row.id]
        assert (row.asset_id, row.condition_id, row.side, row.trader_side) == (
            trade.token_id, trade.market, trade.side, trade.trader_side)
        assert (row.size, row.price, row.fee_rate_bps) == (trade.size, trade.price, 0)
        assert row.status == ex.trade_status(trade)
        assert row.transaction_hash == (ex.transaction_hash(trade) or None)
        assert row.matched_at == _seconds(trade.match_ms)
        assert row.outcome == ex.market_of(trade.token_id).token(trade.token_id).outcome
        assert len(row.maker_orders) == 1 and row.maker_orders[0].matched_amount == trade.size
    assert {t.id for t in recent} == {t.id for t in ex.trades if t.match_ms // 1000 > since}


async def test_open_orders_every_page_and_order_by_id(sim) -> None:
    ex = sim.sim.polymarket
    market = _open_market(ex)
    token = market.tokens[0].token_id
    async with await official_client(sim) as client:
        # 105 more resting bids (15 per batch, the venue's maximum) make open orders span two pages.
        for batch in range(7):
            signed = [await client.create_limit_order(token_id=token, price="0.01", size=str(5 + batch * 15 + i),
                                                      side="BUY")
                      for i in range(15)]
            responses = await client.post_orders(signed)
            assert all(isinstance(r, AcceptedOrder) and r.status == "live" for r in responses)
        got = [o async for o in client.list_open_orders().iter_items()]
        one = await client.get_order(order_id=got[-1].id)
    open_orders = {o.id: o for o in ex.open_orders()}
    assert len(got) == len({o.id for o in got}) == len(open_orders) > 100
    for row in got + [one]:
        order = open_orders[row.id]
        assert (row.asset_id, row.condition_id, row.side, row.status) == (
            order.intent.token_id, order.market, order.intent.side, "LIVE")
        assert (row.price, row.original_size, row.size_matched) == (order.price, order.original_size,
                                                                    order.size_matched)
        assert row.owner == ex.config.api_key and row.maker_address.lower() == ex.config.address.lower()
        assert row.order_type == "GTC" and row.expires_at is None
        assert row.created_at == datetime.fromtimestamp(order.created_s, UTC)


async def test_market_data_books_prices_and_market_info(sim) -> None:
    ex = sim.sim.polymarket
    market = _open_market(ex)
    yes, no = (t.token_id for t in market.tokens)
    async with await official_client(sim) as client:
        book = await client.get_order_book(token_id=yes)
        books = await client.get_order_books(token_ids=[yes, no])
        mid = await client.get_midpoint(token_id=yes)
        bid = await client.get_price(token_id=yes, side="BUY")
        ask = await client.get_price(token_id=yes, side="SELL")
        ctx = client._ctx  # noqa: SLF001 - the calls the client makes while building an order
        tick = await market_data.fetch_tick_size(ctx, token_id=yes)
        neg_risk = await market_data.fetch_neg_risk(ctx, token_id=yes)
        condition_id = await market_data.resolve_condition_by_token(ctx, token_id=no)
        info = await market_data.fetch_market_info(ctx, condition_id=market.condition_id)
        fees = await market_data.fetch_platform_fee_info(ctx, condition_id=market.condition_id)
    view = ex.book_view(yes)
    # Bids ascending and asks descending: the best level of each side is last.
    assert [(lv.price, lv.size) for lv in book.bids] == [(lv.price, lv.size) for lv in reversed(view.bids)]
    assert [(lv.price, lv.size) for lv in book.asks] == [(lv.price, lv.size) for lv in reversed(view.asks)]
    assert (book.condition_id, book.asset_id, book.tick_size, book.min_order_size, book.neg_risk) == (
        market.condition_id, yes, market.tick_size, market.min_order_size, market.neg_risk)
    assert [b.asset_id for b in books] == [yes, no] and books[0].bids == book.bids
    assert (mid, bid, ask) == (ex.midpoint(yes), ex.best(yes, "BUY"), ex.best(yes, "SELL"))
    assert (tick, neg_risk, condition_id) == (market.tick_size, market.neg_risk, market.condition_id)
    assert info.token_ids == {yes, no} and (info.tick_size, info.neg_risk) == (market.tick_size, market.neg_risk)
    assert (fees.rate, fees.exponent) == (0, 0)


async def test_balance_and_allowance_in_base_units(sim) -> None:
    ex = sim.sim.polymarket
    token = next(t for t, s in ex.positions().items() if s.size > 0)
    async with await official_client(sim) as client:
        cash = await client.get_balance_allowance(asset_type="COLLATERAL")
        shares = await client.get_balance_allowance(asset_type="CONDITIONAL", token_id=token)
        # What the client does after approving a spender: /balance-allowance/update, then a re-read.
        sell = await client.create_limit_order(token_id=token, price="0.99", size="1", side="SELL")
        await _refresh_balance_allowance(client, sell)
    assert cash.balance == int(ex.collateral() * UNITS) and cash.allowances
    assert all(a > 0 for a in cash.allowances.values())
    assert shares.balance == int(ex.position(token).size * UNITS)


async def test_signed_v2_orders_create_fill_get_and_cancel(sim) -> None:
    ex = sim.sim.polymarket
    market = _open_market(ex)
    token = market.tokens[0].token_id
    best_ask = ex.best(token, "SELL")
    before = ex.position(token).size
    async with await official_client(sim) as client:
        signed = await client.create_limit_order(token_id=token, price="0.05", size="10", side="BUY")
        resting = await client.post_order(signed)
        assert isinstance(resting, AcceptedOrder) and resting.status == "live" and resting.trade_ids == ()
        assert resting.order_id in {o.id for o in ex.open_orders()}
        fetched = await client.get_order(order_id=resting.order_id)
        assert (fetched.status, fetched.price, fetched.original_size) == ("LIVE", Decimal("0.05"), Decimal("10"))

        taker = await client.place_limit_order(token_id=token, price=str(best_ask), size="5", side="BUY")
        assert isinstance(taker, AcceptedOrder) and taker.status == "matched"
        assert (taker.making_amount, taker.taking_amount) == (best_ask * 5, Decimal("5"))
        assert ex.position(token).size == before + 5
        filled = {t.id async for t in client.list_account_trades(id=taker.trade_ids[0]).iter_items()}
        assert filled == set(taker.trade_ids)

        crossing = await client.create_limit_order(token_id=token, price=str(ex.best(token, "SELL")), size="5",
                                                   side="BUY", post_only=True)
        extra = await client.create_limit_order(token_id=token, price="0.02", size="5", side="BUY")
        batch = await client.post_orders([crossing, extra])
        assert isinstance(batch[0], RejectedOrder) and batch[0].code == "post_only_would_cross"
        assert isinstance(batch[1], AcceptedOrder) and batch[1].status == "live"

        canceled = await client.cancel_order(order_id=resting.order_id)
        assert canceled.canceled == (resting.order_id,) and canceled.not_canceled == {}
        again = await client.cancel_order(order_id=resting.order_id)
        assert again.canceled == () and resting.order_id in again.not_canceled
        assert (await client.get_order(order_id=resting.order_id)).status == "CANCELED"

        unknown = "0x" + "0" * 64
        several = await client.cancel_orders(order_ids=[batch[1].order_id, unknown])
        assert several.canceled == (batch[1].order_id,) and set(several.not_canceled) == {unknown}
        later = await client.place_limit_order(token_id=token, price="0.03", size="5", side="BUY")
        on_token = {o.id for o in ex.open_orders() if o.intent.token_id == token}
        by_market = await client.cancel_market_orders(asset_id=token)
        assert isinstance(later, AcceptedOrder) and later.order_id in on_token
        assert set(by_market.canceled) == on_token
        elsewhere = next(m for m in ex.markets.values() if m.winner_index is None and m is not market)
        other = await client.place_limit_order(token_id=elsewhere.tokens[1].token_id, price="0.01", size="5",
                                               side="BUY")
        rest = await client.cancel_all()
        assert isinstance(other, AcceptedOrder) and rest.canceled == (other.order_id,)
        assert ex.open_orders() == []
