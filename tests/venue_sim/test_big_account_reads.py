"""The shortcuts that keep big accounts' reads fast answer exactly what a full recomputation does.

The Polymarket fold is kept between reads and positions pages are priced row by row; Kalshi
looks named markets up and filters a page lazily; one faster encoder writes every response.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from services.venue_sim.adapters import polymarket_wire as wire
from services.venue_sim.adapters.wire_json import dumps
from services.venue_sim.domain import polymarket_queries as queries
from services.venue_sim.domain.clock import ManualClock
from services.venue_sim.domain.kalshi_market import Market as KalshiMarket
from services.venue_sim.domain.kalshi_pages import PageRequest, paginate, parse_page_request
from services.venue_sim.domain.polymarket import Market, OrderIntent, PolymarketExchange, PolymarketSimConfig, Token
from services.venue_sim.domain.polymarket_math import order_amounts
from services.venue_sim.scenarios.polymarket_demo import load_polymarket_demo
from tests.support.venue_sim import running_sim

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
T0 = 1_800_000_000_000
CONFIRMED_MS = 10_000
D = Decimal


def _condition(i: int) -> str:
    return f"0x{i:064x}"


def _yes(i: int) -> str:
    return f"{1000 + 2 * i}"


def _no(i: int) -> str:
    return f"{1000 + 2 * i + 1}"


def _exchange(markets: int = 0) -> tuple[PolymarketExchange, ManualClock]:
    clock = ManualClock(T0)
    config = PolymarketSimConfig("key", "c2VjcmV0", "pass", ADDRESS, mined_after_ms=2_000,
                                 confirmed_after_ms=CONFIRMED_MS, failed_share="0")
    ex = PolymarketExchange(config, clock)
    ex.set_collateral(D("100000"))
    for i in range(markets):
        # Titles and end dates repeat, so ties are broken by asset id.
        ex.add_market(Market(_condition(i), f"Question {i % 3}?", f"m-{i}", "e", 1, f"2027-0{1 + i % 2}-01",
                             (Token(_yes(i), "Yes", 0), Token(_no(i), "No", 1))))
    return ex, clock


def _varied_account() -> PolymarketExchange:
    """Ties in size, price and title; dust; a sold-out token; both outcomes held; a FAILED buy; a
    transfer; a resolved market; our own resting order in a book."""
    ex, clock = _exchange(8)
    for i in range(8):
        if i % 4 != 3:
            ex.set_book(_yes(i), bids=[(D("0.30") + D(i % 3) / 10, D(5))], asks=[(D("0.70"), D(5))])
        size = D(1 + i % 3) if i != 5 else D("0.5")
        ex.record_external_trade(_yes(i), "BUY", size, D("0.40") + D(i % 2) / 10, match_ms=T0 - 60_000 + i,
                                 will_fail=False)
        if i % 3 == 0:
            ex.record_external_trade(_no(i), "BUY", D(2), D("0.55"), match_ms=T0 - 50_000 + i, will_fail=False)
    ex.record_external_trade(_no(1), "BUY", D(3), D("0.50"), match_ms=T0 - 40_000, will_fail=False)
    ex.record_external_trade(_no(1), "SELL", D(3), D("0.60"), match_ms=T0 - 30_000, will_fail=False)
    ex.record_external_trade(_no(2), "BUY", D(4), D("0.50"), match_ms=T0 - 20_000, will_fail=True)
    ex.record_transfer(_no(4), D("1.5"), D("0.25"), at_ms=T0 - 10_000)
    clock.advance(CONFIRMED_MS)
    ex.resolve_market(_condition(6), "No")
    maker, taker = order_amounts("BUY", D("0.50"), D(5))
    ex.place_order(OrderIntent("0x" + "ab" * 32, 1, ADDRESS, ADDRESS, _yes(0), maker, taker, "BUY", 0,
                               clock.now_ms(), 0, "GTC", False, "key"))
    return ex


# How /positions sorted before pages were cut before pricing: every holding priced, then sorted.
REFERENCE_SORT_KEYS = {
    "TOKENS": lambda h: h.state.size,
    "CURRENT": lambda h: h.current_value,
    "INITIAL": lambda h: h.initial_value,
    "CASHPNL": lambda h: h.cash_pnl,
    "PERCENTPNL": lambda h: h.percent_pnl,
    "PRICE": lambda h: h.cur_price,
    "AVGPRICE": lambda h: h.state.avg_price,
    "TITLE": lambda h: h.market.question,
    "RESOLVING": lambda h: h.market.end_date,
}


def _reference_v1(ex: PolymarketExchange, params: dict[str, str]) -> list[queries.Holding]:
    q = queries.parse_positions_v1(params)
    fold = ex.fold()
    rows = [
        h for h in queries.holdings(ex, fold, fold.states)
        if h.state.size > 0 and h.state.size >= q.size_threshold
        and (q.markets is None or h.market.condition_id.lower() in q.markets)
        and (q.redeemable is None or h.redeemable == q.redeemable)
        and (q.mergeable is None or h.mergeable == q.mergeable)
    ]
    rows.sort(key=lambda h: h.token_id)
    rows.sort(key=REFERENCE_SORT_KEYS[params.get("sortBy", "TOKENS")], reverse=params.get("sortDirection") != "ASC")
    return rows[q.page.offset:q.page.offset + q.page.limit]


def test_v1_pages_equal_sorting_every_priced_holding() -> None:
    ex = _varied_account()
    filters = [{}, {"sizeThreshold": "0"}, {"sizeThreshold": "1.5"}, {"sizeThreshold": "0", "redeemable": "true"},
               {"sizeThreshold": "0", "redeemable": "false"}, {"sizeThreshold": "0", "mergeable": "true"},
               {"sizeThreshold": "0", "market": f"{_condition(0)},{_condition(4).upper()}"}]
    pages = [{"limit": "500"}, {"limit": "3", "offset": "0"}, {"limit": "3", "offset": "3"},
             {"limit": "4", "offset": "8"}]
    compared = 0
    for sort_by in REFERENCE_SORT_KEYS:
        for direction in ("ASC", "DESC"):
            for extra in filters:
                for page in pages:
                    params = {"sortBy": sort_by, "sortDirection": direction, **extra, **page}
                    got = queries.positions_v1(ex, queries.parse_positions_v1(params)).items
                    want = _reference_v1(ex, params)
                    rows = [wire.position_row_v1(ex, h) for h in got]
                    assert rows == [wire.position_row_v1(ex, h) for h in want], params
                    compared += len(want)
    assert compared > 1000  # the grid is not vacuous


def _sizes(ex: PolymarketExchange) -> dict[str, Decimal]:
    page = queries.positions_v1(ex, queries.parse_positions_v1({"sizeThreshold": "0", "limit": "500"}))
    return {h.token_id: h.state.size for h in page.items}


def _row(ex: PolymarketExchange, token_id: str) -> dict[str, Any]:
    page = queries.positions_v1(ex, queries.parse_positions_v1({"sizeThreshold": "0", "limit": "500"}))
    return next(wire.position_row_v1(ex, h) for h in page.items if h.token_id == token_id)


def test_positions_pages_follow_every_change_to_the_kept_fold() -> None:
    ex, clock = _exchange(2)
    ex.record_external_trade(_yes(0), "BUY", D(10), D("0.40"), will_fail=False)
    ex.record_external_trade(_yes(1), "BUY", D(5), D("0.40"), will_fail=True)
    assert _sizes(ex) == {_yes(0): 10, _yes(1): 5}  # the doomed buy counts until it is FAILED
    assert _sizes(ex) == {_yes(0): 10, _yes(1): 5}  # read twice: served from the kept fold

    ex.record_external_trade(_yes(0), "BUY", D(5), D("0.70"), will_fail=False)
    assert _sizes(ex)[_yes(0)] == 15 and _row(ex, _yes(0))["avgPrice"] == D("0.5")
    ex.record_transfer(_yes(1), D(3), D("0.20"))
    assert _sizes(ex)[_yes(1)] == 8
    clock.advance(CONFIRMED_MS - 1)
    assert _sizes(ex)[_yes(1)] == 8
    clock.advance(1)  # the buy's settlement fails now: only the transferred shares are left
    assert _sizes(ex)[_yes(1)] == 3 and ex.trade_status(ex.trades[1]) == "FAILED"
    assert ex.collateral() == D("100000") - D("10") * D("0.40") - D(5) * D("0.70")
    ex.record_transfer(_yes(0), D(-15))
    assert _yes(0) not in _sizes(ex)
    assert _row(ex, _yes(1))["curPrice"] == 0  # no book yet

    ex.set_book(_yes(1), bids=[(D("0.30"), D(5))], asks=[(D("0.50"), D(5))])
    assert _row(ex, _yes(1))["curPrice"] == D("0.4")
    maker, taker = order_amounts("BUY", D("0.36"), D(5))
    ex.place_order(OrderIntent("0x" + "cd" * 32, 2, ADDRESS, ADDRESS, _yes(1), maker, taker, "BUY", 0,
                               clock.now_ms(), 0, "GTC", False, "key"))
    assert _row(ex, _yes(1))["curPrice"] == D("0.43")  # our resting bid is the best now
    ex.resolve_market(_condition(1), "Yes")
    row = _row(ex, _yes(1))
    assert (row["curPrice"], row["redeemable"], row["currentValue"]) == (1, True, 3)


async def test_data_api_positions_reflect_a_trade_between_reads() -> None:
    async with running_sim() as h, httpx.AsyncClient(base_url=h.data_api_url) as http:
        load_polymarket_demo(h.sim.polymarket, seed=1)
        ex = h.sim.polymarket
        params = {"user": ex.config.address, "sizeThreshold": "0", "limit": "500"}

        async def sizes() -> dict[str, Decimal]:
            rows = (await http.get("/positions", params=params)).json(parse_float=Decimal)
            return {row["asset"]: Decimal(str(row["size"])) for row in rows}

        before = await sizes()
        token = next(iter(before))
        ex.record_external_trade(token, "BUY", D(7), D("0.10"), will_fail=False)
        after = await sizes()
        assert after == {**before, token: before[token] + 7}


# ---- Kalshi ---------------------------------------------------------------------------------------


async def test_markets_by_tickers_answers_exactly_those_sorted_and_paged(kalshi, demo_sim) -> None:
    x = demo_sim.sim.kalshi
    known = sorted(x.markets)
    assert len(known) >= 4
    asked = [known[3], known[0], known[2], known[0], "NO-SUCH-MARKET"]
    body = (await kalshi.get("/markets", tickers=",".join(asked))).json()
    assert [m["ticker"] for m in body["markets"]] == sorted({known[0], known[2], known[3]}) and body["cursor"] == ""

    first = (await kalshi.get("/markets", tickers=",".join(asked), limit=2)).json()
    rest = (await kalshi.get("/markets", tickers=",".join(asked), limit=2, cursor=first["cursor"])).json()
    assert [m["ticker"] for m in first["markets"] + rest["markets"]] == sorted({known[0], known[2], known[3]})
    assert first["cursor"] and rest["cursor"] == ""

    market = x.markets[known[2]]
    same_event = (await kalshi.get("/markets", tickers=",".join(asked), event_ticker=market.event_ticker)).json()
    assert [m["ticker"] for m in same_event["markets"]] == sorted(
        t for t in {known[0], known[2], known[3]} if x.markets[t].event_ticker == market.event_ticker)
    open_only = (await kalshi.get("/markets", tickers=",".join(known), status="open", limit=1000)).json()
    assert [m["ticker"] for m in open_only["markets"]] == [t for t in known if x.markets[t].status == "active"]
    everything = (await kalshi.get("/markets", limit=1000)).json()
    assert [m["ticker"] for m in everything["markets"]] == known


async def _positions_pages(kalshi, **params) -> tuple[list[dict], int]:
    rows, pages, cursor = [], 0, None
    while True:
        body = (await kalshi.get("/portfolio/positions", **params, **({"cursor": cursor} if cursor else {}))).json()
        rows += body["market_positions"]
        pages += 1
        cursor = body["cursor"]
        if not cursor:
            return rows, pages


async def test_filtered_positions_page_lazily_each_once(kalshi, demo_sim) -> None:
    x = demo_sim.sim.kalshi
    event, now = next(iter(x.events)), demo_sim.sim.clock.now_ms()
    for ticker in ("ZZ-RESTING", "ZZ-FLAT"):
        x.add_market(KalshiMarket(ticker, event, ticker, "Yes", "No", open_time_ms=now, close_time_ms=now + 86_400_000))
    x.place_order(ticker="ZZ-RESTING", client_order_id="rests-only", side="bid", count=D(1), price=D("0.01"),
                  time_in_force="good_till_canceled")  # listed with nothing held
    x.external_trade("ZZ-FLAT", "bid", D(2), D("0.30"))
    x.external_trade("ZZ-FLAT", "ask", D(2), D("0.35"))  # bought and sold: flat
    resting = {o.ticker for o in x.orders.values() if o.status == "resting"}
    open_positions = sorted(p.ticker for p in x.positions.values() if not p.settled)
    held = [t for t in open_positions if x.positions[t].held != 0]
    with_orders = [t for t in open_positions if t in resting]
    assert held and with_orders and len(held) < len(open_positions)  # the filters matter here
    for count_filter, expected in (("position", held), ("resting_order_count", with_orders),
                                   ("position,resting_order_count", [t for t in held if t in resting])):
        rows, pages = await _positions_pages(kalshi, count_filter=count_filter, limit=1)
        assert [r["ticker"] for r in rows] == expected, count_filter
        assert pages == max(1, len(expected))  # no empty page after the last
    rows, _ = await _positions_pages(kalshi, limit=2)
    counts = {t: sum(1 for o in x.orders.values() if o.ticker == t and o.status == "resting") for t in open_positions}
    assert {r["ticker"]: r["resting_orders_count"] for r in rows} == counts


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-50, 50), unique=True, max_size=40), st.integers(1, 8), st.sets(st.integers(-50, 50)),
       st.none() | st.integers(-60, 60))
def test_paginate_with_keep_equals_paging_the_filtered_list(keys, limit, dropped, after) -> None:
    items = sorted(keys)
    kept = [k for k in items if k not in dropped]
    request = PageRequest(None if after is None else (after,), 1, limit)
    while True:
        lazy = paginate(items, lambda k: (k,), request, keep=lambda k: k not in dropped)
        assert lazy == paginate(kept, lambda k: (k,), request)
        if not lazy.cursor:
            break
        request = parse_page_request(lazy.cursor, str(limit))


# ---- the encoder ----------------------------------------------------------------------------------


def _reference_dumps(value: Any) -> str:
    """The simulator's encoder as it was written first: the exact output to keep."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_reference_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_reference_dumps(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("float")
    return json.dumps(value)


decimals = st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda digits, exponent: Decimal(digits).scaleb(exponent), st.integers(-10**12, 10**12), st.integers(-30, 30))
scalars = st.none() | st.booleans() | st.integers() | st.text() | decimals
keys = st.text() | st.integers() | st.booleans() | st.none() | decimals
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(values)
def test_encoder_writes_exactly_what_the_reference_writes(value) -> None:
    assert dumps(value).decode() == _reference_dumps(value)


def test_encoder_edge_values_and_floats() -> None:
    edge = [D("-0"), D("0E+3"), D("-0E-9"), D("0.000"), D("1E+1"), D("1.10E-7"), D("-5E-7"), D("123.4560"),
            D("1e5"), D("0.000001"), D("0.0000001")]
    written = "[0,0,0,0,10,0.00000011,-0.0000005,123.456,100000,0.000001,0.0000001]"
    assert dumps(edge).decode() == _reference_dumps(edge) == written
    assert dumps({"é": "ü\n", 1: True, None: [()]}).decode() == _reference_dumps({"é": "ü\n", 1: True, None: [()]})
    for bad in (0.5, [1.0], {"a": float("nan")}):
        try:
            dumps(bad)
        except TypeError:
            continue
        raise AssertionError(f"{bad!r} was encoded")
