"""Position math: one holding per (venue, instrument, outcome as held), folded from fills.

Rules (all arithmetic exact Decimal; nothing here rounds money except the one averaging rule):

* **Held side.** Polymarket holds each outcome token on its own: key (venue, token id, outcome),
  and a sell never flips it (a venue without shorting). Kalshi nets a ticker into one signed YES
  quantity; we show it as a YES holding (priced in YES) or a NO holding (priced 1 − YES), so a
  YES sell beyond the YES holding closes it and opens a NO holding of the remainder at 1 − price,
  and a YES buy against a NO holding is a NO sell at 1 − price.
* **Buys** raise quantity and cost basis at the fill price. The average is kept to
  `AVG_QUANTUM` and `cost_basis` is *defined* as `avg_price × quantity`, so that identity is exact;
  the sub-quantum residual of re-averaging is booked to realized PnL at the buy, so no cash is lost.
* **Sells** realize `(price − avg) × qty` and lower cost basis by `avg × qty`. Quantity 0 closes the
  position (`closed_at` set). A Polymarket sell beyond the holding (history we never saw) realizes
  its proceeds at zero cost and is counted in `unmatched_sold` for the reconciler.
* **Fees** are never capitalized into the average: every fee is charged to `realized_pnl` when it
  is paid (a buy's fee at the buy) and also summed in `fees`. `realized_pnl` is therefore *net* of
  fees; gross trading PnL is `realized_pnl + fees`. A flipping fill's whole fee goes to the
  position it closes.
* **Settlement** closes the position: `realized += payout − cost_basis − settlement fees`, where
  payout = quantity × value of the held side (YES: `value`, or 1/0 for a yes/no result; NO: 1 − that);
  a void market pays back the cost basis (realized 0 apart from fees).
* **Invariant** (what the property tests check): for every lifecycle,
  `net cash flow = realized_pnl − cost_basis`, hence realized + unrealized = cash + market value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Literal, NamedTuple

from shared.contracts import Fill, Mark, SettlementRecorded
from shared.contracts.client_order_ids import strategy_of
from shared.money import ONE, ZERO

AVG_QUANTUM = Decimal("1e-12")
# Wide enough that every product and sum of venue numbers is exact; only the average is rounded.
_EXACT = Context(prec=80)

Held = Literal["yes", "no"]
Status = Literal["open", "closed"]
# own: opened by an order trueup placed; external: by anything else (manual, another bot);
# imported: an opening balance from `trueup import`.
Origin = Literal["own", "external", "imported"]


class PositionKey(NamedTuple):
    venue: str
    instrument_id: str
    outcome: Held


@dataclass(frozen=True, slots=True)
class Position:
    """One lifecycle of a holding: from the fill that opens it to the one (or settlement) closing it."""

    venue: str
    instrument_id: str
    outcome: Held
    opened_at: datetime
    quantity: Decimal = ZERO
    avg_price: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO  # net of fees, see module docstring
    fees: Decimal = ZERO
    closed_at: datetime | None = None
    unmatched_sold: Decimal = ZERO
    settlement_result: str | None = None
    # What opened this lifecycle (a fill id, or an import record): with the key and `opened_at`
    # it names the lifecycle, so a recomputation from the journal gives every position the same id.
    opened_by: str = ""
    # The strategy and origin of the fill that opened it (see `shared.contracts.client_order_ids`).
    strategy_name: str | None = None
    origin: Origin = "external"

    @property
    def key(self) -> PositionKey:
        return PositionKey(self.venue, self.instrument_id, self.outcome)

    @property
    def status(self) -> Status:
        return "closed" if self.closed_at is not None else "open"


@dataclass(frozen=True, slots=True)
class Valuation:
    mark_price: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal


def held_trade(fill: Fill) -> tuple[Literal["buy", "sell"], Decimal]:
    """A Kalshi fill as a YES trade (buy NO at p ≡ sell YES at 1 − p); Polymarket fills as they are."""
    if fill.venue == "kalshi" and fill.outcome == "no":
        return ("sell" if fill.side == "buy" else "buy"), ONE - fill.price
    return fill.side, fill.price


def apply_fill(held: Position | None, fill: Fill) -> tuple[Position, ...]:
    """The fill applied to `held`, the open position of the fill's instrument (None when flat).

    Returns the positions the fill touched, in order: usually one; two when a Kalshi fill crosses
    zero (the closed old side, then the newly opened other side).
    """
    if fill.quantity <= 0:
        raise ValueError(f"fill {fill.venue}:{fill.fill_id} has quantity {fill.quantity}; a fill trades something")
    if held is not None and held.status == "closed":
        held = None
    if held is not None and (held.venue, held.instrument_id) != (fill.venue, fill.instrument_id):
        raise ValueError(f"fill {fill.venue}:{fill.fill_id} is not for {held.venue}:{held.instrument_id}")
    with localcontext(_EXACT):
        if fill.venue != "kalshi":
            position = held or _opened_by(fill, fill.outcome)
            if fill.side == "buy":
                return (_buy(position, fill.quantity, fill.price, fill.fee),)
            return (_sell(position, fill.quantity, fill.price, fill.fee, fill.executed_at),)
        side, yes_price = held_trade(fill)
        if held is None:
            outcome: Held = "yes" if side == "buy" else "no"
            held = _opened_by(fill, outcome)
        # In held-side terms: a YES buy adds to YES / reduces NO; a YES sell the reverse.
        adds = (side == "buy") == (held.outcome == "yes")
        price = yes_price if held.outcome == "yes" else ONE - yes_price
        if adds:
            return (_buy(held, fill.quantity, price, fill.fee),)
        if fill.quantity <= held.quantity:
            return (_sell(held, fill.quantity, price, fill.fee, fill.executed_at),)
        closed = _sell(held, held.quantity, price, fill.fee, fill.executed_at)
        other: Held = "no" if held.outcome == "yes" else "yes"
        reopened = _opened_by(fill, other)
        return closed, _buy(reopened, fill.quantity - held.quantity, ONE - price, ZERO)


def _opened_by(fill: Fill, outcome: Held) -> Position:
    strategy = strategy_of(fill.client_order_id)
    return Position(fill.venue, fill.instrument_id, outcome, fill.executed_at, opened_by=fill.fill_id,
                    strategy_name=strategy, origin="own" if strategy is not None else "external")


def _buy(position: Position, quantity: Decimal, price: Decimal, fee: Decimal) -> Position:
    new_quantity = position.quantity + quantity
    paid = position.cost_basis + quantity * price
    avg = (paid / new_quantity).quantize(AVG_QUANTUM, rounding=ROUND_HALF_EVEN)
    cost_basis = avg * new_quantity
    return replace(
        position,
        quantity=new_quantity,
        avg_price=avg,
        cost_basis=cost_basis,
        # Re-averaging residual (|x| ≤ quantum × qty / 2) is realized so cash still reconciles.
        realized_pnl=position.realized_pnl + (cost_basis - paid) - fee,
        fees=position.fees + fee,
    )


def _sell(position: Position, quantity: Decimal, price: Decimal, fee: Decimal, at: datetime) -> Position:
    matched = min(quantity, position.quantity)
    unmatched = quantity - matched
    remaining = position.quantity - matched
    return replace(
        position,
        quantity=remaining,
        cost_basis=position.avg_price * remaining,
        realized_pnl=position.realized_pnl + (price - position.avg_price) * matched + price * unmatched - fee,
        fees=position.fees + fee,
        unmatched_sold=position.unmatched_sold + unmatched,
        closed_at=at if remaining == 0 else None,
    )


def settlement_keys(settlement: SettlementRecorded) -> tuple[PositionKey, ...]:
    """The keys a settlement can close: Kalshi's ticker either side; Polymarket's two tokens."""
    if settlement.venue == "kalshi":
        ticker = settlement.instrument_id
        return PositionKey("kalshi", ticker, "yes"), PositionKey("kalshi", ticker, "no")
    keys = []
    if settlement.yes_token_id:
        keys.append(PositionKey(settlement.venue, settlement.yes_token_id, "yes"))
    if settlement.no_token_id:
        keys.append(PositionKey(settlement.venue, settlement.no_token_id, "no"))
    return tuple(keys)


def yes_payout(settlement: SettlementRecorded) -> Decimal | None:
    """Payout per YES contract; None for a void market (which returns cost instead)."""
    if settlement.result == "void":
        return None
    if settlement.value is not None:
        return settlement.value
    if settlement.result == "scalar":
        raise ValueError(f"scalar settlement of {settlement.venue}:{settlement.instrument_id} has no value")
    return ONE if settlement.result == "yes" else ZERO


def settle(position: Position, settlement: SettlementRecorded, *, charge_fees: bool = True) -> Position:
    """Close an open position at settlement. `charge_fees`: the event's fees are per market, so a
    caller settling two Polymarket tokens charges them to the first one only (see fold)."""
    if position.key not in settlement_keys(settlement):
        raise ValueError(f"settlement of {settlement.venue}:{settlement.instrument_id} cannot close {position.key}")
    if position.status == "closed":
        return position
    fee = settlement.fees if charge_fees else ZERO
    with localcontext(_EXACT):
        per_yes = yes_payout(settlement)
        if per_yes is None:
            payout = position.cost_basis
        else:
            payout = position.quantity * (per_yes if position.outcome == "yes" else ONE - per_yes)
        return replace(
            position,
            quantity=ZERO,
            cost_basis=ZERO,
            realized_pnl=position.realized_pnl + payout - position.cost_basis - fee,
            fees=position.fees + fee,
            closed_at=settlement.settled_at,
            settlement_result=settlement.result,
        )


def mark_price(mark: Mark) -> Decimal | None:
    """The instrument's price from a mark: mid, else the middle of bid and ask, else last trade."""
    if mark.mid is not None:
        return mark.mid
    if mark.best_bid is not None and mark.best_ask is not None:
        return (mark.best_bid + mark.best_ask) / 2
    return mark.last


def value(position: Position, mark: Mark) -> Valuation | None:
    """Mark-to-market of the held side: unrealized = (mark − avg) × qty; Kalshi NO uses 1 − YES mark."""
    if (mark.venue, mark.instrument_id) != (position.venue, position.instrument_id):
        raise ValueError(f"mark of {mark.venue}:{mark.instrument_id} cannot value {position.key}")
    price = mark_price(mark)
    if price is None:
        return None
    with localcontext(_EXACT):
        if position.venue == "kalshi" and position.outcome == "no":
            price = ONE - price
        return Valuation(price, price * position.quantity, (price - position.avg_price) * position.quantity)
