"""What a held position is worth now, from the latest mark of its instrument.

The price of an instrument is its book's **mid** (the middle of best bid and best ask). Why mid
and not best bid: it is what both venues show a trader as the market's price (Polymarket's own
`curPrice` is the midpoint), it does not swing with one side's depth, and a YES holding and a NO
holding of the same market then add up to exactly one dollar a contract. The liquidation value
(what selling now would fetch) would be the bid; that is a question for order entry, not for
the holdings page. Without both sides of the book there is no mid, and then:
  1. the venue's own value of the holding, when it sends one (Polymarket's Data API
     `currentValue`, which reads 1 or 0 once a market resolves and its book is gone);
  2. else the mark's last traded price;
  3. else the holding is left unvalued: shown as unknown, never as worth $0.

Kalshi marks price the YES side of a ticker, so a NO holding is worth 1 - that price.
Polymarket marks price the held token itself (each outcome has its own book).
All arithmetic is exact Decimal: quantity x price and value - cost are never rounded here.
"""

from __future__ import annotations

from decimal import Decimal

from shared.contracts import ExternalPosition, Mark
from shared.money import ONE


def instrument_price(mark: Mark) -> Decimal | None:
    """The mark's price of its instrument: the mid when the book has both sides, else None."""
    if mark.mid is not None:
        return mark.mid
    if mark.best_bid is not None and mark.best_ask is not None:
        return (mark.best_bid + mark.best_ask) / 2
    return None


def held_outcome_price(position: ExternalPosition, price_of_instrument: Decimal) -> Decimal:
    """The price of the side actually held: Kalshi prices YES, so its NO is the complement."""
    if position.venue == "kalshi" and position.outcome == "no":
        return ONE - price_of_instrument
    return price_of_instrument


def value_position(position: ExternalPosition, mark: Mark | None) -> ExternalPosition:
    """`position` with market value, unrealized PnL, the price used and where it came from."""
    if mark is not None and (mark.venue, mark.instrument_id) != (position.venue, position.instrument_id):
        raise ValueError(f"mark of {mark.venue}:{mark.instrument_id} "
                         f"cannot value {position.venue}:{position.instrument_id}")
    mid = instrument_price(mark) if mark is not None else None
    if mid is not None:
        return _valued_at(position, held_outcome_price(position, mid), mark)
    if position.market_value is not None:
        # The venue's per-share price behind its value (1 or 0 once resolved), so the page can show it.
        venue_price = position.market_value / position.quantity if position.quantity else None
        return position.model_copy(update={
            "mark_price": venue_price, "mark_as_of": None, "valuation_source": "venue",
            "unrealized_pnl": _unrealized(position.market_value, position.cost_basis),
        })
    if mark is not None and mark.last is not None:
        return _valued_at(position, held_outcome_price(position, mark.last), mark)
    return position.model_copy(update={
        "mark_price": None, "mark_as_of": None, "valuation_source": None, "unrealized_pnl": None,
    })


def _valued_at(position: ExternalPosition, price: Decimal, mark: Mark) -> ExternalPosition:
    value = position.quantity * price
    return position.model_copy(update={
        "mark_price": price, "mark_as_of": mark.as_of, "market_value": value, "valuation_source": "mark",
        "unrealized_pnl": _unrealized(value, position.cost_basis),
    })


def _unrealized(value: Decimal, cost_basis: Decimal | None) -> Decimal | None:
    return value - cost_basis if cost_basis is not None else None
