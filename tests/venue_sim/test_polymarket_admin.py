"""`/_sim/polymarket` admin operations, observed through the venue's own APIs."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx

from services.venue_sim.adapters.polymarket_auth import ApiCredentials, l2_headers
from services.venue_sim.scenarios.polymarket_demo import load_polymarket_demo
from services.venue_sim.testing import running_sim


async def test_external_trade_fill_and_resolution_show_up_on_the_venue() -> None:
    async with running_sim() as h, httpx.AsyncClient() as http:
        ex = h.sim.polymarket
        if not ex.markets:
            load_polymarket_demo(ex, seed=1)
        market = next(m for m in ex.markets.values() if m.winner_index is None)
        token = market.tokens[1].token_id
        before = ex.position(token).size
        user = ex.config.address

        resp = await http.post(f"{h.admin_url}/_sim/polymarket/external-trades",
                               json={"asset": token, "side": "BUY", "size": "12.5", "price": "0.61"})
        assert resp.status_code == 201 and resp.json()["status"] == "MATCHED"
        rows = (await http.get(f"{h.data_api_url}/positions", params={"user": user, "sizeThreshold": 0})).json(parse_float=Decimal)
        assert next(r for r in rows if r["asset"] == token)["size"] == before + Decimal("12.5")

        bad = await http.post(f"{h.admin_url}/_sim/polymarket/external-trades",
                              json={"asset": token, "side": "SELL", "size": "1000000", "price": "0.5"})
        assert bad.status_code == 400 and "error" in bad.json()

        orphan = ex.open_orders()[0]
        fill = await http.post(f"{h.admin_url}/_sim/polymarket/orders/{orphan.id}/fill", json={"size": "50"})
        assert fill.status_code == 201 and fill.json()["trader_side"] == "MAKER"
        c = ex.config
        path = f"/data/order/{orphan.id}"
        got = await http.get(f"{h.clob_url}{path}", headers=l2_headers(
            ApiCredentials(c.api_key, c.api_secret, c.api_passphrase, c.address), int(time.time()), "GET", path, None))
        assert got.json()["size_matched"] == "50" and got.json()["status"] == "LIVE"

        resolved = await http.post(f"{h.admin_url}/_sim/polymarket/markets/{market.condition_id}/resolve",
                                   json={"winner": "No"})
        assert resolved.status_code == 200
        rows = (await http.get(f"{h.data_api_url}/positions", params={"user": user, "sizeThreshold": 0})).json(parse_float=Decimal)
        row = next(r for r in rows if r["asset"] == token)
        assert row["redeemable"] is True and row["curPrice"] == 1
        state = (await http.get(f"{h.admin_url}/_sim/polymarket/state")).json()
        assert any(m["condition_id"] == market.condition_id and m["resolved"] for m in state["markets"])
