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

What order means: surviving records are applied in (time, kind, venue, id) order — fills by
`executed_at`, settlements by `settled_at`, a fill before a settlement at the same instant, ties
broken by fill id / instrument id. Redelivery order and duplication therefore never matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.ledger.domain.positions import Position, PositionKey, apply_fill, settle, settlement_keys
from shared.contracts import Fill, SettlementRecorded

_STATUS_RANK = {"matched": 0, "mined": 1, "retrying": 2, "confirmed": 3}


@dataclass(frozen=True, slots=True)
class Reversal:
    """A journal record undoing a provisional fill that FAILED at the venue."""

    venue: str
    fill_id: str
    reversed_at: datetime
    reason: str


def reversal_of(fill: Fill) -> Reversal:
    """The record the journal appends when `fill` (usually its FAILED copy) stops counting."""
    return Reversal(fill.venue, fill.fill_id, fill.occurred_at, f"fill {fill.status}")


Record = Fill | SettlementRecorded | Reversal


def effective(records: Iterable[Record]) -> tuple[list[Fill], list[SettlementRecorded]]:
    """The distinct fills that still count and the distinct settlements, in fold order."""
    fills: dict[tuple[str, str], Fill] = {}
    reversed_ids: set[tuple[str, str]] = set()
    settlements: dict[tuple[str, str, str], SettlementRecorded] = {}
    for record in records:
        if isinstance(record, Reversal):
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
    kept = [f for key, f in fills.items() if key not in reversed_ids]
    kept.sort(key=lambda f: (f.executed_at, f.venue, f.fill_id))
    ordered = sorted(settlements.values(), key=lambda s: (s.settled_at, s.venue, s.instrument_id, s.account))
    return kept, ordered


def _copy_rank(fill: Fill) -> tuple[int, str]:
    return _STATUS_RANK[fill.status], fill.event_id


def fold_history(records: Iterable[Record]) -> tuple[Position, ...]:
    """Every position lifecycle (closed ones included), in the order they were opened."""
    fills, settlements = effective(records)
    events: list[tuple[tuple, Fill | SettlementRecorded]] = [((f.executed_at, 0, f.venue, f.fill_id), f) for f in fills]
    events += [((s.settled_at, 1, s.venue, s.instrument_id), s) for s in settlements]
    events.sort(key=lambda e: e[0])
    lifecycles: list[Position] = []
    index_of_open: dict[PositionKey, int] = {}  # key -> its open lifecycle in `lifecycles`
    for _, event in events:
        if isinstance(event, SettlementRecorded):
            charged = False
            for key in settlement_keys(event):
                if key in index_of_open:
                    i = index_of_open.pop(key)
                    lifecycles[i] = settle(lifecycles[i], event, charge_fees=not charged)
                    charged = True
            continue
        held_keys = _instrument_keys(event)
        current = next((k for k in held_keys if k in index_of_open), None)
        held = lifecycles[index_of_open[current]] if current is not None else None
        for position in apply_fill(held, event):
            if position.key in index_of_open:
                lifecycles[index_of_open[position.key]] = position
            else:
                lifecycles.append(position)
                index_of_open[position.key] = len(lifecycles) - 1
            if position.status == "closed":
                index_of_open.pop(position.key)
    return tuple(lifecycles)


def _instrument_keys(fill: Fill) -> tuple[PositionKey, ...]:
    if fill.venue == "kalshi":
        return PositionKey("kalshi", fill.instrument_id, "yes"), PositionKey("kalshi", fill.instrument_id, "no")
    return (PositionKey(fill.venue, fill.instrument_id, fill.outcome),)


def fold_positions(records: Iterable[Record]) -> dict[PositionKey, Position]:
    """The latest lifecycle per key: the open position, or the last closed one."""
    return {position.key: position for position in fold_history(records)}
