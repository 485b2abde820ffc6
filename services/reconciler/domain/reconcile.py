"""Reconcile the ledger's open positions with what the venues report: one pure function, `reconcile`.

Rules (all arithmetic exact Decimal, in a context wide enough that no sum or difference rounds):

* **Items.** One per (venue, instrument_id, outcome) held on either side — the union of the ledger's
  open holdings and the venues' snapshots; the side that lacks a key holds 0 there. A Kalshi holding
  is one netted quantity already shown as outcome yes or no on both sides (the contracts normalize
  it), so a ledger YES against a venue NO of one ticker is two items: a ghost and an orphan.
  Rows with quantity 0 are not holdings (Kalshi lists closed markets with position 0) and make no
  item; two rows of one key on one side are summed (cost basis summed when every row has one).
* **Status**, first rule that applies:
  1. `api_error` — the item's venue has no snapshot, or it is incomplete (a page failed) or carries an
     error. Never `match`: `external_quantity`, the diffs and `difference` are None; the reason
     names the venue's error (and what the partial snapshot listed). The other venue reconciles.
  2. `unknown_mapping` — no mapping claims the instrument (`mappings.MappingIndex` says which ids
     claim what; `unmapped:` import placeholders never map). Both quantities and the diff are still
     shown, and `difference` classifies a quantity difference beyond the tolerance (information:
     only mapped items are `mismatch`); the reason says which mapping field to set.
  3. `match` — |external − internal| ≤ `tolerance` (default exact: 0), and, when `cost_tolerance` is
     given and both sides have a cost basis, |cost difference| ≤ `cost_tolerance`.
  4. `mismatch`, with `difference`: **orphaned** (the venue holds, the ledger 0), **ghost** (the
     ledger holds, the venue 0), **drift** (both hold, different quantities — or equal quantities
     whose cost basis differs beyond `cost_tolerance`).
* **Cost basis** is compared where both sides have one (`diff_cost_basis` = external − internal)
  but by default it never changes a status: the venues value cost differently from the ledger
  (Kalshi's `market_exposure`, Polymarket's `initialValue`, the ledger's average kept to 1e-12,
  fees inside or outside), so an exact comparison would flag nearly every holding. A difference is
  named in the reason; pass `cost_tolerance` to make one beyond it a drift.
* **Acknowledged** keys keep their status and get `acknowledged=True` (alerts skip them).
* **Markets.** Items a mapping claims are grouped under its `market_id` (`by_market_id`, only
  markets with an item): per leg (`kalshi_yes/no`, `poly_yes/no`) the ledger's and the venue's
  quantity and cost basis (cost None unless every holding of the leg has one; no external leg when
  the venue failed), `diff_contracts` and `diff_cost_basis` per leg where both sides are known, and
  one status — the worst of its items, `api_error > mismatch > unknown_mapping > match`.
  Unclaimed items are listed in `unmapped`.
* **Output** is deterministic: items ordered by (venue, instrument_id, outcome), markets by
  market_id, `summary` counts every status (zeros included) and equals the item counts, `errors`
  names each failed venue.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal, localcontext
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.contracts.base import VENUES
from shared.contracts.events import ReconciliationItem
from shared.contracts.reconciler import InstrumentMapping, LegQuantities, MarketReconciliation, ReconciliationRun
from shared.money import ZERO

from . import reasons
from .mappings import UNMAPPED_PREFIX, MappingIndex

Key = tuple[str, str, str]  # (venue, instrument_id, outcome)
# external quantity, external cost, diff, diff cost, status, difference, reason
_Compared = tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None, str, str | None, str]

STATUSES = ("match", "mismatch", "unknown_mapping", "api_error")
# A market shows its worst item: a failed venue hides everything, then a real difference, then a
# missing mapping.
_SEVERITY = {"match": 0, "unknown_mapping": 1, "mismatch": 2, "api_error": 3}
STATUS_BY_SEVERITY = ("match", "unknown_mapping", "mismatch", "api_error")
_TRIGGERS = ("startup", "schedule", "on_demand", "reconnect", "overview")
_OUTCOMES = ("yes", "no")
# Venue quantities and dollar amounts have a few dozen digits at most: 80 keeps every sum exact.
_EXACT = Context(prec=80)


@dataclass(frozen=True, slots=True)
class Holding:
    """One side's open quantity of one (venue, instrument, outcome)."""

    venue: str
    instrument_id: str
    outcome: str
    quantity: Decimal
    cost_basis: Decimal | None = None
    title: str | None = None
    market_hint: str | None = None  # the venue row's market, e.g. a Polymarket condition id

    def __post_init__(self) -> None:
        # The boundary check: `reconcile` builds its output without re-validating each item.
        if self.venue not in VENUES:
            raise ValueError(f"venue: {self.venue!r} is not one of {VENUES}")
        if self.outcome not in _OUTCOMES:
            raise ValueError(f"outcome: {self.outcome!r} is not yes or no")
        if not self.instrument_id:
            raise ValueError("instrument_id: empty")
        _require_decimal("quantity", self.quantity)
        if self.cost_basis is not None:
            _require_decimal("cost_basis", self.cost_basis)


@dataclass(frozen=True, slots=True)
class VenueSide:
    """What one venue reported in a snapshot."""

    venue: str
    complete: bool
    error: str | None
    holdings: tuple[Holding, ...]

    def __post_init__(self) -> None:
        if self.venue not in VENUES:
            raise ValueError(f"venue: {self.venue!r} is not one of {VENUES}")
        strays = {h.venue for h in self.holdings} - {self.venue}
        if strays:
            raise ValueError(f"holdings: {self.venue} snapshot holds rows of {sorted(strays)}")


def reconcile(internal: Iterable[Holding], venues: Mapping[str, VenueSide], mappings: Iterable[InstrumentMapping],
              *, tolerance: Decimal, acknowledged: Collection[Key], run_id: str, trigger: str,
              started_at: datetime, finished_at: datetime, snapshot_time: datetime,
              cost_tolerance: Decimal | None = None) -> ReconciliationRun:
    """The ledger's holdings (`internal`) against each venue's snapshot (`venues`, keyed by venue)."""
    _require_decimal("tolerance", tolerance)
    if tolerance < 0 or (cost_tolerance is not None and _require_decimal("cost_tolerance", cost_tolerance) < 0):
        raise ValueError("tolerance: a tolerance is not negative")
    if trigger not in _TRIGGERS:
        raise ValueError(f"trigger: {trigger!r} is not one of {_TRIGGERS}")
    for venue, side in venues.items():
        if side.venue != venue:
            raise ValueError(f"venues: the snapshot under {venue!r} is {side.venue}'s")
    # A run allocates a few hundred thousand small objects, all kept and none in a reference cycle:
    # left on, the cyclic collector would walk them again and again (half the run's time) for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with localcontext(_EXACT):
            return _reconcile(internal, venues, MappingIndex(mappings), tolerance, cost_tolerance, acknowledged,
                              {"run_id": run_id, "trigger": trigger, "started_at": started_at,
                               "finished_at": finished_at, "snapshot_time": snapshot_time})
    finally:
        if collecting:
            gc.enable()


def _reconcile(internal: Iterable[Holding], venues: Mapping[str, VenueSide], index: MappingIndex,
               tolerance: Decimal, cost_tolerance: Decimal | None, acknowledged: Collection[Key],
               run: dict[str, Any]) -> ReconciliationRun:
    known = acknowledged if isinstance(acknowledged, set | frozenset) else set(acknowledged)
    ours = _held(internal)
    theirs: dict[str, Holding] = {}
    failures: dict[str, str] = {}
    for venue in sorted(venues):
        side = venues[venue]
        theirs.update(_held(side.holdings))
        if side.error is not None or not side.complete:
            failures[venue] = side.error or "incomplete snapshot (a page failed)"
    for venue in {h.venue for h in ours.values()} - venues.keys():
        failures[venue] = "no snapshot of this venue"

    grouped: dict[str, list[tuple[str, ReconciliationItem]]] = {}
    unmapped: list[ReconciliationItem] = []
    counts = dict.fromkeys(STATUSES, 0)
    for key in sorted(ours.keys() | theirs.keys()):
        mine = ours.get(key)
        venue_row = theirs.get(key)
        held = mine or venue_row
        venue, instrument_id, outcome = held.venue, held.instrument_id, held.outcome  # type: ignore[union-attr]
        hint = (venue_row.market_hint if venue_row else None) or (mine.market_hint if mine else None)
        claim = index.claim(venue, instrument_id, outcome, hint)
        internal_quantity = mine.quantity if mine else ZERO
        internal_cost = mine.cost_basis if mine else None
        external, external_cost, diff, diff_cost, status, difference, reason = _compare(
            venue, instrument_id, outcome, internal_quantity, internal_cost, venue_row, failures.get(venue),
            claim is not None, tolerance, cost_tolerance)
        if claim is not None and claim.rivals:
            reason += reasons.rivals(claim.market_id, claim.rivals)
        item = _trusted(ReconciliationItem, {  # in the contract's field order, as validation builds it
            "venue": venue, "instrument_id": instrument_id, "outcome": outcome,
            "market_id": claim.market_id if claim else None,
            "title": ((mine.title if mine else None) or (venue_row.title if venue_row else None)
                      or (index.titles[claim.market_id] if claim else None)),
            "internal_quantity": internal_quantity, "external_quantity": external,
            "internal_cost_basis": internal_cost, "external_cost_basis": external_cost,
            "diff_quantity": diff, "diff_cost_basis": diff_cost, "status": status, "difference": difference,
            "reason": reason, "acknowledged": bool(known) and (venue, instrument_id, outcome) in known,
        })
        counts[status] += 1
        if claim is None:
            unmapped.append(item)
        else:
            entries = grouped.get(claim.market_id)
            if entries is None:
                grouped[claim.market_id] = [(claim.leg, item)]
            else:
                entries.append((claim.leg, item))
    return _trusted(ReconciliationRun, {
        **run, "summary": counts,
        "by_market_id": {market_id: _market(market_id, index.titles[market_id], grouped[market_id])
                         for market_id in sorted(grouped)},
        "unmapped": tuple(unmapped), "errors": {venue: failures[venue] for venue in sorted(failures)},
    })


def _compare(venue: str, instrument_id: str, outcome: str, internal: Decimal, internal_cost: Decimal | None,
             venue_row: Holding | None, failure: str | None, mapped: bool, tolerance: Decimal,
             cost_tolerance: Decimal | None) -> _Compared:
    """One item's external side, diffs, status, difference and reason."""
    if failure is not None:
        reason = reasons.venue_failed(venue, failure, outcome, internal, venue_row.quantity if venue_row else None)
        return None, None, None, None, "api_error", None, reason
    external = venue_row.quantity if venue_row else ZERO
    external_cost = venue_row.cost_basis if venue_row else None
    diff = external - internal
    diff_cost = external_cost - internal_cost if external_cost is not None and internal_cost is not None else None
    difference = None
    if abs(diff) > tolerance:
        difference = "orphaned" if not internal else "ghost" if not external else "drift"
    if not mapped:
        if instrument_id.startswith(UNMAPPED_PREFIX):
            difference = None  # a placeholder no venue reports: there is nothing to differ from
        reason = reasons.unknown_mapping(venue, instrument_id, outcome, internal, external, difference)
        return external, external_cost, diff, diff_cost, "unknown_mapping", difference, reason
    if difference is not None:
        reason = (reasons.orphaned(venue, outcome, external) if difference == "orphaned"
                  else reasons.ghost(venue, outcome, internal) if difference == "ghost"
                  else reasons.drift(venue, outcome, internal, external))
        return external, external_cost, diff, diff_cost, "mismatch", difference, reason
    if diff_cost is not None and cost_tolerance is not None and abs(diff_cost) > cost_tolerance:
        reason = reasons.cost_drift(venue, outcome, internal, internal_cost, external_cost,  # type: ignore[arg-type]
                                    cost_tolerance)
        return external, external_cost, diff, diff_cost, "mismatch", "drift", reason
    reason = reasons.matched(venue, outcome, internal, external, tolerance)
    if diff_cost:
        reason += reasons.cost_note(internal_cost, external_cost)  # type: ignore[arg-type]
    return external, external_cost, diff, diff_cost, "match", None, reason


def _market(market_id: str, title: str | None, entries: list[tuple[str, ReconciliationItem]]) -> MarketReconciliation:
    # Per leg: [internal quantity, internal cost, external quantity, external cost]; a leg is one
    # venue's, so its external side is None (venue failed) for all of its items or for none.
    legs: dict[str, list[Any]] = {}
    severity = 0
    attention = []
    for leg, item in entries:
        sums = legs.get(leg)
        if sums is None:
            legs[leg] = [item.internal_quantity, item.internal_cost_basis, item.external_quantity,
                         item.external_cost_basis]
        else:  # two instruments on one leg (e.g. a token claimed by its asset id and by its condition id)
            sums[1] = _add_cost(sums[0], sums[1], item.internal_quantity, item.internal_cost_basis)
            sums[0] += item.internal_quantity
            if item.external_quantity is not None:
                sums[3] = _add_cost(sums[2], sums[3], item.external_quantity, item.external_cost_basis)
                sums[2] += item.external_quantity
        if item.status != "match":
            severity = max(severity, _SEVERITY[item.status])
            attention.append((leg, item.reason))
    internal: dict[str, LegQuantities] = {}
    external: dict[str, LegQuantities] = {}
    diff_contracts: dict[str, Decimal] = {}
    diff_cost_basis: dict[str, Decimal] = {}
    for leg in sorted(legs):
        internal_quantity, internal_cost, external_quantity, external_cost = legs[leg]
        internal[leg] = _trusted(LegQuantities, {"quantity": internal_quantity, "cost_basis": internal_cost})
        if external_quantity is not None:
            external[leg] = _trusted(LegQuantities, {"quantity": external_quantity, "cost_basis": external_cost})
            diff_contracts[leg] = external_quantity - internal_quantity
            if external_cost is not None and internal_cost is not None:
                diff_cost_basis[leg] = external_cost - internal_cost
    status = STATUS_BY_SEVERITY[severity]
    items = tuple(item for _, item in entries)
    return _trusted(MarketReconciliation, {
        "market_id": market_id, "title": title or next((item.title for item in items if item.title), None),
        "internal": internal, "external": external, "diff_contracts": diff_contracts,
        "diff_cost_basis": diff_cost_basis, "status": status,
        "reason": reasons.market(status, len(items), attention), "items": items,
    })


def _add_cost(quantity: Decimal, cost: Decimal | None, more: Decimal, more_cost: Decimal | None) -> Decimal | None:
    """A leg's cost with one more item: None unless every item that holds (quantity != 0) has one."""
    if not more:
        return cost
    if not quantity:
        return more_cost
    return cost + more_cost if cost is not None and more_cost is not None else None


def _held(holdings: Iterable[Holding]) -> dict[str, Holding]:
    """One side's holdings by sort key: duplicates summed, zero quantities dropped."""
    held: dict[str, Holding] = {}
    for h in holdings:
        # One string per key: sorting 100k strings is several times faster than sorting tuples.
        # NUL sorts before any character of an id, so the order is (venue, instrument_id, outcome)'s.
        key = f"{h.venue}\0{h.instrument_id}\0{h.outcome}"
        seen = held.get(key)
        if seen is None:
            held[key] = h
        else:
            held[key] = Holding(
                h.venue, h.instrument_id, h.outcome, seen.quantity + h.quantity,
                seen.cost_basis + h.cost_basis if seen.cost_basis is not None and h.cost_basis is not None else None,
                seen.title or h.title, seen.market_hint or h.market_hint)
    return {key: h for key, h in held.items() if h.quantity}


def _require_decimal(name: str, value: object) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name}: {value!r} is not a finite Decimal")
    return value


Model = TypeVar("Model", bound=BaseModel)


_set = object.__setattr__


def _trusted(cls: type[Model], values: dict[str, Any]) -> Model:
    """Build a contract model from values this module computed (every field given, types already
    right: Decimals from validated holdings, literals from the constants above).

    Why not the constructor: validating 100k items costs ~0.5 s, and `model_construct` is slower
    still (it walks every field's aliases in Python). This is `model_construct`'s own final step,
    which is all it does when every field is given; the tests check the result equals a validated
    copy (`model_validate(model_dump())`), so a pydantic upgrade that changes it fails there."""
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
