"""Polymarket payloads -> the venue-neutral contracts. Pure: no I/O.

Inputs are already parsed with `shared.money.parse_venue_json`, so Data API numbers arrive as
Decimal/int and CLOB numbers as decimal strings; both go through `to_decimal`, never float.
Anything malformed raises `PolymarketPayloadError` naming polymarket and the field, so a bad
venue answer fails loudly instead of turning into a wrong position.

Outcomes: our contracts speak yes/no. Polymarket markets have two tokens; outcome index 0 is
"yes" and 1 is "no" whatever the labels are ("Yes"/"No", or e.g. "Chiefs"/"Eagles"). The venue's
label always stays in `raw`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from shared.contracts import ExternalPosition, Fill, Mark, OrderUpdate, SettlementRecorded, deterministic_id
from shared.contracts.base import Outcome
from shared.money import MoneyParseError, to_decimal

VENUE = "polymarket"
TRADE_STATUSES = ("matched", "mined", "confirmed", "retrying", "failed")
BPS = Decimal(10_000)
ONE = Decimal(1)

# Learns a token's outcome index when the payload has only a label (CLOB trades and orders).
OutcomeIndexOf = Callable[[str], int | None]


class PolymarketPayloadError(ValueError):
    """The venue sent something we cannot read. The message names the venue and field."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{VENUE}: {message}")


# ---- field readers -----------------------------------------------------------------------


def _field(row: Mapping[str, Any], name: str, where: str) -> Any:
    if not isinstance(row, Mapping):
        raise PolymarketPayloadError(f"{where}: expected an object, got {type(row).__name__}")
    if name not in row or row[name] is None:
        raise PolymarketPayloadError(f"{where}: missing field {name!r}")
    return row[name]


def _number(row: Mapping[str, Any], name: str, where: str) -> Decimal:
    try:
        return to_decimal(_field(row, name, where), field=f"{where}.{name}")
    except MoneyParseError as error:
        raise PolymarketPayloadError(str(error)) from None


def _optional_number(row: Mapping[str, Any], name: str, where: str) -> Decimal | None:
    if row.get(name) in (None, ""):
        return None
    return _number(row, name, where)


def _text(row: Mapping[str, Any], name: str, where: str) -> str:
    value = _field(row, name, where)
    if not isinstance(value, str) or not value:
        raise PolymarketPayloadError(f"{where}: field {name!r} must be a non-empty string")
    return value


def _side(row: Mapping[str, Any], name: str, where: str) -> str:
    value = str(_field(row, name, where)).lower()
    if value not in ("buy", "sell"):
        raise PolymarketPayloadError(f"{where}: field {name!r} is {value!r}, expected BUY or SELL")
    return value


def _unix_seconds(row: Mapping[str, Any], name: str, where: str) -> datetime:
    """CLOB times are unix seconds (string or int); ISO-8601 text is accepted too."""
    value = _field(row, name, where)
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.isdigit():
        seconds = int(value)
        # Some feeds send milliseconds; no trade happened before 2001 in seconds-land.
        return datetime.fromtimestamp(seconds / 1000 if seconds > 10**11 else seconds, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise PolymarketPayloadError(f"{where}: field {name!r} is not a timestamp: {value!r}")


def outcome_for(index: Any, label: Any, where: str) -> Outcome:
    """Index 0 -> yes, 1 -> no; without an index, a literal Yes/No label decides."""
    if index is not None and not isinstance(index, bool):
        try:
            number = int(index)
        except (TypeError, ValueError):
            number = -1
        if number in (0, 1) and str(index).strip() == str(number):
            return "yes" if number == 0 else "no"
        raise PolymarketPayloadError(f"{where}: outcome index {index!r} is not 0 or 1")
    text = str(label or "").strip().lower()
    if text in ("yes", "no"):
        return text  # type: ignore[return-value]
    raise PolymarketPayloadError(f"{where}: cannot tell yes/no for outcome {label!r} without an outcome index")


def trade_status(raw: Any, where: str) -> str:
    """`MATCHED`, `TRADE_STATUS_CONFIRMED`, ... -> matched/mined/confirmed/retrying/failed."""
    text = str(raw or "").strip().lower().removeprefix("trade_status_")
    if text not in TRADE_STATUSES:
        raise PolymarketPayloadError(f"{where}: unknown trade status {raw!r}")
    return text


def public_raw(value: Any) -> Any:
    """The payload minus `owner` fields: CLOB trades and orders name the owning API key there
    (ours or a counterparty's), and an API key must never reach an event, reply or log."""
    if isinstance(value, Mapping):
        return {k: public_raw(v) for k, v in value.items() if k != "owner"}
    if isinstance(value, list):
        return [public_raw(v) for v in value]
    return value


def _validated(build: Callable[[], Any], where: str) -> Any:
    """Contract validation (price outside 0..1, ...) reported as a venue payload error."""
    try:
        return build()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise PolymarketPayloadError(f"{where}: {problems}") from None


# ---- positions ---------------------------------------------------------------------------


def position_from_row(row: Mapping[str, Any], account: str) -> ExternalPosition:
    """One Data API `/positions` item (camelCase, JSON numbers)."""
    where = f"positions[{row.get('asset') if isinstance(row, Mapping) else '?'}]"
    asset = _text(row, "asset", where)
    size = _number(row, "size", where)
    avg_price = _number(row, "avgPrice", where)
    initial = _optional_number(row, "initialValue", where)
    return _validated(lambda: ExternalPosition(
        venue=VENUE,
        account=account,
        instrument_id=asset,
        outcome=outcome_for(row.get("outcomeIndex"), row.get("outcome"), where),
        quantity=size,
        avg_price=avg_price,
        # The Data API's initialValue is size x avgPrice; derive it when an old row lacks it.
        cost_basis=initial if initial is not None else size * avg_price,
        market_value=_optional_number(row, "currentValue", where),
        realized_pnl=_optional_number(row, "realizedPnl", where),
        title=row.get("title") or None,
        raw=dict(row),
    ), where)


# ---- trades -> fills ---------------------------------------------------------------------


def taker_fee(size: Decimal, price: Decimal, fee_rate_bps: Decimal) -> Decimal:
    """Polymarket's fee curve: rate x min(price, 1 - price) x shares (CTF exchange docs)."""
    return fee_rate_bps / BPS * min(price, ONE - price) * size


def fills_from_trade(
    trade: Mapping[str, Any], *, wallet: str, api_key: str, outcome_index_of: OutcomeIndexOf, account: str | None = None
) -> list[Fill]:
    """A CLOB `/data/trades` item -> our fill(s) at its current status.

    As TAKER our fill is the top-level order (asset, side, size, price). As MAKER the top level
    describes the *taker's* order; ours are the `maker_orders` entries with our wallet or API
    key, each with its own asset, side, matched amount and price. One trade can match several
    of our resting orders: then each gets `fill_id = "<trade id>:<order id>"`, else the trade id.
    `event_id` = deterministic_id("polymarket", fill_id, status): one event per status change.
    """
    where = f"trades[{trade.get('id') if isinstance(trade, Mapping) else '?'}]"
    trade_id = _text(trade, "id", where)
    status = trade_status(_field(trade, "status", where), where)
    executed_at = _unix_seconds(trade, "match_time", where)
    updated_at = _unix_seconds(trade, "last_update", where) if trade.get("last_update") else executed_at
    mine = _our_maker_orders(trade, wallet, api_key, where)
    role = str(trade.get("trader_side") or ("MAKER" if mine else "TAKER")).upper()
    if role == "MAKER":
        if not mine:
            raise PolymarketPayloadError(f"{where}: trader_side MAKER but no maker_orders entry is ours")
        legs = [
            (m, f"{where}.maker_orders[{m.get('order_id')}]", "matched_amount", _text(m, "order_id", where))
            for m in mine
        ]
    elif role == "TAKER":
        legs = [(trade, where, "size", trade.get("taker_order_id") or None)]
    else:
        raise PolymarketPayloadError(f"{where}: unknown trader_side {role!r}")
    fills = []
    for leg, leg_where, size_field, order_id in legs:
        asset = str(leg.get("asset_id") or _text(trade, "asset_id", where))
        size = _number(leg, size_field, leg_where)
        price = _number(leg, "price", leg_where)
        bps = _optional_number(leg, "fee_rate_bps", leg_where) or Decimal(0)
        fill_id = trade_id if len(legs) == 1 else f"{trade_id}:{order_id}"
        outcome = outcome_for(outcome_index_of(asset), leg.get("outcome") or trade.get("outcome"), leg_where)
        fills.append(_validated(lambda: Fill(
            event_id=deterministic_id(VENUE, fill_id, status),
            occurred_at=updated_at,
            venue=VENUE,
            account=account or wallet,
            fill_id=fill_id,
            order_id=order_id,
            instrument_id=asset,
            outcome=outcome,
            side=_side(leg, "side", leg_where),
            quantity=size,
            price=price,
            # Makers pay no taker fee; the rate on a maker entry is the maker's own.
            fee=taker_fee(size, price, bps),
            status=status,
            is_taker=role == "TAKER",
            executed_at=executed_at,
            raw=public_raw(trade),
        ), leg_where))
    return fills


def fill_from_data_trade(row: Mapping[str, Any], account: str) -> Fill:
    """A Data API `/trades` item -> our fill.

    The Data API indexes the chain, so a row exists only once its settlement transaction was
    mined; rows carry no status, so a fill is "confirmed" unless the row names one. There is no
    trade id either: `fill_id = "<transactionHash>:<asset>"`, stable across reads. No fee field
    either (the CLOB fill carries it), so fee is 0 here. JSON numbers, not strings.
    """
    where = f"data_trades[{row.get('transactionHash') if isinstance(row, Mapping) else '?'}]"
    tx_hash = _text(row, "transactionHash", where)
    asset = _text(row, "asset", where)
    fill_id = f"{tx_hash}:{asset}"
    status = trade_status(row["status"], where) if row.get("status") else "confirmed"
    executed_at = _unix_seconds(row, "timestamp", where)
    return _validated(lambda: Fill(
        event_id=deterministic_id(VENUE, fill_id, status),
        occurred_at=executed_at,
        venue=VENUE,
        account=account,
        fill_id=fill_id,
        instrument_id=asset,
        outcome=outcome_for(row.get("outcomeIndex"), row.get("outcome"), where),
        side=_side(row, "side", where),
        quantity=_number(row, "size", where),
        price=_number(row, "price", where),
        fee=Decimal(0),
        status=status,
        executed_at=executed_at,
        raw=public_raw(row),
    ), where)


def _our_maker_orders(trade: Mapping[str, Any], wallet: str, api_key: str, where: str) -> list[Mapping[str, Any]]:
    makers = trade.get("maker_orders") or []
    if not isinstance(makers, list):
        raise PolymarketPayloadError(f"{where}: maker_orders must be a list")
    ours = []
    for m in makers:
        if not isinstance(m, Mapping):
            raise PolymarketPayloadError(f"{where}: maker_orders entries must be objects")
        if str(m.get("maker_address") or "").lower() == wallet.lower() or (api_key and m.get("owner") == api_key):
            ours.append(m)
    return ours


# ---- orders ------------------------------------------------------------------------------

_ORDER_STATUS = {
    "live": "open",
    "matched": "filled",
    "delayed": "pending",
    "unmatched": "rejected",  # marketable but its delayed match failed: never rested
    "invalid": "rejected",
}


def order_status(raw: Any, filled: Decimal) -> str:
    text = str(raw or "").strip().lower().removeprefix("order_status_")
    if text.startswith("canceled") or text.startswith("cancelled"):
        return "canceled"
    mapped = _ORDER_STATUS.get(text, "unknown")
    return "partially_filled" if mapped == "open" and filled > 0 else mapped


def order_from_row(row: Mapping[str, Any], *, outcome_index_of: OutcomeIndexOf) -> OrderUpdate:
    """A CLOB `/data/order/{id}` or `/data/orders` item. Polymarket has no client order id."""
    where = f"order[{row.get('id') if isinstance(row, Mapping) else '?'}]"
    order_id = _text(row, "id", where)
    asset = _text(row, "asset_id", where)
    original = _number(row, "original_size", where)
    matched = _number(row, "size_matched", where)
    return _validated(lambda: OrderUpdate(
        event_id=deterministic_id(VENUE, "order", order_id, row.get("status"), matched),
        venue=VENUE,
        order_id=order_id,
        instrument_id=asset,
        outcome=outcome_for(outcome_index_of(asset), row.get("outcome"), where),
        side=_side(row, "side", where),
        status=order_status(row.get("status"), matched),
        limit_price=_number(row, "price", where),
        quantity=original,
        filled_quantity=matched,
        remaining_quantity=original - matched,
        updated_at=_unix_seconds(row, "created_at", where),
        raw=public_raw(row),
    ), where)


# ---- settlements -------------------------------------------------------------------------


def resolved_winner(market: Mapping[str, Any]) -> int | None:
    """The winning outcome index of a CLOB `GET /markets/{condition_id}` answer, or None while it
    is not resolved: a market is `closed` when trading ends, and names a `winner` token only once
    it has resolved. More than one winner is refused, never guessed between."""
    where = _market_where(market)
    tokens = _tokens(market, where)
    if market.get("closed") is not True:
        return None
    winners = [index for index, token in enumerate(tokens) if token.get("winner") is True]
    if len(winners) > 1:
        raise PolymarketPayloadError(f"{where}: more than one token is marked winner")
    return winners[0] if winners else None


def settlement_from_resolution(
    market: Mapping[str, Any], positions: list[Mapping[str, Any]], *, account: str, observed_at: datetime
) -> SettlementRecorded:
    """A resolved market (CLOB market with a winner) and our Data API rows for it -> one settlement.

    Each winning share pays 1, a losing one 0; redeeming costs no fee. Token order in the CLOB
    market is the outcome index (0 = yes); a position row whose `outcomeIndex` disagrees is
    refused. Polymarket reports no resolution time, so `settled_at` is `observed_at`."""
    where = _market_where(market)
    condition_id = _text(market, "condition_id", where)
    tokens = _tokens(market, where)
    winner = resolved_winner(market)
    if winner is None:
        raise PolymarketPayloadError(f"{where}: not resolved (closed={market.get('closed')!r}, no winner token)")
    token_ids = [_text(token, "token_id", f"{where}.tokens") for token in tokens]
    counts, costs = [Decimal(0), Decimal(0)], [Decimal(0), Decimal(0)]
    for row in positions:
        row_where = f"positions[{row.get('asset') if isinstance(row, Mapping) else '?'}]"
        asset = _text(row, "asset", row_where)
        if asset not in token_ids:
            raise PolymarketPayloadError(f"{row_where}: token is not one of {where}'s tokens")
        index = token_ids.index(asset)
        if row.get("outcomeIndex") is not None and str(row["outcomeIndex"]).strip() != str(index):
            raise PolymarketPayloadError(
                f"{row_where}: outcomeIndex {row['outcomeIndex']!r} contradicts the market's token order ({index})")
        size = _number(row, "size", row_where)
        initial = _optional_number(row, "initialValue", row_where)
        counts[index] += size
        costs[index] += initial if initial is not None else size * _number(row, "avgPrice", row_where)
    return _validated(lambda: SettlementRecorded(
        event_id=deterministic_id(VENUE, "settlement", account, condition_id),
        venue=VENUE,
        account=account,
        instrument_id=condition_id,
        yes_token_id=token_ids[0],
        no_token_id=token_ids[1],
        result="yes" if winner == 0 else "no",
        value=ONE if winner == 0 else Decimal(0),
        yes_count=counts[0],
        no_count=counts[1],
        yes_cost=costs[0],
        no_cost=costs[1],
        revenue=counts[winner] * ONE,
        fees=Decimal(0),
        settled_at=observed_at,
        occurred_at=observed_at,
        raw=public_raw({"market": dict(market), "positions": [dict(r) for r in positions]}),
    ), where)


def _market_where(market: Mapping[str, Any]) -> str:
    return f"market[{market.get('condition_id') if isinstance(market, Mapping) else '?'}]"


def _tokens(market: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    tokens = _field(market, "tokens", where)
    if not isinstance(tokens, list) or len(tokens) != 2 or not all(isinstance(t, Mapping) for t in tokens):
        raise PolymarketPayloadError(f"{where}: tokens must be a list of two objects")
    return tokens


# ---- marks -------------------------------------------------------------------------------


def mark_from_book(
    book: Mapping[str, Any], *, last: Decimal | None = None, now: datetime | None = None,
) -> Mark:
    """A book (`GET /book`, or one item of `POST /books`; + optional last trade) -> Mark; mid = the
    middle of the best levels. Best levels by price, not position: the CLOB lists bids ascending
    and asks descending (best last)."""
    asset = _text(book, "asset_id", "book")
    where = f"book[{asset}]"
    bids = [_number(lv, "price", f"{where}.bids") for lv in _levels(book, "bids", where)]
    asks = [_number(lv, "price", f"{where}.asks") for lv in _levels(book, "asks", where)]
    best_bid, best_ask = (max(bids) if bids else None), (min(asks) if asks else None)
    midpoint = (best_bid + best_ask) / 2 if best_bid is not None and best_ask is not None else None
    if last is None:
        last = _optional_number(book, "last_trade_price", where)
    as_of = _unix_seconds(book, "timestamp", where) if book.get("timestamp") else (now or datetime.now(UTC))
    return _validated(lambda: Mark(
        venue=VENUE, instrument_id=asset, best_bid=best_bid, best_ask=best_ask, mid=midpoint, last=last,
        as_of=as_of, occurred_at=as_of,
    ), where)


def _levels(book: Mapping[str, Any], name: str, where: str) -> list[Mapping[str, Any]]:
    levels = book.get(name) or []
    if not isinstance(levels, list):
        raise PolymarketPayloadError(f"{where}: {name} must be a list")
    return levels
