"""Pure selection and paging behind the Polymarket list endpoints (no HTTP)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.venue_sim.domain import polymarket_queries as queries
from services.venue_sim.domain.clock import ManualClock
from services.venue_sim.domain.polymarket import Market, OrderIntent, PolymarketExchange, PolymarketSimConfig, Token
from services.venue_sim.domain.polymarket_math import order_amounts
from services.venue_sim.domain.polymarket_pages import (
    CLOB_PAGE_SIZE,
    END_CURSOR,
    QueryError,
    clob_page,
    encode_cursor,
    parse_cursor_page,
    parse_offset_page,
)

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
T0 = 1_800_000_000_000
RAIN, SUN = "0x" + "ab" * 32, "0x" + "cd" * 32
RAIN_YES, RAIN_NO, SUN_YES, SUN_NO = "11" * 35, "12" * 35, "21" * 35, "22" * 35
US = {"user": ADDRESS.lower()}


def _exchange() -> tuple[PolymarketExchange, ManualClock]:
    """Rain: YES 100 and NO 20 held (mergeable). Sun: YES dust 0.5, NO bought and sold out."""
    clock = ManualClock(T0)
    config = PolymarketSimConfig("key", "c2VjcmV0", "pass", ADDRESS, mined_after_ms=2_000,
                                 confirmed_after_ms=10_000, failed_share="0")
    ex = PolymarketExchange(config, clock)
    ex.add_market(Market(RAIN, "Will it rain?", "rain", "weather", 1, "2027-01-01",
                         (Token(RAIN_YES, "Yes", 0), Token(RAIN_NO, "No", 1))))
    ex.add_market(Market(SUN, "Will it be sunny?", "sun", "weather", 1, "2027-02-01",
                         (Token(SUN_YES, "Yes", 0), Token(SUN_NO, "No", 1))))
    ex.set_book(RAIN_YES, bids=[(Decimal("0.40"), Decimal("10"))], asks=[(Decimal("0.50"), Decimal("10"))])
    ex.set_book(RAIN_NO, bids=[(Decimal("0.50"), Decimal("10"))], asks=[(Decimal("0.60"), Decimal("10"))])
    ex.set_book(SUN_YES, bids=[(Decimal("0.70"), Decimal("10"))], asks=[(Decimal("0.80"), Decimal("10"))])
    ex.set_collateral(Decimal("1000"))
    fills = [(RAIN_YES, "BUY", "100", "0.30"), (RAIN_NO, "BUY", "20", "0.60"), (SUN_YES, "BUY", "0.5", "0.70"),
             (SUN_NO, "BUY", "10", "0.20"), (SUN_NO, "SELL", "10", "0.25")]
    for i, (token, side, size, price) in enumerate(fills):
        ex.record_external_trade(token, side, Decimal(size), Decimal(price), match_ms=T0 - (10 - i) * 60_000)
    return ex, clock


def _assets(page) -> list[str]:
    return [h.token_id for h in page.items]


def test_v1_positions_threshold_filters_and_sort() -> None:
    ex, _ = _exchange()
    default = queries.positions_v1(ex, queries.parse_positions_v1({}))
    assert _assets(default) == [RAIN_YES, RAIN_NO]  # sizeThreshold 1 hides dust; sold-out never shows
    everything = queries.parse_positions_v1({"sizeThreshold": "0", "sortBy": "TOKENS", "sortDirection": "ASC"})
    assert _assets(queries.positions_v1(ex, everything)) == [SUN_YES, RAIN_NO, RAIN_YES]
    by_price = queries.parse_positions_v1({"sizeThreshold": "0", "sortBy": "price"})
    assert _assets(queries.positions_v1(ex, by_price)) == [SUN_YES, RAIN_NO, RAIN_YES]  # 0.75, 0.55, 0.45
    only_sun = queries.parse_positions_v1({"sizeThreshold": "0", "market": SUN.upper().replace("0X", "0x")})
    assert _assets(queries.positions_v1(ex, only_sun)) == [SUN_YES]
    mergeable = queries.parse_positions_v1({"sizeThreshold": "0", "mergeable": "true"})
    assert set(_assets(queries.positions_v1(ex, mergeable))) == {RAIN_YES, RAIN_NO}
    ex.resolve_market(RAIN, "No")
    redeemable = queries.parse_positions_v1({"redeemable": "true"})
    held = {h.token_id: h for h in queries.positions_v1(ex, redeemable).items}
    assert set(held) == {RAIN_YES, RAIN_NO}
    assert (held[RAIN_NO].cur_price, held[RAIN_YES].cur_price) == (1, 0)
    assert held[RAIN_NO].current_value == 20 and held[RAIN_YES].cash_pnl == -30


def test_v1_positions_page_and_refusals() -> None:
    ex, _ = _exchange()
    q = queries.parse_positions_v1({"sizeThreshold": "0", "limit": "2", "offset": "2"})
    assert q.page.page_no == 2 and len(queries.positions_v1(ex, q).items) == 1
    assert queries.parse_positions_v1({"limit": "100000"}).page.limit == queries.POSITIONS_MAX_LIMIT
    for bad in ({"offset": "10001"}, {"limit": "-1"}, {"limit": "x"}, {"sizeThreshold": "NaN"},
                {"sortBy": "VOLUME"}):
        with pytest.raises(QueryError):
            queries.parse_positions_v1(bad)
    with pytest.raises(QueryError):
        queries.is_our_user(ex, {})
    assert queries.is_our_user(ex, US) and not queries.is_our_user(ex, {"user": "0x" + "00" * 20})


def test_v2_positions_status_filters_and_value_order() -> None:
    ex, _ = _exchange()

    def select(**params: str) -> list[str]:
        return _assets(queries.positions_v2(ex, queries.parse_positions_v2(params)))

    assert select() == [RAIN_YES, RAIN_NO, SUN_YES]  # by current value: 45, 11, 0.375; CLOSED left out
    assert select(status="CLOSED") == [SUN_NO]
    assert select(status="mergeable") == [RAIN_YES, RAIN_NO]
    assert select(condition_id=SUN) == [SUN_YES]
    ex.resolve_market(RAIN, "Yes")
    assert select(status="REDEEMABLE") == [RAIN_YES, RAIN_NO]
    assert select(status="REDEEMABLE_LOST") == [RAIN_NO]
    assert select(status="OPEN") == [SUN_YES]
    with pytest.raises(QueryError):
        queries.parse_positions_v2({"status": "WON"})
    with pytest.raises(QueryError):
        queries.parse_positions_v2({"limit": "0"})


def test_data_api_trades_are_chain_indexed_newest_first() -> None:
    ex, clock = _exchange()
    fresh = ex.record_external_trade(RAIN_YES, "SELL", Decimal("1"), Decimal("0.45"))
    listed = queries.data_trades(ex, US)
    assert fresh not in listed  # still MATCHED: not mined yet
    assert [t.match_ms for t in listed] == sorted((t.match_ms for t in listed), reverse=True)
    clock.advance(2_000)
    assert queries.data_trades(ex, US)[0] is fresh
    assert {t.side for t in queries.data_trades(ex, {**US, "side": "sell"})} == {"SELL"}
    assert queries.data_trades(ex, {**US, "market": SUN}) == [t for t in queries.data_trades(ex, US) if t.market == SUN]
    assert queries.data_trades(ex, {"user": "0x" + "00" * 20}) == []


def test_clob_trades_after_before_and_injected_rows() -> None:
    ex, clock = _exchange()
    seconds = [t.match_ms // 1000 for t in ex.trades]
    middle = seconds[2]
    assert [t.match_ms // 1000 for t in queries.clob_trades(ex, {"after": str(middle)})] == seconds[:2:-1]
    assert [t.match_ms // 1000 for t in queries.clob_trades(ex, {"before": str(middle)})] == seconds[1::-1]
    with pytest.raises(QueryError):
        queries.clob_trades(ex, {"after": "yesterday"})

    newest = ex.inject_trade_row({"id": "bad-1", "size": "not-a-number"})
    old = ex.inject_trade_row({"id": "bad-2", "match_time": str(seconds[0] - 60)})
    garbled = ex.inject_trade_row({"id": "bad-3", "match_time": "soon"})
    assert newest.row["match_time"] == newest.row["last_update"] == str(clock.now_ms() // 1000)
    listed = queries.clob_trades(ex, {})
    assert listed[:2] == [garbled, newest] and listed[-1] is old  # by time, then by arrival
    assert queries.clob_trades(ex, {"id": "bad-2"}) == [old]
    assert old not in queries.clob_trades(ex, {"after": str(seconds[0] - 60)})
    assert ex.positions() == _exchange()[0].positions()  # injected rows are not trades


def test_clob_orders_filtered_oldest_first() -> None:
    ex, clock = _exchange()
    ids = []
    for salt, token in enumerate((RAIN_YES, SUN_YES, RAIN_YES)):
        maker, taker = order_amounts("BUY", Decimal("0.10"), Decimal("5"))
        ids.append(ex.place_order(OrderIntent(f"0x{salt:064x}", salt, ADDRESS, ADDRESS, token, maker, taker, "BUY",
                                              0, T0, 0, "GTC", False, "key")).order_id)
        clock.advance(1_000)
    assert [o.id for o in queries.clob_orders(ex, {})] == ids
    assert [o.id for o in queries.clob_orders(ex, {"asset_id": RAIN_YES})] == [ids[0], ids[2]]
    assert [o.id for o in queries.clob_orders(ex, {"market": SUN})] == [ids[1]]
    assert [o.id for o in queries.clob_orders(ex, {"id": ids[2], "token_id": RAIN_YES})] == [ids[2]]


@given(st.integers(min_value=0, max_value=350))
def test_clob_cursor_pages_visit_every_row_once(n: int) -> None:
    rows = list(range(n))
    seen, cursor, page_no = [], encode_cursor(0), 0
    while cursor != END_CURSOR:
        page = clob_page(rows, cursor)
        page_no += 1
        assert page.page_no == page_no and len(page.items) <= CLOB_PAGE_SIZE
        seen += page.items
        cursor = page.next_cursor
    assert seen == rows
    assert clob_page(rows, END_CURSOR).items == []


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=25))
def test_v2_and_offset_pages_visit_every_row_once(n: int, limit: int) -> None:
    rows = list(range(n))
    seen, params = [], {"limit": str(limit)}
    while True:
        page = parse_cursor_page(params, 100, 1000).take(rows)
        seen += page.items
        if page.next_cursor is None:
            break
        params = {"limit": str(limit), "cursor": page.next_cursor}
    assert seen == rows
    by_offset = [parse_offset_page({"limit": str(limit), "offset": str(o)}, 100, 500).take(rows).items
                 for o in range(0, n + 1, limit)]
    assert [r for items in by_offset for r in items] == rows


def test_page_refusals() -> None:
    for bad in ({"cursor": "not base64!"}, {"cursor": END_CURSOR}, {"limit": "0"}):
        with pytest.raises(QueryError):
            parse_cursor_page(bad, 100, 1000)
    with pytest.raises(QueryError):
        clob_page([], "%%%")
    with pytest.raises(QueryError):
        parse_offset_page({"offset": "-1"}, 100, 500)
