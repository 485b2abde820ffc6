"""Drive a Kalshi server through the official SDK (kalshi-python-async) and report what it parsed.

Runs inside `.venv-kalshi-sdk` (Python >= 3.13, only the pinned SDK installed), never in the
project's venv, so it imports nothing from trueup. Usage:

    python kalshi_sdk_driver.py  < {"base_url", "key_id", "private_key_pem", "ticker", "event_ticker",
                                  "page_limit"}

Writes are made first (so every read sees the final state): a resting GTC bid is created, read
back, cancelled and read again; then an immediate-or-cancel ask crosses the book (a fill on the
ask side). Then every read endpoint, paging until the cursor is empty. Prints one JSON object:
{"sdk_version", "calls": {name: {"ok", "value" | "error"}}}; a page list's value is the list of
pages. A model error (a field the SDK requires missing or mistyped) shows up as `ok: false`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import kalshi_python_async
from kalshi_python_async import (
    AccountApi,
    ApiClient,
    Configuration,
    EventsApi,
    ExchangeApi,
    KalshiAuth,
    MarketApi,
    OrdersApi,
    PortfolioApi,
)

MAX_PAGES = 100  # a cursor that never ends is a failure, not a hang


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json") if model is not None else None


class Recorder:
    def __init__(self) -> None:
        self.calls: dict[str, dict] = {}

    async def one(self, name: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            result = await call()
        except Exception as exc:  # noqa: BLE001 - every failure is the finding being reported
            self.calls[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                                "traceback": traceback.format_exc(limit=3)}
            return None
        self.calls[name] = {"ok": True, "value": _dump(result)}
        return result

    async def pages(self, name: str, call: Callable[[str | None], Awaitable[Any]]) -> None:
        """Every page, following `cursor` until it comes back empty."""
        pages: list[Any] = []
        cursor: str | None = None
        try:
            for _ in range(MAX_PAGES):
                page = await call(cursor)
                pages.append(_dump(page))
                cursor = page.cursor
                if not cursor:
                    break
            else:
                raise RuntimeError(f"cursor still not empty after {MAX_PAGES} pages")
        except Exception as exc:  # noqa: BLE001
            self.calls[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "pages_read": len(pages),
                                "traceback": traceback.format_exc(limit=3)}
            return
        self.calls[name] = {"ok": True, "value": pages}


async def drive(args: dict) -> dict:
    client = ApiClient(Configuration(host=args["base_url"]))
    # ApiClient.set_kalshi_auth raises NameError in 3.34.0 (api_client.py never imports KalshiAuth);
    # setting the attribute it would set is the same thing.
    client.kalshi_auth = KalshiAuth(args["key_id"], args["private_key_pem"])
    portfolio, orders, markets = PortfolioApi(client), OrdersApi(client), MarketApi(client)
    ticker, limit = args["ticker"], args["page_limit"]
    rec = Recorder()
    try:
        created = await rec.one("create_order", lambda: orders.create_order_v2(
            ticker=ticker, client_order_id="sdk-conformance-rest", side="bid", count="3", price="0.0100",
            time_in_force="good_till_canceled", self_trade_prevention_type="taker_at_cross"))
        if created is not None:
            order_id = created.order_id
            await rec.one("get_order_resting", lambda: orders.get_order(order_id))
            await rec.one("cancel_order", lambda: orders.cancel_order_v2(order_id, market_ticker=ticker))
            await rec.one("get_order_canceled", lambda: orders.get_order(order_id))
        crossed = await rec.one("create_order_ioc_ask", lambda: orders.create_order_v2(
            ticker=ticker, client_order_id="sdk-conformance-ask", side="ask", count="2", price="0.0100",
            time_in_force="immediate_or_cancel", self_trade_prevention_type="taker_at_cross"))
        if crossed is not None:
            await rec.one("get_order_ioc_ask", lambda: orders.get_order(crossed.order_id))

        await rec.one("balance", portfolio.get_balance)
        await rec.pages("positions", lambda c: portfolio.get_positions(cursor=c, limit=limit))
        await rec.pages("positions_settled", lambda c: portfolio.get_positions(
            cursor=c, limit=limit, settlement_status="settled"))
        await rec.pages("fills", lambda c: portfolio.get_fills(cursor=c, limit=limit * 25))
        await rec.pages("orders", lambda c: orders.get_orders(cursor=c, limit=limit * 25))
        await rec.pages("settlements", lambda c: portfolio.get_settlements(cursor=c, limit=limit))
        await rec.pages("markets", lambda c: markets.get_markets(cursor=c, limit=limit))
        await rec.one("market", lambda: markets.get_market(ticker))
        await rec.one("orderbook", lambda: markets.get_market_orderbook(ticker))
        await rec.pages("trades", lambda c: markets.get_trades(cursor=c, limit=limit * 25))
        await rec.one("event", lambda: EventsApi(client).get_event(args["event_ticker"]))
        await rec.one("exchange_status", ExchangeApi(client).get_exchange_status)
        await rec.one("account_limits", AccountApi(client).get_account_api_limits)
    finally:
        await client.close()
    return {"sdk_version": kalshi_python_async.__version__, "calls": rec.calls}


def main() -> None:
    args = json.loads(sys.stdin.read())
    json.dump(asyncio.run(drive(args)), sys.stdout)


if __name__ == "__main__":
    main()
