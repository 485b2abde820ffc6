"""The comparison half of a reconciliation: `diff_holdings`, one `DiffRow` per held key, no text, no contracts.

`reconcile` (reconcile.py) is this diff followed by rendering the rows into contract objects (reasons,
items, markets); its module docstring states the rules. This half decides every number and status:

* one row per (venue, instrument_id, outcome) held on either side, zero rows dropped, duplicates summed,
  rows in key order;
* per row both quantities and cost bases, `external − internal` differences, the status and the
  difference, by the first rule that applies: `api_error` (the venue failed: no external side),
  `unknown_mapping`, `match` (within the tolerances), `mismatch` (orphaned, ghost or drift).

It is the hot path of a run (issue 10's target: 100k items in < 200 ms), so it does dict look-ups,
one sort and Decimal arithmetic only, and builds tuples rather than validated models.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import NamedTuple

from shared.contracts.base import VENUES
from shared.money import ZERO

from .mappings import UNMAPPED_PREFIX, Claim, MappingIndex

Key = tuple[str, str, str]  # (venue, instrument_id, outcome)

_OUTCOMES = ("yes", "no")
# Venue quantities and dollar amounts have a few dozen digits at most: 80 keeps every sum exact.
EXACT = Context(prec=80)
NO_SNAPSHOT = "no snapshot of this venue"
INCOMPLETE = "incomplete snapshot (a page failed)"


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
        require_decimal("quantity", self.quantity)
        if self.cost_basis is not None:
            require_decimal("cost_basis", self.cost_basis)


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


class DiffRow(NamedTuple):
    """One held key compared. The first twelve fields are the contract item's of the same name."""

    venue: str
    instrument_id: str
    outcome: str
    internal_quantity: Decimal
    external_quantity: Decimal | None  # None: the venue failed (`api_error`)
    internal_cost_basis: Decimal | None
    external_cost_basis: Decimal | None
    diff_quantity: Decimal | None  # external − internal
    diff_cost_basis: Decimal | None  # external − internal, where both sides have a cost basis
    status: str
    difference: str | None  # orphaned | ghost | drift
    acknowledged: bool
    claim: Claim | None  # the market (and leg) the key reconciles under; None: unmapped
    ours: Holding | None  # the ledger's holding (summed), for the rendering: title, hint
    theirs: Holding | None  # the venue's holding, listed even when its snapshot failed
    failure: str | None  # why the venue has no usable snapshot (`api_error`)


def venue_failures(venues: Mapping[str, VenueSide]) -> dict[str, str]:
    """The snapshots that cannot be trusted, with why; a venue without a snapshot is added per row."""
    return {venue: side.error or INCOMPLETE for venue, side in venues.items()
            if side.error is not None or not side.complete}


def diff_holdings(internal: Iterable[Holding], venues: Mapping[str, VenueSide], index: MappingIndex, *,
                  tolerance: Decimal, acknowledged: Collection[Key],
                  cost_tolerance: Decimal | None = None) -> list[DiffRow]:
    """The ledger's holdings (`internal`) against each venue's snapshot (`venues`), rows in key order."""
    require_decimal("tolerance", tolerance)
    if tolerance < 0 or (cost_tolerance is not None and require_decimal("cost_tolerance", cost_tolerance) < 0):
        raise ValueError("tolerance: a tolerance is not negative")
    for venue, side in venues.items():
        if side.venue != venue:
            raise ValueError(f"venues: the snapshot under {venue!r} is {side.venue}'s")
    with no_cyclic_gc(), localcontext(EXACT):
        return _diff(internal, venues, index, tolerance, cost_tolerance, acknowledged)


def _diff(internal: Iterable[Holding], venues: Mapping[str, VenueSide], index: MappingIndex, tolerance: Decimal,
          cost_tolerance: Decimal | None, acknowledged: Collection[Key]) -> list[DiffRow]:
    known = acknowledged if isinstance(acknowledged, set | frozenset) else set(acknowledged)
    ours = _held(internal)
    theirs: dict[str, Holding] = {}
    for venue in sorted(venues):
        _held(venues[venue].holdings, theirs)
    failures: dict[str, str | None] = dict.fromkeys(VENUES, NO_SNAPSHOT)
    failures.update(dict.fromkeys(venues))
    failures.update(venue_failures(venues))
    claim_of, ours_get, theirs_get = index.claim, ours.get, theirs.get
    # `DiffRow(...)` goes through a generated Python `__new__`: building the tuple directly is half the cost.
    new_row = tuple.__new__
    rows: list[DiffRow] = []
    append = rows.append
    for key in sorted(ours.keys() | theirs.keys()):
        mine = ours_get(key)
        venue_row = theirs_get(key)
        held: Holding = mine or venue_row  # type: ignore[assignment]
        venue, instrument_id, outcome = held.venue, held.instrument_id, held.outcome
        claim = claim_of(venue, instrument_id, outcome,
                         (venue_row.market_hint if venue_row else None) or (mine.market_hint if mine else None))
        internal_quantity = mine.quantity if mine else ZERO
        internal_cost = mine.cost_basis if mine else None
        acked = bool(known) and (venue, instrument_id, outcome) in known
        failure = failures[venue]
        if failure is not None:
            append(new_row(DiffRow, (venue, instrument_id, outcome, internal_quantity, None, internal_cost, None, None,
                                     None, "api_error", None, acked, claim, mine, venue_row, failure)))
            continue
        if venue_row is None:
            external, external_cost, diff_cost = ZERO, None, None
        else:
            external, external_cost = venue_row.quantity, venue_row.cost_basis
            diff_cost = (external_cost - internal_cost
                         if external_cost is not None and internal_cost is not None else None)
        diff = external - internal_quantity
        difference = None
        if diff and abs(diff) > tolerance:
            difference = "orphaned" if mine is None else "ghost" if venue_row is None else "drift"
        if claim is None:
            status = "unknown_mapping"
            if instrument_id.startswith(UNMAPPED_PREFIX):
                difference = None  # a placeholder no venue reports: there is nothing to differ from
        elif difference is not None:
            status = "mismatch"
        elif diff_cost and cost_tolerance is not None and abs(diff_cost) > cost_tolerance:
            status, difference = "mismatch", "drift"
        else:
            status = "match"
        append(new_row(DiffRow, (venue, instrument_id, outcome, internal_quantity, external, internal_cost,
                                 external_cost, diff, diff_cost, status, difference, acked, claim, mine, venue_row,
                                 None)))
    return rows


def _held(holdings: Iterable[Holding], held: dict[str, Holding] | None = None) -> dict[str, Holding]:
    """One side's holdings by sort key (added to `held` if given): duplicates summed, zero quantities dropped."""
    held = {} if held is None else held
    setdefault = held.setdefault
    zeros = []
    for h in holdings:
        # One string per key: sorting 100k strings is several times faster than sorting tuples.
        # NUL sorts before any character of an id, so the order is (venue, instrument_id, outcome)'s.
        key = f"{h.venue}\0{h.instrument_id}\0{h.outcome}"
        seen = setdefault(key, h)
        if seen is not h:
            h = held[key] = Holding(
                h.venue, h.instrument_id, h.outcome, seen.quantity + h.quantity,
                seen.cost_basis + h.cost_basis if seen.cost_basis is not None and h.cost_basis is not None else None,
                seen.title or h.title, seen.market_hint or h.market_hint)
        if not h.quantity:
            zeros.append(key)
    for key in zeros:
        if key in held and not held[key].quantity:  # a later row of the key may have made it non-zero
            del held[key]
    return held


def require_decimal(name: str, value: object) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name}: {value!r} is not a finite Decimal")
    return value


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """A run allocates a few hundred thousand small objects, all kept and none in a reference cycle:
    left on, the cyclic collector would walk them again and again (half the run's time) for nothing."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
