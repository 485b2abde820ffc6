"""Polymarket wire shapes: the rows each endpoint returns.

The Data API sends money as JSON *numbers* (written from Decimal by `wire_json`, never via
float); the CLOB sends prices and sizes as decimal *strings*.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from services.venue_sim.adapters.wire_json import plain
from services.venue_sim.domain.polymarket import (
    Book,
    InjectedTradeRow,
    Market,
    Order,
    PolymarketExchange,
    Trade,
    Transfer,
)
from services.venue_sim.domain.polymarket_math import percent
from services.venue_sim.domain.polymarket_queries import Holding


# ---- Data API ----------------------------------------------------------------------------


def position_row_v1(ex: PolymarketExchange, h: Holding) -> dict[str, Any]:
    """One `/positions` item: camelCase, numbers as JSON numbers."""
    p = h.state
    return {
        "proxyWallet": ex.config.address,
        "asset": h.token_id,
        "conditionId": h.market.condition_id,
        "size": p.size,
        "avgPrice": p.avg_price,
        "initialValue": h.initial_value,
        "currentValue": h.current_value,
        "cashPnl": h.cash_pnl,
        "percentPnl": h.percent_pnl,
        "totalBought": p.total_bought,
        "realizedPnl": p.realized_pnl,
        "curPrice": h.cur_price,
        "redeemable": h.redeemable,
        "mergeable": h.mergeable,
        "title": h.market.question,
        "slug": h.market.slug,
        "eventSlug": h.market.event_slug,
        "outcome": h.token.outcome,
        "outcomeIndex": h.token.outcome_index,
        "oppositeOutcome": h.opposite.outcome,
        "oppositeAsset": h.opposite.token_id,
        "endDate": h.market.end_date,
        "negativeRisk": h.market.neg_risk,
    }


def position_row_v2(ex: PolymarketExchange, h: Holding) -> dict[str, Any]:
    """One `/v2/positions` item: snake_case, as polymarket-client 0.14.0's `Position` parses it."""
    p, market = h.state, h.market
    return {
        "proxy_wallet": ex.config.address,
        "token_id": h.token_id,
        "condition_id": market.condition_id,
        "current_size": p.size,
        "avg_price": p.avg_price,
        "entry_cost_usdc": h.initial_value,
        "entry_fees_usdc": Decimal(0),
        "total_cost_usdc": h.initial_value,
        "current_price": h.cur_price,
        "current_value": h.current_value,
        "total_size": p.total_bought,
        "realized_pnl": p.realized_pnl,
        "unrealized_pnl": h.cash_pnl,
        "total_pnl": p.realized_pnl + h.cash_pnl,
        "percent_pnl": h.percent_pnl,
        "percent_realized_pnl": percent(p.realized_pnl, p.total_bought * p.avg_price),
        "status": h.status,
        "redeemable": h.redeemable,
        "mergeable": h.mergeable,
        "negative_risk": market.neg_risk,
        "archived": False,
        "verified": True,
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "event_slug": market.event_slug,
        "outcome": h.token.outcome,
        "opposite_outcome": h.opposite.outcome,
        "event_id": str(market.event_id),
        "outcome_index": h.token.outcome_index,
        "opposite_token_id": h.opposite.token_id,
        "end_date": market.end_date,
        "last_event_at": h.last_ms // 1000,
        "first_entry_at": h.first_ms // 1000,
    }


def data_trade_row_v1(ex: PolymarketExchange, t: Trade) -> dict[str, Any]:
    market = ex.market_of(t.token_id)
    token = market.token(t.token_id)
    return {
        "proxyWallet": ex.config.address,
        "side": t.side,
        "asset": t.token_id,
        "conditionId": market.condition_id,
        "size": t.size,
        "price": t.price,
        "timestamp": t.match_ms // 1000,
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "eventSlug": market.event_slug,
        "outcome": token.outcome,
        "outcomeIndex": token.outcome_index,
        "name": "",
        "pseudonym": "",
        "bio": "",
        "profileImage": "",
        "profileImageOptimized": "",
        "transactionHash": ex.transaction_hash(t),
    }


def activity_row_v1(ex: PolymarketExchange, t: Trade) -> dict[str, Any]:
    row = data_trade_row_v1(ex, t)
    row.update({"type": "TRADE", "usdcSize": t.size * t.price})
    return row


def data_trade_row_v2(ex: PolymarketExchange, t: Trade) -> dict[str, Any]:
    market = ex.market_of(t.token_id)
    token = market.token(t.token_id)
    return {
        "proxy_wallet": ex.config.address,
        "token_id": t.token_id,
        "condition_id": market.condition_id,
        "side": t.side,
        "size": t.size,
        "price": t.price,
        "timestamp": t.match_ms // 1000,
        "transaction_hash": ex.transaction_hash(t),
        "title": market.question,
        "slug": market.slug,
        "event_slug": market.event_slug,
        "outcome": token.outcome,
        "outcome_index": token.outcome_index,
    }


# ---- CLOB --------------------------------------------------------------------------------


def order_row(ex: PolymarketExchange, o: Order) -> dict[str, Any]:
    """`/data/order/{id}` and `/data/orders` items (strings for prices and sizes)."""
    market = ex.market_of(o.intent.token_id)
    return {
        "id": o.id,
        "status": o.status,
        "owner": o.intent.owner,
        "maker_address": o.intent.maker,
        "market": o.market,
        "asset_id": o.intent.token_id,
        "side": o.intent.side,
        "original_size": plain(o.original_size),
        "size_matched": plain(o.size_matched),
        "price": plain(o.price),
        "outcome": market.token(o.intent.token_id).outcome,
        "expiration": str(o.intent.expiration),
        "order_type": o.intent.order_type,
        "associate_trades": list(o.associate_trades),
        "created_at": o.created_s,
    }


def clob_trade_row(ex: PolymarketExchange, t: Trade) -> dict[str, Any]:
    """`/data/trades` items as polymarket-client's `ClobTrade` parses them."""
    market = ex.market_of(t.token_id)
    outcome = market.token(t.token_id).outcome
    # The counterparty takes the other side of the same token.
    counter_side = "SELL" if t.side == "BUY" else "BUY"
    maker_order = {
        "order_id": t.maker_order_id,
        "owner": t.owner if t.trader_side == "MAKER" else "",
        "maker_address": ex.config.address if t.trader_side == "MAKER" else _counterparty(t),
        "matched_amount": plain(t.size),
        "price": plain(t.price),
        "fee_rate_bps": "0",
        "asset_id": t.token_id,
        "outcome": outcome,
        "side": t.side if t.trader_side == "MAKER" else counter_side,
    }
    return {
        "id": t.id,
        "taker_order_id": t.order_id if t.trader_side == "TAKER" else _hex("taker", t.id),
        "market": market.condition_id,
        "asset_id": t.token_id,
        "side": t.side,
        "size": plain(t.size),
        "fee_rate_bps": "0",
        "price": plain(t.price),
        "status": ex.trade_status(t),
        "match_time": str(t.match_ms // 1000),
        "last_update": str(t.match_ms // 1000),
        "outcome": outcome,
        "bucket_index": 0,
        "owner": t.owner,
        "maker_address": ex.config.address,
        "transaction_hash": ex.transaction_hash(t),
        "trader_side": t.trader_side,
        "maker_orders": [maker_order],
    }


def transfer_row(ex: PolymarketExchange, t: Transfer) -> dict[str, Any]:
    """The admin answer to a transfer: what moved, and the token's holding now (decimal strings)."""
    held = ex.position(t.token_id)
    return {
        "asset": t.token_id, "size": plain(t.size), "avg_price": plain(t.avg_price), "at_ms": t.at_ms,
        "position": {"size": plain(held.size), "avg_price": plain(held.avg_price)},
    }


def clob_trades_item(ex: PolymarketExchange, r: Trade | InjectedTradeRow) -> dict[str, Any]:
    """A `/data/trades` item: a real trade rendered, an injected row exactly as given."""
    return r.row if isinstance(r, InjectedTradeRow) else clob_trade_row(ex, r)


def malformed_trade_row(ex: PolymarketExchange, trade_id: str, market: Market, now_s: int) -> dict[str, Any]:
    """A `/data/trades` row of ours that looks real in every field but `size`."""
    token = market.tokens[0]
    return {
        "id": trade_id,
        "taker_order_id": _hex("malformed-order", trade_id),
        "market": market.condition_id,
        "asset_id": token.token_id,
        "side": "BUY",
        "size": "not-a-number",
        "fee_rate_bps": "0",
        "price": "0.5",
        "status": "MATCHED",
        "match_time": str(now_s),
        "last_update": str(now_s),
        "outcome": token.outcome,
        "bucket_index": 0,
        "owner": ex.config.api_key,
        "maker_address": ex.config.address,
        "transaction_hash": "",
        "trader_side": "TAKER",
        "maker_orders": [],
    }


def _hex(*parts: str) -> str:
    return "0x" + hashlib.sha256(":".join(parts).encode()).hexdigest()


def _counterparty(t: Trade) -> str:
    return "0x" + _hex("counterparty", t.id)[2:42]


def book_body(ex: PolymarketExchange, market: Market, token_id: str, book: Book, now_ms: int) -> dict[str, Any]:
    """`GET /book`: bids ascending and asks descending, so the best level of each is last."""
    bids = [{"price": plain(lv.price), "size": plain(lv.size)} for lv in reversed(book.bids)]
    asks = [{"price": plain(lv.price), "size": plain(lv.size)} for lv in reversed(book.asks)]
    body = {
        "market": market.condition_id,
        "asset_id": token_id,
        "timestamp": str(now_ms),
        "bids": bids,
        "asks": asks,
        "min_order_size": plain(market.min_order_size),
        "tick_size": plain(market.tick_size),
        "neg_risk": market.neg_risk,
        "last_trade_price": "",
    }
    body["hash"] = _hex(json.dumps(body, sort_keys=True))[2:42]
    return body


def market_by_token(market: Market) -> dict[str, Any]:
    return {"condition_id": market.condition_id, "primary_token_id": market.tokens[0].token_id,
            "secondary_token_id": market.tokens[1].token_id}


def clob_market_info(market: Market) -> dict[str, Any]:
    """`GET /clob-markets/{condition_id}`: the compact form polymarket-client reads (nr, t[].t, mts, fd)."""
    return {
        "c": market.condition_id,
        "t": [{"t": t.token_id, "o": t.outcome} for t in market.tokens],
        "mts": market.tick_size,
        "mos": market.min_order_size,
        "nr": market.neg_risk,
        "fd": {"r": Decimal(0), "e": Decimal(0)},
    }


def clob_market(ex: PolymarketExchange, market: Market) -> dict[str, Any]:
    """`GET /markets/{condition_id}`: once resolved, closed with the winning token flagged."""
    resolved = market.winner_index is not None
    return {
        "condition_id": market.condition_id,
        "question": market.question,
        "market_slug": market.slug,
        "end_date_iso": f"{market.end_date}T00:00:00Z",
        "active": not resolved,
        "closed": resolved,
        "accepting_orders": not resolved,
        "enable_order_book": True,
        "minimum_order_size": market.min_order_size,
        "minimum_tick_size": market.tick_size,
        "neg_risk": market.neg_risk,
        "tokens": [
            {"token_id": t.token_id, "outcome": t.outcome, "price": ex.current_price(t.token_id),
             "winner": resolved and t.outcome_index == market.winner_index}
            for t in market.tokens
        ],
    }
