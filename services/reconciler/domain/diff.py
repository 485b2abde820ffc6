"""The comparison half of a reconciliation: `diff_holdings`, one `DiffRow` per held key, no text, no contracts.

`reconcile` (reconcile.py) is this diff followed by rendering the rows into contract objects (reasons,
items, markets); its module docstring states the rules. This half decides every number and status:

* one row per (venue, instrument_id, outcome) held on either side, zero rows dropped, duplicates summed,
  rows in key order;
* per row both quantities and cost bases, `external − internal` differences, the status and the
  difference, by the first rule that applies: `api_error` (the venue failed: no external side),
  `unknown_mapping`, `match` (within the tolerances), `mismatch` (orphaned, ghost or drift).

It is the hot path of a run (issue 10's target: 100k items in < 200 ms), so it does dict look-ups,
one sort and Decimal arithmetic only, takes each holding's key as built with the holding, and builds
tuples rather than validated models.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Context, Decimal, localcontext
from operator import attrgetter
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
    # (venue, instrument_id, outcome) as one string, built here once: the diff's dict and sort key.
    key: str = field(init=False, repr=False, compare=False)

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
        object.__setattr__(self, "key", holding_key(self.venue, self.instrument_id, self.outcome))


def holding_key(venue: str, instrument_id: str, outcome: str) -> str:
    """One string per key: sorting 100k strings is several times faster than sorting tuples. NUL
    sorts before any character of an id, so the strings sort as (venue, instrument_id, outcome) do."""
    return f"{venue}\0{instrument_id}\0{outcome}"


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
    known = {holding_key(*key) for key in acknowledged}
    ours = _held(internal)
    failures: dict[str, str | None] = dict.fromkeys(VENUES, NO_SNAPSHOT)
    failures.update(dict.fromkeys(venues))
    failures.update(venue_failures(venues))
    # Per venue, every key held on either side: the venue's holdings, then the ledger's keys the venue
    # does not hold (None), so one pass with one look-up per key compares them all.
    theirs_by_venue: dict[str, dict[str, Holding | None]] = {
        venue: _held(venues[venue].holdings) if venue in venues else {} for venue in VENUES}  # type: ignore[misc]
    unheld = set(ours)
    for theirs in theirs_by_venue.values():
        unheld -= theirs.keys()
    for key in unheld:
        theirs_by_venue[ours[key].venue][key] = None
    claim_of, ours_get = index.claim, ours.get
    # `DiffRow(...)` goes through a generated Python `__new__`: building the tuple directly is half the cost.
    new_row = tuple.__new__
    rows: list[DiffRow] = []
    keys: list[str] = []  # rows[i]'s key, for the one sort at the end
    append, append_key = rows.append, keys.append
    for venue, theirs in theirs_by_venue.items():
        failure, claims_get = failures[venue], index.by_instrument[venue].get
        for key, venue_row in theirs.items():
            mine = ours_get(key)
            held: Holding = venue_row or mine  # type: ignore[assignment]
            instrument_id, outcome = held.instrument_id, held.outcome
            by_outcome = claims_get(instrument_id)
            claim = by_outcome[outcome] if by_outcome is not None else claim_of(
                venue, instrument_id, outcome,
                (venue_row.market_hint if venue_row else None) or (mine.market_hint if mine else None))
            if mine is None:
                internal_quantity, internal_cost = ZERO, None
            else:
                internal_quantity, internal_cost = mine.quantity, mine.cost_basis
            append_key(key)
            if failure is not None:
                append(new_row(DiffRow, (venue, instrument_id, outcome, internal_quantity, None, internal_cost, None,
                                         None, None, "api_error", None, key in known, claim, mine, venue_row, failure)))
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
            elif cost_tolerance is not None and diff_cost and abs(diff_cost) > cost_tolerance:
                status, difference = "mismatch", "drift"
            else:
                status = "match"
            append(new_row(DiffRow, (venue, instrument_id, outcome, internal_quantity, external, internal_cost,
                                     external_cost, diff, diff_cost, status, difference, key in known, claim, mine,
                                     venue_row, None)))
    # Key order: the rows' indices sorted by their keys (string comparisons, no row touched).
    return [rows[i] for i in sorted(range(len(rows)), key=keys.__getitem__)]


_QUANTITY = attrgetter("quantity")


def _held(holdings: Iterable[Holding]) -> dict[str, Holding]:
    """One side's holdings by key: duplicates summed, zero quantities dropped."""
    listed = holdings if isinstance(holdings, list | tuple) else list(holdings)
    # The usual case, each key once, in one comprehension: a dict shorter than the list means a key came twice.
    held = {h.key: h for h in listed}
    if len(held) < len(listed):
        return _summed(listed)
    if not all(map(_QUANTITY, listed)):
        return {key: h for key, h in held.items() if h.quantity}
    return held


def _summed(holdings: Iterable[Holding]) -> dict[str, Holding]:
    """`_held` of holdings with duplicate keys: the rows of a key summed, the zero sums dropped."""
    held: dict[str, Holding] = {}
    for h in holdings:
        seen = held.get(h.key)
        if seen is not None:
            h = held[h.key] = Holding(
                h.venue, h.instrument_id, h.outcome, seen.quantity + h.quantity,
                seen.cost_basis + h.cost_basis if seen.cost_basis is not None and h.cost_basis is not None else None,
                seen.title or h.title, seen.market_hint or h.market_hint)
        else:
            held[h.key] = h
    return {key: h for key, h in held.items() if h.quantity}


def require_decimal(name: str, value: object) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name}: {value!r} is not a finite Decimal")
    return value


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """A run allocates a few hundred thousand small objects, all kept and none in a reference cycle:
    left on, the cyclic collector would walk them again and again (half the run's time) for nothing.
    Merely turned back on, its next young-generation pass would still walk every one of them once
    (~0.5 µs each: a fifth of a run); instead they go straight to the oldest generation (freeze, then
    unfreeze, which is where `gc.unfreeze` puts objects), walked only by its rare full passes, which
    still free any cycle made in the window. Skipped if the process froze objects of its own."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()
