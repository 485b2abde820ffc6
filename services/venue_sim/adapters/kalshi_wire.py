"""Kalshi Trade API v2 JSON shapes (fixed-point strings, as the API sends them since 2026-03).

Every field the official SDK (kalshi-python-async) requires is present; tests/conformance
parses these through it. The sim is one exchange shard: `exchange_index` is always 0.
"""

from __future__ import annotations

from decimal import Decimal

from services.venue_sim.domain.kalshi import (
    Fill,
    KalshiExchange,
    Order,
    RawFillRow,
    Settlement,
    Trade,
    outcome_side,
)
from services.venue_sim.domain.kalshi_account import Position
from services.venue_sim.domain.kalshi_market import Event, Market
from services.venue_sim.domain.kalshi_units import ONE, ZERO, cents, count_fp, dollars, iso

USER_ID = "sim-user-0001"
EXCHANGE_INDEX = 0
DAY_MS = 86_400_000


def _opt_dollars(value: Decimal | None) -> str:
    return dollars(value if value is not None else ZERO)


def _ask(m: Market, side: str) -> str:
    """The best ask of `side` (yes/no): the complement of the other side's best bid, $1 without one."""
    other_bid = m.best("no" if side == "yes" else "yes")
    return dollars(ONE - other_bid) if other_bid is not None else dollars(ONE)


def market_json(x: KalshiExchange, m: Market) -> dict:
    now = x.clock.now_ms()
    yes_bid, no_bid = m.best("yes"), m.best("no")
    settled = m.settled_ms is not None
    return {
        "ticker": m.ticker,
        "event_ticker": m.event_ticker,
        "market_type": "binary",
        "title": m.title,
        "subtitle": m.yes_sub_title,
        "yes_sub_title": m.yes_sub_title,
        "no_sub_title": m.no_sub_title,
        "created_time": iso(m.created_ms),  # type: ignore[arg-type]
        "updated_time": iso(m.updated_ms),
        "open_time": iso(m.open_time_ms),
        "close_time": iso(m.close_time_ms),
        "expected_expiration_time": iso(m.close_time_ms),
        "expiration_time": iso(m.close_time_ms),
        "latest_expiration_time": iso(m.latest_expiration_ms),
        "settlement_timer_seconds": m.settlement_timer_seconds,
        "status": m.status,
        "result": m.result,
        "settlement_ts": iso(m.settled_ms) if settled else None,  # type: ignore[arg-type]
        "settlement_value_dollars": dollars(ONE if m.result == "yes" else ZERO) if settled else None,
        "yes_bid_dollars": _opt_dollars(yes_bid),
        "yes_bid_size_fp": count_fp(m.best_size("yes")),
        "yes_ask_dollars": _ask(m, "yes"),
        "yes_ask_size_fp": count_fp(m.best_size("no")),
        "no_bid_dollars": _opt_dollars(no_bid),
        "no_ask_dollars": _ask(m, "no"),
        "last_price_dollars": _opt_dollars(m.last_price),
        "volume_fp": count_fp(m.volume),
        "volume_24h_fp": count_fp(x.volume_since(m.ticker, now - DAY_MS)),
        "open_interest_fp": count_fp(m.open_interest),
        "notional_value_dollars": dollars(ONE),  # a contract pays $1
        # The sim keeps no history of its books (they move only when someone trades or quotes),
        # so a day ago's quote is today's; the previous price is the tape's, as of a day ago.
        "previous_yes_bid_dollars": _opt_dollars(yes_bid),
        "previous_yes_ask_dollars": _ask(m, "yes"),
        "previous_price_dollars": _opt_dollars(x.price_before(m.ticker, now - DAY_MS)),
        "settlement_bounds_type": "default",
        "expiration_value": m.expiration_value,
        "rules_primary": m.rules_primary,
        "rules_secondary": m.rules_secondary,
        "price_level_structure": "linear_cent",
        "price_ranges": [{"start": dollars(ZERO), "end": dollars(ONE), "step": dollars(m.tick)}],
        "tick_size_dollars": dollars(m.tick),
        "fractional_trading_enabled": m.fractional,
        "can_close_early": True,
        "exchange_index": EXCHANGE_INDEX,
    }


def event_json(x: KalshiExchange, ev: Event) -> dict:
    markets = sorted((m for m in x.markets.values() if m.event_ticker == ev.event_ticker), key=lambda m: m.ticker)
    sources = [{"name": ev.settlement_source[0], "url": ev.settlement_source[1]}] if ev.settlement_source else []
    return {
        "event": {
            "event_ticker": ev.event_ticker, "series_ticker": ev.series_ticker, "title": ev.title,
            "sub_title": ev.sub_title, "category": ev.category, "mutually_exclusive": ev.mutually_exclusive,
            # Kalshi nets collateral across an exclusive event's markets (MECNET), else per market.
            "collateral_return_type": "MECNET" if ev.mutually_exclusive else "DIRECNET",
            "settlement_sources": sources, "exchange_index": EXCHANGE_INDEX,
        },
        "markets": [market_json(x, m) for m in markets],
    }


def orderbook_json(m: Market, depth: int | None) -> dict:
    def side(s: str) -> list[list[str]]:
        levels = [[dollars(p), count_fp(c)] for p, c in m.levels(s)]
        return levels[-depth:] if depth else levels  # ascending: the best bids are last

    return {"orderbook_fp": {"yes_dollars": side("yes"), "no_dollars": side("no")}}


def order_json(o: Order) -> dict:
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "user_id": USER_ID,
        "ticker": o.ticker,
        "status": o.status,
        "type": "limit",
        "side": "yes",
        "action": "buy" if o.side == "bid" else "sell",
        "outcome_side": outcome_side(o.side),
        "book_side": o.side,
        "yes_price_dollars": dollars(o.price),
        "no_price_dollars": dollars(ONE - o.price),
        "initial_count_fp": count_fp(o.initial),
        "fill_count_fp": count_fp(o.filled),
        "remaining_count_fp": count_fp(o.remaining),
        "taker_fees_dollars": dollars(o.taker_fees),
        "maker_fees_dollars": dollars(o.maker_fees),
        "taker_fill_cost_dollars": dollars(o.taker_cost),
        "maker_fill_cost_dollars": dollars(o.maker_cost),
        "time_in_force": o.time_in_force,
        "post_only": o.post_only,
        "reduce_only": o.reduce_only,
        "self_trade_prevention_type": o.self_trade_prevention_type,
        "order_group_id": o.order_group_id,
        "expiration_time": iso(o.expiration_ms) if o.expiration_ms else None,
        "created_time": iso(o.created_ms),
        "last_update_time": iso(o.updated_ms),
        "exchange_index": EXCHANGE_INDEX,
    }


def create_order_json(o: Order, fills: list[Fill], ts_ms: int) -> dict:
    body: dict = {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "fill_count": count_fp(o.filled),
        "remaining_count": count_fp(o.remaining),
        "ts_ms": ts_ms,
    }
    filled = sum((f.count for f in fills), ZERO)
    if filled > 0:
        body["average_fill_price"] = dollars(sum((f.count * f.yes_price for f in fills), ZERO) / filled)
        body["average_fee_paid"] = dollars(sum((f.fee for f in fills), ZERO) / filled)
    return body


def cancel_order_json(o: Order, reduced: Decimal, ts_ms: int) -> dict:
    return {"order_id": o.order_id, "client_order_id": o.client_order_id, "reduced_by": count_fp(reduced),
            "ts_ms": ts_ms}


def fill_json(f: Fill | RawFillRow) -> dict:
    if isinstance(f, RawFillRow):
        return f.row  # verbatim, however broken: that is what it is for
    return {
        "fill_id": f.fill_id,
        "trade_id": f.fill_id,
        "order_id": f.order_id,
        "ticker": f.ticker,
        "market_ticker": f.ticker,
        "exchange_index": EXCHANGE_INDEX,
        "outcome_side": outcome_side(f.book_side),
        "book_side": f.book_side,
        "side": "yes",
        "action": "buy" if f.book_side == "bid" else "sell",
        "count_fp": count_fp(f.count),
        "yes_price_dollars": dollars(f.yes_price),
        "no_price_dollars": dollars(ONE - f.yes_price),
        "is_taker": f.is_taker,
        "fee_cost": dollars(f.fee),
        "created_time": iso(f.ts_ms),
        "ts": f.ts_ms // 1000,
    }


def malformed_fill_row(n: str, ticker: str, ts_ms: int) -> dict:
    """A fill that looks real in every field but one: `count_fp` is not a number."""
    looks_real = Fill(seq=0, fill_id=f"malformed-{n}", order_id=f"malformed-order-{n}", ticker=ticker, book_side="bid",
                      count=ONE, yes_price=Decimal("0.5"), is_taker=True, fee=ZERO, ts_ms=ts_ms)
    return {**fill_json(looks_real), "count_fp": "not-a-number"}


def trade_json(t: Trade) -> dict:
    return {
        "trade_id": t.trade_id,
        "ticker": t.ticker,
        "count_fp": count_fp(t.count),
        "yes_price_dollars": dollars(t.yes_price),
        "no_price_dollars": dollars(ONE - t.yes_price),
        "taker_side": outcome_side(t.taker_book_side),  # deprecated alias of taker_outcome_side
        "taker_outcome_side": outcome_side(t.taker_book_side),
        "taker_book_side": t.taker_book_side,
        "created_time": iso(t.ts_ms),
        "is_block_trade": False,
    }


def position_json(p: Position, resting_orders: int) -> dict:
    return {
        "ticker": p.ticker,
        "exchange_index": EXCHANGE_INDEX,
        "position_fp": count_fp(p.signed),
        "total_traded_dollars": dollars(p.total_traded),
        "market_exposure_dollars": dollars(p.exposure),
        "realized_pnl_dollars": dollars(p.realized_pnl),
        "fees_paid_dollars": dollars(p.fees_paid),
        "resting_orders_count": resting_orders,
        "last_updated_ts": iso(p.last_updated_ms),
    }


def event_position_json(event_ticker: str, positions: list[Position]) -> dict:
    cost = shares = exposure = realized = fees = ZERO
    for p in positions:  # one pass: an event can have thousands of markets
        cost += p.total_traded
        shares += p.held
        exposure += p.exposure
        realized += p.realized_pnl
        fees += p.fees_paid
    return {
        "event_ticker": event_ticker,
        "total_cost_dollars": dollars(cost),
        "total_cost_shares_fp": count_fp(shares),
        "event_exposure_dollars": dollars(exposure),
        "realized_pnl_dollars": dollars(realized),
        "fees_paid_dollars": dollars(fees),
    }


def settlement_json(s: Settlement) -> dict:
    return {
        "ticker": s.ticker,
        "exchange_index": EXCHANGE_INDEX,
        "event_ticker": s.event_ticker,
        "market_result": s.result,
        "yes_count_fp": count_fp(s.yes_count),
        "no_count_fp": count_fp(s.no_count),
        "yes_total_cost_dollars": dollars(s.yes_cost),
        "no_total_cost_dollars": dollars(s.no_cost),
        "revenue": cents(s.revenue),
        "value": 100 if s.result == "yes" else 0,
        "fee_cost": dollars(ZERO),
        "settled_time": iso(s.settled_ms),
    }


def balance_json(x: KalshiExchange) -> dict:
    return {
        "balance": cents(x.balance),
        "balance_dollars": dollars(x.balance),
        "portfolio_value": cents(x.portfolio_value()),
        "updated_ts": x.balance_updated_ms // 1000,
    }
