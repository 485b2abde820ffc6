"""PolymarketClient against the real simulator over HTTP (demo scenario, manual clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
import respx

from services.exchange_gateway.adapters.http import RetryPolicy
from services.exchange_gateway.adapters.polymarket_auth import PolymarketCredentials
from services.exchange_gateway.adapters.polymarket_client import PolymarketClient, polymarket_budget
from services.exchange_gateway.adapters.venue import VenueError
from services.venue_sim.scenarios.demo import load_scenario
from shared.contracts import deterministic_id
from tests.support.venue_sim import RunningSim, running_sim

SEED = 7
FAST_RETRY = RetryPolicy(attempts=3, base_s=0.01, cap_s=0.02)


class CountingTransport(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await super().handle_async_request(request)


@pytest.fixture(scope="module")
async def _manual_clock_sim() -> AsyncIterator[RunningSim]:
    # Our own sim rather than conftest's `sim`: trade status moves with the clock, so tests step it.
    async with running_sim(scenario="demo", seed=SEED, manual_clock=True) as sim:
        yield sim


@pytest.fixture
async def handle(_manual_clock_sim: RunningSim) -> RunningSim:
    """A fresh demo state and no faults for each test."""
    load_scenario(_manual_clock_sim.sim, "demo", SEED)
    _manual_clock_sim.sim.faults.clear()
    return _manual_clock_sim


@pytest.fixture
async def pm_admin(handle: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=handle.admin_url) as client:
        yield client


def make_client(handle: RunningSim, *, secret: str | None = None, page_size: int = 2,
                transport: httpx.AsyncBaseTransport | None = None) -> PolymarketClient:
    c = handle.credentials
    creds = PolymarketCredentials(c.polymarket_api_key, secret or c.polymarket_api_secret,
                                  c.polymarket_api_passphrase, c.polymarket_address)
    return PolymarketClient(credentials=creds, clob_url=handle.clob_url, data_api_url=handle.data_api_url,
                            budget=polymarket_budget(), retry=FAST_RETRY, positions_page_size=page_size,
                            trades_page_size=page_size, transport=transport)


@pytest.fixture
async def client(handle: RunningSim) -> AsyncIterator[PolymarketClient]:
    c = make_client(handle)
    yield c
    await c.aclose()


async def test_positions_all_pages_exact_with_dust(handle: RunningSim, client: PolymarketClient) -> None:
    result = await client.fetch_positions()
    assert result.complete and result.error is None
    ex = handle.sim.polymarket
    expected = {token: state for token, state in ex.positions().items() if state.size > 0}
    assert len(expected) > 3 * client.positions_page_size - 2  # really spans several pages
    assert {p.instrument_id for p in result.positions} == set(expected)
    for p in result.positions:
        state = expected[p.instrument_id]
        token = ex.market_of(p.instrument_id).token(p.instrument_id)
        assert p.quantity == state.size and p.avg_price == state.avg_price
        assert p.realized_pnl == state.realized_pnl and p.cost_basis == state.initial_value
        assert p.market_value == state.size * ex.current_price(p.instrument_id)
        assert p.outcome == ("yes" if token.outcome_index == 0 else "no") and p.raw["outcome"] == token.outcome
        assert p.account == handle.credentials.polymarket_address
    assert any(p.quantity < 1 for p in result.positions), "dust (size < 1) must not be hidden"


async def test_failure_on_page_3_is_incomplete_never_silently_partial(
    handle: RunningSim, client: PolymarketClient, pm_admin: httpx.AsyncClient
) -> None:
    r = await pm_admin.post("/_sim/faults", json={"venue": "polymarket", "fail_pages": {"positions": 3}})
    assert r.status_code == 200
    result = await client.fetch_positions()
    assert not result.complete
    assert result.error and result.error.startswith("polymarket") and "/positions" in result.error
    assert len(result.positions) == 2 * client.positions_page_size  # what was read is kept, and flagged


async def test_malformed_json_is_a_clear_error(handle: RunningSim, client: PolymarketClient,
                                               pm_admin: httpx.AsyncClient) -> None:
    await pm_admin.post("/_sim/faults", json={"venue": "polymarket", "malformed_json": True})
    result = await client.fetch_positions()
    assert not result.complete and "polymarket" in result.error and "malformed JSON" in result.error
    with pytest.raises(VenueError, match=r"^polymarket: GET /data/trades: malformed JSON"):
        await client.fetch_fills_page(None, None, 100)


async def test_wrong_secret_is_401_clear_and_not_retried(handle: RunningSim) -> None:
    counting = CountingTransport()
    bad = make_client(handle, secret="ZmFrZS1zZWNyZXQtZmFrZS1zZWNyZXQtZmFrZS0xMjM=", transport=counting)
    try:
        with pytest.raises(VenueError) as err:
            await bad.fetch_fills_page(None, None, 100)
    finally:
        await bad.aclose()
    assert err.value.status == 401 and not err.value.retryable
    assert str(err.value).startswith("polymarket: GET /data/trades: authentication failed")
    assert counting.paths == ["/data/trades"]
    assert "ZmFrZS1zZWNyZXQ" not in str(err.value)


async def all_fills(client: PolymarketClient, min_ts: datetime | None = None) -> tuple[list, int]:
    fills, cursor, pages = [], None, 0
    while True:
        page = await client.fetch_fills_page(cursor, min_ts, 100)
        fills.extend(page.fills)
        pages += 1
        if page.next_cursor is None:
            return fills, pages
        cursor = page.next_cursor


async def test_trades_all_pages_exact(handle: RunningSim, client: PolymarketClient) -> None:
    fills, pages = await all_fills(client)
    ex = handle.sim.polymarket
    assert pages >= 3
    by_id = {f.fill_id: f for f in fills}
    assert len(by_id) == len(fills) == len(ex.trades)
    for t in ex.trades:
        f = by_id[t.id]
        status = ex.trade_status(t).lower()
        assert (f.instrument_id, f.side, f.quantity, f.price, f.status) == (t.token_id, t.side.lower(), t.size, t.price, status)
        assert f.executed_at == datetime.fromtimestamp(t.match_ms // 1000, UTC)
        assert f.event_id == deterministic_id("polymarket", t.id, status)
        assert f.outcome == ("yes" if ex.market_of(t.token_id).token(t.token_id).outcome_index == 0 else "no")
    assert any(f.status == "failed" for f in fills)  # the demo's failed Chiefs buy is reported, not dropped
    again, _ = await all_fills(client)
    assert [f.event_id for f in again] == [f.event_id for f in fills]


async def test_injected_trade_ends_failed_with_one_event_per_status(
    handle: RunningSim, client: PolymarketClient, pm_admin: httpx.AsyncClient
) -> None:
    ex = handle.sim.polymarket
    token = next(iter(ex.markets.values())).tokens[1].token_id
    r = await pm_admin.post("/_sim/polymarket/external-trades",
                         json={"asset": token, "side": "BUY", "size": "7.25", "price": "0.61", "will_fail": True})
    assert r.status_code == 201
    trade_id = r.json()["id"]
    since = datetime.fromtimestamp(ex.clock.now_ms() // 1000, UTC)
    seen = {}
    for advance_ms in (0, ex.config.mined_after_ms, ex.config.confirmed_after_ms):
        if advance_ms:
            await pm_admin.post("/_sim/clock/advance", json={"ms": advance_ms})
        page = await client.fetch_fills_page(None, since, 100)
        [fill] = [f for f in page.fills if f.fill_id == trade_id]
        seen[fill.status] = fill
    assert list(seen) == ["matched", "retrying", "failed"]
    assert len({f.event_id for f in seen.values()}) == 3
    assert all(f.event_id == deterministic_id("polymarket", trade_id, s) for s, f in seen.items())
    failed = seen["failed"]
    assert (failed.quantity, failed.price, failed.side, failed.outcome) == (Decimal("7.25"), Decimal("0.61"), "buy", "no")


async def test_maker_fill_of_our_resting_order(handle: RunningSim, client: PolymarketClient,
                                               pm_admin: httpx.AsyncClient) -> None:
    [order] = await client.fetch_open_orders()
    assert order.status == "open" and order.outcome == "yes" and order.limit_price == Decimal("0.25")
    r = await pm_admin.post(f"/_sim/polymarket/orders/{order.order_id}/fill", json={"size": "20"})
    assert r.status_code == 201
    page = await client.fetch_fills_page(None, None, 100)
    [fill] = [f for f in page.fills if f.fill_id == r.json()["id"]]
    assert (fill.is_taker, fill.order_id, fill.side, fill.quantity, fill.price) == (
        False, order.order_id, "buy", Decimal("20"), Decimal("0.25"))
    looked = await client.lookup_order(order_id=order.order_id)
    assert looked is not None and looked.status == "partially_filled" and looked.filled_quantity == Decimal("20")
    assert (await client.lookup_order(client_order_id=order.order_id)).order_id == order.order_id
    assert await client.lookup_order(order_id="0x" + "0" * 64) is None


async def test_balance_and_marks(handle: RunningSim, client: PolymarketClient) -> None:
    ex = handle.sim.polymarket
    balance = await client.fetch_balance()
    assert balance.cash == ex.collateral()
    assert balance.portfolio_value == sum((s.size * ex.current_price(t) for t, s in ex.positions().items()), Decimal(0))
    tokens = [t.token_id for m in ex.markets.values() for t in m.tokens][:3]
    marks = await client.fetch_marks(tokens)
    assert [m.instrument_id for m in marks] == tokens
    for m in marks:
        assert m.best_bid == ex.best(m.instrument_id, "BUY") and m.best_ask == ex.best(m.instrument_id, "SELL")
        assert m.mid == ex.midpoint(m.instrument_id)



def settled_trades(ex) -> list:
    """What the chain-indexed Data API lists: trades whose settlement was mined."""
    return [t for t in ex.trades if ex.trade_status(t) in ("MINED", "CONFIRMED")]


async def test_trade_history_all_pages_match_settled_trades(
    handle: RunningSim, client: PolymarketClient, pm_admin: httpx.AsyncClient
) -> None:
    ex = handle.sim.polymarket
    await pm_admin.post("/_sim/clock/advance", json={"ms": ex.config.mined_after_ms})
    result = await client.fetch_trade_history()
    assert result.complete and result.error is None
    expected = {f"{ex.transaction_hash(t)}:{t.token_id}": t for t in settled_trades(ex)}
    assert len(expected) > 3 * client.trades_page_size  # really spans several pages
    assert len(expected) < len(ex.trades)  # unsettled / failed trades are not on the chain index
    newest_first = sorted(expected, key=lambda k: (-expected[k].match_ms, -expected[k].seq))
    assert [f.fill_id for f in result.fills] == newest_first  # every settled trade, once, in venue order
    for f in result.fills:
        t = expected[f.fill_id]
        assert (f.instrument_id, f.side, f.quantity, f.price) == (t.token_id, t.side.lower(), t.size, t.price)
        assert isinstance(f.quantity, Decimal) and isinstance(f.price, Decimal)
        assert f.venue == "polymarket" and f.status == "confirmed"
        assert f.event_id == deterministic_id("polymarket", f.fill_id, "confirmed")
        assert f.executed_at == datetime.fromtimestamp(t.match_ms // 1000, UTC)
        assert f.outcome == ("yes" if ex.market_of(t.token_id).token(t.token_id).outcome_index == 0 else "no")
    again = await client.fetch_trade_history()
    assert [f.event_id for f in again.fills] == [f.event_id for f in result.fills]


async def test_trade_history_page_failure_is_incomplete(
    handle: RunningSim, client: PolymarketClient, pm_admin: httpx.AsyncClient
) -> None:
    ex = handle.sim.polymarket
    await pm_admin.post("/_sim/clock/advance", json={"ms": ex.config.confirmed_after_ms})
    r = await pm_admin.post("/_sim/faults", json={"venue": "polymarket", "fail_pages": {"trades": 2}})
    assert r.status_code == 200
    result = await client.fetch_trade_history()
    assert not result.complete
    assert result.error and result.error.startswith("polymarket") and "/trades" in result.error
    assert len(result.fills) == client.trades_page_size  # page 1 kept, and flagged

@respx.mock
async def test_positions_offset_cap_is_incomplete() -> None:
    """The Data API cannot page past offset 10000: an account that fills every page must not be
    reported complete. (Unit test of one HTTP edge case: the sim cannot hold 10,500 positions.)"""
    def page(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        rows = ",".join(f'{{"asset":"{offset + i}","size":1,"avgPrice":0.5,"outcomeIndex":0}}' for i in range(limit))
        return httpx.Response(200, content=f"[{rows}]".encode())
    route = respx.get("https://data.test/positions").mock(side_effect=page)
    creds = PolymarketCredentials("k", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "p", "0x" + "1" * 40)
    client = PolymarketClient(credentials=creds, clob_url="https://clob.test", data_api_url="https://data.test",
                              budget=polymarket_budget())
    try:
        result = await client.fetch_positions()
    finally:
        await client.aclose()
    assert not result.complete and "offset 10000" in result.error and result.error.startswith("polymarket")
    assert route.call_count == 21 and len(result.positions) == 10_500
    assert all(call.request.url.params["sizeThreshold"] == "0" for call in route.calls)
