"""Kalshi Trade API v2 payloads -> the normalized contracts. Pure.

Kalshi quotes everything on the YES book: an order/fill `book_side` "bid" buys YES, "ask" sells
YES (which opens or adds to NO when flat or short); `outcome_side` says the same bit as yes/no
(bid ≡ yes, ask ≡ no), so a direction is read from every field present and they must agree.
Fills are therefore normalized in YES terms (outcome "yes", side buy/sell, YES price), while
positions, which Kalshi nets into one signed `position_fp`, become outcome "yes" (positive) or
"no" (negative) with an unsigned quantity.

Every malformed field raises `KalshiPayloadError` naming the venue, the payload kind and field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, get_args

from shared.contracts import (
    BalanceSnapshot,
    ExternalPosition,
    Fill,
    Mark,
    OrderUpdate,
    SettlementRecorded,
    Side,
    deterministic_id,
)
from shared.contracts.events import OrderStatus, SettlementResult
from shared.money import ONE, ZERO, MoneyParseError, cents_to_dollars, kalshi_dollars, kalshi_fp

VENUE = "kalshi"
# Average prices are quotients; 6 decimals is the finest Kalshi itself quotes dollars in.
AVG_PRICE_QUANTUM = Decimal("0.000001")

SETTLEMENT_RESULTS: tuple[str, ...] = get_args(SettlementResult)
# The one bit Kalshi's direction fields share: bid ≡ yes, ask ≡ no.
_BOOK_SIDE_OF_OUTCOME = {"yes": "bid", "no": "ask"}

_ORDER_STATUS: dict[str, OrderStatus] = {
    "resting": "open",
    "canceled": "canceled",
    "executed": "filled",
    "pending": "pending",
}


class KalshiPayloadError(ValueError):
    def __init__(self, kind: str, field: str, problem: str) -> None:
        super().__init__(f"{VENUE}: malformed {kind}: field {field!r} {problem}")
        self.kind = kind
        self.field = field


class KalshiDirectionConflict(KalshiPayloadError):
    """The payload's direction fields say different things; names every field involved."""

    def __init__(self, kind: str, claims: dict[str, str], payload: dict[str, Any]) -> None:
        said = ", ".join(f"{name}={_shown(payload, name)} (≡ {side})" for name, side in claims.items())
        ValueError.__init__(self, f"{VENUE}: malformed {kind}: fields {', '.join(claims)} contradict each other: {said}")
        self.kind = kind
        self.field = ", ".join(claims)


def _shown(payload: dict[str, Any], name: str) -> str:
    return "/".join(repr(payload.get(part)) for part in name.split("/"))


def _obj(payload: Any, kind: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise KalshiPayloadError(kind, "<root>", f"must be an object, got {type(payload).__name__}")
    return payload


def _str(p: dict, kind: str, field: str) -> str:
    value = p.get(field)
    if not isinstance(value, str) or not value:
        raise KalshiPayloadError(kind, field, f"must be a non-empty string, got {value!r}")
    return value


def _opt_str(p: dict, field: str) -> str | None:
    value = p.get(field)
    return value if isinstance(value, str) and value else None


def _dollars(p: dict, kind: str, field: str) -> Decimal:
    if p.get(field) is None:
        raise KalshiPayloadError(kind, field, "is missing")
    try:
        return kalshi_dollars(p[field], field=field)
    except MoneyParseError as exc:
        raise KalshiPayloadError(kind, field, f"is not a dollar string ({exc})") from None


def _opt_dollars(p: dict, kind: str, field: str) -> Decimal | None:
    return None if p.get(field) is None else _dollars(p, kind, field)


def _fp(p: dict, kind: str, field: str) -> Decimal:
    if p.get(field) is None:
        raise KalshiPayloadError(kind, field, "is missing")
    try:
        return kalshi_fp(p[field], field=field)
    except MoneyParseError as exc:
        raise KalshiPayloadError(kind, field, f"is not a count string ({exc})") from None


def _cents(p: dict, kind: str, field: str) -> Decimal:
    try:
        return cents_to_dollars(p.get(field), field=field)
    except MoneyParseError as exc:
        raise KalshiPayloadError(kind, field, f"is not integer cents ({exc})") from None


def _time(p: dict, kind: str, field: str) -> datetime:
    value = p.get(field)
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if isinstance(value, int) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)  # Kalshi `ts`/`updated_ts`: Unix seconds
    except (ValueError, OverflowError, OSError):
        pass
    raise KalshiPayloadError(kind, field, f"is not a timestamp, got {value!r}")


def _price(value: Decimal, kind: str, field: str) -> Decimal:
    if not ZERO <= value <= ONE:
        raise KalshiPayloadError(kind, field, f"{value} is outside 0..1")
    return value


def _yes_side(p: dict, kind: str) -> Side:
    """'buy' or 'sell' of YES, from every direction field the payload carries, which must agree.

    `outcome_side` and `book_side` carry the same bit (bid ≡ yes, ask ≡ no), so either alone
    decides; the deprecated `side`/`action` pair says it a third way (buy-yes ≡ sell-no ≡ bid,
    buy-no ≡ sell-yes ≡ ask) and is cross-checked when both halves are present. Fields that
    disagree reject the payload: a wrong direction is a wrong position, so it is never guessed.
    """
    claims: dict[str, str] = {}  # field(s) -> the book side they say
    outcome_side = p.get("outcome_side")
    if outcome_side is not None:
        if outcome_side not in _BOOK_SIDE_OF_OUTCOME:
            raise KalshiPayloadError(kind, "outcome_side", f"must be 'yes' or 'no', got {outcome_side!r}")
        claims["outcome_side"] = _BOOK_SIDE_OF_OUTCOME[outcome_side]
    book_side = p.get("book_side")
    if book_side is not None:
        if book_side not in ("bid", "ask"):
            raise KalshiPayloadError(kind, "book_side", f"must be 'bid' or 'ask', got {book_side!r}")
        claims["book_side"] = book_side
    legacy_side, action = p.get("side"), p.get("action")
    if legacy_side is not None and action is not None:
        if legacy_side not in ("yes", "no"):
            raise KalshiPayloadError(kind, "side", f"must be 'yes' or 'no', got {legacy_side!r}")
        if action not in ("buy", "sell"):
            raise KalshiPayloadError(kind, "action", f"must be 'buy' or 'sell', got {action!r}")
        claims["side/action"] = "bid" if (legacy_side == "yes") == (action == "buy") else "ask"
    if not claims:
        raise KalshiPayloadError(kind, "outcome_side", "is missing, and so are book_side and the legacy side/action pair")
    if len(set(claims.values())) > 1:
        raise KalshiDirectionConflict(kind, claims, p)
    return "buy" if next(iter(claims.values())) == "bid" else "sell"


def position(payload: Any, account: str) -> ExternalPosition:
    kind = "market position"
    p = _obj(payload, kind)
    ticker = _str(p, kind, "ticker")
    signed = _fp(p, kind, "position_fp")
    exposure = _dollars(p, kind, "market_exposure_dollars")
    held = abs(signed)
    avg = None
    if held:
        avg = _price((exposure / held).quantize(AVG_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN), kind, "market_exposure_dollars")
    return ExternalPosition(
        venue=VENUE,
        account=account,
        instrument_id=ticker,
        outcome="no" if signed < 0 else "yes",
        quantity=held,
        avg_price=avg,
        cost_basis=exposure,
        realized_pnl=_opt_dollars(p, kind, "realized_pnl_dollars"),
        fees=_opt_dollars(p, kind, "fees_paid_dollars"),
        title=_opt_str(p, "title") or _opt_str(p, "market_title"),
        raw=p,
    )


def fill(payload: Any, account: str) -> Fill:
    kind = "fill"
    p = _obj(payload, kind)
    fill_id = _opt_str(p, "fill_id") or _str(p, kind, "trade_id")
    price = _dollars(p, kind, "yes_price_dollars")
    fee = _opt_dollars(p, kind, "fee_cost")
    is_taker = p.get("is_taker")
    executed_at = _time(p, kind, "created_time") if p.get("created_time") else _time(p, kind, "ts")
    return Fill(
        event_id=deterministic_id(VENUE, fill_id, "confirmed"),
        venue=VENUE,
        account=account,
        fill_id=fill_id,
        order_id=_opt_str(p, "order_id"),
        client_order_id=_opt_str(p, "client_order_id"),
        instrument_id=_opt_str(p, "ticker") or _str(p, kind, "market_ticker"),
        outcome="yes",
        side=_yes_side(p, kind),
        quantity=_fp(p, kind, "count_fp"),
        price=_price(price, kind, "yes_price_dollars"),
        fee=fee if fee is not None else ZERO,
        status="confirmed",  # Kalshi fills are final
        is_taker=is_taker if isinstance(is_taker, bool) else None,
        executed_at=executed_at,
        occurred_at=executed_at,
        raw=p,
    )


def order(payload: Any) -> OrderUpdate:
    kind = "order"
    p = _obj(payload, kind)
    venue_status = _str(p, kind, "status")
    filled = _fp(p, kind, "fill_count_fp")
    remaining = _fp(p, kind, "remaining_count_fp")
    initial = _fp(p, kind, "initial_count_fp") if p.get("initial_count_fp") is not None else filled + remaining
    status = _ORDER_STATUS.get(venue_status, "unknown")
    if status == "open" and filled > 0:
        status = "partially_filled"
    price = _opt_dollars(p, kind, "yes_price_dollars")
    updated_at = _time(p, kind, "last_update_time") if p.get("last_update_time") else _time(p, kind, "created_time")
    return OrderUpdate(
        event_id=deterministic_id(VENUE, "order", p.get("order_id"), venue_status, str(filled)),
        venue=VENUE,
        order_id=_str(p, kind, "order_id"),
        client_order_id=_opt_str(p, "client_order_id"),
        instrument_id=_str(p, kind, "ticker"),
        outcome="yes",
        side=_yes_side(p, kind),
        status=status,
        limit_price=_price(price, kind, "yes_price_dollars") if price is not None else None,
        quantity=initial,
        filled_quantity=filled,
        remaining_quantity=remaining,
        updated_at=updated_at,
        occurred_at=updated_at,
        raw=p,
    )


def balance(payload: Any, account: str, as_of: datetime) -> BalanceSnapshot:
    """`balance_dollars` when present (it keeps sub-cent precision), else integer-cent `balance`."""
    kind = "balance"
    p = _obj(payload, kind)
    cash = _opt_dollars(p, kind, "balance_dollars")
    if cash is None:
        cash = _cents(p, kind, "balance")
    elif isinstance(p.get("balance"), int) and _cents(p, kind, "balance") > cash:
        raise KalshiPayloadError(kind, "balance", f"{p['balance']} cents exceeds balance_dollars {cash}")
    portfolio = _cents(p, kind, "portfolio_value") if p.get("portfolio_value") is not None else None
    updated = _time(p, kind, "updated_ts") if p.get("updated_ts") else as_of
    return BalanceSnapshot(
        event_id=deterministic_id(VENUE, "balance", account, updated.isoformat(), str(cash)),
        venue=VENUE,
        account=account,
        cash=cash,
        portfolio_value=portfolio,
        as_of=updated,
        occurred_at=updated,
    )


def settlement(payload: Any, account: str) -> SettlementRecorded:
    """A `/portfolio/settlements` row: one settled market. Counts and costs are per side; `revenue`
    and `value` (payout per YES contract) are the two fields Kalshi still sends as integer cents."""
    kind = "settlement"
    p = _obj(payload, kind)
    ticker = _str(p, kind, "ticker")
    result = _str(p, kind, "market_result")
    if result not in SETTLEMENT_RESULTS:
        raise KalshiPayloadError(kind, "market_result", f"must be one of {SETTLEMENT_RESULTS}, got {result!r}")
    value = _price(_cents(p, kind, "value"), kind, "value") if p.get("value") is not None else None
    fee = _opt_dollars(p, kind, "fee_cost")
    settled_at = _time(p, kind, "settled_time")
    return SettlementRecorded(
        event_id=deterministic_id(VENUE, "settlement", account, ticker),
        venue=VENUE,
        account=account,
        instrument_id=ticker,
        result=result,
        value=value,
        yes_count=_fp(p, kind, "yes_count_fp"),
        no_count=_fp(p, kind, "no_count_fp"),
        yes_cost=_dollars(p, kind, "yes_total_cost_dollars"),
        no_cost=_dollars(p, kind, "no_total_cost_dollars"),
        revenue=_cents(p, kind, "revenue"),
        fees=fee if fee is not None else ZERO,
        settled_at=settled_at,
        occurred_at=settled_at,
        raw=p,
    )


def _quote(m: dict, kind: str, field: str, *, no_level: tuple[Decimal, ...]) -> Decimal | None:
    """A market's price field, or None when it holds one of the `no_level` values Kalshi sends
    for "nothing there" (a bid of 0, an ask of 1, a last price of 0: none is a price anyone can
    trade at)."""
    value = _opt_dollars(m, kind, field)
    if value is None:
        return None
    value = _price(value, kind, field)
    return None if value in no_level else value


def mark(market: Any, as_of: datetime) -> Mark:
    """A market (a `GET /markets` row) -> its mark. The market carries the top of its own book:
    `yes_bid_dollars` is the best YES bid and `yes_ask_dollars` the best YES ask (1 − the best NO
    bid, the orderbook's complement). A side without a level comes as a bid of 0 or an ask of 1
    (an ask of 0 is none too: nobody sells YES for nothing), and a market that never traded has a
    last price of 0: each of those is None, never a price."""
    kind = "market"
    m = _obj(market, kind)
    ticker = _str(m, kind, "ticker")
    bid = _quote(m, kind, "yes_bid_dollars", no_level=(ZERO,))
    ask = _quote(m, kind, "yes_ask_dollars", no_level=(ZERO, ONE))
    mid = (bid + ask) / 2 if bid is not None and ask is not None else None
    last = _quote(m, kind, "last_price_dollars", no_level=(ZERO,))
    return Mark(
        event_id=deterministic_id(VENUE, "mark", ticker, as_of.isoformat()),
        venue=VENUE,
        instrument_id=ticker,
        best_bid=bid,
        best_ask=ask,
        mid=mid,
        last=last,
        as_of=as_of,
        occurred_at=as_of,
    )
