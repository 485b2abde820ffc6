"""Polymarket wire shapes: JSON with exact Decimal numbers, and the rows each endpoint returns.

The Data API sends money as JSON *numbers*; Python's json module can only emit those from
floats, so this module has its own small encoder that writes a Decimal's digits verbatim.
The CLOB sends prices and sizes as decimal *strings*.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from services.venue_sim.domain.polymarket import Book, Market, Order, PolymarketExchange, Trade
from services.venue_sim.domain.polymarket_math import PositionState, percent


def plain(value: Decimal) -> str:
    """A Decimal in plain positional notation without redundant zeros ("10", "0.52", "0")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def dumps(value: Any) -> bytes:
    """Compact JSON; Decimal becomes a JSON number with exactly its digits (never via float)."""
    return _encode(value).encode()


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("floats are not allowed on the simulated wire; use Decimal")
    return json.dumps(value)


# ---- Data API ----------------------------------------------------------------------------


def _position_numbers(ex: PolymarketExchange, token_id: str, p: PositionState) -> dict[str, Decimal]:
    cur = ex.current_price(token_id)
    initial = p.initial_value
    current = p.size * cur
    return {"cur": cur, "initial": initial, "current": current, "cash_pnl": current - initial}


def position_row_v1(ex: PolymarketExchange, token_id: str, p: PositionState, mergeable: bool) -> dict[str, Any]:
    """One `/positions` item: camelCase, numbers as JSON numbers."""
    market = ex.market_of(token_id)
    token, other = market.token(token_id), market.other(token_id)
    n = _position_numbers(ex, token_id, p)
    return {
        "proxyWallet": ex.config.address,
        "asset": token_id,
        "conditionId": market.condition_id,
        "size": p.size,
        "avgPrice": p.avg_price,
        "initialValue": n["initial"],
        "currentValue": n["current"],
        "cashPnl": n["cash_pnl"],
        "percentPnl": percent(n["cash_pnl"], n["initial"]),
        "totalBought": p.total_bought,
        "realizedPnl": p.realized_pnl,
        "curPrice": n["cur"],
        "redeemable": market.winner_index is not None,
        "mergeable": mergeable,
        "title": market.question,
        "slug": market.slug,
        "eventSlug": market.event_slug,
        "outcome": token.outcome,
        "outcomeIndex": token.outcome_index,
        "oppositeOutcome": other.outcome,
        "oppositeAsset": other.token_id,
        "endDate": market.end_date,
        "negativeRisk": market.neg_risk,
    }


def position_row_v2(
    ex: PolymarketExchange, token_id: str, p: PositionState, mergeable: bool, first_ms: int, last_ms: int
) -> dict[str, Any]:
    """One `/v2/positions` item: snake_case, as polymarket-client 0.14.0's `Position` parses it."""
    market = ex.market_of(token_id)
    token, other = market.token(token_id), market.other(token_id)
    n = _position_numbers(ex, token_id, p)
    unrealized = n["cash_pnl"]
    status = "CLOSED" if p.size == 0 else ("REDEEMABLE" if market.winner_index is not None else "OPEN")
    return {
        "proxy_wallet": ex.config.address,
        "token_id": token_id,
        "condition_id": market.condition_id,
        "current_size": p.size,
        "avg_price": p.avg_price,
        "entry_cost_usdc": n["initial"],
        "entry_fees_usdc": Decimal(0),
        "total_cost_usdc": n["initial"],
        "current_price": n["cur"],
        "current_value": n["current"],
        "total_size": p.total_bought,
        "realized_pnl": p.realized_pnl,
        "unrealized_pnl": unrealized,
        "total_pnl": p.realized_pnl + unrealized,
        "percent_pnl": percent(unrealized, n["initial"]),
        "percent_realized_pnl": percent(p.realized_pnl, p.total_bought * p.avg_price),
        "status": status,
        "redeemable": market.winner_index is not None,
        "mergeable": mergeable,
        "negative_risk": market.neg_risk,
        "archived": False,
        "verified": True,
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "event_slug": market.event_slug,
        "outcome": token.outcome,
        "opposite_outcome": other.outcome,
        "event_id": str(market.event_id),
        "outcome_index": token.outcome_index,
        "opposite_token_id": other.token_id,
        "end_date": market.end_date,
        "last_event_at": last_ms // 1000,
        "first_entry_at": first_ms // 1000,
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
