"""The `/_sim` admin API as it affects the simulated Kalshi, observed through the venue API."""

from __future__ import annotations

import json
import time
from decimal import ROUND_CEILING, Decimal

import httpx
import pytest

from tests.support.venue_sim import running_sim

D = Decimal


async def test_external_trade_appears_in_fills_positions_and_balance(kalshi, admin) -> None:
    ticker = "KXBTCMAXY-26-150000"
    before = D((await kalshi.get("/portfolio/balance")).json()["balance_dollars"])
    assert (await kalshi.get("/portfolio/positions", ticker=ticker)).json()["market_positions"] == []
    resp = await admin.post("/kalshi/external-trades",
                            json={"ticker": ticker, "side": "no", "action": "buy", "count": "10", "price": "0.75"})
    assert resp.status_code == 201, resp.text
    fill = resp.json()["fill"]
    newest = (await kalshi.get("/portfolio/fills", limit=1)).json()["fills"][0]
    assert newest == fill
    # Buying NO at 0.75 is selling YES at 0.25 on the YES book.
    assert (newest["book_side"], newest["yes_price_dollars"], newest["no_price_dollars"]) == ("ask", "0.2500", "0.7500")
    pos = (await kalshi.get("/portfolio/positions", ticker=ticker)).json()["market_positions"][0]
    assert D(pos["position_fp"]) == -10 and D(pos["market_exposure_dollars"]) == D("7.50")
    fee = (D("0.07") * 10 * D("0.25") * D("0.75") * 100).to_integral_value(rounding=ROUND_CEILING) / 100
    after = D((await kalshi.get("/portfolio/balance")).json()["balance_dollars"])
    assert after == before - D("7.50") - fee
    bad = await admin.post("/kalshi/external-trades", json={"ticker": ticker, "side": "bid", "count": "1", "price": "half"})
    assert bad.status_code == 400
    missing = await admin.post("/kalshi/external-trades", json={"ticker": "NOPE", "side": "bid", "count": "1", "price": "0.5"})
    assert missing.status_code == 404


async def test_settlement_pays_winners_and_moves_the_position_to_settled(kalshi, admin, demo_sim) -> None:
    ticker = "KXSB-27-KC"  # the demo holds 250 NO here
    held = -demo_sim.sim.kalshi.positions[ticker].signed
    before = (await kalshi.get("/portfolio/balance")).json()
    resp = await admin.post(f"/kalshi/markets/{ticker}/settle", json={"result": "no"})
    assert resp.status_code == 200, resp.text
    after = (await kalshi.get("/portfolio/balance")).json()
    assert D(after["balance_dollars"]) == D(before["balance_dollars"]) + held  # $1 per winning contract
    settlement = (await kalshi.get("/portfolio/settlements", ticker=ticker)).json()["settlements"]
    assert len(settlement) == 1
    assert (settlement[0]["market_result"], settlement[0]["revenue"], D(settlement[0]["no_count_fp"])) == ("no", int(held * 100), held)
    assert (await kalshi.get("/portfolio/positions", ticker=ticker)).json()["market_positions"] == []
    settled = (await kalshi.get("/portfolio/positions", ticker=ticker, settlement_status="settled")).json()
    assert D(settled["market_positions"][0]["position_fp"]) == 0
    market = (await kalshi.http.get(f"/trade-api/v2/markets/{ticker}")).json()["market"]
    assert (market["status"], market["result"]) == ("finalized", "no")
    assert (await admin.post(f"/kalshi/markets/{ticker}/settle", json={"result": "yes"})).status_code == 400
    order = await kalshi.post("/portfolio/events/orders", {"ticker": ticker, "client_order_id": "late", "side": "bid",
                                                           "count": "1", "price": "0.50"})
    assert order.status_code == 400 and order.json()["error"]["code"] == "market_closed"


async def test_settling_a_market_with_a_resting_order_cancels_it(kalshi, admin) -> None:
    ticker = "KXFEDDECISION-26DEC-C25"
    resting = (await kalshi.get("/portfolio/orders", status="resting", ticker=ticker)).json()["orders"]
    assert len(resting) == 1
    await admin.post(f"/kalshi/markets/{ticker}/settle", json={"result": "yes"})
    order = (await kalshi.get(f"/portfolio/orders/{resting[0]['order_id']}")).json()["order"]
    assert order["status"] == "canceled"


async def test_failing_page_latency_malformed_json_and_random_errors(kalshi, admin, demo_sim) -> None:
    assert (await admin.post("/faults", json={"venue": "kalshi", "fail_pages": {"fills": 3}})).status_code == 200
    page1 = (await kalshi.get("/portfolio/fills", limit=100)).json()
    page2 = await kalshi.get("/portfolio/fills", limit=100, cursor=page1["cursor"])
    assert page2.status_code == 200
    page3 = await kalshi.get("/portfolio/fills", limit=100, cursor=page2.json()["cursor"])
    assert page3.status_code == 500 and page3.json()["error"]["code"] == "internal_server_error"
    assert (await kalshi.get("/portfolio/positions")).status_code == 200  # other endpoints unaffected
    await admin.delete("/faults")
    assert (await kalshi.get("/portfolio/fills", limit=100, cursor=page2.json()["cursor"])).status_code == 200

    await admin.post("/faults", json={"venue": "kalshi", "latency_ms": 300})
    started = time.perf_counter()
    assert (await kalshi.get("/portfolio/balance")).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    assert (await admin.get("/state")).status_code == 200  # admin is never faulted
    assert time.perf_counter() - started < 0.3

    await admin.post("/faults", json={"venue": "kalshi", "latency_ms": 0, "malformed_json": True})
    broken = await kalshi.get("/portfolio/balance")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)

    await admin.delete("/faults", params={"venue": "kalshi"})
    await admin.post("/faults", json={"venue": "kalshi", "error_rate": 1})
    orders_before = len(demo_sim.sim.kalshi.orders)
    failed = await kalshi.post("/portfolio/events/orders", {"ticker": "KXSB-27-KC", "client_order_id": "err-1",
                                                            "side": "bid", "count": "1", "price": "0.10"})
    assert failed.status_code in (500, 503) and "error" in failed.json()
    assert len(demo_sim.sim.kalshi.orders) == orders_before  # refused before the handler ran

    bad = await admin.post("/faults", json={"venue": "kalshi", "error_rate": 2})
    assert bad.status_code == 400
    assert (await admin.post("/faults", json={"venue": "nasdaq"})).status_code == 400
    assert (await admin.post("/faults", json={"venue": "kalshi", "bogus": 1})).status_code == 400


async def test_timeout_after_accept_applies_the_order_but_never_answers(kalshi, admin, demo_sim) -> None:
    await admin.post("/faults", json={"venue": "kalshi", "timeout_after_accept": True})
    body = {"ticker": "KXSB-27-KC", "client_order_id": "lost-1", "side": "bid", "count": "2", "price": "0.10"}
    with pytest.raises(httpx.ReadTimeout):
        await kalshi.request("POST", "/portfolio/events/orders", json=body, timeout=0.5)
    await admin.delete("/faults")
    orders = (await kalshi.get("/portfolio/orders", ticker="KXSB-27-KC", status="resting")).json()["orders"]
    assert [o["client_order_id"] for o in orders].count("lost-1") == 1


async def test_request_counts_scenario_reset_and_state(kalshi, admin, demo_sim) -> None:
    await admin.delete("/kalshi/requests")
    for _ in range(3):
        await kalshi.get("/portfolio/fills", limit=5)
    await kalshi.get("/portfolio/balance")
    counts = (await admin.get("/kalshi/requests")).json()
    assert counts["by_path"] == {"/trade-api/v2/portfolio/fills": 3, "/trade-api/v2/portfolio/balance": 1}
    assert counts["by_route"]["GET /trade-api/v2/portfolio/fills"] == 3 and counts["total"] == 4

    fill_ids = [f.fill_id for f in demo_sim.sim.kalshi.fills]
    assert (await admin.post("/scenario", json={"name": "empty", "seed": 1})).status_code == 200
    assert (await kalshi.get("/portfolio/fills")).json() == {"fills": [], "cursor": ""}
    assert (await admin.post("/scenario", json={"name": "demo", "seed": 7})).status_code == 200
    assert [f.fill_id for f in demo_sim.sim.kalshi.fills] == fill_ids  # seeded: identical again
    assert (await admin.post("/scenario", json={"name": "nope"})).status_code == 400

    states = []
    for url in (demo_sim.kalshi_url, demo_sim.data_api_url, demo_sim.clob_url):
        async with httpx.AsyncClient(base_url=url) as http:
            state = (await http.get("/_sim/state")).json()
            state.pop("clock")  # read at slightly different moments
            states.append(state)
    assert states[0] == states[1] == states[2]
    assert states[0]["scenario"] == "demo" and len(states[0]["kalshi"]["positions"]) == 7
    assert states[0]["polymarket"]


async def test_clock_advance_needs_a_manual_clock(admin) -> None:
    assert (await admin.post("/clock/advance", json={"ms": 1000})).status_code == 409
    async with running_sim(manual_clock=True) as h, httpx.AsyncClient(base_url=f"{h.admin_url}/_sim") as http:
        start = h.sim.clock.now_ms()
        resp = await http.post("/clock/advance", json={"ms": 1500})
        assert resp.status_code == 200 and resp.json()["now_ms"] == start + 1500
        assert (await http.post("/clock/advance", json={"ms": -1})).status_code == 400


async def _all_fills(kalshi, **params) -> list[dict]:
    rows, cursor = [], None
    while True:
        paging = {"cursor": cursor} if cursor else {}
        page = (await kalshi.get("/portfolio/fills", limit=50, **params, **paging)).json()
        rows += page["fills"]
        cursor = page["cursor"]
        if not cursor:
            return rows


async def test_malformed_fill_rows_are_listed_verbatim_by_time_and_move_no_money(kalshi, admin, demo_sim) -> None:
    x = demo_sim.sim.kalshi
    before_fills = await _all_fills(kalshi)
    before_balance = (await kalshi.get("/portfolio/balance")).json()
    before_positions = (await kalshi.get("/portfolio/positions")).json()

    default = await admin.post("/kalshi/fills/malformed", json={})
    assert default.status_code == 201
    fill_id = default.json()["fill_id"]
    newest = (await kalshi.get("/portfolio/fills", limit=1)).json()["fills"][0]
    assert newest["fill_id"] == newest["trade_id"] == fill_id
    assert newest["count_fp"] == "not-a-number"
    assert newest["ticker"] in x.markets and (newest["outcome_side"], newest["book_side"]) == ("yes", "bid")
    assert newest["exchange_index"] == 0 and D(newest["yes_price_dollars"]) + D(newest["no_price_dollars"]) == 1
    assert abs(newest["ts"] * 1000 - x.clock.now_ms()) < 5000

    # A given row is kept as given; a past `ts` places it among the real fills by time.
    middle = before_fills[len(before_fills) // 2]
    row = {"fill_id": "weird-1", "ticker": middle["ticker"], "ts": middle["ts"], "count_fp": 12.5, "extra": [1, None]}
    given = await admin.post("/kalshi/fills/malformed", json={"row": row})
    assert given.status_code == 201 and given.json() == {"fill_id": "weird-1"}
    everything = await _all_fills(kalshi)
    assert len(everything) == len(before_fills) + 2 and len({f.get("fill_id") for f in everything}) == len(everything)
    injected = next(f for f in everything if f.get("fill_id") == "weird-1")
    assert injected == {**row, "created_time": injected["created_time"]}  # created_time filled in, rest verbatim
    times = [f["ts"] for f in everything]
    assert times == sorted(times, reverse=True)  # newest first, the garbage in its place
    since = await _all_fills(kalshi, min_ts=middle["ts"])
    assert "weird-1" in {f.get("fill_id") for f in since}
    assert "weird-1" not in {f.get("fill_id") for f in await _all_fills(kalshi, min_ts=middle["ts"] + 1)}

    assert (await kalshi.get("/portfolio/balance")).json()["balance_dollars"] == before_balance["balance_dollars"]
    assert (await kalshi.get("/portfolio/positions")).json() == before_positions
    assert (await admin.post("/kalshi/fills/malformed", json={"row": [1, 2]})).status_code == 400
    await admin.post("/scenario", json={"name": "demo", "seed": 7})
    assert len(await _all_fills(kalshi)) == len(before_fills)  # a reset drops them
