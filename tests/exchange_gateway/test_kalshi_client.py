"""KalshiClient against the running simulator: exact holdings, fills, balance, orders, marks, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.exchange_gateway.adapters.http import RetryPolicy, VenueUnknownOutcome
from services.exchange_gateway.adapters.kalshi_client import KalshiClient
from services.exchange_gateway.adapters.kalshi_signing import KalshiSigner
from services.exchange_gateway.adapters.venue import VenueError
from services.exchange_gateway.domain.rate_budget import kalshi_budget
from shared.contracts import deterministic_id
from tests.support.venue_sim import RunningSim

FAST_RETRY = RetryPolicy(attempts=3, base_s=0.01, cap_s=0.05)


def _client(sim: RunningSim, *, page_limit: int = 1000, signer: KalshiSigner | None = None,
            retry: RetryPolicy = FAST_RETRY, timeout_s: float = 5.0) -> KalshiClient:
    signer = signer or KalshiSigner.from_pem(sim.credentials.kalshi_key_id, sim.credentials.kalshi_private_key_pem)
    return KalshiClient(base_url=sim.kalshi_base_url, signer=signer, account="demo", budget=kalshi_budget("prime"),
                        page_limit=page_limit, retry=retry, timeout_s=timeout_s)


@pytest.fixture
async def kalshi(sim: RunningSim) -> AsyncIterator[KalshiClient]:
    client = _client(sim, page_limit=2)
    yield client
    await client.aclose()


async def _requests(admin: httpx.AsyncClient, route: str) -> int:
    return (await admin.get("/kalshi/requests")).json()["by_route"].get(route, 0)


async def test_positions_across_many_pages_are_complete_and_exact(sim: RunningSim, kalshi: KalshiClient, admin) -> None:
    result = await kalshi.fetch_positions()
    assert result.complete and result.error is None
    expected = {p.ticker: p for p in sim.sim.kalshi.positions.values() if p.held != 0 and not p.settled}
    assert len(expected) >= 5 and {p.instrument_id for p in result.positions} == set(expected)
    assert len(result.positions) == len(expected), "no position read twice"
    for pos in result.positions:
        venue = expected[pos.instrument_id]
        assert (pos.outcome, pos.quantity) == (venue.side, venue.held)
        assert pos.cost_basis == venue.exposure
        assert pos.realized_pnl == venue.realized_pnl and pos.fees == venue.fees_paid
        assert abs(pos.avg_price * pos.quantity - venue.exposure) <= pos.quantity * Decimal("0.0000005")
        assert pos.venue == "kalshi" and pos.account == "demo" and pos.raw["ticker"] == pos.instrument_id
    assert {p.outcome for p in result.positions} == {"yes", "no"}
    # Page size 2 really paged: ceil(6 / 2) requests.
    assert await _requests(admin, "GET /trade-api/v2/portfolio/positions") == -(-len(expected) // 2)


async def test_fills_across_many_pages_are_complete_and_exact(sim: RunningSim, kalshi: KalshiClient) -> None:
    fills, cursor, pages = [], None, 0
    while True:
        page = await kalshi.fetch_fills_page(cursor, None, 25)
        fills.extend(page.fills)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    venue = {f.fill_id: f for f in sim.sim.kalshi.fills}
    assert pages == -(-len(venue) // 25) and len(venue) > 200
    assert len(fills) == len(venue) and {f.fill_id for f in fills} == set(venue)
    for f in fills:
        v = venue[f.fill_id]
        assert (f.instrument_id, f.order_id, f.quantity, f.price, f.fee, f.is_taker) == (
            v.ticker, v.order_id, v.count, v.yes_price, v.fee, v.is_taker)
        assert (f.outcome, f.side) == ("yes", "buy" if v.book_side == "bid" else "sell")
        assert f.status == "confirmed" and f.event_id == deterministic_id("kalshi", f.fill_id, "confirmed")
        assert int(f.executed_at.timestamp() * 1000) == v.ts_ms
    assert {f.side for f in fills} == {"buy", "sell"}


async def test_fills_min_ts_filters_at_the_venue(sim: RunningSim, kalshi: KalshiClient) -> None:
    ordered = sorted(sim.sim.kalshi.fills, key=lambda f: f.ts_ms)
    cutoff = ordered[len(ordered) // 2]
    page = await kalshi.fetch_fills_page(None, datetime.fromtimestamp(cutoff.ts_ms // 1000, tz=UTC), 1000)
    expected = {f.fill_id for f in ordered if f.ts_ms // 1000 >= cutoff.ts_ms // 1000}
    assert {f.fill_id for f in page.fills} == expected and page.next_cursor is None


async def test_balance_is_exact(sim: RunningSim, kalshi: KalshiClient) -> None:
    balance = await kalshi.fetch_balance()
    assert balance.cash == sim.sim.kalshi.balance
    assert balance.portfolio_value == sim.sim.kalshi.portfolio_value().quantize(balance.portfolio_value)
    assert balance.venue == "kalshi" and balance.account == "demo"


async def test_order_lookup_orders_settlements_and_marks(sim: RunningSim, kalshi: KalshiClient) -> None:
    x = sim.sim.kalshi
    resting = next(o for o in x.orders.values() if o.status == "resting")
    by_id = await kalshi.lookup_order(order_id=resting.order_id)
    by_client = await kalshi.lookup_order(client_order_id=resting.client_order_id)
    assert by_id == by_client and by_id is not None
    assert (by_id.status, by_id.side, by_id.limit_price, by_id.remaining_quantity) == (
        "open" if resting.filled == 0 else "partially_filled", "buy" if resting.side == "bid" else "sell",
        resting.price, resting.remaining)
    assert await kalshi.lookup_order(order_id="no-such-order") is None
    assert await kalshi.lookup_order(client_order_id="no-such-client-id") is None

    orders = await kalshi.fetch_orders()
    assert {o.order_id for o in orders} == set(x.orders)
    assert [o.order_id for o in await kalshi.fetch_orders(status="resting")] == [resting.order_id]

    settlements = (await kalshi.fetch_settlements_page(None, None, 100)).settlements
    assert [(s.instrument_id, s.result, s.revenue) for s in settlements] == [
        (s.ticker, s.result, s.revenue) for s in reversed(x.settlements)]

    ticker = "KXSB-27-KC"
    market = x.markets[ticker]
    [mark] = await kalshi.fetch_marks([ticker, "NO-SUCH-MARKET"])
    assert mark.best_bid == market.best("yes") and mark.best_ask == 1 - market.best("no")
    assert mark.mid == (mark.best_bid + mark.best_ask) / 2 and mark.last == market.last_price


async def test_page_three_failure_yields_incomplete_with_what_was_read(sim: RunningSim, kalshi: KalshiClient, admin) -> None:
    await admin.post("/faults", json={"venue": "kalshi", "fail_pages": {"positions": 3}})
    result = await kalshi.fetch_positions()
    assert not result.complete
    assert result.error.startswith("kalshi:") and "HTTP 500" in result.error
    assert len(result.positions) == 4  # pages 1 and 2, never a silently shorter "complete" list
    # The failing page was retried (a read), then given up on.
    assert await _requests(admin, "GET /trade-api/v2/portfolio/positions") == 2 + FAST_RETRY.attempts


async def test_malformed_json_is_a_clear_error_naming_kalshi(sim: RunningSim, kalshi: KalshiClient, admin) -> None:
    await admin.post("/faults", json={"venue": "kalshi", "malformed_json": True})
    with pytest.raises(VenueError, match=r"^kalshi: GET /trade-api/v2/portfolio/balance: malformed JSON"):
        await kalshi.fetch_balance()
    result = await kalshi.fetch_positions()
    assert not result.complete and "kalshi" in result.error and "malformed JSON" in result.error


async def test_wrong_key_is_a_clear_401_and_not_retried(sim: RunningSim, admin) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    client = _client(sim, signer=KalshiSigner.from_pem(sim.credentials.kalshi_key_id, other))
    try:
        with pytest.raises(VenueError) as err:
            await client.fetch_balance()
    finally:
        await client.aclose()
    assert err.value.status == 401 and not err.value.retryable
    assert str(err.value).startswith("kalshi: GET /trade-api/v2/portfolio/balance: authentication failed (HTTP 401)")
    assert "BEGIN" not in str(err.value)
    assert await _requests(admin, "GET /trade-api/v2/portfolio/balance") == 1


async def test_5xx_reads_are_retried_until_they_succeed(sim: RunningSim, admin) -> None:
    await admin.post("/faults", json={"venue": "kalshi", "error_rate": 0.4})
    client = _client(sim, page_limit=20, retry=RetryPolicy(attempts=10, base_s=0.005, cap_s=0.02))
    try:
        result = await client.fetch_positions()
        fills, cursor = 0, None
        while True:
            page = await client.fetch_fills_page(cursor, None, 50)
            fills += len(page.fills)
            if (cursor := page.next_cursor) is None:
                break
    finally:
        await client.aclose()
    assert result.complete and len(result.positions) == sum(
        1 for p in sim.sim.kalshi.positions.values() if p.held != 0 and not p.settled)
    assert fills == len(sim.sim.kalshi.fills)
    sent = await _requests(admin, "GET /trade-api/v2/portfolio/fills")
    assert sent > -(-fills // 50), "some fill pages failed and were retried"


async def test_timeouts_retry_reads_but_never_writes(sim: RunningSim, admin) -> None:
    await admin.post("/faults", json={"venue": "kalshi", "latency_ms": 400})
    client = _client(sim, timeout_s=0.1)
    # Only the answer is slow: connecting gets room, so a busy test machine can't turn the write's
    # "sent, then timed out" (unknown outcome) into "never connected" (not sent).
    client.http.client.timeout = httpx.Timeout(0.1, connect=5.0)
    try:
        with pytest.raises(VenueError, match="timed out") as err:
            await client.fetch_balance()
        assert err.value.retryable
        with pytest.raises(VenueUnknownOutcome, match="outcome unknown"):
            await client.http.request("POST", "portfolio/events/orders", json_body={
                "ticker": "KXSB-27-KC", "client_order_id": "t-1", "side": "bid", "count": "1", "price": "0.0100"})
    finally:
        await client.aclose()
    assert await _requests(admin, "GET /trade-api/v2/portfolio/balance") == FAST_RETRY.attempts
    assert await _requests(admin, "POST /trade-api/v2/portfolio/events/orders") == 1


async def test_marks_from_the_batched_markets_read_agree_with_every_orderbook(sim: RunningSim, kalshi: KalshiClient,
                                                                               admin) -> None:
    """A market's own top of book is its orderbook's: YES bid = the best YES bid, YES ask = 1 − the
    best NO bid, and a side with no bids has no level. All markets in one read, none per ticker."""
    x = sim.sim.kalshi
    marks = {m.instrument_id: m for m in await kalshi.fetch_marks(sorted(x.markets))}
    assert set(marks) == set(x.markets)
    assert await _requests(admin, "GET /trade-api/v2/markets") == 1
    for ticker, market in x.markets.items():
        yes, no = market.best("yes"), market.best("no")
        m = marks[ticker]
        assert (m.best_bid, m.best_ask, m.last) == (yes, None if no is None else 1 - no, market.last_price or None)
    assert any(m.best_bid is None or m.best_ask is None for m in marks.values())  # one-sided books are covered
