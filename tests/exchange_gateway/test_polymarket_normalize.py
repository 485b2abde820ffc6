"""Pure normalization of Polymarket payloads: exact Decimal math, our side of each trade."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.exchange_gateway.domain.polymarket_normalize import (
    PolymarketPayloadError,
    fills_from_trade,
    mark_from_book,
    order_from_row,
    outcome_for,
    position_from_row,
    resolved_winner,
    settlement_from_resolution,
    taker_fee,
    trade_status,
)
from shared.contracts import deterministic_id
from shared.money import parse_venue_json

WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
API_KEY = "00000000-0000-4000-8000-000000000000"
OTHER = "0x" + "ab" * 20


def no_index(_asset: str) -> int | None:
    return None


def position_text(size: str, avg: str, initial: str | None = '"x"', index: int = 0) -> str:
    initial_part = "" if initial is None else f'"initialValue":{initial},'
    return (f'{{"asset":"123","size":{size},"avgPrice":{avg},{initial_part}"currentValue":1.5,'
            f'"realizedPnl":-0.25,"outcome":"Chiefs","outcomeIndex":{index},"title":"T"}}')


def trade(**over: object) -> dict:
    base = {
        "id": "t-1", "taker_order_id": "0xtaker", "asset_id": "111", "side": "BUY", "size": "10",
        "price": "0.52", "fee_rate_bps": "0", "status": "MATCHED", "match_time": "1700000000",
        "last_update": "1700000005", "outcome": "Yes", "trader_side": "TAKER",
        "maker_orders": [{"order_id": "0xm", "maker_address": OTHER, "owner": "", "matched_amount": "10",
                          "price": "0.52", "side": "SELL", "asset_id": "111", "outcome": "Yes",
                          "fee_rate_bps": "0"}],
    }
    base.update(over)
    return base


def test_position_row_maps_every_field_exactly() -> None:
    row = parse_venue_json(position_text("0.42", "0.23", "0.0966"))
    p = position_from_row(row, WALLET)
    assert (p.venue, p.account, p.instrument_id, p.outcome) == ("polymarket", WALLET, "123", "yes")
    assert p.quantity == Decimal("0.42") and p.avg_price == Decimal("0.23") and p.cost_basis == Decimal("0.0966")
    assert p.market_value == Decimal("1.5") and p.realized_pnl == Decimal("-0.25") and p.title == "T"
    assert p.raw["outcome"] == "Chiefs"


def test_outcome_index_decides_and_label_is_the_fallback() -> None:
    assert outcome_for(1, "Yes", "x") == "no"
    assert outcome_for(None, "No", "x") == "no"
    with pytest.raises(PolymarketPayloadError, match="polymarket"):
        outcome_for(None, "Chiefs", "x")
    with pytest.raises(PolymarketPayloadError, match="outcome index"):
        outcome_for(2, "Yes", "x")


@pytest.mark.parametrize("text, field", [
    ('{"asset":"1","size":"abc","avgPrice":0.5,"outcomeIndex":0}', "size"),
    ('{"asset":"1","size":1,"outcomeIndex":0}', "avgPrice"),
    ('{"asset":"1","size":1,"avgPrice":1.5,"outcomeIndex":0}', "avg_price"),
])
def test_malformed_position_names_polymarket_and_the_field(text: str, field: str) -> None:
    with pytest.raises(PolymarketPayloadError, match=rf"polymarket: .*{field}"):
        position_from_row(parse_venue_json(text), WALLET)


@pytest.mark.parametrize("raw, expected", [
    ("MATCHED", "matched"), ("TRADE_STATUS_CONFIRMED", "confirmed"), ("trade_status_failed", "failed"),
    ("Retrying", "retrying"), ("MINED", "mined"),
])
def test_trade_status_prefix_and_case(raw: str, expected: str) -> None:
    assert trade_status(raw, "t") == expected


def test_taker_trade_is_the_top_level_order() -> None:
    [f] = fills_from_trade(trade(status="TRADE_STATUS_MINED"), wallet=WALLET, api_key=API_KEY,
                           outcome_index_of=no_index)
    assert (f.fill_id, f.order_id, f.side, f.outcome, f.status, f.is_taker) == ("t-1", "0xtaker", "buy", "yes", "mined", True)
    assert f.quantity == Decimal("10") and f.price == Decimal("0.52") and f.fee == 0
    assert f.event_id == deterministic_id("polymarket", "t-1", "mined")
    assert f.executed_at == datetime.fromtimestamp(1700000000, UTC)
    assert f.raw["status"] == "TRADE_STATUS_MINED"


def test_maker_trade_reads_our_maker_order_not_the_takers() -> None:
    """Real CLOB: as maker, top-level side/size/price/asset are the taker's; ours is in maker_orders."""
    ours = {"order_id": "0xours", "maker_address": WALLET.lower(), "owner": API_KEY, "matched_amount": "3.5",
            "price": "0.48", "side": "BUY", "asset_id": "222", "outcome": "No", "fee_rate_bps": "0"}
    theirs = {**ours, "order_id": "0xtheirs", "maker_address": OTHER, "owner": "other", "matched_amount": "6.5"}
    t = trade(trader_side="MAKER", side="SELL", asset_id="111", size="10", price="0.52", maker_orders=[theirs, ours])
    [f] = fills_from_trade(t, wallet=WALLET, api_key=API_KEY, outcome_index_of=lambda a: {"222": 1}.get(a))
    assert (f.order_id, f.instrument_id, f.side, f.outcome, f.is_taker) == ("0xours", "222", "buy", "no", False)
    assert f.quantity == Decimal("3.5") and f.price == Decimal("0.48") and f.fill_id == "t-1"


def test_two_of_our_maker_orders_in_one_trade_get_distinct_ids() -> None:
    a = {"order_id": "0xa", "maker_address": WALLET, "owner": "", "matched_amount": "1", "price": "0.4",
         "side": "BUY", "asset_id": "111", "outcome": "Yes"}
    b = {**a, "order_id": "0xb", "matched_amount": "2"}
    fills = fills_from_trade(trade(trader_side="MAKER", maker_orders=[a, b]), wallet=WALLET, api_key=API_KEY,
                             outcome_index_of=no_index)
    assert [f.fill_id for f in fills] == ["t-1:0xa", "t-1:0xb"]
    assert len({f.event_id for f in fills}) == 2 and sum(f.quantity for f in fills) == 3


def test_maker_trade_without_our_entry_is_an_error() -> None:
    with pytest.raises(PolymarketPayloadError, match="no maker_orders entry is ours"):
        fills_from_trade(trade(trader_side="MAKER"), wallet=WALLET, api_key=API_KEY, outcome_index_of=no_index)


def test_bad_trade_price_is_a_clear_error() -> None:
    with pytest.raises(PolymarketPayloadError, match=r"polymarket: .*price"):
        fills_from_trade(trade(price="1.7"), wallet=WALLET, api_key=API_KEY, outcome_index_of=no_index)
    with pytest.raises(PolymarketPayloadError, match="unknown trade status"):
        fills_from_trade(trade(status="PENDING"), wallet=WALLET, api_key=API_KEY, outcome_index_of=no_index)


def test_order_row_statuses() -> None:
    row = {"id": "0xo", "status": "LIVE", "asset_id": "1", "side": "BUY", "original_size": "200",
           "size_matched": "50", "price": "0.25", "outcome": "Yes", "created_at": 1700000000}
    o = order_from_row(row, outcome_index_of=no_index)
    assert (o.status, o.remaining_quantity, o.limit_price) == ("partially_filled", Decimal("150"), Decimal("0.25"))
    assert order_from_row({**row, "status": "ORDER_STATUS_CANCELED_MARKET_RESOLVED"},
                          outcome_index_of=no_index).status == "canceled"
    assert order_from_row({**row, "status": "MATCHED", "size_matched": "200"}, outcome_index_of=no_index).status == "filled"


def test_book_best_levels_by_price_not_position() -> None:
    book = {"asset_id": "1", "timestamp": "1700000000123", "last_trade_price": "",
            "bids": [{"price": "0.27", "size": "5"}, {"price": "0.28", "size": "1"}],
            "asks": [{"price": "0.31", "size": "5"}, {"price": "0.30", "size": "1"}]}
    m = mark_from_book(book)
    assert (m.best_bid, m.best_ask, m.mid, m.last) == (Decimal("0.28"), Decimal("0.30"), Decimal("0.29"), None)
    assert mark_from_book(book, last=Decimal("0.3")).last == Decimal("0.3")
    one_sided = mark_from_book({**book, "asks": []})
    assert (one_sided.best_ask, one_sided.mid) == (None, None)  # no mid without both sides


decimals = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=6, allow_nan=False)
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.9999"), places=4, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(size=decimals, avg=prices, with_initial=st.booleans())
def test_position_numbers_survive_the_wire_exactly(size: Decimal, avg: Decimal, with_initial: bool) -> None:
    """JSON numbers -> Decimal with no float step; cost basis = initialValue or size x avgPrice."""
    initial = size * avg
    text = position_text(format(size, "f"), format(avg, "f"), format(initial, "f") if with_initial else None)
    p = position_from_row(parse_venue_json(text), WALLET)
    assert p.quantity == size and p.avg_price == avg and p.cost_basis == size * avg


@settings(max_examples=150, deadline=None)
@given(size=decimals, price=prices, bps=st.integers(min_value=0, max_value=1000),
       split=st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=3))
def test_fee_is_exact_bounded_and_additive(size: Decimal, price: Decimal, bps: int, split: Decimal) -> None:
    fee = taker_fee(size, price, Decimal(bps))
    assert 0 <= fee <= size * Decimal(bps) / 10_000 / 2
    assert taker_fee(size, price, Decimal(bps)) == taker_fee(size, 1 - price, Decimal(bps))  # symmetric curve
    part = size * split
    assert taker_fee(part, price, Decimal(bps)) + taker_fee(size - part, price, Decimal(bps)) == fee
    [f] = fills_from_trade(trade(size=format(size, "f"), price=format(price, "f"), fee_rate_bps=str(bps)),
                           wallet=WALLET, api_key=API_KEY, outcome_index_of=no_index)
    assert f.quantity == size and f.price == price and f.fee == fee


def test_api_keys_in_owner_fields_never_reach_raw() -> None:
    ours = {"order_id": "0xours", "maker_address": WALLET, "owner": API_KEY, "matched_amount": "1",
            "price": "0.4", "side": "BUY", "asset_id": "111", "outcome": "Yes"}
    [f] = fills_from_trade(trade(owner=API_KEY, trader_side="MAKER", maker_orders=[ours]), wallet=WALLET,
                           api_key=API_KEY, outcome_index_of=no_index)
    assert API_KEY not in f.model_dump_json() and f.raw["maker_orders"][0]["order_id"] == "0xours"
    row = {"id": "0xo", "status": "LIVE", "owner": API_KEY, "asset_id": "1", "side": "BUY", "original_size": "5",
           "size_matched": "0", "price": "0.25", "outcome": "Yes", "created_at": 1700000000}
    assert API_KEY not in order_from_row(row, outcome_index_of=no_index).model_dump_json()


# ---- settlements ---------------------------------------------------------------------------

SEEN = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)


def clob_market(winner: int | None, *, closed: bool = True) -> dict:
    return {"condition_id": "0xc0", "closed": closed,
            "tokens": [{"token_id": "111", "outcome": "Chiefs", "winner": winner == 0},
                       {"token_id": "222", "outcome": "Eagles", "winner": winner == 1}]}


def held(asset: str, size: str, avg: str, index: int, initial: str | None = None) -> dict:
    row = {"asset": asset, "conditionId": "0xc0", "size": Decimal(size), "avgPrice": Decimal(avg),
           "outcomeIndex": index, "redeemable": True}
    if initial is not None:
        row["initialValue"] = Decimal(initial)
    return row


def test_resolved_winner_only_once_closed_with_one_winner() -> None:
    assert resolved_winner(clob_market(1)) == 1 and resolved_winner(clob_market(0)) == 0
    assert resolved_winner(clob_market(1, closed=False)) is None  # winner shown before closing: not final
    assert resolved_winner(clob_market(None)) is None  # closed, awaiting resolution
    both = clob_market(0)
    both["tokens"][1]["winner"] = True
    with pytest.raises(PolymarketPayloadError, match=r"market\[0xc0\]: more than one token is marked winner"):
        resolved_winner(both)


def test_settlement_pays_one_per_winning_share_and_nothing_per_losing_one() -> None:
    rows = [held("111", "400", "0.55", 0, initial="220"), held("222", "10", "0.4", 1)]
    s = settlement_from_resolution(clob_market(1), rows, account=WALLET, observed_at=SEEN)
    assert (s.venue, s.account, s.instrument_id, s.yes_token_id, s.no_token_id) == ("polymarket", WALLET, "0xc0", "111", "222")
    assert (s.result, s.value, s.revenue, s.fees) == ("no", Decimal(0), Decimal(10), Decimal(0))
    assert (s.yes_count, s.yes_cost, s.no_count, s.no_cost) == (Decimal(400), Decimal(220), Decimal(10), Decimal("4.0"))
    assert s.settled_at == SEEN and s.event_id == deterministic_id("polymarket", "settlement", WALLET, "0xc0")
    won = settlement_from_resolution(clob_market(0), rows[:1], account=WALLET, observed_at=SEEN)
    assert (won.result, won.value, won.revenue, won.no_count) == ("yes", Decimal(1), Decimal(400), Decimal(0))
    assert won.event_id == s.event_id  # one settlement per market, whatever was seen when


@pytest.mark.parametrize(("market", "rows", "problem"), [
    (clob_market(None), [held("111", "1", "0.5", 0)], "not resolved"),
    (clob_market(0), [held("333", "1", "0.5", 0)], "token is not one of"),
    (clob_market(0), [held("222", "1", "0.5", 0)], "outcomeIndex 0 contradicts the market's token order"),
    ({**clob_market(0), "tokens": [{"token_id": "111", "winner": True}]}, [], "tokens must be a list of two"),
    (clob_market(0), [{**held("111", "1", "0.5", 0), "size": "lots"}], "size"),
])
def test_settlement_refuses_what_it_cannot_read(market: dict, rows: list, problem: str) -> None:
    with pytest.raises(PolymarketPayloadError, match=problem):
        settlement_from_resolution(market, rows, account=WALLET, observed_at=SEEN)


@settings(max_examples=200, deadline=None)
@given(yes=st.decimals(min_value=0, max_value=10**6, places=6), no=st.decimals(min_value=0, max_value=10**6, places=6),
       avg=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.999"), places=3), winner=st.sampled_from([0, 1]))
def test_settlement_revenue_is_the_winning_shares(yes: Decimal, no: Decimal, avg: Decimal, winner: int) -> None:
    rows = [held("111", str(yes), str(avg), 0), held("222", str(no), str(avg), 1)]
    s = settlement_from_resolution(clob_market(winner), rows, account=WALLET, observed_at=SEEN)
    assert s.revenue == (yes if winner == 0 else no)
    assert s.revenue + (no if winner == 0 else yes) == s.yes_count + s.no_count  # every share is either paid or not
    assert s.yes_cost == yes * avg and s.no_cost == no * avg
