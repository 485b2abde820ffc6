"""Kalshi Trade API v2 client: the gateway's `VenueClient` for Kalshi (read side).

Requests go through `VenueHttp` (signed per attempt, one rate budget per API key, reads
retried); payloads are normalized by `domain.kalshi_normalize`. Holdings are read across every
cursor page, and any failure mid-way yields `complete=False` with what was read, never a
silently shorter list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from services.exchange_gateway.adapters.http import RetryPolicy, VenueHttp, shared_budget
from services.exchange_gateway.adapters.kalshi_signing import KalshiSigner
from services.exchange_gateway.adapters.venue import FillsPage, PositionsResult, SettlementsPage, VenueError
from services.exchange_gateway.domain import kalshi_normalize as normalize
from services.exchange_gateway.domain.kalshi_normalize import KalshiPayloadError
from services.exchange_gateway.domain.quarantine import split_rows
from services.exchange_gateway.domain.rate_budget import RateBudget, kalshi_budget
from shared.contracts import BalanceSnapshot, ExternalPosition, Mark, OrderUpdate, utcnow
from shared.logs import get_logger

log = get_logger(__name__)

MAX_PAGE_LIMIT = 1000
# A venue that keeps handing out cursors would otherwise page forever.
MAX_PAGES = 10_000
# Tickers per `GET /markets?tickers=` read, of titles and marks alike (a 100-ticker query string is ~3 KB).
MARKETS_PER_READ = 100
# What reading one row can raise: a field the venue sent wrong, or a value our contract refuses.
ROW_ERRORS = (KalshiPayloadError, ValidationError)


class KalshiClient:
    venue = "kalshi"

    def __init__(
        self,
        *,
        base_url: str,
        signer: KalshiSigner,
        account: str = "kalshi",
        tier: str = "basic",
        budget: RateBudget | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        page_limit: int = MAX_PAGE_LIMIT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`base_url` ends in /trade-api/v2. Without `budget`, the process-wide budget for this key
        id (created for `tier`) is used, so every client of one key shares it."""
        self.account = account
        self.page_limit = max(1, min(page_limit, MAX_PAGE_LIMIT))
        self._clock = clock
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/", timeout=timeout_s, transport=transport)
        budget = budget or shared_budget("kalshi", signer.key_id, lambda: kalshi_budget(tier))
        self.http = VenueHttp("kalshi", self._client, budget, auth=signer, retry=retry)
        # ticker -> market title: positions carry none, and a market's title never changes.
        self._titles: dict[str, str] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.http.get(path, params=params)
        if not isinstance(body, dict):
            raise VenueError("kalshi", f"GET {path}: expected a JSON object, got {type(body).__name__}")
        return body

    def _rows(self, body: dict[str, Any], field: str, path: str) -> list[Any]:
        rows = body.get(field)
        if not isinstance(rows, list):
            raise VenueError("kalshi", f"GET {path}: malformed page: {field!r} is not a list")
        return rows

    async def _pages(self, path: str, field: str, params: dict[str, Any], limit: int | None = None) -> AsyncIterator[list[Any]]:
        """Every page of a cursor-paged list endpoint."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = await self._get(path, {**params, "limit": limit or self.page_limit, "cursor": cursor})
            yield self._rows(body, field, path)
            cursor = _next_cursor(body, path)
            if cursor is None:
                return
            if cursor in seen:
                raise VenueError("kalshi", f"GET {path}: the venue repeated a cursor; stopping to avoid a loop")
            seen.add(cursor)
        raise VenueError("kalshi", f"GET {path}: more than {MAX_PAGES} pages")

    # -- VenueClient ---------------------------------------------------------------------------

    async def fetch_balance(self) -> BalanceSnapshot:
        body = await self._get("portfolio/balance")
        return self._normalized(lambda: normalize.balance(body, self.account, self._clock()))

    async def fetch_positions(self) -> PositionsResult:
        read: list = []
        try:
            async for rows in self._pages("portfolio/positions", "market_positions", {"count_filter": "position"}):
                read.extend(normalize.position(row, self.account) for row in rows)
        except (VenueError, KalshiPayloadError) as exc:
            log.warning("kalshi_positions_incomplete", read=len(read), error=str(exc))
            return PositionsResult(await self._titled(read), complete=False, error=_venue_message(exc))
        return PositionsResult(await self._titled(read), complete=True)

    async def _titled(self, positions: list[ExternalPosition]) -> tuple[ExternalPosition, ...]:
        """Each holding with its market's title, read once per ticker. A title that cannot be read
        leaves the holding untitled, never the list incomplete."""
        untitled = sorted({p.instrument_id for p in positions if not p.title and p.instrument_id not in self._titles})
        await self._markets(untitled, wanted_for="titles")  # remembers each title it reads
        titled = []
        for position in positions:
            title = position.title or self._titles.get(position.instrument_id)
            titled.append(position.model_copy(update={"title": title}) if title else position)
        return tuple(titled)

    async def _markets(self, tickers: list[str], *, wanted_for: str) -> dict[str, dict[str, Any]]:
        """The named markets by ticker, MARKETS_PER_READ per `GET /markets?tickers=` read (a
        10,000-market account costs 100 reads, not 10,000), each title remembered. A batch that
        fails, or a ticker the venue does not return, is logged and left out: the caller does
        without it this time."""
        markets: dict[str, dict[str, Any]] = {}
        for start in range(0, len(tickers), MARKETS_PER_READ):
            batch = tickers[start:start + MARKETS_PER_READ]
            try:
                body = await self._get("markets", {"tickers": ",".join(batch), "limit": MARKETS_PER_READ})
                rows = self._rows(body, "markets", "markets")
            except VenueError as exc:
                log.warning("kalshi_markets_failed", wanted_for=wanted_for, tickers=len(batch), first=batch[0],
                            error=str(exc))
                continue
            asked = set(batch)
            for market in rows:
                ticker = market.get("ticker") if isinstance(market, dict) else None
                if isinstance(ticker, str) and ticker in asked:
                    markets[ticker] = market
                    self._remember_title(ticker, market)
            unanswered = sorted(asked - markets.keys())
            if unanswered:
                log.warning("kalshi_markets_not_returned", wanted_for=wanted_for, tickers=len(unanswered),
                            first=unanswered[0])
        return markets

    def _remember_title(self, ticker: str, market: dict[str, Any]) -> None:
        if isinstance(market.get("title"), str) and market["title"]:
            self._titles[ticker] = market["title"]

    async def fetch_fills_page(self, cursor: str | None, min_ts: datetime | None, limit: int) -> FillsPage:
        body = await self._get("portfolio/fills", _feed_page_params(cursor, min_ts, limit))
        rows = self._rows(body, "fills", "portfolio/fills")
        # A row that cannot be read is handed back as rejected, so the rest of the page still flows.
        fills, rejected = split_rows(rows, lambda row: normalize.fill(row, self.account),
                                     id_fields=("fill_id", "trade_id"), errors=ROW_ERRORS)
        return FillsPage(tuple(fills), _next_cursor(body, "portfolio/fills"), rejected=tuple(rejected))

    async def lookup_order(self, *, order_id: str | None = None, client_order_id: str | None = None) -> OrderUpdate | None:
        if order_id:
            try:
                body = await self._get(f"portfolio/orders/{quote(order_id, safe='')}")
            except VenueError as exc:
                if exc.status == 404:
                    return None
                raise
            return self._normalized(lambda: normalize.order(body.get("order")))
        if not client_order_id:
            raise ValueError("lookup_order needs order_id or client_order_id")
        # No server-side filter by client_order_id: page through the orders (newest first).
        async for rows in self._pages("portfolio/orders", "orders", {}):
            for row in rows:
                if isinstance(row, dict) and row.get("client_order_id") == client_order_id:
                    return self._normalized(lambda: normalize.order(row))
        return None

    async def fetch_marks(self, instrument_ids: list[str]) -> list[Mark]:
        """One mark per ticker, from the same batched markets read as titles: a market carries
        the top of its own book and its last price, so a round costs one read per
        MARKETS_PER_READ tickers instead of an orderbook and a market read per ticker. A failed
        batch, a ticker the venue does not return and a market that cannot be read are logged
        and skipped this round."""
        tickers = list(dict.fromkeys(instrument_ids))
        markets = await self._markets(tickers, wanted_for="marks")
        marks: list[Mark] = []
        for ticker in (t for t in tickers if t in markets):  # in the order asked
            try:
                marks.append(normalize.mark(markets[ticker], self._clock()))
            except ROW_ERRORS as exc:
                log.warning("kalshi_mark_failed", ticker=ticker, error=str(exc))
        return marks

    # -- more reads ----------------------------------------------------------------------------

    async def fetch_orders(self, *, status: str | None = None, ticker: str | None = None) -> list[OrderUpdate]:
        orders: list[OrderUpdate] = []
        async for rows in self._pages("portfolio/orders", "orders", {"status": status, "ticker": ticker}):
            orders.extend(self._normalized(lambda: [normalize.order(row) for row in rows]))
        return orders

    async def fetch_settlements_page(self, cursor: str | None, min_ts: datetime | None, limit: int) -> SettlementsPage:
        """One `/portfolio/settlements` page (newest first): one row per settled market we held."""
        body = await self._get("portfolio/settlements", _feed_page_params(cursor, min_ts, limit))
        rows = self._rows(body, "settlements", "portfolio/settlements")
        settlements, rejected = split_rows(rows, lambda row: normalize.settlement(row, self.account),
                                           id_fields=("ticker",), errors=ROW_ERRORS)
        return SettlementsPage(tuple(settlements), _next_cursor(body, "portfolio/settlements"), tuple(rejected))

    @staticmethod
    def _normalized(build: Callable[[], Any]) -> Any:
        try:
            return build()
        except KalshiPayloadError as exc:
            raise VenueError("kalshi", str(exc).removeprefix("kalshi: ")) from None


def _feed_page_params(cursor: str | None, min_ts: datetime | None, limit: int) -> dict[str, Any]:
    """Query of one fills or settlements page: Kalshi filters both by `min_ts` in epoch seconds."""
    return {
        "cursor": cursor or None,
        "limit": max(1, min(limit, MAX_PAGE_LIMIT)),
        "min_ts": int(min_ts.timestamp()) if min_ts is not None else None,
    }


def _next_cursor(body: dict[str, Any], path: str) -> str | None:
    cursor = body.get("cursor")
    if cursor in (None, ""):
        return None
    if not isinstance(cursor, str):
        raise VenueError("kalshi", f"GET {path}: malformed page: cursor is not a string")
    return cursor


def _venue_message(exc: Exception) -> str:
    text = str(exc)
    return text if text.startswith("kalshi") else f"kalshi: {text}"
