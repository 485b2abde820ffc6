"""`diff_holdings` against a plain reference written from its rules, and the run's memory shortcuts
(the cyclic GC window, the models' shared fields set) kept safe."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reconciler.domain.diff import INCOMPLETE, NO_SNAPSHOT, no_cyclic_gc
from services.reconciler.domain.mappings import UNMAPPED_PREFIX, MappingIndex
from services.reconciler.domain.reconcile import Holding, VenueSide, diff_holdings, reconcile
from shared.contracts.reconciler import ExternalIds, InstrumentMapping

T0 = datetime(2026, 6, 1, tzinfo=UTC)
D = Decimal
INSTRUMENTS = {"kalshi": ["KXA", "KXB", "KXC"], "polymarket": ["111", "222", "333", f"{UNMAPPED_PREFIX}M:yes"]}
KEYS = sorted((venue, instrument, outcome) for venue, ids in INSTRUMENTS.items() for instrument in ids
              for outcome in ("yes", "no"))
# Mixed exponents ("5", "5.00", "1E+1") and zeros: sums and differences must keep every digit.
quantities = st.sampled_from([D(0), D("0.00"), D(5), D("5.00"), D("-5"), D("2.5"), D("1E+1"), D(10), D(-3)])
costs = st.none() | st.sampled_from([D("1.5"), D("1.50"), D(2), D("0.0001")])


@st.composite
def holdings(draw, venue: str | None = None) -> list[Holding]:
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        on = venue or draw(st.sampled_from(sorted(INSTRUMENTS)))
        rows.append(Holding(on, draw(st.sampled_from(INSTRUMENTS[on])), draw(st.sampled_from(["yes", "no"])),
                            draw(quantities), draw(costs), title=draw(st.sampled_from([None, "a", "b"])),
                            market_hint=draw(st.sampled_from([None, "0xc", "0xd"]))))
    return rows


@st.composite
def mappings(draw) -> list[InstrumentMapping]:
    """Some instruments claimed twice (rivals), some only through a condition id, some not at all."""
    found = []
    for number in range(draw(st.integers(0, 5))):
        ids = {}
        if draw(st.booleans()):
            ids["kalshi_market_ticker"] = draw(st.sampled_from(INSTRUMENTS["kalshi"]))
        for field in ("poly_asset_yes", "poly_asset_no"):
            if draw(st.booleans()):
                ids[field] = draw(st.sampled_from(INSTRUMENTS["polymarket"]))
        if draw(st.booleans()):
            ids["poly_condition_id"] = draw(st.sampled_from(["0xc", "0xd"]))
        found.append(InstrumentMapping(market_id=f"{draw(st.sampled_from('ABC'))}{number}",
                                       external_ids=ExternalIds(**ids), title=None, source="operator",
                                       updated_at=T0, updated_by="test"))
    return found


@st.composite
def snapshots(draw) -> dict[str, VenueSide]:
    """Each venue: complete, incomplete, erroring or missing."""
    sides = {}
    for venue in sorted(INSTRUMENTS):
        state = draw(st.sampled_from(["complete", "complete", "incomplete", "error", "missing"]))
        if state != "missing":
            sides[venue] = VenueSide(venue, state != "incomplete", "timed out" if state == "error" else None,
                                     tuple(draw(holdings(venue))))
    return sides


def totals(rows: list[Holding]) -> dict[tuple[str, str, str], Holding]:
    """The rule: rows of one key summed in order (cost only when every row has one), zero totals dropped."""
    summed: dict[tuple[str, str, str], Holding] = {}
    for h in rows:
        key = (h.venue, h.instrument_id, h.outcome)
        if key in summed:
            seen = summed[key]
            cost = seen.cost_basis + h.cost_basis if seen.cost_basis is not None and h.cost_basis is not None else None
            h = Holding(*key, seen.quantity + h.quantity, cost, seen.title or h.title,
                        seen.market_hint or h.market_hint)
        summed[key] = h
    return {key: h for key, h in summed.items() if h.quantity}


def reference(internal, venues, index, tolerance, acknowledged, cost_tolerance) -> list[tuple]:
    """The diff's rules, one key at a time, as its docstring states them."""
    ours = totals(internal)
    theirs = totals([h for side in venues.values() for h in side.holdings])
    rows = []
    for key in sorted(ours.keys() | theirs.keys()):
        venue, instrument_id, outcome = key
        mine, venue_row = ours.get(key), theirs.get(key)
        hint = (venue_row.market_hint if venue_row else None) or (mine.market_hint if mine else None)
        claim = index.claim(venue, instrument_id, outcome, hint)
        internal_quantity = mine.quantity if mine else D(0)
        internal_cost = mine.cost_basis if mine else None
        side = venues.get(venue)
        failure = (NO_SNAPSHOT if side is None else side.error if side.error is not None
                   else None if side.complete else INCOMPLETE)
        if failure is not None:
            rows.append((venue, instrument_id, outcome, internal_quantity, None, internal_cost, None, None, None,
                         "api_error", None, key in acknowledged, claim, mine, venue_row, failure))
            continue
        external = venue_row.quantity if venue_row else D(0)
        external_cost = venue_row.cost_basis if venue_row else None
        diff = external - internal_quantity
        diff_cost = external_cost - internal_cost if external_cost is not None and internal_cost is not None else None
        difference = None
        if abs(diff) > tolerance:
            difference = "orphaned" if mine is None else "ghost" if venue_row is None else "drift"
        if claim is None:
            status = "unknown_mapping"
            if instrument_id.startswith(UNMAPPED_PREFIX):
                difference = None
        elif difference is not None:
            status = "mismatch"
        elif cost_tolerance is not None and diff_cost is not None and abs(diff_cost) > cost_tolerance:
            status, difference = "mismatch", "drift"
        else:
            status = "match"
        rows.append((venue, instrument_id, outcome, internal_quantity, external, internal_cost, external_cost, diff,
                     diff_cost, status, difference, key in acknowledged, claim, mine, venue_row, None))
    return rows


@settings(max_examples=300, deadline=None)
@given(holdings(), snapshots(), mappings(), st.sampled_from([D(0), D("0.5"), D(5)]),
       st.sampled_from([None, D(0), D("0.01")]), st.sets(st.sampled_from(KEYS), max_size=4))
def test_the_diff_is_the_reference_digit_for_digit(internal, venues, found, tolerance, cost_tolerance, acknowledged):
    index = MappingIndex(found)
    rows = diff_holdings(internal, venues, index, tolerance=tolerance, acknowledged=list(acknowledged),
                         cost_tolerance=cost_tolerance)
    expected = reference(internal, venues, index, tolerance, acknowledged, cost_tolerance)
    assert [tuple(row) for row in rows] == expected
    # Equal Decimals can still differ in their digits ("5" and "5.00"): the diff keeps the inputs'.
    assert [repr(tuple(row)) for row in rows] == [repr(row) for row in expected]


def test_the_gc_window_ends_with_the_collector_on_and_cycles_made_in_it_still_collected():
    class Node:
        pass

    assert gc.isenabled()
    with no_cyclic_gc():
        assert not gc.isenabled()
        node = Node()
        node.self = node  # a reference cycle: only the cyclic collector frees it
        gone = weakref.ref(node)
        del node
    assert gc.isenabled()
    gc.collect()
    assert gone() is None


def test_a_window_inside_another_leaves_the_collector_off_until_the_outer_one_ends():
    with no_cyclic_gc():
        with no_cyclic_gc():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_run_s_models_share_a_fields_set_that_copies_never_change():
    mapped = [InstrumentMapping(market_id="M", external_ids=ExternalIds(kalshi_market_ticker="KXA"), title="M",
                                source="operator", updated_at=T0, updated_by="test")]
    holdings = [Holding("kalshi", "KXA", "yes", D(5)), Holding("kalshi", "KXB", "no", D(2))]
    run = reconcile(holdings, {"kalshi": VenueSide("kalshi", True, None, tuple(holdings))}, mapped, tolerance=D(0),
                    acknowledged=(), run_id="r", trigger="on_demand", started_at=T0, finished_at=T0,
                    snapshot_time=T0)
    item, other = run.by_market_id["M"].items[0], run.unmapped[0]
    changed = item.model_copy(update={"reason": "changed"})
    assert changed.reason == "changed" and item.reason != "changed"
    for model in (item, other, run, run.by_market_id["M"], run.by_market_id["M"].internal["kalshi_yes"]):
        assert model.model_fields_set == set(type(model).model_fields)
        assert type(model).model_validate(model.model_dump()) == model
