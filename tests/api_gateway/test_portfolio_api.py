"""GET /api/v2/positions[/summary|/{id}] and /api/v2/portfolio/history: the real api-gateway process
asking the ledger's real responders (in this process, as the `ledger` NATS user) over real NATS,
on a seeded ledger database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import httpx
import pytest

from tests.ledger.ledger_seed import api_gateway, ledger_responders, seed_demo_book

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
async def namespace(provision_bus) -> str:
    name = f"p{uuid.uuid4().hex[:10]}"
    await provision_bus(name)
    return name


@pytest.fixture(scope="module")
async def api(nats_users, namespace, database_factory) -> AsyncIterator[httpx.AsyncClient]:
    async with ledger_responders(nats_users["ledger"], namespace, database_factory("trueup_ledger_api")) as pool:
        await seed_demo_book(pool, NOW)
        async with api_gateway(nats_users, namespace) as client:
            yield client


async def positions(api, **params) -> dict:
    response = await api.get("/api/v2/positions", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_positions_are_filtered_sorted_and_paged_with_decimal_strings(api):
    page = await positions(api)
    assert page["total"] == 6 and (page["limit"], page["offset"]) == (100, 0)
    assert "event_id" not in page  # the bus envelope stays on the bus
    fed = next(p for p in page["positions"] if p["id"] == "p-fed")
    assert (fed["title"], fed["venue"], fed["status"]) == ("Fed holds rates in March?", "kalshi", "open")
    assert (fed["quantity"], fed["avg_price"], fed["mark_price"]) == ("120", "0.55", "0.62")
    assert D(fed["market_value"]) == D("74.40") and D(fed["unrealized_pnl"]) == D("8.40")
    assert isinstance(fed["cost_basis"], str) and isinstance(fed["realized_pnl"], str)

    assert {p["id"] for p in (await positions(api, status="closed"))["positions"]} == {"p-closed-win", "p-closed-loss"}
    assert [p["id"] for p in (await positions(api, venue="polymarket"))["positions"]] == ["p-lakers"]
    assert {p["id"] for p in (await positions(api, strategy_name="weather", status="open"))["positions"]} == {"p-rain"}
    by_market = await positions(api, market_id="KXFEDDECISION-26MAR-H0")
    assert {p["id"] for p in by_market["positions"]} == {"p-fed", "p-closed-loss"}

    # Best first; the held NO is worth 1 − 0.35 = 0.65 against 0.70 paid: −2.00.
    best = await positions(api, status="open", order_by="unrealized_pnl")
    assert [p["id"] for p in best["positions"]] == ["p-fed", "p-rain", "p-lakers", "p-cpi"]
    assert [p["id"] for p in (await positions(api, status="open", order_by="unrealized_pnl", asc="true"))["positions"]] \
        == ["p-lakers", "p-rain", "p-fed", "p-cpi"]  # no mark: last either way
    biggest = await positions(api, order_by="cost_basis", asc="0", limit=2)
    assert [p["id"] for p in biggest["positions"]] == ["p-lakers", "p-fed"] and biggest["total"] == 6
    oldest = await positions(api, order_by="opened_at", asc=1, limit=2, offset=1)
    assert [p["id"] for p in oldest["positions"]] == ["p-closed-loss", "p-lakers"] and oldest["offset"] == 1


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/api/v2/positions", {"limit": "0"}, "limit"),
    ("/api/v2/positions", {"limit": "1001"}, "limit"),
    ("/api/v2/positions", {"limit": "ten"}, "limit"),
    ("/api/v2/positions", {"offset": "-1"}, "offset"),
    ("/api/v2/positions", {"offset": "1" + "0" * 30}, "offset"),
    ("/api/v2/positions", {"status": "pending"}, "status"),
    ("/api/v2/positions", {"venue": "binance"}, "venue"),
    ("/api/v2/positions", {"order_by": "title"}, "order_by"),
    ("/api/v2/positions", {"asc": "yes"}, "asc"),
    ("/api/v2/positions", {"strategy_name": ""}, "strategy_name"),
    ("/api/v2/positions", {"sort": "cost_basis"}, "sort"),
    ("/api/v2/portfolio/history", {"since": "yesterday"}, "since"),
    ("/api/v2/portfolio/history", {"since": "2026-03-01T00:00:00"}, "since"),  # no offset: ambiguous
    ("/api/v2/portfolio/history", {"until": "2026-03-01"}, "until"),
    ("/api/v2/portfolio/history", {"until": "2026-02-30T00:00:00Z"}, "until"),
    ("/api/v2/portfolio/history", {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "since"),
    ("/api/v2/portfolio/history", {"limit": "0"}, "limit"),
    ("/api/v2/positions/summary", {"venue": "kalshi"}, "venue"),
])
async def test_a_bad_parameter_is_a_400_naming_it(api, path, params, parameter):
    response = await api.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["parameter"] == parameter and body["error"].startswith(f"{parameter}:")


async def test_one_position_and_an_unknown_one(api):
    response = await api.get("/api/v2/positions/p-rain")
    assert response.status_code == 200
    rain = response.json()["position"]
    assert (rain["outcome"], rain["mark_price"], rain["origin"]) == ("no", "0.65", "external")
    missing = await api.get("/api/v2/positions/no-such-position")
    assert missing.status_code == 404 and "no-such-position" in missing.json()["error"]


async def test_summary_totals_are_decimal_strings(api):
    response = await api.get("/api/v2/positions/summary")
    assert response.status_code == 200
    body = response.json()
    totals = body["totals"]
    # Open: fed 74.40 + rain 26.00 + lakers 102.70500 + cpi at cost 3.00 (no mark).
    assert D(totals["total_market_value"]) == D("206.105")
    assert D(totals["total_cost_basis"]) == D("210.4765")
    assert D(totals["unrealized_pnl"]) == D("-4.3715")
    assert D(totals["realized_pnl"]) == D("-1.20") - D("0.40") + D("12.35") - D("8.10")
    assert D(totals["cash"]) == D("1560.95")
    assert D(totals["net_liquidation"]) == D("1560.95") + D("206.105")
    assert (totals["open_positions"], totals["unvalued_positions"]) == (4, 1)
    assert all(isinstance(totals[k], str) for k in ("total_cost_basis", "fees", "net_liquidation"))
    assert datetime.fromisoformat(body["cash_as_of"]) == NOW - timedelta(minutes=2)


async def test_history_defaults_to_the_latest_and_honours_the_window(api):
    everything = (await api.get("/api/v2/portfolio/history")).json()["snapshots"]
    assert len(everything) == 48
    times = [datetime.fromisoformat(s["snapshot_at"]) for s in everything]
    assert times == sorted(times) and times[-1] == NOW
    assert isinstance(everything[0]["totals"]["net_liquidation"], str)

    since = (NOW - timedelta(hours=3)).isoformat()  # "+00:00": httpx encodes the '+' as %2B
    window = (await api.get("/api/v2/portfolio/history", params={"since": since})).json()["snapshots"]
    assert [datetime.fromisoformat(s["snapshot_at"]) for s in window] == times[-4:]
    until = (NOW - timedelta(hours=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    early = await api.get("/api/v2/portfolio/history", params={"until": until, "limit": "3"})
    assert [datetime.fromisoformat(s["snapshot_at"]) for s in early.json()["snapshots"]] == times[5:8]


async def test_no_ledger_is_a_503_that_says_so(nats_users, provision_bus):
    lonely = f"p{uuid.uuid4().hex[:10]}"
    await provision_bus(lonely)
    async with api_gateway(nats_users, lonely) as client:
        for path in ("/api/v2/positions", "/api/v2/positions/p-fed", "/api/v2/positions/summary",
                     "/api/v2/portfolio/history"):
            response = await client.get(path)
            assert response.status_code == 503, path
            assert "ledger unavailable" in response.json()["error"]
        # Parameters are checked first: a bad one is the caller's error even with the ledger down.
        assert (await client.get("/api/v2/positions", params={"limit": "0"})).status_code == 400
