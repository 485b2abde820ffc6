"""Data API positions paging and filters, exact JSON numbers, and CLOB cursor pages over HTTP."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal

import httpx

from services.venue_sim.adapters.polymarket_auth import ApiCredentials, l2_headers
from services.venue_sim.scenarios.polymarket_demo import load_polymarket_demo
from tests.support.venue_sim import running_sim


def _ensure_demo(handle) -> None:
    if not handle.sim.polymarket.markets:
        load_polymarket_demo(handle.sim.polymarket, seed=1)


def _creds(handle) -> ApiCredentials:
    c = handle.sim.polymarket.config
    return ApiCredentials(c.api_key, c.api_secret, c.api_passphrase, c.address)


async def test_positions_offset_pages_cover_every_position_once_and_threshold_hides_dust() -> None:
    async with running_sim() as h, httpx.AsyncClient(base_url=h.data_api_url) as http:
        _ensure_demo(h)
        ex = h.sim.polymarket
        user = ex.config.address
        held = {token for token, p in ex.positions().items() if p.size > 0}
        dust = {token for token in held if ex.positions()[token].size < 1}
        assert dust, "the demo has a dust position"

        seen: list[str] = []
        offset = 0
        while True:
            resp = await http.get("/positions", params={"user": user, "sizeThreshold": "0", "limit": 2, "offset": offset})
            assert resp.status_code == 200
            page = resp.json(parse_float=Decimal)
            seen += [row["asset"] for row in page]
            if len(page) < 2:
                break
            offset += 2
        assert sorted(seen) == sorted(held)  # every position exactly once

        default = (await http.get("/positions", params={"user": user})).json(parse_float=Decimal)
        assert {row["asset"] for row in default} == held - dust

        capped = await http.get("/positions", params={"user": user, "limit": 100000, "sizeThreshold": 0})
        assert capped.status_code == 200 and len(capped.json()) == len(held)  # capped at 500, not refused
        assert (await http.get("/positions", params={"user": user, "offset": 10001})).status_code == 400
        assert (await http.get("/positions", params={"user": "0x" + "12" * 20})).json() == []


async def test_position_rows_have_the_documented_fields_and_exact_numbers() -> None:
    async with running_sim() as h, httpx.AsyncClient(base_url=h.data_api_url) as http:
        _ensure_demo(h)
        ex = h.sim.polymarket
        raw = (await http.get("/positions", params={"user": ex.config.address, "sizeThreshold": 0})).text
        rows = json.loads(raw, parse_float=Decimal)
        expected_fields = {
            "proxyWallet", "asset", "conditionId", "size", "avgPrice", "initialValue", "currentValue", "cashPnl",
            "percentPnl", "totalBought", "realizedPnl", "curPrice", "redeemable", "mergeable", "title", "slug",
            "eventSlug", "outcome", "outcomeIndex", "oppositeOutcome", "oppositeAsset", "endDate", "negativeRisk",
        }
        for row in rows:
            assert set(row) == expected_fields
            state = ex.positions()[row["asset"]]
            assert Decimal(row["size"]) == state.size and Decimal(row["avgPrice"]) == state.avg_price
            assert Decimal(row["initialValue"]) == state.size * state.avg_price  # exact, no float rounding
            assert Decimal(row["cashPnl"]) == Decimal(row["currentValue"]) - Decimal(row["initialValue"])
        # Numbers are JSON numbers (not strings), written from Decimal digits.
        assert '"size":"' not in raw and '"avgPrice":' in raw


async def test_clob_trades_cursor_pages_return_every_trade_once() -> None:
    async with running_sim() as h, httpx.AsyncClient(base_url=h.clob_url) as http:
        _ensure_demo(h)
        ex = h.sim.polymarket
        creds = _creds(h)
        cursor, pages, ids = "MA==", 0, []
        while cursor != "LTE=":
            headers = l2_headers(creds, int(time.time()), "GET", "/data/trades", None)
            resp = await http.get("/data/trades", params={"next_cursor": cursor}, headers=headers)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert set(body) == {"data", "next_cursor", "limit", "count"} and body["count"] == len(body["data"])
            ids += [t["id"] for t in body["data"]]
            cursor = body["next_cursor"]
            pages += 1
            if cursor != "LTE=":
                assert int(base64.b64decode(cursor)) == len(ids)  # base64 of the offset, like the venue
        assert pages >= 3, "the demo history spans several pages"
        assert sorted(ids) == sorted(t.id for t in ex.trades) and len(set(ids)) == len(ids)


async def test_injected_page_failure_hits_exactly_that_page() -> None:
    async with running_sim() as h, httpx.AsyncClient(base_url=h.data_api_url) as http:
        _ensure_demo(h)
        h.sim.faults.for_venue("polymarket").fail_pages["positions"] = 2
        try:
            user = h.sim.polymarket.config.address
            first = await http.get("/positions", params={"user": user, "limit": 2, "offset": 0})
            second = await http.get("/positions", params={"user": user, "limit": 2, "offset": 2})
            assert first.status_code == 200
            assert second.status_code >= 500 and "error" in second.json()
        finally:
            h.sim.faults.for_venue("polymarket").fail_pages.clear()
