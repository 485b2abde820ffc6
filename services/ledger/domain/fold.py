"""The reference fold: journal records in, positions out, independent of delivery order.

What counts:
* A fill counts once per (venue, fill_id). Polymarket re-sends a trade at each status
  (matched → mined → confirmed, or retrying); every non-failed status is the same fill, so a later
  status changes nothing. Of several copies the fold uses the one with the smallest
  (status rank, event_id), which is deterministic whatever order they arrived in.
* A FAILED fill, or a `Reversal` record, removes that fill's effect: the fold runs as if the fill
  had never happened (the position is recomputed, never edited in place). A reversal of a fill
  never seen is a no-op, and stays one if the fill arrives later.
* A settlement counts once per (venue, account, instrument_id).
* An `OpeningBalance` (an imported bot ledger) *is* the position of its instrument at `as_of`:
  the instrument's fills and settlements before then are history the imported numbers already
  contain, so they are kept in the journal but not counted. Of several, the latest counts.

What order means: surviving records are applied in (time, kind, venue, id) order — fills by
`executed_at`, settlements by `settled_at`, openings by `as_of`; at the same instant an opening
comes first, then fills, then settlements; ties broken by fill id / instrument id. Redelivery
order and duplication therefore never matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from decimal import Decimal

from services.ledger.domain.positions import Held, Position, PositionKey, apply_fill, settle, settlement_keys
from shared.contracts import Fill, SettlementRecorded

_STATUS_RANK = {"matched": 0, "mined": 1, "retrying": 2, "confirmed": 3}


@dataclass(frozen=True, slots=True)
class Reversal:
    """A journal record undoing a provisional fill that FAILED at the venue."""

    venue: str
    fill_id: str
    reversed_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class OpeningBalance:
    """A holding imported from another ledger: from `as_of` on, the position of its instrument.

    `cost_basis` must equal `avg_price × quantity` (the import rounds the average and books the
    residual in `realized_pnl`, as a buy would); a closed one has quantity 0 and keeps its PnL.
    """

    source_id: str
    venue: str
    instrument_id: str
    outcome: Held
    quantity: Decimal
    avg_price: Decimal
    cost_basis: Decimal
    realized_pnl: Decimal
    fees: Decimal
    opened_at: datetime
    as_of: datetime
    strategy_name: str | None = None

    @property
    def position(self) -> Position:
        return Position(
            self.venue, self.instrument_id, self.outcome, self.opened_at, quantity=self.quantity,
            avg_price=self.avg_price, cost_basis=self.cost_basis, realized_pnl=self.realized_pnl, fees=self.fees,
            closed_at=self.as_of if self.quantity == 0 else None, opened_by=f"import:{self.source_id}",
            strategy_name=self.strategy_name, origin="imported",
        )


def reversal_of(fill: Fill) -> Reversal:
    """The record the journal appends when `fill` (usually its FAILED copy) stops counting."""
    return Reversal(fill.venue, fill.fill_id, fill.occurred_at, f"fill {fill.status}")


Record = Fill | SettlementRecorded | Reversal | OpeningBalance
Event = Fill | SettlementRecorded | OpeningBalance
# Kinds in the order they apply at one instant.
_OPENING, _FILL, _SETTLEMENT = 0, 1, 2


def sort_key(event: Event) -> tuple[datetime, int, str, str]:
    """Where an event falls in the fold; the ledger keeps the last applied one per instrument."""
    if isinstance(event, Fill):
        return event.executed_at, _FILL, event.venue, event.fill_id
    if isinstance(event, SettlementRecorded):
        return event.settled_at, _SETTLEMENT, event.venue, event.instrument_id
    return event.as_of, _OPENING, event.venue, event.source_id


def effective(records: Iterable[Record]) -> list[Event]:
    """The events that still count, in fold order: distinct fills not reversed, distinct
    settlements, the latest opening per instrument, minus what an opening supersedes."""
    fills: dict[tuple[str, str], Fill] = {}
    reversed_ids: set[tuple[str, str]] = set()
    settlements: dict[tuple[str, str, str], SettlementRecorded] = {}
    openings: dict[tuple[str, str], OpeningBalance] = {}
    for record in records:
        if isinstance(record, OpeningBalance):
            key = (record.venue, record.instrument_id)
            if key not in openings or sort_key(record) > sort_key(openings[key]):
                openings[key] = record
        elif isinstance(record, Reversal):
            reversed_ids.add((record.venue, record.fill_id))
        elif isinstance(record, SettlementRecorded):
            key = (record.venue, record.account, record.instrument_id)
            if key not in settlements or record.event_id < settlements[key].event_id:
                settlements[key] = record
        elif record.status == "failed":
            reversed_ids.add((record.venue, record.fill_id))
        else:
            key = (record.venue, record.fill_id)
            if key not in fills or _copy_rank(record) < _copy_rank(fills[key]):
                fills[key] = record
    events: list[Event] = [f for key, f in fills.items() if key not in reversed_ids]
    events += settlements.values()
    events += openings.values()
    if openings:
        events = [e for e in events if not _superseded(e, openings)]
    events.sort(key=sort_key)
    return events


def _superseded(event: Event, openings: dict[tuple[str, str], OpeningBalance]) -> bool:
    if isinstance(event, OpeningBalance):
        return False
    if isinstance(event, Fill):
        instruments = [event.instrument_id]
    else:
        instruments = [key.instrument_id for key in settlement_keys(event)]
    for instrument in instruments:
        opening = openings.get((event.venue, instrument))
        if opening is not None and sort_key(event) < sort_key(opening):
            return True
    return False


def _copy_rank(fill: Fill) -> tuple[int, str]:
    return _STATUS_RANK[fill.status], fill.event_id


class Book:
    """Positions being folded: every lifecycle touched so far, and which one is open per key.

    The reference fold starts it empty and applies the journal's `effective` events; the ledger's
    live path starts it from the open positions of the instruments a batch touches and applies
    the batch's new events, when they all fall after what those instruments already applied.
    Both run this same step, so they cannot disagree.
    """

    def __init__(self, open_positions: Iterable[Position] = ()) -> None:
        self.lifecycles: list[Position] = []
        self._open: dict[PositionKey, int] = {}
        for position in open_positions:
            if position.status != "open":
                raise ValueError(f"{position.key} is closed; a book resumes from open positions")
            self._add(position)

    def _add(self, position: Position) -> None:
        self.lifecycles.append(position)
        if position.status == "open":
            self._open[position.key] = len(self.lifecycles) - 1

    def apply(self, event: Event) -> None:
        if isinstance(event, OpeningBalance):
            self._add(event.position)
            return
        if isinstance(event, SettlementRecorded):
            charged = False
            for key in settlement_keys(event):
                if key in self._open:
                    i = self._open.pop(key)
                    self.lifecycles[i] = settle(self.lifecycles[i], event, charge_fees=not charged)
                    charged = True
            return
        current = next((k for k in _instrument_keys(event) if k in self._open), None)
        held = self.lifecycles[self._open[current]] if current is not None else None
        for position in apply_fill(held, event):
            if position.key in self._open:
                self.lifecycles[self._open[position.key]] = position
            else:
                self._add(position)
            if position.status == "closed":
                self._open.pop(position.key, None)


def fold_history(records: Iterable[Record]) -> tuple[Position, ...]:
    """Every position lifecycle (closed ones included), in the order they were opened."""
    book = Book()
    for event in effective(records):
        book.apply(event)
    return tuple(book.lifecycles)


def _instrument_keys(fill: Fill) -> tuple[PositionKey, ...]:
    if fill.venue == "kalshi":
        return PositionKey("kalshi", fill.instrument_id, "yes"), PositionKey("kalshi", fill.instrument_id, "no")
    return (PositionKey(fill.venue, fill.instrument_id, fill.outcome),)


def fold_positions(records: Iterable[Record]) -> dict[PositionKey, Position]:
    """The latest lifecycle per key: the open position, or the last closed one."""
    return {position.key: position for position in fold_history(records)}
