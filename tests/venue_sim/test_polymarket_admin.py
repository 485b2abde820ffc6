"""`/_sim/polymarket` admin operations, observed through the venue's own APIs."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx

from services.venue_sim.adapters.polymarket_auth import ApiCredentials, l2_headers
from services.venue_sim.scenarios.polymarket_demo import load_polymarket_demo
from tests.support.venue_sim import running_sim


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


def _l2(h, path: str) -> dict[str, str]:
    c = h.sim.polymarket.config
    return l2_headers(ApiCredentials(c.api_key, c.api_secret, c.api_passphrase, c.address), int(time.time()),
                      "GET", path, None)


async def _clob_trades(h, http: httpx.AsyncClient, **params) -> list[dict]:
    """Every `/data/trades` page, raw JSON rows in the order served."""
    rows, cursor = [], "MA=="
    while cursor != "LTE=":
        resp = await http.get(f"{h.clob_url}/data/trades", params={**params, "next_cursor": cursor},
                              headers=_l2(h, "/data/trades"))
        assert resp.status_code == 200, resp.text
        rows += resp.json()["data"]
        cursor = resp.json()["next_cursor"]
    return rows


async def test_malformed_trade_row_is_served_verbatim_among_the_others() -> None:
    async with running_sim(scenario="demo", seed=3) as h, httpx.AsyncClient() as http:
        ex = h.sim.polymarket
        before = await _clob_trades(h, http)
        positions, collateral = ex.positions(), ex.collateral()
        started = int(time.time())

        resp = await http.post(f"{h.admin_url}/_sim/polymarket/trades/malformed", json={})
        assert resp.status_code == 201
        trade_id = resp.json()["id"]

        after = await _clob_trades(h, http)
        assert len(after) == len(before) + 1
        assert after[0]["id"] == trade_id  # newest first
        assert after[1:] == before  # every real trade unaffected, same order, same bytes
        row = after[0]
        assert row["size"] == "not-a-number"
        assert row["asset_id"] in ex.token_market and row["market"] == ex.token_market[row["asset_id"]]
        assert row["maker_address"] == ex.config.address and row["owner"] == ex.config.api_key
        assert (row["side"], row["status"]) == ("BUY", "MATCHED") and 0 < Decimal(row["price"]) < 1
        assert started <= int(row["match_time"]) == int(row["last_update"]) <= int(time.time())
        # Garbage, not a trade: holdings, cash and the chain-indexed Data API do not see it.
        assert ex.positions() == positions and ex.collateral() == collateral
        data_trades = (await http.get(f"{h.data_api_url}/trades", params={"user": ex.config.address,
                                                                          "limit": 500})).json()
        assert len(data_trades) == sum(1 for t in ex.trades if ex.trade_status(t) in ("MINED", "CONFIRMED"))

        # `after` (exclusive, unix seconds) sees it like any trade of that time.
        recent = await _clob_trades(h, http, after=str(started - 1))
        assert trade_id in {r["id"] for r in recent}
        assert trade_id not in {r["id"] for r in await _clob_trades(h, http, after=row["match_time"])}


async def test_given_malformed_row_keeps_its_fields_and_gets_the_time() -> None:
    async with running_sim(scenario="demo", seed=3) as h, httpx.AsyncClient() as http:
        given = {"id": "garbage-1", "price": 0.5, "maker_orders": "nope"}
        resp = await http.post(f"{h.admin_url}/_sim/polymarket/trades/malformed", json={"row": given})
        assert resp.status_code == 201 and resp.json() == {"id": "garbage-1"}
        rows = await _clob_trades(h, http)
        served = next(r for r in rows if r.get("id") == "garbage-1")
        assert {k: served[k] for k in given} == given
        assert set(served) == {*given, "match_time", "last_update"}
        assert int(served["match_time"]) <= h.sim.clock.now_ms() // 1000
        bad = await http.post(f"{h.admin_url}/_sim/polymarket/trades/malformed", json={"row": [1]})
        assert bad.status_code == 400 and "error" in bad.json()

    async with running_sim() as h, httpx.AsyncClient() as http:  # empty: no market to make it look real
        resp = await http.post(f"{h.admin_url}/_sim/polymarket/trades/malformed")
        assert resp.status_code == 409 and "error" in resp.json()


async def test_resolution_shows_on_both_data_api_versions_and_the_clob_market() -> None:
    async with running_sim(scenario="demo", seed=3) as h, httpx.AsyncClient() as http:
        ex = h.sim.polymarket
        user = ex.config.address
        # The demo already holds a position in a market that resolved.
        settled = [m for m in ex.markets.values() if m.winner_index is not None]
        assert settled and any(ex.position(t.token_id).size > 0 for m in settled for t in m.tokens)

        market = next(m for m in ex.markets.values() if m.winner_index is None
                      and any(ex.position(t.token_id).size > 0 for t in m.tokens))
        winner, loser = market.tokens[1], market.tokens[0]
        ex.record_external_trade(loser.token_id, "BUY", Decimal("7"), Decimal("0.5"), will_fail=False)
        ex.record_external_trade(winner.token_id, "BUY", Decimal("3"), Decimal("0.5"), will_fail=False)
        open_market = (await http.get(f"{h.clob_url}/markets/{market.condition_id}")).json()
        assert open_market["closed"] is False and not any(t["winner"] for t in open_market["tokens"])

        resp = await http.post(f"{h.admin_url}/_sim/polymarket/markets/{market.condition_id}/resolve",
                               json={"winner": winner.outcome})
        assert resp.status_code == 200 and resp.json()["winner"] == winner.outcome

        v1 = (await http.get(f"{h.data_api_url}/positions", params={"user": user, "sizeThreshold": 0,
                                                                     "market": market.condition_id})).json()
        assert {r["asset"]: (r["redeemable"], r["curPrice"]) for r in v1} == {
            winner.token_id: (True, 1), loser.token_id: (True, 0)}
        redeemable = (await http.get(f"{h.data_api_url}/positions", params={"user": user, "redeemable": "true",
                                                                             "sizeThreshold": 0})).json()
        assert {r["conditionId"] for r in redeemable} == {m.condition_id for m in (market, *settled)}

        v2 = (await http.get(f"{h.data_api_url}/v2/positions", params={"user": user,
                                                                        "condition_id": market.condition_id})).json()
        assert {r["token_id"]: (r["status"], r["current_price"]) for r in v2["data"]} == {
            winner.token_id: ("REDEEMABLE", 1), loser.token_id: ("REDEEMABLE", 0)}
        lost = (await http.get(f"{h.data_api_url}/v2/positions", params={"user": user,
                                                                          "status": "REDEEMABLE_LOST"})).json()
        assert loser.token_id in {r["token_id"] for r in lost["data"]}
        assert winner.token_id not in {r["token_id"] for r in lost["data"]}

        closed = (await http.get(f"{h.clob_url}/markets/{market.condition_id}")).json()
        assert closed["closed"] is True and closed["active"] is False and closed["accepting_orders"] is False
        assert {t["token_id"]: t["winner"] for t in closed["tokens"]} == {winner.token_id: True,
                                                                          loser.token_id: False}
        assert {t["token_id"]: t["price"] for t in closed["tokens"]} == {winner.token_id: 1, loser.token_id: 0}
