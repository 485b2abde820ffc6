"""Polymarket client: the gateway's `VenueClient` for Polymarket (read side).

Two hosts: the public Data API (holdings, portfolio value, chain-indexed trades) and the CLOB (L2-authenticated
orders, trades, balance; public books). Both go through `VenueHttp` (rate budget, read retries,
`VenueError`s) with one sliding-window budget per API key matching Polymarket's 10 s windows.

Identity: `credentials.address` is the signer that owns the API key (POLY_ADDRESS); `wallet` is
the funder/proxy wallet that holds positions (Data API `user`, CLOB `maker_address`). For an EOA
account they are the same address, which is the default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from services.exchange_gateway.adapters.http import RetryPolicy, VenueHttp, shared_budget
from services.exchange_gateway.adapters.polymarket_auth import PolymarketCredentials, l2_headers
from services.exchange_gateway.adapters.venue import FillsPage, PositionsResult, SettlementsPage, VenueError
from services.exchange_gateway.domain import polymarket_normalize as normalize
from services.exchange_gateway.domain.polymarket_normalize import PolymarketPayloadError
from services.exchange_gateway.domain.quarantine import RejectedRow, split_rows
from services.exchange_gateway.domain.rate_budget import POLYMARKET_LIMITS, RateBudget, Ratio, Seconds, sliding_budget
from shared.contracts import BalanceSnapshot, Fill, Mark, OrderUpdate, utcnow
from shared.logs import get_logger
from shared.money import MoneyParseError, to_decimal

log = get_logger(__name__)

VENUE = "polymarket"
START_CURSOR, END_CURSOR = "MA==", "LTE="
POSITIONS_MAX_LIMIT = 500
RecordT = TypeVar("RecordT")
DATA_API_MAX_OFFSET = 10_000  # the Data API refuses larger offsets
TRADES_MAX_LIMIT = 500  # the Data API /trades allows more; smaller pages keep one failure cheap
MAX_PAGES = 10_000  # a CLOB that keeps handing out cursors would otherwise page forever
USDC_UNITS = Decimal(1_000_000)  # collateral balances are 6-decimal fixed point
# Tokens per `POST /books` read of marks. Neither official client (py-clob-client's
# `get_order_books`, polymarket-client's) nor the docs set a limit; 100 keeps a body small and a
# failed read cheap.
BOOKS_PER_READ = 100

# Request class -> the sliding windows it is charged to (README rate limits).
REQUEST_CLASSES: dict[str, tuple[str, ...]] = {
    "data:/positions": ("data:overall", "data:/positions"),
    "data:/trades": ("data:overall", "data:/trades"),
    "data:read": ("data:overall",),
    "clob:/data/orders": ("clob:overall", "clob:/data/orders"),
    "clob:/data/trades": ("clob:overall", "clob:/data/trades"),
    "clob:read": ("clob:overall",),
}


@dataclass(frozen=True)
class TradeHistoryResult:
    """All pages of the Data API's trade list; `complete=False` (with `error`) when any page failed."""

    fills: tuple[Fill, ...]
    complete: bool
    error: str | None = None


def polymarket_budget(*, headroom: Ratio = 0.9, clock: Callable[[], Seconds] | None = None) -> RateBudget:
    """Polymarket's windows, each scaled by `headroom` so clock skew against the venue never
    puts us over (the venue throttles rather than rejects, but a throttled read is a slow read)."""
    windows = {name: max(1, int(limit * headroom)) for name, limit in POLYMARKET_LIMITS.items()}
    return sliding_budget(windows, REQUEST_CLASSES, **({"clock": clock} if clock else {}))


class PolymarketClient:
    venue = VENUE

    def __init__(
        self,
        *,
        credentials: PolymarketCredentials,
        clob_url: str = "https://clob.polymarket.com",
        data_api_url: str = "https://data-api.polymarket.com",
        wallet: str | None = None,
        signature_type: int = 0,
        budget: RateBudget | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        positions_page_size: int = POSITIONS_MAX_LIMIT,
        trades_page_size: int = TRADES_MAX_LIMIT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`signature_type` is the wallet kind the CLOB balance endpoint needs (0 EOA, 1 Polymarket
        proxy, 2 Gnosis safe). Without `budget`, the process-wide budget of this API key is used."""
        self.credentials = credentials
        self.account = wallet or credentials.address
        self.signature_type = signature_type
        self.positions_page_size = max(1, min(positions_page_size, POSITIONS_MAX_LIMIT))
        self.trades_page_size = max(1, min(trades_page_size, TRADES_MAX_LIMIT))
        self._clock = clock
        budget = budget or shared_budget(VENUE, credentials.api_key, polymarket_budget)
        self._clob_client = httpx.AsyncClient(base_url=clob_url.rstrip("/"), timeout=timeout_s, transport=transport)
        self._data_client = httpx.AsyncClient(base_url=data_api_url.rstrip("/"), timeout=timeout_s, transport=transport)
        self.clob = VenueHttp(VENUE, self._clob_client, budget, auth=self._sign, retry=retry)
        self.clob_public = VenueHttp(VENUE, self._clob_client, budget, retry=retry)
        self.data = VenueHttp(VENUE, self._data_client, budget, retry=retry)
        # token id -> outcome index (0 = yes, 1 = no); market structure never changes.
        self._outcome_index: dict[str, int] = {}
        # condition id -> its CLOB market once resolved; a resolution never changes.
        self._resolved: dict[str, dict[str, Any]] = {}

    def _sign(self, request: httpx.Request) -> dict[str, str]:
        """L2 headers over the exact path (no query) and body bytes being sent, fresh timestamp."""
        body = request.content.decode() if request.content else None
        return l2_headers(self.credentials, request.method, request.url.path, body)

    async def aclose(self) -> None:
        await self._clob_client.aclose()
        await self._data_client.aclose()

    # -- VenueClient ---------------------------------------------------------------------------

    async def fetch_positions(self) -> PositionsResult:
        """Every `/positions` page with sizeThreshold=0 (dust included). A failed page, a full page
        at the offset cap, or rows shifting between pages all yield complete=False."""
        read, error = await self._read_offset_pages(
            "/positions", "data:/positions", {"sizeThreshold": "0"}, self.positions_page_size,
            lambda row: normalize.position_from_row(row, self.account), key=lambda p: p.instrument_id,
        )
        for position in read.values():
            self._outcome_index.setdefault(position.instrument_id, 0 if position.outcome == "yes" else 1)
        return PositionsResult(tuple(read.values()), complete=error is None, error=error)

    async def fetch_balance(self) -> BalanceSnapshot:
        """Cash = CLOB collateral (USDC) balance; portfolio_value = Data API `/value`, the mark
        value of open positions (not including cash)."""
        body = await self.clob.get("/balance-allowance", params={
            "asset_type": "COLLATERAL", "signature_type": self.signature_type,
        }, cls="clob:read")
        cash = self._decimal(body, "balance", "GET /balance-allowance") / USDC_UNITS
        values = await self.data.get("/value", params={"user": self.account}, cls="data:read")
        if not isinstance(values, list) or len(values) > 1:
            raise VenueError(VENUE, "GET /value: expected a list with at most one item")
        portfolio = self._decimal(values[0], "value", "GET /value") if values else Decimal(0)
        now = self._clock()
        return BalanceSnapshot(venue=VENUE, account=self.account, cash=cash, portfolio_value=portfolio, as_of=now,
                               occurred_at=now)

    async def fetch_fills_page(self, cursor: str | None, min_ts: datetime | None, limit: int) -> FillsPage:
        """One CLOB `/data/trades` page (newest first) as fills at each trade's current status.

        The CLOB's page size is fixed (100), so `limit` is not sent. `min_ts` becomes `after`, one
        second early: `after` is exclusive and whole seconds, and a duplicate is harmless (event
        ids are deterministic) while a miss is not."""
        if cursor == END_CURSOR:
            return FillsPage((), None)
        params = {"next_cursor": cursor or START_CURSOR,
                  "after": int(min_ts.timestamp()) - 1 if min_ts is not None else None}
        body = await self.clob.get("/data/trades", params=params, cls="clob:/data/trades")
        rows, next_cursor = self._cursor_page(body, "/data/trades")
        await self._learn_outcomes(_trade_assets(rows, self.account, self.credentials.api_key))
        # A row that cannot be read is handed back as rejected (API keys stripped), so the rest flows.
        legs, rejected = split_rows(rows, lambda row: normalize.fills_from_trade(
            row, wallet=self.account, api_key=self.credentials.api_key,
            outcome_index_of=self._outcome_index.get, account=self.account),
            id_fields=("id",), errors=(PolymarketPayloadError,), public=normalize.public_raw)
        fills = tuple(fill for leg in legs for fill in leg)
        return FillsPage(fills, next_cursor, rejected=tuple(rejected))

    async def fetch_settlements_page(self, cursor: str | None, min_ts: datetime | None, limit: int) -> SettlementsPage:
        """Every market we hold that has resolved, as one page (the venue has no settlements list).

        The Data API flags resolved holdings `redeemable`; the CLOB market confirms it (closed, one
        winner token). Each page is the whole current set, so `cursor`, `min_ts` and `limit` do not
        apply; the poller publishes only markets it has not published before."""
        rows, error = await self._read_offset_pages(
            "/positions", "data:/positions", {"sizeThreshold": "0", "redeemable": "true"}, self.positions_page_size,
            lambda row: row, key=lambda row: str(row.get("asset")) if isinstance(row, dict) else repr(row),
        )
        if error is not None:
            raise VenueError(VENUE, error.removeprefix(f"{VENUE}: "))
        by_market: dict[str, list[dict[str, Any]]] = {}
        rejected: list[RejectedRow] = []
        for key, row in rows.items():
            if isinstance(row, dict) and isinstance(row.get("conditionId"), str) and row["conditionId"]:
                by_market.setdefault(row["conditionId"], []).append(row)
            else:
                rejected.append(RejectedRow(key, row, "polymarket: positions row without a conditionId"))
        settlements = []
        observed_at = self._clock()
        for condition_id, held in by_market.items():
            try:
                market = await self._resolved_market(condition_id)
                if market is not None:
                    settlements.append(normalize.settlement_from_resolution(
                        market, held, account=self.account, observed_at=observed_at))
            except PolymarketPayloadError as exc:
                rejected.append(RejectedRow(condition_id, normalize.public_raw({"positions": held}), str(exc)))
        return SettlementsPage(tuple(settlements), None, tuple(rejected))

    async def _resolved_market(self, condition_id: str) -> dict[str, Any] | None:
        """CLOB `GET /markets/{condition_id}` once it names a winner (remembered: a resolution is
        final), else None: the Data API can flag a market before the CLOB shows it resolved."""
        if condition_id in self._resolved:
            return self._resolved[condition_id]
        try:
            market = await self.clob_public.get(f"/markets/{quote(condition_id, safe='')}", cls="clob:read")
        except VenueError as exc:
            if exc.status == 404:  # the two APIs disagree about this market: its rows are set aside, not the poll
                raise PolymarketPayloadError(f"GET /markets/{condition_id}: the CLOB does not know this market") from None
            raise
        if not isinstance(market, dict):
            raise PolymarketPayloadError(f"GET /markets/{condition_id}: expected an object")
        if normalize.resolved_winner(market) is None:
            return None
        self._resolved[condition_id] = market
        return market

    async def lookup_order(self, *, order_id: str | None = None, client_order_id: str | None = None) -> OrderUpdate | None:
        """By order id (the order hash): `GET /data/order/{id}`. Polymarket has no client order id;
        a `client_order_id` is looked for among open orders' ids (the gateway records the order hash
        it signed as the client id), so a closed order is only found by its order id."""
        if order_id:
            try:
                body = await self.clob.get(f"/data/order/{quote(order_id, safe='')}", cls="clob:read")
            except VenueError as exc:
                if exc.status in (400, 404):
                    return None
                raise
            if not body:  # the CLOB answers an unknown id with an empty body / null
                return None
            await self._learn_outcomes([str(body.get("asset_id") or "")])
            return self._normalized(lambda: normalize.order_from_row(body, outcome_index_of=self._outcome_index.get))
        if not client_order_id:
            raise ValueError("lookup_order needs order_id or client_order_id")
        for order in await self.fetch_open_orders(order_id=client_order_id):
            if order.order_id == client_order_id:
                return order
        return None

    async def fetch_marks(self, instrument_ids: list[str]) -> list[Mark]:
        """Best bid/ask, mid and last from each token's book, BOOKS_PER_READ books per `POST /books`
        read (a 10,000-token account costs 100 reads a round, not 10,000). The venue's `/midpoint`
        is the same middle of the same two levels, so it is not read. A failed batch, a token the
        venue does not answer and a book that cannot be read are logged and skipped this round."""
        tokens = list(dict.fromkeys(instrument_ids))
        marks: list[Mark] = []
        for start in range(0, len(tokens), BOOKS_PER_READ):
            batch = tokens[start:start + BOOKS_PER_READ]
            try:
                books = await self._books(batch)
            except VenueError as exc:
                log.warning("polymarket_marks_failed", tokens=len(batch), first=batch[0], error=str(exc))
                continue
            unanswered = [token_id for token_id in batch if token_id not in books]
            if unanswered:
                log.warning("polymarket_books_not_returned", tokens=len(unanswered), first=unanswered[0])
            for token_id in (t for t in batch if t in books):  # in the order asked
                try:
                    marks.append(normalize.mark_from_book(books[token_id], now=self._clock()))
                except PolymarketPayloadError as exc:
                    log.warning("polymarket_mark_failed", token_id=token_id, error=str(exc))
        return marks

    async def _books(self, token_ids: list[str]) -> dict[str, Any]:
        """`POST /books` (public; a read, charged like `/book`) -> token id -> its book."""
        body = await self.clob_public.request("POST", "/books", json_body=[{"token_id": t} for t in token_ids],
                                              cls="clob:read", read=True)
        if not isinstance(body, list):
            raise VenueError(VENUE, f"POST /books: expected a list of books, got {type(body).__name__}")
        asked = set(token_ids)
        return {book["asset_id"]: book for book in body
                if isinstance(book, dict) and isinstance(book.get("asset_id"), str) and book["asset_id"] in asked}

    # -- more reads ----------------------------------------------------------------------------

    async def fetch_trade_history(self) -> TradeHistoryResult:
        """Every Data API `/trades` page (public, newest first, offset paging) as fills.

        Why: it is an independent, chain-indexed view of the account's trades (only settled
        ones, MINED onwards) that the reconciler can compare with the CLOB's `/data/trades`
        fills. A failed page, the offset cap, or a row seen twice (a new trade shifted the
        offsets while paging) all yield complete=False, never a silently partial list."""
        read, error = await self._read_offset_pages(
            "/trades", "data:/trades", {}, self.trades_page_size,
            lambda row: normalize.fill_from_data_trade(row, self.account), key=lambda f: f.fill_id,
        )
        return TradeHistoryResult(tuple(read.values()), complete=error is None, error=error)

    async def _read_offset_pages(
        self,
        path: str,
        cls: str,
        params: dict[str, Any],
        page_size: int,
        to_record: Callable[[Any], RecordT],
        *,
        key: Callable[[RecordT], str],
    ) -> tuple[dict[str, RecordT], str | None]:
        """Every page of an offset-paged Data API list for our wallet: (records by key, error).

        The error is None only when the whole list was read. A record seen twice means the list
        changed under us (offsets shifted), so the read is reported incomplete, not merged."""
        read: dict[str, RecordT] = {}
        offset = 0
        try:
            while True:
                rows = await self._list(self.data, path, cls, {
                    **params, "user": self.account, "limit": page_size, "offset": offset,
                })
                for row in rows:
                    record = self._normalized(lambda: to_record(row))
                    if key(record) in read:
                        raise VenueError(VENUE, f"GET {path}: {key(record)} appeared on two pages "
                                         "(the list changed while paging); read again")
                    read[key(record)] = record
                if len(rows) < page_size:
                    return read, None
                offset += page_size
                if offset > DATA_API_MAX_OFFSET:
                    raise VenueError(VENUE, f"GET {path}: more than {DATA_API_MAX_OFFSET + page_size} rows; "
                                     "the Data API cannot page past offset 10000")
        except VenueError as exc:
            log.warning("polymarket_list_incomplete", path=path, read=len(read), error=str(exc))
            return read, str(exc)

    async def fetch_open_orders(self, *, order_id: str | None = None, asset_id: str | None = None) -> list[OrderUpdate]:
        rows: list[dict[str, Any]] = []
        cursor = START_CURSOR
        for _ in range(MAX_PAGES):
            body = await self.clob.get("/data/orders", params={"next_cursor": cursor, "id": order_id,
                                                               "asset_id": asset_id}, cls="clob:/data/orders")
            page, next_cursor = self._cursor_page(body, "/data/orders")
            rows.extend(page)
            if next_cursor is None:
                break
            cursor = next_cursor
        else:
            raise VenueError(VENUE, f"GET /data/orders: more than {MAX_PAGES} pages")
        await self._learn_outcomes(str(r.get("asset_id") or "") for r in rows if isinstance(r, dict))
        return [self._normalized(lambda: normalize.order_from_row(r, outcome_index_of=self._outcome_index.get))
                for r in rows]

    async def _learn_outcomes(self, token_ids: Iterable[str]) -> None:
        """Outcome index per token via `/markets-by-token` (primary token = index 0 = yes), once
        per token: CLOB trades and orders carry only the outcome label."""
        for token_id in dict.fromkeys(t for t in token_ids if t and t not in self._outcome_index):
            try:
                body = await self.clob_public.get(f"/markets-by-token/{quote(token_id, safe='')}", cls="clob:read")
            except VenueError as exc:
                if exc.status in (400, 404):
                    # A token the CLOB does not know: the payload naming it fails on its own, not its page.
                    log.warning("polymarket_unknown_token", token_id=token_id, error=str(exc))
                    continue
                raise
            if not isinstance(body, dict):
                raise VenueError(VENUE, f"GET /markets-by-token/{token_id}: expected an object")
            for index, name in enumerate(("primary_token_id", "secondary_token_id")):
                if body.get(name):
                    self._outcome_index[str(body[name])] = index
            if token_id not in self._outcome_index:
                raise VenueError(VENUE, f"GET /markets-by-token/{token_id}: token is neither primary nor secondary")

    # -- helpers -------------------------------------------------------------------------------

    async def _list(self, http: VenueHttp, path: str, cls: str, params: dict[str, Any]) -> list[Any]:
        body = await http.get(path, params=params, cls=cls)
        if not isinstance(body, list):
            raise VenueError(VENUE, f"GET {path}: malformed response: expected a JSON array, got {type(body).__name__}")
        return body

    @staticmethod
    def _cursor_page(body: Any, path: str) -> tuple[list[Any], str | None]:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise VenueError(VENUE, f"GET {path}: malformed page: expected {{data: [...], next_cursor}}")
        cursor = body.get("next_cursor")
        if cursor in (None, "", END_CURSOR):
            return body["data"], None
        if not isinstance(cursor, str):
            raise VenueError(VENUE, f"GET {path}: malformed page: next_cursor is not a string")
        return body["data"], cursor

    @staticmethod
    def _decimal(body: Any, field: str, where: str) -> Decimal:
        if not isinstance(body, dict) or field not in body:
            raise VenueError(VENUE, f"{where}: malformed response: missing {field!r}")
        try:
            return to_decimal(body[field], field=field)
        except MoneyParseError as exc:
            raise VenueError(VENUE, f"{where}: {exc}") from None

    @staticmethod
    def _normalized(build: Callable[[], Any]) -> Any:
        try:
            return build()
        except PolymarketPayloadError as exc:
            raise VenueError(VENUE, str(exc).removeprefix(f"{VENUE}: ")) from None


def _trade_assets(rows: list[Any], wallet: str, api_key: str) -> list[str]:
    """Tokens whose outcome we must know: the top level (ours as taker) and our maker entries."""
    assets: list[str] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        assets.append(str(row.get("asset_id") or ""))
        for maker in row.get("maker_orders") or []:
            if isinstance(maker, dict) and (str(maker.get("maker_address") or "").lower() == wallet.lower()
                                            or maker.get("owner") == api_key):
                assets.append(str(maker.get("asset_id") or ""))
    return assets
