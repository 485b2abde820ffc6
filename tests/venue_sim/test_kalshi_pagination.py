"""Cursor pagination of the simulated Kalshi list endpoints."""

from __future__ import annotations

from decimal import Decimal

import pytest


async def _all_pages(kalshi, path: str, key: str, **params) -> tuple[list[dict], list[str]]:
    items: list[dict] = []
    cursors: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = await kalshi.get(path, **query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert isinstance(body["cursor"], str)  # always present, never null
        items += body[key]
        cursors.append(body["cursor"])
        if body["cursor"] == "":
            return items, cursors
        cursor = body["cursor"]


@pytest.mark.parametrize("limit", [100, 7, 1000])
async def test_fills_come_exactly_once_across_pages(kalshi, demo_sim, limit) -> None:
    expected = {f.fill_id for f in demo_sim.sim.kalshi.fills}
    assert len(expected) > 250
    fills, cursors = await _all_pages(kalshi, "/portfolio/fills", "fills", limit=limit)
    ids = [f["fill_id"] for f in fills]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert len(cursors) == -(-len(expected) // limit)  # ceil: no empty trailing page
    assert cursors[-1] == ""
    ts = [f["ts"] for f in fills]
    assert ts == sorted(ts, reverse=True)  # newest first


async def test_new_fills_while_paging_do_not_shift_the_unseen_pages(kalshi, admin, demo_sim) -> None:
    before = {f.fill_id for f in demo_sim.sim.kalshi.fills}
    first = (await kalshi.get("/portfolio/fills", limit=100)).json()
    await admin.post("/kalshi/external-trades", json={"ticker": "KXSB-27-KC", "side": "bid", "count": "3", "price": "0.18"})
    seen = [f["fill_id"] for f in first["fills"]]
    cursor = first["cursor"]
    while cursor:
        page = (await kalshi.get("/portfolio/fills", limit=100, cursor=cursor)).json()
        seen += [f["fill_id"] for f in page["fills"]]
        cursor = page["cursor"]
    assert len(seen) == len(set(seen)) and set(seen) == before


async def test_positions_page_exactly_once_and_event_rows_come_once(kalshi, demo_sim) -> None:
    expected = {p.ticker for p in demo_sim.sim.kalshi.positions.values() if not p.settled}
    rows, cursors = await _all_pages(kalshi, "/portfolio/positions", "market_positions", limit=2)
    tickers = [r["ticker"] for r in rows]
    assert len(tickers) == len(set(tickers)) and set(tickers) == expected
    assert len(cursors) == -(-len(expected) // 2) and cursors[-1] == ""
    # Signed positions match the venue's state exactly.
    for r in rows:
        assert Decimal(r["position_fp"]) == demo_sim.sim.kalshi.positions[r["ticker"]].signed
    first = (await kalshi.get("/portfolio/positions", limit=2)).json()
    events = [e["event_ticker"] for e in first["event_positions"]]
    assert len(events) == len(set(events)) == len({demo_sim.sim.kalshi.positions[t].event_ticker for t in expected})
    second = (await kalshi.get("/portfolio/positions", limit=2, cursor=first["cursor"])).json()
    assert second["event_positions"] == []


async def test_position_filters(kalshi, demo_sim) -> None:
    settled = (await kalshi.get("/portfolio/positions", settlement_status="settled")).json()["market_positions"]
    assert [r["ticker"] for r in settled] == ["KXCPIYOY-26OCT-T3.0"]
    fed = (await kalshi.get("/portfolio/positions", event_ticker="KXFEDDECISION-26DEC")).json()["market_positions"]
    assert {r["ticker"] for r in fed} == {"KXFEDDECISION-26DEC-C25", "KXFEDDECISION-26DEC-H0"}
    resting = (await kalshi.get("/portfolio/positions", count_filter="resting_order_count")).json()["market_positions"]
    assert [r["ticker"] for r in resting] == ["KXFEDDECISION-26DEC-C25"]
    bad = await kalshi.get("/portfolio/positions", count_filter="nonsense")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameters"


async def test_limit_above_1000_is_capped(kalshi, demo_sim) -> None:
    x = demo_sim.sim.kalshi
    for _ in range(1100 - len(x.fills)):
        x.external_trade("KXSB-27-KC", "bid", Decimal(1), Decimal("0.17"))
    first = (await kalshi.get("/portfolio/fills", limit=5000)).json()
    assert len(first["fills"]) == 1000 and first["cursor"] != ""
    rest = (await kalshi.get("/portfolio/fills", limit=5000, cursor=first["cursor"])).json()
    assert len(rest["fills"]) == len(x.fills) - 1000 and rest["cursor"] == ""
    default = (await kalshi.get("/portfolio/fills")).json()
    assert len(default["fills"]) == 100
    for bad in ("0", "-3", "ten"):
        resp = await kalshi.get("/portfolio/fills", limit=bad)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_parameters"
    assert (await kalshi.get("/portfolio/fills", cursor="garbage!")).status_code == 400


async def test_fill_filters_and_orders_paging(kalshi, demo_sim) -> None:
    x = demo_sim.sim.kalshi
    ticker = "KXPRESPERSON-28-JVAN"
    fills, _ = await _all_pages(kalshi, "/portfolio/fills", "fills", ticker=ticker, limit=10)
    assert {f["fill_id"] for f in fills} == {f.fill_id for f in x.fills if f.ticker == ticker}
    pair = (ticker, "KXSB-27-KC")  # a comma-separated list, as Kalshi accepts
    both, _ = await _all_pages(kalshi, "/portfolio/fills", "fills", ticker=",".join(pair), limit=50)
    assert {f["fill_id"] for f in both} == {f.fill_id for f in x.fills if f.ticker in pair}
    mid = sorted(f.ts_ms // 1000 for f in x.fills)[len(x.fills) // 2]
    windowed, _ = await _all_pages(kalshi, "/portfolio/fills", "fills", min_ts=mid, limit=50)
    assert {f["fill_id"] for f in windowed} == {f.fill_id for f in x.fills if f.ts_ms // 1000 >= mid}
    one = x.fills[5]
    by_order = (await kalshi.get("/portfolio/fills", order_id=one.order_id)).json()["fills"]
    assert [f["fill_id"] for f in by_order] == [one.fill_id]

    orders, cursors = await _all_pages(kalshi, "/portfolio/orders", "orders", limit=100)
    assert {o["order_id"] for o in orders} == set(x.orders) and len(orders) == len(x.orders)
    assert cursors[-1] == ""
    executed, _ = await _all_pages(kalshi, "/portfolio/orders", "orders", status="executed", limit=1000)
    assert all(o["status"] == "executed" for o in executed)
    settlements = (await kalshi.get("/portfolio/settlements")).json()
    assert settlements["cursor"] == "" and [s["ticker"] for s in settlements["settlements"]] == ["KXCPIYOY-26OCT-T3.0"]
