"""Marks are read in batches, not per instrument: Kalshi `GET /markets?tickers=` and Polymarket
`POST /books`, 100 instruments a read (respx: exact request counts, batch edges, failed batches,
instruments the venue leaves out, sides without a level). Against the simulator, the same marks
come out of `test_kalshi_client.py` and `test_polymarket_client.py`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.exchange_gateway.adapters.http import RetryPolicy
from services.exchange_gateway.adapters.kalshi_client import MARKETS_PER_READ, KalshiClient
from services.exchange_gateway.adapters.kalshi_signing import KalshiSigner
from services.exchange_gateway.adapters.polymarket_auth import PolymarketCredentials
from services.exchange_gateway.adapters.polymarket_client import BOOKS_PER_READ, PolymarketClient, polymarket_budget
from services.exchange_gateway.domain.rate_budget import RateBudget, kalshi_budget

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KALSHI = "https://kalshi.test/trade-api/v2"
CLOB = "https://clob.test"
NO_RETRY = RetryPolicy(attempts=1)


def _granted(budget: RateBudget, cls: str) -> int:
    """Requests charged to a rate class of the key's budget."""
    return budget.stats[cls].granted if cls in budget.stats else 0


def _price(i: int) -> Decimal:
    """A distinct bid per instrument, so a mark attached to the wrong one would show."""
    return Decimal(i % 90 + 1) / 100


# ---- Kalshi ------------------------------------------------------------------------------------


def _ticker(i: int) -> str:
    return f"KX-{i:05d}"


def _market(ticker: str) -> dict:
    i = int(ticker[-5:])
    return {"ticker": ticker, "title": f"Market {i}", "yes_bid_dollars": f"{_price(i):.4f}",
            "yes_ask_dollars": f"{_price(i) + Decimal('0.05'):.4f}", "last_price_dollars": "0.5000"}


class KalshiVenue:
    """`GET /markets?tickers=`: the named markets it knows, sorted; `refuse` fails a read naming it."""

    def __init__(self, *, unknown: set[str] = frozenset(), refuse: str | None = None,
                 markets: dict[str, dict] | None = None) -> None:
        self.unknown, self.refuse, self.markets = unknown, refuse, markets or {}
        self.asked: list[list[str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        tickers = request.url.params["tickers"].split(",")
        assert int(request.url.params["limit"]) >= len(tickers)  # one page answers the batch
        self.asked.append(tickers)
        if self.refuse in tickers:
            return httpx.Response(400, json={"error": {"code": "bad_request", "message": "no"}})
        rows = [self.markets.get(t) or _market(t) for t in sorted(tickers) if t not in self.unknown]
        return httpx.Response(200, json={"markets": rows, "cursor": ""})


@pytest.fixture
def kalshi_budget_() -> RateBudget:
    return kalshi_budget("prime")


@pytest.fixture
async def kalshi(kalshi_budget_) -> AsyncIterator[KalshiClient]:
    signer = KalshiSigner("key-id", ed25519.Ed25519PrivateKey.generate())
    client = KalshiClient(base_url=KALSHI, signer=signer, budget=kalshi_budget_, retry=NO_RETRY, clock=lambda: NOW)
    yield client
    await client.aclose()


@pytest.mark.parametrize("held, reads", [(0, 0), (1, 1), (100, 1), (101, 2), (250, 3)])
@respx.mock
async def test_kalshi_marks_cost_one_markets_read_per_hundred_tickers(kalshi, kalshi_budget_, held, reads) -> None:
    venue = KalshiVenue()
    route = respx.get(f"{KALSHI}/markets").mock(side_effect=venue)
    tickers = [_ticker(i) for i in range(held)]
    marks = await kalshi.fetch_marks(tickers)
    assert route.call_count == reads and MARKETS_PER_READ == 100
    assert [len(batch) for batch in venue.asked] == [min(100, held - 100 * n) for n in range(reads)]
    assert [t for batch in venue.asked for t in batch] == tickers  # each ticker asked once
    assert _granted(kalshi_budget_, "read") == reads
    assert [m.instrument_id for m in marks] == tickers
    for i, m in enumerate(marks):
        bid = _price(i)
        assert (m.best_bid, m.best_ask, m.mid, m.last) == (bid, bid + Decimal("0.05"), bid + Decimal("0.025"),
                                                           Decimal("0.5"))
        assert m.venue == "kalshi" and m.as_of == NOW


@respx.mock
async def test_kalshi_a_failed_batch_and_a_missing_ticker_are_skipped_the_rest_marked(kalshi) -> None:
    tickers = [_ticker(i) for i in range(250)]
    venue = KalshiVenue(unknown={_ticker(7)}, refuse=_ticker(150))  # the second batch is refused
    respx.get(f"{KALSHI}/markets").mock(side_effect=venue)
    marks = await kalshi.fetch_marks(tickers)
    assert len(venue.asked) == 3  # the refused batch did not stop the round
    expected = [t for t in tickers[:100] + tickers[200:] if t != _ticker(7)]
    assert [m.instrument_id for m in marks] == expected


@respx.mock
async def test_kalshi_a_side_without_a_level_and_an_unreadable_market(kalshi) -> None:
    no_asks = {**_market(_ticker(1)), "yes_ask_dollars": "1.0000"}  # no NO bid to take the complement of
    empty = {**_market(_ticker(2)), "yes_bid_dollars": "0.0000", "yes_ask_dollars": "0.0000",
             "last_price_dollars": "0.0000"}
    broken = {**_market(_ticker(3)), "yes_bid_dollars": "1.5000"}
    venue = KalshiVenue(markets={m["ticker"]: m for m in (no_asks, empty, broken)})
    respx.get(f"{KALSHI}/markets").mock(side_effect=venue)
    marks = {m.instrument_id: m for m in await kalshi.fetch_marks([_ticker(i) for i in range(5)])}
    assert set(marks) == {_ticker(0), _ticker(1), _ticker(2), _ticker(4)}  # only the unreadable one is left out
    one_sided = marks[_ticker(1)]
    assert (one_sided.best_bid, one_sided.best_ask, one_sided.mid) == (_price(1), None, None)
    nothing = marks[_ticker(2)]
    assert (nothing.best_bid, nothing.best_ask, nothing.mid, nothing.last) == (None, None, None, None)


@respx.mock
async def test_kalshi_marks_and_titles_share_the_markets_read(kalshi) -> None:
    venue = KalshiVenue()
    respx.get(f"{KALSHI}/markets").mock(side_effect=venue)
    respx.get(f"{KALSHI}/portfolio/positions").mock(return_value=httpx.Response(200, json={"market_positions": [
        {"ticker": _ticker(i), "position_fp": "3.00", "market_exposure_dollars": "1.50"} for i in range(3)],
        "cursor": ""}))
    await kalshi.fetch_marks([_ticker(i) for i in range(3)])
    positions = await kalshi.fetch_positions()
    assert len(venue.asked) == 1  # the titles came with the marks' read
    assert [p.title for p in positions.positions] == ["Market 0", "Market 1", "Market 2"]


# ---- Polymarket --------------------------------------------------------------------------------


def _token(i: int) -> str:
    return str(10**40 + i)


def _book(token: str) -> dict:
    i = int(token) - 10**40
    return {"market": "0xabc", "asset_id": token, "timestamp": "1764417600000", "hash": "h",
            "bids": [{"price": str(_price(i) - Decimal("0.01")), "size": "5"}, {"price": str(_price(i)), "size": "9"}],
            "asks": [{"price": str(_price(i) + Decimal("0.06")), "size": "5"},
                     {"price": str(_price(i) + Decimal("0.05")), "size": "2"}],
            "last_trade_price": "0.5"}


class PolymarketVenue:
    """`POST /books`: a book per known token; `refuse` fails a read naming it."""

    def __init__(self, *, unknown: set[str] = frozenset(), refuse: str | None = None,
                 books: dict[str, dict] | None = None) -> None:
        self.unknown, self.refuse, self.books = unknown, refuse, books or {}
        self.asked: list[list[str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)
        tokens = [item["token_id"] for item in items]
        assert all(set(item) == {"token_id"} for item in items)  # the official clients' body
        self.asked.append(tokens)
        if self.refuse in tokens:
            return httpx.Response(400, json={"error": "Invalid payload"})
        return httpx.Response(200, json=[self.books.get(t) or _book(t) for t in tokens if t not in self.unknown])


@pytest.fixture
def poly_budget() -> RateBudget:
    return polymarket_budget()


@pytest.fixture
async def poly(poly_budget) -> AsyncIterator[PolymarketClient]:
    creds = PolymarketCredentials("k", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "p", "0x" + "1" * 40)
    client = PolymarketClient(credentials=creds, clob_url=CLOB, data_api_url="https://data.test", budget=poly_budget,
                              retry=NO_RETRY, clock=lambda: NOW)
    yield client
    await client.aclose()


@pytest.mark.parametrize("held, reads", [(0, 0), (1, 1), (100, 1), (101, 2), (250, 3)])
@respx.mock
async def test_polymarket_marks_cost_one_books_read_per_hundred_tokens(poly, poly_budget, held, reads) -> None:
    venue = PolymarketVenue()
    route = respx.post(f"{CLOB}/books").mock(side_effect=venue)
    single = respx.get(f"{CLOB}/book")
    tokens = [_token(i) for i in range(held)]
    marks = await poly.fetch_marks(tokens)
    assert route.call_count == reads and single.call_count == 0 and BOOKS_PER_READ == 100
    assert [len(batch) for batch in venue.asked] == [min(100, held - 100 * n) for n in range(reads)]
    assert [t for batch in venue.asked for t in batch] == tokens
    # Charged as the public CLOB read it is (the overall CLOB window), like `GET /book`.
    assert _granted(poly_budget, "clob:read") == reads
    assert [m.instrument_id for m in marks] == tokens
    for i, m in enumerate(marks):
        bid = _price(i)
        assert (m.best_bid, m.best_ask, m.mid, m.last) == (bid, bid + Decimal("0.05"), bid + Decimal("0.025"),
                                                           Decimal("0.5"))
        assert m.venue == "polymarket" and m.as_of == datetime(2025, 11, 29, 12, 0, tzinfo=UTC)  # the book's time


@respx.mock
async def test_polymarket_a_failed_batch_and_a_missing_token_are_skipped_the_rest_marked(poly) -> None:
    tokens = [_token(i) for i in range(250)]
    venue = PolymarketVenue(unknown={_token(7)}, refuse=_token(150))
    respx.post(f"{CLOB}/books").mock(side_effect=venue)
    marks = await poly.fetch_marks(tokens)
    assert len(venue.asked) == 3
    assert [m.instrument_id for m in marks] == [t for t in tokens[:100] + tokens[200:] if t != _token(7)]


@respx.mock
async def test_polymarket_an_empty_side_and_an_unreadable_book(poly) -> None:
    no_asks = {**_book(_token(1)), "asks": []}
    empty = {**_book(_token(2)), "bids": [], "asks": [], "last_trade_price": ""}
    broken = {**_book(_token(3)), "bids": [{"price": "x", "size": "1"}]}
    venue = PolymarketVenue(books={b["asset_id"]: b for b in (no_asks, empty, broken)})
    respx.post(f"{CLOB}/books").mock(side_effect=venue)
    marks = {m.instrument_id: m for m in await poly.fetch_marks([_token(i) for i in range(5)])}
    assert set(marks) == {_token(0), _token(1), _token(2), _token(4)}
    assert (marks[_token(1)].best_bid, marks[_token(1)].best_ask, marks[_token(1)].mid) == (_price(1), None, None)
    nothing = marks[_token(2)]
    assert (nothing.best_bid, nothing.best_ask, nothing.mid, nothing.last) == (None, None, None, None)


@respx.mock
async def test_polymarket_a_books_answer_that_is_not_a_list_skips_the_batch(poly) -> None:
    respx.post(f"{CLOB}/books").mock(return_value=httpx.Response(200, json={"error": "nope"}))
    assert await poly.fetch_marks([_token(1)]) == []
