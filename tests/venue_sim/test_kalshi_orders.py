"""Order entry on the simulated Kalshi: validation, idempotency, matching, fees, positions."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import pytest

from services.venue_sim.domain.kalshi_market import Event, Market

T = "KXTEST-26-A"
D = Decimal


def _fee(count: Decimal, price: Decimal) -> Decimal:
    """Kalshi's published taker fee, computed here independently: ceil to the cent of 0.07*C*P*(1-P)."""
    raw = D("0.07") * count * price * (1 - price)
    return (raw * 100).to_integral_value(rounding=ROUND_CEILING) / 100


@pytest.fixture
def book(demo_sim):
    """A fresh market: NO bids 0.45 x10 and 0.44 x5 (YES asks 0.55 / 0.56), YES bid 0.50 x7."""
    x = demo_sim.sim.kalshi
    now = x.clock.now_ms()
    x.add_event(Event("KXTEST-26", "KXTEST", "Test event"))
    x.add_market(Market(T, "KXTEST-26", "Test market?", "A", "Not A", now - 1000, now + 86_400_000))
    x.add_liquidity(T, "no", D("0.45"), D("10"))
    x.add_liquidity(T, "no", D("0.44"), D("5"))
    x.add_liquidity(T, "yes", D("0.50"), D("7"))
    return x


def _order(cid: str, side: str, count: str, price: str, tif: str = "good_till_canceled", **extra) -> dict:
    return {"ticker": T, "client_order_id": cid, "side": side, "count": count, "price": price,
            "time_in_force": tif, **extra}


async def _snapshot(kalshi) -> tuple:
    bal = (await kalshi.get("/portfolio/balance")).json()
    fills = (await kalshi.get("/portfolio/fills", limit=1000)).json()["fills"]
    orders = (await kalshi.get("/portfolio/orders", limit=1000)).json()["orders"]
    positions = (await kalshi.get("/portfolio/positions", limit=1000)).json()["market_positions"]
    ob = (await kalshi.http.get(f"/trade-api/v2/markets/{T}/orderbook")).json()
    return bal["balance_dollars"], len(fills), len(orders), positions, ob


async def test_crossing_order_fills_partially_at_maker_prices_and_rests_the_rest(kalshi, admin, book) -> None:
    before = (await kalshi.get("/portfolio/balance")).json()
    resp = await kalshi.post("/portfolio/events/orders", _order("c-1", "bid", "20", "0.5600"))
    assert resp.status_code == 201, resp.text
    body = resp.json(parse_float=D)
    cost = D(10) * D("0.55") + D(5) * D("0.56")
    fees = _fee(D(10), D("0.55")) + _fee(D(5), D("0.56"))
    assert (body["fill_count"], body["remaining_count"]) == ("15.00", "5.00")
    assert D(body["average_fill_price"]) == (cost / 15).quantize(D("0.000001"), rounding="ROUND_FLOOR")
    assert D(body["average_fee_paid"]) == fees / 15

    fills = (await kalshi.get("/portfolio/fills", ticker=T)).json()["fills"]
    assert [(f["count_fp"], f["yes_price_dollars"], f["no_price_dollars"], f["is_taker"], f["book_side"])
            for f in fills] == [("5.00", "0.5600", "0.4400", True, "bid"), ("10.00", "0.5500", "0.4500", True, "bid")]
    assert {f["order_id"] for f in fills} == {body["order_id"]}
    assert sum(D(f["fee_cost"]) for f in fills) == fees

    after = (await kalshi.get("/portfolio/balance")).json()
    assert D(after["balance_dollars"]) == D(before["balance_dollars"]) - cost - fees
    assert after["balance"] == before["balance"] - int((cost + fees) * 100)

    pos = (await kalshi.get("/portfolio/positions", ticker=T)).json()["market_positions"]
    assert len(pos) == 1
    assert D(pos[0]["position_fp"]) == 15
    assert D(pos[0]["market_exposure_dollars"]) == cost
    assert D(pos[0]["fees_paid_dollars"]) == fees
    assert pos[0]["resting_orders_count"] == 1

    order = (await kalshi.get(f"/portfolio/orders/{body['order_id']}")).json()["order"]
    assert (order["status"], order["fill_count_fp"], order["remaining_count_fp"]) == ("resting", "15.00", "5.00")
    assert order["client_order_id"] == "c-1"
    ob = (await kalshi.http.get(f"/trade-api/v2/markets/{T}/orderbook")).json()["orderbook_fp"]
    assert ob["no_dollars"] == []  # both NO levels consumed
    assert ["0.5600", "5.00"] in ob["yes_dollars"]  # our remainder rests at our price

    # Another participant sells into our resting bid: a maker fill, no maker fee on this market.
    crossed = await admin.post(f"/kalshi/markets/{T}/trade", json={"side": "ask", "count": "5", "price": "0.56"})
    assert crossed.status_code == 200 and len(crossed.json()["our_fills"]) == 1
    order = (await kalshi.get(f"/portfolio/orders/{body['order_id']}")).json()["order"]
    assert (order["status"], order["remaining_count_fp"]) == ("executed", "0.00")
    maker = (await kalshi.get("/portfolio/fills", order_id=body["order_id"], limit=1)).json()["fills"][0]
    assert (maker["is_taker"], maker["fee_cost"], maker["count_fp"]) == (False, "0.0000", "5.00")
    pos = (await kalshi.get("/portfolio/positions", ticker=T)).json()["market_positions"][0]
    assert D(pos["position_fp"]) == 20 and pos["resting_orders_count"] == 0


async def test_selling_yes_when_flat_goes_short_and_buying_back_realizes_pnl(kalshi, book) -> None:
    sold = await kalshi.post("/portfolio/events/orders", _order("s-1", "ask", "4", "0.50", "immediate_or_cancel"))
    assert sold.status_code == 201 and sold.json()["fill_count"] == "4.00"
    pos = (await kalshi.get("/portfolio/positions", ticker=T)).json()["market_positions"][0]
    assert D(pos["position_fp"]) == -4
    assert D(pos["market_exposure_dollars"]) == 4 * D("0.50")  # paid 0.50 per NO contract
    bought = await kalshi.post("/portfolio/events/orders", _order("s-2", "bid", "4", "0.55", "immediate_or_cancel"))
    assert bought.json()["fill_count"] == "4.00"
    pos = (await kalshi.get("/portfolio/positions", ticker=T)).json()["market_positions"][0]
    assert D(pos["position_fp"]) == 0 and D(pos["market_exposure_dollars"]) == 0
    # Sold YES at 0.50, bought back at 0.55: -0.05 per contract before fees.
    assert D(pos["realized_pnl_dollars"]) == 4 * (D("0.50") - D("0.55"))


async def test_repeated_client_order_id_never_creates_a_second_order(kalshi, book) -> None:
    first = await kalshi.post("/portfolio/events/orders", _order("dup-1", "bid", "1", "0.40"))
    assert first.status_code == 201
    again = await kalshi.post("/portfolio/events/orders", _order("dup-1", "bid", "1", "0.40"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_already_exists"
    orders = (await kalshi.get("/portfolio/orders", ticker=T)).json()["orders"]
    assert [o["order_id"] for o in orders if o["client_order_id"] == "dup-1"] == [first.json()["order_id"]]


async def test_fill_or_kill_without_enough_volume_changes_nothing(kalshi, book) -> None:
    before = await _snapshot(kalshi)
    resp = await kalshi.post("/portfolio/events/orders", _order("fok-1", "bid", "16", "0.56", "fill_or_kill"))
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "fill_or_kill_insufficient_resting_volume"
    assert await _snapshot(kalshi) == before
    # Exactly the available volume does fill.
    ok = await kalshi.post("/portfolio/events/orders", _order("fok-2", "bid", "15", "0.56", "fill_or_kill"))
    assert ok.status_code == 201 and ok.json()["remaining_count"] == "0.00"


async def test_ioc_cancels_the_remainder_and_cancel_endpoint_reduces_a_resting_order(kalshi, book) -> None:
    ioc = await kalshi.post("/portfolio/events/orders", _order("ioc-1", "bid", "12", "0.55", "immediate_or_cancel"))
    assert (ioc.json()["fill_count"], ioc.json()["remaining_count"]) == ("10.00", "0.00")
    order = (await kalshi.get(f"/portfolio/orders/{ioc.json()['order_id']}")).json()["order"]
    assert order["status"] == "canceled" and order["fill_count_fp"] == "10.00"

    rest = await kalshi.post("/portfolio/events/orders", _order("gtc-1", "bid", "3", "0.30"))
    oid = rest.json()["order_id"]
    assert (await kalshi.get("/portfolio/orders", status="resting", ticker=T)).json()["orders"][0]["order_id"] == oid
    cancel = await kalshi.delete(f"/portfolio/events/orders/{oid}", market_ticker=T)
    assert cancel.status_code == 200 and cancel.json()["reduced_by"] == "3.00"
    assert (await kalshi.get(f"/portfolio/orders/{oid}")).json()["order"]["status"] == "canceled"
    again = await kalshi.delete(f"/portfolio/events/orders/{oid}", market_ticker=T)
    assert again.status_code == 404
    ob = (await kalshi.http.get(f"/trade-api/v2/markets/{T}/orderbook")).json()["orderbook_fp"]
    assert all(level[0] != "0.3000" for level in ob["yes_dollars"])


async def test_post_only_that_would_cross_is_refused(kalshi, book) -> None:
    before = await _snapshot(kalshi)
    resp = await kalshi.post("/portfolio/events/orders", _order("po-1", "bid", "1", "0.56", post_only=True))
    assert resp.status_code == 400 and resp.json()["error"]["details"] == "post only cross"
    assert await _snapshot(kalshi) == before


@pytest.mark.parametrize(
    ("patch", "status", "shape"),
    [
        ({"price": "0.555"}, 400, "error"),  # off the one-cent tick
        ({"price": "1.00"}, 400, "error"),
        ({"price": "0"}, 400, "error"),
        ({"price": "56"}, 400, "error"),  # cents, not dollars
        ({"count": "0"}, 400, "error"),
        ({"count": "-1"}, 400, "error"),
        ({"count": "1.5"}, 400, "error"),  # market does not allow fractional contracts
        ({"side": "buy"}, 400, "error"),
        ({"side": "yes"}, 400, "error"),
        ({"time_in_force": "day"}, 400, "error"),
        ({"price": None}, 400, "error"),
        ({"ticker": "NOPE-1"}, 404, "error"),
        ({"ticker": None}, 400, "error"),
        ({"client_order_id": None}, 400, "error"),
        ({"count": 5}, 400, "top"),  # wrong JSON type: top-level code/message/details
        ({"price": 0.56}, 400, "top"),
    ],
)
async def test_invalid_orders_are_refused_and_change_nothing(kalshi, book, patch, status, shape) -> None:
    before = await _snapshot(kalshi)
    body = {k: v for k, v in {**_order("bad-1", "bid", "2", "0.56"), **patch}.items() if v is not None}
    resp = await kalshi.post("/portfolio/events/orders", body)
    assert resp.status_code == status, resp.text
    payload = resp.json()
    err = payload["error"] if shape == "error" else payload
    assert {"code", "message", "details"} <= set(err)
    assert await _snapshot(kalshi) == before


async def test_unparseable_body_is_a_bad_request(kalshi, book) -> None:
    resp = await kalshi.request("POST", "/portfolio/events/orders", content=b"{not json",
                                headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["code"] == "bad_request"


async def test_market_and_orderbook_shapes(kalshi, book) -> None:
    market = (await kalshi.http.get(f"/trade-api/v2/markets/{T}")).json()["market"]
    assert (market["yes_bid_dollars"], market["yes_ask_dollars"]) == ("0.5000", "0.5500")
    assert (market["no_bid_dollars"], market["no_ask_dollars"]) == ("0.4500", "0.5000")
    assert market["status"] == "active"
    ob = (await kalshi.http.get(f"/trade-api/v2/markets/{T}/orderbook")).json()["orderbook_fp"]
    assert ob == {"yes_dollars": [["0.5000", "7.00"]], "no_dollars": [["0.4400", "5.00"], ["0.4500", "10.00"]]}
    limits = (await kalshi.get("/account/limits")).json()
    assert limits["usage_tier"] == "prime" and limits["read"]["refill_rate"] == 4000


async def test_a_market_with_only_a_resting_order_is_listed_in_positions(kalshi, book) -> None:
    await kalshi.post("/portfolio/events/orders", _order("r-1", "bid", "2", "0.20"))
    rows = (await kalshi.get("/portfolio/positions", count_filter="resting_order_count", ticker=T)).json()
    assert [(r["position_fp"], r["resting_orders_count"]) for r in rows["market_positions"]] == [("0.00", 1)]
    assert (await kalshi.get("/portfolio/positions", count_filter="position", ticker=T)).json()["market_positions"] == []


async def test_direction_bid_is_yes_and_ask_is_no_on_orders_fills_and_the_tape(kalshi, admin, book) -> None:
    """Kalshi: outcome_side carries the same bit as book_side. Our bid takes the 0.55 YES ask, our
    ask hits the 0.50 YES bid, then another participant's ask hits our resting bid (we are maker)."""
    async def place(body: dict) -> dict:
        return (await kalshi.post("/portfolio/events/orders", body)).json()

    bid = await place(_order("d-bid", "bid", "2", "0.55", "immediate_or_cancel"))
    ask = await place(_order("d-ask", "ask", "3", "0.50", "immediate_or_cancel"))
    rest = await place(_order("d-rest", "bid", "4", "0.52"))
    hit = await admin.post(f"/kalshi/markets/{T}/trade", json={"side": "ask", "count": "4", "price": "0.52"})
    assert hit.status_code == 200 and len(hit.json()["our_fills"]) == 1

    want = {bid["order_id"]: ("bid", "yes", "buy"), ask["order_id"]: ("ask", "no", "sell"),
            rest["order_id"]: ("bid", "yes", "buy")}
    for order_id, (book_side, outcome, action) in want.items():
        order = (await kalshi.get(f"/portfolio/orders/{order_id}")).json()["order"]
        assert (order["book_side"], order["outcome_side"]) == (book_side, outcome)
        assert (order["side"], order["action"]) == ("yes", action)  # legacy pair, still agreeing
    fills = (await kalshi.get("/portfolio/fills", ticker=T)).json()["fills"]
    assert [(f["book_side"], f["outcome_side"], f["action"], f["is_taker"]) for f in fills] == [
        ("bid", "yes", "buy", False), ("ask", "no", "sell", True), ("bid", "yes", "buy", True)]

    tape = (await kalshi.http.get("/trade-api/v2/markets/trades", params={"ticker": T})).json()
    assert tape["cursor"] == ""
    # The taker of each match: the outside seller, our ask, our bid (newest first).
    assert [(t["taker_book_side"], t["taker_outcome_side"], t["count_fp"], t["yes_price_dollars"])
            for t in tape["trades"]] == [("ask", "no", "4.00", "0.5200"), ("ask", "no", "3.00", "0.5000"),
                                         ("bid", "yes", "2.00", "0.5500")]
    market = (await kalshi.http.get(f"/trade-api/v2/markets/{T}")).json()["market"]
    assert D(market["volume_fp"]) == D(market["volume_24h_fp"]) == 9
    # Bought 2 YES, sold 3 YES (closing 2, opening 1 NO), bought 4 YES (closing that 1 NO): 9 traded,
    # 3 of them closed the account's own contracts.
    assert D(market["open_interest_fp"]) == 6


async def test_every_demo_fill_and_order_states_its_direction_on_both_fields(kalshi) -> None:
    fills = (await kalshi.get("/portfolio/fills", limit=1000)).json()["fills"]
    orders = (await kalshi.get("/portfolio/orders", limit=1000)).json()["orders"]
    for row in [*fills, *orders]:
        assert row["outcome_side"] == {"bid": "yes", "ask": "no"}[row["book_side"]]
    assert {f["book_side"] for f in fills} == {"bid", "ask"}
