"""Reconcile the ledger's open positions with what the venues report: `reconcile` = `diff_holdings` + `render`.

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
     only mapped items are `mismatch`); the reason says to map it (for an import placeholder, which
     mapping field to set).
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

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.contracts.events import ReconciliationItem
from shared.contracts.reconciler import InstrumentMapping, LegQuantities, MarketReconciliation, ReconciliationRun

from . import reasons
from .diff import EXACT, DiffRow, Holding, Key, VenueSide, diff_holdings, no_cyclic_gc, venue_failures
from .mappings import MappingIndex

__all__ = ["STATUSES", "DiffRow", "Holding", "Key", "VenueSide", "diff_holdings", "reconcile", "render"]

STATUSES = ("match", "mismatch", "unknown_mapping", "api_error")
# A market shows its worst item: a failed venue hides everything, then a real difference, then a
# missing mapping.
_SEVERITY = {"match": 0, "unknown_mapping": 1, "mismatch": 2, "api_error": 3}
STATUS_BY_SEVERITY = ("match", "unknown_mapping", "mismatch", "api_error")
_TRIGGERS = ("startup", "schedule", "on_demand", "reconnect", "overview")


def reconcile(internal: Iterable[Holding], venues: Mapping[str, VenueSide], mappings: Iterable[InstrumentMapping],
              *, tolerance: Decimal, acknowledged: Collection[Key], run_id: str, trigger: str,
              started_at: datetime, finished_at: datetime, snapshot_time: datetime,
              cost_tolerance: Decimal | None = None) -> ReconciliationRun:
    """The ledger's holdings (`internal`) against each venue's snapshot (`venues`, keyed by venue):
    `diff_holdings` compares, `render` words and groups the rows into the run."""
    if trigger not in _TRIGGERS:
        raise ValueError(f"trigger: {trigger!r} is not one of {_TRIGGERS}")
    with no_cyclic_gc():  # one window for the three steps, the index's objects included
        index = MappingIndex(mappings)
        rows = diff_holdings(internal, venues, index, tolerance=tolerance, acknowledged=acknowledged,
                             cost_tolerance=cost_tolerance)
        return render(rows, venues, index, tolerance=tolerance, cost_tolerance=cost_tolerance,
                      run={"run_id": run_id, "trigger": trigger, "started_at": started_at,
                           "finished_at": finished_at, "snapshot_time": snapshot_time})


def render(rows: Iterable[DiffRow], venues: Mapping[str, VenueSide], index: MappingIndex, *, tolerance: Decimal,
           cost_tolerance: Decimal | None, run: dict[str, Any]) -> ReconciliationRun:
    """The diff's rows as the contract's run: each row an item with its reason, grouped by market.
    `run` holds the run's identity fields (run_id, trigger, started_at, finished_at, snapshot_time)."""
    with no_cyclic_gc(), localcontext(EXACT):
        return _render(rows, venues, index, tolerance, cost_tolerance, run)


def _render(rows: Iterable[DiffRow], venues: Mapping[str, VenueSide], index: MappingIndex, tolerance: Decimal,
            cost_tolerance: Decimal | None, run: dict[str, Any]) -> ReconciliationRun:
    failures = venue_failures(venues)
    grouped: dict[str, list[tuple[str, ReconciliationItem]]] = {}
    unmapped: list[ReconciliationItem] = []
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        (venue, instrument_id, outcome, internal_quantity, external, internal_cost, external_cost, diff, diff_cost,
         status, difference, acknowledged, claim, mine, venue_row, failure) = row
        title = ((mine.title if mine else None) or (venue_row.title if venue_row else None)
                 or (index.titles[claim.market_id] if claim else None))
        reason = _reason(row, tolerance, cost_tolerance)
        if failure is not None and venue not in venues:
            failures[venue] = failure
        if claim is not None and claim.rivals:
            reason += reasons.rivals(claim.market_id, claim.rivals)
        item = _trusted(ReconciliationItem, {  # in the contract's field order, as validation builds it
            "venue": venue, "instrument_id": instrument_id, "outcome": outcome,
            "market_id": claim.market_id if claim else None,
            "title": title,
            "internal_quantity": internal_quantity, "external_quantity": external,
            "internal_cost_basis": internal_cost, "external_cost_basis": external_cost,
            "diff_quantity": diff, "diff_cost_basis": diff_cost, "status": status, "difference": difference,
            "reason": reasons.titled(title, reason), "acknowledged": acknowledged,
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


def _reason(row: DiffRow, tolerance: Decimal, cost_tolerance: Decimal | None) -> str:
    """Why a row has its status, in words."""
    venue, outcome, internal = row.venue, row.outcome, row.internal_quantity
    if row.status == "api_error":
        return reasons.venue_failed(venue, row.failure, outcome, internal,  # type: ignore[arg-type]
                                    row.theirs.quantity if row.theirs else None)
    external: Decimal = row.external_quantity  # type: ignore[assignment]
    if row.status == "unknown_mapping":
        return reasons.unknown_mapping(venue, row.instrument_id, outcome, internal, external, row.difference)
    if row.difference == "orphaned":
        return reasons.orphaned(venue, outcome, external)
    if row.difference == "ghost":
        return reasons.ghost(venue, outcome, internal)
    if row.difference == "drift":
        if abs(row.diff_quantity) > tolerance:  # type: ignore[arg-type]  # else: only the cost basis differs
            return reasons.drift(venue, outcome, internal, external)
        return reasons.cost_drift(venue, outcome, internal, row.internal_cost_basis,  # type: ignore[arg-type]
                                  row.external_cost_basis, cost_tolerance)  # type: ignore[arg-type]
    costs = (row.internal_cost_basis, row.external_cost_basis) if row.diff_cost_basis else None
    return reasons.matched(venue, outcome, internal, external, tolerance, costs)  # type: ignore[arg-type]


def _market(market_id: str, title: str | None, entries: list[tuple[str, ReconciliationItem]]) -> MarketReconciliation:
    # Per leg: its one item, or the sums of its items [internal quantity, internal cost, external
    # quantity, external cost] when two instruments share the leg (e.g. a token claimed by its asset
    # id and by its condition id). A leg is one venue's, so its external side is None (venue failed)
    # for all of its items or for none.
    legs: dict[str, ReconciliationItem | list[Any]] = {}
    severity = 0
    attention = []
    for leg, item in entries:
        held = legs.get(leg)
        if held is None:
            legs[leg] = item
        else:
            if type(held) is not list:
                held = legs[leg] = [held.internal_quantity, held.internal_cost_basis, held.external_quantity,
                                    held.external_cost_basis]
            held[1] = _add_cost(held[0], held[1], item.internal_quantity, item.internal_cost_basis)
            held[0] += item.internal_quantity
            if item.external_quantity is not None:
                held[3] = _add_cost(held[2], held[3], item.external_quantity, item.external_cost_basis)
                held[2] += item.external_quantity
        if item.status != "match":
            severity = max(severity, _SEVERITY[item.status])
            attention.append(item)
    internal: dict[str, LegQuantities] = {}
    external: dict[str, LegQuantities] = {}
    diff_contracts: dict[str, Decimal] = {}
    diff_cost_basis: dict[str, Decimal] = {}
    for leg in sorted(legs):
        held = legs[leg]
        if type(held) is list:
            internal_quantity, internal_cost, external_quantity, external_cost = held
            diff = external_quantity - internal_quantity if external_quantity is not None else None
            diff_cost = (external_cost - internal_cost
                         if external_cost is not None and internal_cost is not None else None)
        else:  # one item: its own differences are the leg's (the same subtractions, done by the diff)
            internal_quantity, internal_cost = held.internal_quantity, held.internal_cost_basis
            external_quantity, external_cost = held.external_quantity, held.external_cost_basis
            diff, diff_cost = held.diff_quantity, held.diff_cost_basis
        internal[leg] = _trusted(LegQuantities, {"quantity": internal_quantity, "cost_basis": internal_cost})
        if external_quantity is not None:
            external[leg] = _trusted(LegQuantities, {"quantity": external_quantity, "cost_basis": external_cost})
            diff_contracts[leg] = diff
            if diff_cost is not None:
                diff_cost_basis[leg] = diff_cost
    status = STATUS_BY_SEVERITY[severity]
    items = tuple([item for _, item in entries])
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


Model = TypeVar("Model", bound=BaseModel)


_set = object.__setattr__
# Every field is given, so every model of a class has the same fields set: one set per class, shared.
# Safe because the contracts are frozen (pydantic adds to the set only on assignment, and copies it
# for `model_copy`).
_ALL_FIELDS: dict[type[BaseModel], set[str]] = {
    cls: set(cls.model_fields) for cls in (ReconciliationItem, LegQuantities, MarketReconciliation, ReconciliationRun)}


def _trusted(cls: type[Model], values: dict[str, Any]) -> Model:
    """Build a contract model from values this module computed (every field given, types already
    right: Decimals from validated holdings, literals from the constants above).

    Why not the constructor: validating 100k items costs ~0.5 s, and `model_construct` is slower
    still (it walks every field's aliases in Python). This is `model_construct`'s own final step,
    which is all it does when every field is given; the tests check the result equals a validated
    copy (`model_validate(model_dump())`), so a pydantic upgrade that changes it fails there."""
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", _ALL_FIELDS[cls])
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
