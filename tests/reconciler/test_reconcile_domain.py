"""The reconciler's pure domain: statuses, differences, markets, tolerance and alert dedup."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.reconciler.domain import reasons
from services.reconciler.domain.alerts import alert_changes, difference_key, fingerprint
from services.reconciler.domain.mappings import MappingIndex
from services.reconciler.domain.reconcile import DiffRow, Holding, VenueSide, diff_holdings, reconcile
from shared.contracts.events import ReconciliationItem
from shared.contracts.reconciler import ExternalIds, InstrumentMapping, ReconciliationRun

T0 = datetime(2026, 6, 1, tzinfo=UTC)
D = Decimal
SEVERITY = {"match": 0, "unknown_mapping": 1, "mismatch": 2, "api_error": 3}


def mapping(market_id: str, title: str | None = None, **ids: str) -> InstrumentMapping:
    return InstrumentMapping(market_id=market_id, external_ids=ExternalIds(**ids), title=title, source="operator",
                             updated_at=T0, updated_by="test")


def k(instrument: str, outcome: str, quantity: str, cost: str | None = None, **extra) -> Holding:
    return Holding("kalshi", instrument, outcome, D(quantity), None if cost is None else D(cost), **extra)


def p(instrument: str, outcome: str, quantity: str, cost: str | None = None, **extra) -> Holding:
    return Holding("polymarket", instrument, outcome, D(quantity), None if cost is None else D(cost), **extra)


def side(venue: str, *holdings: Holding, complete: bool = True, error: str | None = None) -> VenueSide:
    return VenueSide(venue, complete, error, tuple(holdings))


def run(internal=(), external=(), mappings=(), *, venues=None, tolerance="0", **options) -> ReconciliationRun:
    """`external` holdings go to complete snapshots of both venues unless `venues` is given."""
    if venues is None:
        venues = {venue: side(venue, *(h for h in external if h.venue == venue)) for venue in ("kalshi", "polymarket")}
    return reconcile(internal, venues, mappings, tolerance=D(tolerance), acknowledged=options.pop("acknowledged", ()),
                     run_id="r1", trigger="on_demand", started_at=T0, finished_at=T0, snapshot_time=T0, **options)


def all_items(result: ReconciliationRun) -> list[ReconciliationItem]:
    return [i for m in result.by_market_id.values() for i in m.items] + list(result.unmapped)


def only(result: ReconciliationRun, venue: str, instrument: str, outcome: str) -> ReconciliationItem:
    found = [i for i in all_items(result) if difference_key(i) == (venue, instrument, outcome)]
    assert len(found) == 1, found
    return found[0]


MAPPED = [mapping("FED-DEC", title="Fed cuts in December", kalshi_market_ticker="KXFED-DEC",
                  poly_asset_yes="111", poly_asset_no="222")]


# ---- one item per status and difference ---------------------------------------------------------

def test_equal_holdings_match():
    result = run([k("KXFED-DEC", "yes", "100")], [k("KXFED-DEC", "yes", "100.00")], MAPPED)
    item = only(result, "kalshi", "KXFED-DEC", "yes")
    assert (item.status, item.difference, item.diff_quantity, item.market_id) == ("match", None, 0, "FED-DEC")
    assert item.title == "Fed cuts in December"
    # The market's title, the leg, the size: one sentence.
    assert item.reason == "Fed cuts in December · Kalshi YES: both hold 100."


def test_venue_only_holding_is_orphaned():
    item = only(run([], [k("KXFED-DEC", "no", "150")], MAPPED), "kalshi", "KXFED-DEC", "no")
    assert (item.status, item.difference) == ("mismatch", "orphaned")
    assert (item.internal_quantity, item.external_quantity, item.diff_quantity) == (0, 150, 150)
    assert item.reason == ("Fed cuts in December · Kalshi NO: orphaned, 150 held at the venue but not in the ledger: "
                           "a manual trade or a fill the bot missed — adopt it or acknowledge.")


def test_ledger_only_holding_is_a_ghost():
    item = only(run([p("111", "yes", "40.5")], [], MAPPED), "polymarket", "111", "yes")
    assert (item.status, item.difference, item.diff_quantity) == ("mismatch", "ghost", D("-40.5"))
    assert item.reason == ("Fed cuts in December · Polymarket YES: ghost, 40.5 in the ledger but none at the venue: "
                           "sold, redeemed or moved outside trueup — acknowledge it, or adopt to close it in the "
                           "ledger.")


@pytest.mark.parametrize(("ledger", "venue", "diff", "words"), [
    ("100", "150", "50", "(+50): fills the ledger missed"),
    ("150", "100", "-50", "(\u221250): a fill the venue reversed or a sale the ledger missed"),
])
def test_both_holding_different_quantities_is_drift(ledger, venue, diff, words):
    result = run([k("KXFED-DEC", "yes", ledger)], [k("KXFED-DEC", "yes", venue)], MAPPED)
    item = only(result, "kalshi", "KXFED-DEC", "yes")
    assert (item.status, item.difference, item.diff_quantity) == ("mismatch", "drift", D(diff))
    assert item.reason == (f"Fed cuts in December · Kalshi YES: drift, {ledger} in the ledger vs {venue} at the venue "
                           f"{words} — adopt the venue's {venue} or acknowledge.")


def test_reasons_name_the_market_by_title_and_never_quote_a_long_venue_id():
    token = "40375643341961135604018244591136934607120146938146629479351521670440577059787"
    untitled = "71240001122334455667788990011223344556677889900112233445566778899001122338841"
    result = run([p(token, "no", "600")],
                 [p(token, "no", "450", title="Will the Fed hold in December?"), p(untitled, "yes", "3")],
                 [mapping("fed-hold", poly_asset_no=token)])
    held = only(result, "polymarket", token, "no")
    assert held.reason.startswith("Will the Fed hold in December? · Polymarket NO: drift, 600 in the ledger vs 450")
    # Without a title the leg leads; the id is the item's field, not the reason's words.
    assert only(result, "polymarket", untitled, "yes").reason.startswith("Polymarket YES: not mapped to a market; "
                                                                          "orphaned, 3 held at the venue")
    for item in all_items(result):
        assert token not in item.reason and untitled not in item.reason and len(item.reason) < 220, item.reason
    # The market's reason summarises its legs instead of repeating their reasons.
    assert result.by_market_id["fed-hold"].reason == "Its one leg differs: Polymarket NO drift (ledger 600, venue 450)."


def test_kalshi_yes_in_the_ledger_against_no_at_the_venue_is_a_ghost_and_an_orphan():
    result = run([k("KXFED-DEC", "yes", "100")], [k("KXFED-DEC", "no", "50")], MAPPED)
    assert only(result, "kalshi", "KXFED-DEC", "yes").difference == "ghost"
    assert only(result, "kalshi", "KXFED-DEC", "no").difference == "orphaned"


def test_unmapped_instrument_is_unknown_mapping_with_both_quantities_and_how_to_fix():
    result = run([k("KXRAIN", "yes", "10")], [k("KXRAIN", "yes", "25")], MAPPED)
    item = only(result, "kalshi", "KXRAIN", "yes")
    assert (item.status, item.market_id, item.internal_quantity, item.external_quantity) == (
        "unknown_mapping", None, 10, 25)
    assert item.difference == "drift"  # shown, but only mapped items are mismatches
    assert item.reason == ("Kalshi YES: not mapped to a market; drift, 10 in the ledger vs 25 at the venue (+15): "
                           "fills the ledger missed — map it, then adopt or acknowledge.")
    assert result.unmapped == (item,)
    assert result.by_market_id == {}


def test_import_placeholder_never_maps_even_when_a_mapping_names_it():
    placeholder = "unmapped:FED-DEC:no"
    result = run([p(placeholder, "no", "30")], [], [mapping("X", poly_asset_no=placeholder)])
    item = only(result, "polymarket", placeholder, "no")
    assert (item.status, item.difference, item.market_id) == ("unknown_mapping", None, None)
    assert item.reason.startswith("Polymarket NO: imported without its Polymarket asset id")
    assert "add poly_asset_no to mapping FED-DEC (PUT /api/v2/mappings/FED-DEC)" in item.reason


# ---- failed venues ----------------------------------------------------------------------------------

def test_incomplete_venue_is_api_error_never_match_while_the_other_venue_reconciles():
    venues = {"kalshi": side("kalshi", k("KXFED-DEC", "yes", "100")),
              "polymarket": side("polymarket", p("111", "yes", "20"), complete=False, error="page 3: HTTP 503")}
    result = run([k("KXFED-DEC", "yes", "100"), p("111", "yes", "20"), p("222", "no", "5")], mappings=MAPPED,
                 venues=venues)
    assert only(result, "kalshi", "KXFED-DEC", "yes").status == "match"
    for asset, outcome in (("111", "yes"), ("222", "no")):
        item = only(result, "polymarket", asset, outcome)
        assert (item.status, item.external_quantity, item.diff_quantity, item.difference) == (
            "api_error", None, None, None)
        assert f"Polymarket {outcome.upper()}: not checked (page 3: HTTP 503); the ledger holds " in item.reason
        assert item.reason.endswith(" — compared again once both sides answer.")
    assert "the ledger holds 20, its incomplete snapshot listed 20 —" in only(result, "polymarket", "111", "yes").reason
    assert result.errors == {"polymarket": "page 3: HTTP 503"}
    assert result.summary == {"match": 1, "mismatch": 0, "unknown_mapping": 0, "api_error": 2}
    market = result.by_market_id["FED-DEC"]
    assert market.status == "api_error"
    assert market.reason == "2 of 3 legs need attention: Polymarket YES not checked; Polymarket NO not checked."
    assert set(market.internal) == {"kalshi_yes", "poly_yes", "poly_no"}
    assert set(market.external) == set(market.diff_contracts) == {"kalshi_yes"}


@pytest.mark.parametrize(("venues", "error"), [
    ({}, "no snapshot of this venue"),
    ({"kalshi": side("kalshi", complete=False)}, "incomplete snapshot (a page failed)"),
    ({"kalshi": side("kalshi", error="401 unauthorized")}, "401 unauthorized"),
])
def test_a_missing_incomplete_or_erroring_snapshot_is_api_error(venues, error):
    result = run([k("KXFED-DEC", "yes", "100")], mappings=MAPPED, venues=venues)
    assert only(result, "kalshi", "KXFED-DEC", "yes").status == "api_error"
    assert result.errors == {"kalshi": error}


def test_api_error_takes_precedence_over_unknown_mapping_and_unknown_mapping_over_mismatch():
    venues = {"kalshi": side("kalshi", complete=False), "polymarket": side("polymarket", p("999", "yes", "7"))}
    result = run([k("KXRAIN", "yes", "10")], mappings=MAPPED, venues=venues)
    assert only(result, "kalshi", "KXRAIN", "yes").status == "api_error"
    unmapped_orphan = only(result, "polymarket", "999", "yes")
    assert (unmapped_orphan.status, unmapped_orphan.difference) == ("unknown_mapping", "orphaned")
    assert [difference_key(i) for i in result.unmapped] == [("kalshi", "KXRAIN", "yes"), ("polymarket", "999", "yes")]


# ---- tolerance and cost basis ---------------------------------------------------------------------

def test_default_tolerance_is_exact():
    item = only(run([k("KXFED-DEC", "yes", "100")], [k("KXFED-DEC", "yes", "100.0001")], MAPPED),
                "kalshi", "KXFED-DEC", "yes")
    assert (item.status, item.difference, item.diff_quantity) == ("mismatch", "drift", D("0.0001"))


def test_dust_within_the_tolerance_matches_and_says_so():
    result = run([k("KXFED-DEC", "yes", "100"), p("111", "yes", "0.004")],
                 [k("KXFED-DEC", "yes", "100.01"), p("222", "no", "0.01")], MAPPED, tolerance="0.01")
    drifted = only(result, "kalshi", "KXFED-DEC", "yes")
    assert (drifted.status, drifted.diff_quantity) == ("match", D("0.01"))
    assert drifted.reason.endswith("Kalshi YES: 100 in the ledger vs 100.01 at the venue, within the dust "
                                   "tolerance 0.01.")
    assert only(result, "polymarket", "111", "yes").status == "match"  # a ledger-only crumb
    assert only(result, "polymarket", "222", "no").status == "match"  # a venue-only crumb
    beyond = only(run([], [k("KXFED-DEC", "yes", "0.011")], MAPPED, tolerance="0.01"), "kalshi", "KXFED-DEC", "yes")
    assert (beyond.status, beyond.difference) == ("mismatch", "orphaned")


def test_cost_basis_difference_is_reported_but_by_default_does_not_change_the_status():
    item = only(run([k("KXFED-DEC", "yes", "100", "40")], [k("KXFED-DEC", "yes", "100", "40.02")], MAPPED),
                "kalshi", "KXFED-DEC", "yes")
    assert (item.status, item.diff_cost_basis) == ("match", D("0.02"))
    assert item.reason.endswith("Kalshi YES: both hold 100; cost basis $0.02 higher at the venue ($40.02) than in "
                                "the ledger ($40.00).")
    # A difference under a cent shows as $0.00 in the UI's column: the reason does not name it.
    same = only(run([k("KXFED-DEC", "yes", "100", "40")], [k("KXFED-DEC", "yes", "100", "40.004")], MAPPED),
                "kalshi", "KXFED-DEC", "yes")
    assert same.reason == "Fed cuts in December · Kalshi YES: both hold 100."


def test_cost_basis_beyond_the_cost_tolerance_is_drift():
    internal, external = [k("KXFED-DEC", "yes", "100", "40")], [k("KXFED-DEC", "yes", "100", "41.5")]
    item = only(run(internal, external, MAPPED, cost_tolerance=D("1")), "kalshi", "KXFED-DEC", "yes")
    assert (item.status, item.difference, item.diff_quantity, item.diff_cost_basis) == (
        "mismatch", "drift", 0, D("1.5"))
    assert ("Kalshi YES: drift, both hold 100 but the cost basis is $1.50 higher at the venue ($41.50) than in the "
            "ledger ($40.00), beyond the tolerance $1.00: ") in item.reason
    assert run(internal, external, MAPPED, cost_tolerance=D("1")).by_market_id["FED-DEC"].reason == (
        "Its one leg differs: Kalshi YES cost drift ($1.50 higher at the venue).")
    within = run(internal, external, MAPPED, cost_tolerance=D("1.5"))
    assert only(within, "kalshi", "KXFED-DEC", "yes").status == "match"


def test_cost_basis_is_only_compared_where_both_sides_have_one():
    item = only(run([k("KXFED-DEC", "yes", "100", "40")], [k("KXFED-DEC", "yes", "100")], MAPPED,
                    cost_tolerance=D(0)), "kalshi", "KXFED-DEC", "yes")
    assert (item.status, item.diff_cost_basis) == ("match", None)


# ---- acknowledgement, mappings, input shapes ----------------------------------------------------

def test_acknowledged_items_keep_their_status():
    result = run([], [k("KXFED-DEC", "no", "150"), k("KXRAIN", "yes", "1")], MAPPED,
                 acknowledged=[("kalshi", "KXFED-DEC", "no")])
    orphan = only(result, "kalshi", "KXFED-DEC", "no")
    assert (orphan.status, orphan.difference, orphan.acknowledged) == ("mismatch", "orphaned", True)
    assert only(result, "kalshi", "KXRAIN", "yes").acknowledged is False


@pytest.mark.parametrize("order", [1, -1])
def test_two_mappings_claiming_one_instrument_the_first_market_id_wins_and_the_reason_says_so(order):
    claims = [mapping("b-market", kalshi_market_ticker="KXFED-DEC"),
              mapping("a-market", kalshi_market_ticker="KXFED-DEC"),
              mapping("c-market", poly_asset_yes="111"), mapping("c2-market", poly_asset_no="111")]
    result = run([k("KXFED-DEC", "yes", "5"), p("111", "yes", "3")], [k("KXFED-DEC", "yes", "5"), p("111", "yes", "3")],
                 claims[::order])
    ticker = only(result, "kalshi", "KXFED-DEC", "yes")
    assert (ticker.market_id, ticker.status) == ("a-market", "match")
    assert "Mapping b-market also claims this instrument; a-market is used (first by market_id)" in ticker.reason
    asset = only(result, "polymarket", "111", "yes")
    assert asset.market_id == "c-market" and "c2-market also claims" in asset.reason
    assert list(result.by_market_id) == ["a-market", "c-market"]
    assert set(result.by_market_id["c-market"].internal) == {"poly_yes"}


def test_asset_ids_map_before_condition_ids_and_a_condition_id_maps_by_outcome():
    mappings = [mapping("by-condition", poly_condition_id="0xabc"), mapping("by-asset", poly_asset_yes="111")]
    result = run([], [p("111", "yes", "4", market_hint="0xabc"), p("333", "no", "6", market_hint="0xabc"),
                      p("444", "yes", "1", market_hint="0xother")], mappings)
    assert only(result, "polymarket", "111", "yes").market_id == "by-asset"
    assert only(result, "polymarket", "333", "no").market_id == "by-condition"
    assert set(result.by_market_id["by-condition"].external) == {"poly_no"}
    assert only(result, "polymarket", "444", "yes").status == "unknown_mapping"


def test_zero_rows_are_not_holdings_and_duplicate_rows_are_summed():
    result = run([k("KXFED-DEC", "yes", "60", "20"), k("KXFED-DEC", "yes", "40", "15"), k("KXOLD", "no", "0")],
                 [k("KXFED-DEC", "yes", "100", "35"), k("KXCLOSED", "yes", "0")], MAPPED)
    assert [difference_key(i) for i in all_items(result)] == [("kalshi", "KXFED-DEC", "yes")]
    item = only(result, "kalshi", "KXFED-DEC", "yes")
    assert (item.internal_quantity, item.internal_cost_basis, item.status) == (100, 35, "match")


def test_holdings_refuse_floats_and_unknown_venues():
    with pytest.raises(ValueError, match="quantity"):
        Holding("kalshi", "KX", "yes", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="venue"):
        Holding("binance", "KX", "yes", D(1))
    with pytest.raises(ValueError, match="outcome"):
        Holding("kalshi", "KX", "maybe", D(1))
    with pytest.raises(ValueError, match="snapshot holds rows"):
        VenueSide("kalshi", True, None, (p("111", "yes", "1"),))


# ---- markets ---------------------------------------------------------------------------------------

def test_a_two_venue_market_has_legs_diffs_and_its_worst_status():
    internal = [k("KXFED-DEC", "yes", "100", "40"), p("222", "no", "100", "55")]
    external = [k("KXFED-DEC", "yes", "100", "41"), p("222", "no", "90", "49.5"), p("111", "yes", "2", "1")]
    market = run(internal, external, MAPPED).by_market_id["FED-DEC"]
    assert (market.market_id, market.title, market.status) == ("FED-DEC", "Fed cuts in December", "mismatch")
    assert {leg: (q.quantity, q.cost_basis) for leg, q in market.internal.items()} == {
        "kalshi_yes": (100, 40), "poly_no": (100, 55), "poly_yes": (0, None)}
    assert {leg: (q.quantity, q.cost_basis) for leg, q in market.external.items()} == {
        "kalshi_yes": (100, 41), "poly_no": (90, D("49.5")), "poly_yes": (2, 1)}
    assert list(market.internal) == ["kalshi_yes", "poly_no", "poly_yes"]
    assert market.diff_contracts == {"kalshi_yes": 0, "poly_no": -10, "poly_yes": 2}
    assert market.diff_cost_basis == {"kalshi_yes": 1, "poly_no": D("-5.5")}
    assert [(i.instrument_id, i.status, i.difference) for i in market.items] == [
        ("KXFED-DEC", "match", None), ("111", "mismatch", "orphaned"), ("222", "mismatch", "drift")]
    # The market summarises its legs that differ; each leg's own reason stays on its item.
    assert market.reason == ("2 of 3 legs differ: Polymarket YES orphaned (ledger 0, venue 2); "
                             "Polymarket NO drift (ledger 100, venue 90).")


def test_a_market_whose_holdings_all_agree_says_so():
    market = run([k("KXFED-DEC", "no", "3")], [k("KXFED-DEC", "no", "3")], MAPPED).by_market_id["FED-DEC"]
    assert (market.status, market.reason) == ("match", "Its one leg agrees with the venue.")


def test_run_carries_identity_counts_every_status_and_validates_as_the_contract():
    result = run([k("KXFED-DEC", "yes", "1", "0.5")], [k("KXFED-DEC", "yes", "1", "0.5")], MAPPED)
    assert (result.run_id, result.trigger, result.snapshot_time) == ("r1", "on_demand", T0)
    assert result.summary == {"match": 1, "mismatch": 0, "unknown_mapping": 0, "api_error": 0}
    assert ReconciliationRun.model_validate(result.model_dump()) == result
    assert ReconciliationRun.model_validate_json(result.model_dump_json()) == result


def test_unknown_trigger_and_negative_tolerance_are_refused():
    with pytest.raises(ValueError, match="trigger"):
        reconcile([], {}, [], tolerance=D(0), acknowledged=(), run_id="r", trigger="cron", started_at=T0,
                  finished_at=T0, snapshot_time=T0)
    with pytest.raises(ValueError, match="tolerance"):
        run(tolerance="-0.01")


# ---- properties -----------------------------------------------------------------------------------

INSTRUMENTS = {"kalshi": ["KXFED-DEC", "KXRAIN", "KXB"], "polymarket": ["111", "222", "333", "unmapped:M:yes"]}
PROPERTY_MAPPINGS = MAPPED + [mapping("B", kalshi_market_ticker="KXB", poly_condition_id="0xc")]
quantities = st.decimals(min_value=D("-1000"), max_value=D("1000"), places=2).filter(bool)


@st.composite
def holdings(draw) -> list[Holding]:
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        venue = draw(st.sampled_from(["kalshi", "polymarket"]))
        instrument = draw(st.sampled_from(INSTRUMENTS[venue]))
        outcome = "yes" if instrument.endswith(":yes") else draw(st.sampled_from(["yes", "no"]))
        cost = draw(st.none() | st.decimals(min_value=D(0), max_value=D("1000"), places=4))
        rows.append(Holding(venue, instrument, outcome, draw(quantities), cost,
                            market_hint=draw(st.sampled_from([None, "0xc"]))))
    return rows


def held_keys(rows: list[Holding]) -> set[tuple[str, str, str]]:
    totals: Counter = Counter()
    for h in rows:
        totals[(h.venue, h.instrument_id, h.outcome)] += h.quantity
    return {key for key, total in totals.items() if total}


@settings(max_examples=200, deadline=None)
@given(holdings())
def test_identical_sides_only_match_or_lack_a_mapping(rows):
    result = run(rows, rows, PROPERTY_MAPPINGS)
    assert {i.status for i in all_items(result)} <= {"match", "unknown_mapping"}
    assert all(i.difference is None and i.diff_quantity == 0 for i in all_items(result))


@settings(max_examples=200, deadline=None)
@given(holdings(), holdings(), st.sampled_from(["0", "0.5"]))
def test_swapping_sides_swaps_orphans_and_ghosts(ours, theirs, tolerance):
    forward = {difference_key(i): i for i in all_items(run(ours, theirs, PROPERTY_MAPPINGS, tolerance=tolerance))}
    backward = {difference_key(i): i for i in all_items(run(theirs, ours, PROPERTY_MAPPINGS, tolerance=tolerance))}
    swapped = {"orphaned": "ghost", "ghost": "orphaned", "drift": "drift", None: None}
    assert forward.keys() == backward.keys()
    for key, item in forward.items():
        assert backward[key].status == item.status
        assert backward[key].difference == swapped[item.difference]
        assert backward[key].diff_quantity == -item.diff_quantity  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(holdings(), holdings(), st.booleans(), st.sampled_from(["0", "0.5"]))
def test_every_held_key_appears_once_and_the_counts_add_up(ours, theirs, polymarket_fails, tolerance):
    venues = {"kalshi": side("kalshi", *(h for h in theirs if h.venue == "kalshi")),
              "polymarket": side("polymarket", *(h for h in theirs if h.venue == "polymarket"),
                                 complete=not polymarket_fails)}
    result = run(ours, mappings=PROPERTY_MAPPINGS, venues=venues, tolerance=tolerance)
    items = all_items(result)
    keys = [difference_key(i) for i in items]
    assert len(keys) == len(set(keys))
    assert set(keys) == held_keys(ours) | held_keys(theirs)
    assert result.summary == {status: Counter(i.status for i in items)[status] for status in SEVERITY}
    assert [difference_key(i) for i in result.unmapped] == sorted(difference_key(i) for i in result.unmapped)
    for item in items:
        assert (item.status == "api_error") == (polymarket_fails and item.venue == "polymarket")
        if item.diff_quantity is not None:  # exact: external − internal, no rounding anywhere
            assert item.diff_quantity == item.external_quantity - item.internal_quantity  # type: ignore[operator]
            assert (item.status == "match") == (item.market_id is not None and abs(item.diff_quantity) <= D(tolerance))
    for market in result.by_market_id.values():
        assert market.status == max((i.status for i in market.items), key=SEVERITY.__getitem__)
        assert sum(market.diff_contracts.values()) == sum(
            i.diff_quantity for i in market.items if i.diff_quantity is not None)


ITEM_FIELDS = DiffRow._fields[:12]  # the fields a row shares with the contract's item


@settings(max_examples=200, deadline=None)
@given(holdings(), holdings(), st.sampled_from([None, "kalshi", "polymarket", "missing"]),
       st.sampled_from(["0", "0.5"]), st.sampled_from([None, "0.01"]), st.sets(st.sampled_from(sorted(
           {("kalshi", i, o) for i in INSTRUMENTS["kalshi"] for o in ("yes", "no")}
           | {("polymarket", i, o) for i in INSTRUMENTS["polymarket"] for o in ("yes", "no")})), max_size=4))
def test_reconcile_items_are_the_diff_rows_rendered(ours, theirs, failing, tolerance, cost_tolerance, acknowledged):
    venues = {venue: side(venue, *(h for h in theirs if h.venue == venue), complete=failing != venue)
              for venue in ("kalshi", "polymarket")}
    if failing == "missing":
        del venues["polymarket"]
    options = {"tolerance": D(tolerance), "acknowledged": acknowledged,
               "cost_tolerance": None if cost_tolerance is None else D(cost_tolerance)}
    rows = diff_holdings(ours, venues, MappingIndex(PROPERTY_MAPPINGS), **options)
    result = reconcile(ours, venues, PROPERTY_MAPPINGS, run_id="r1", trigger="on_demand", started_at=T0,
                       finished_at=T0, snapshot_time=T0, **options)
    assert [row[:3] for row in rows] == sorted(row[:3] for row in rows)  # key order, each key once
    items = {difference_key(i): i for i in all_items(result)}
    assert len(items) == len(rows)
    for row in rows:
        item = items[(row.venue, row.instrument_id, row.outcome)]
        assert tuple(getattr(item, name) for name in ITEM_FIELDS) == row[:12]
        assert item.market_id == (row.claim.market_id if row.claim else None)
    assert result.summary == {status: sum(row.status == status for row in rows) for status in SEVERITY}
    assert set(result.errors) == {row.venue for row in rows if row.status == "api_error"} | (
        {failing} if failing in ("kalshi", "polymarket") else set())


# ---- alerts -----------------------------------------------------------------------------------------

def next_state(previous: dict, alerted: list[ReconciliationItem], resolved: list) -> dict:
    """What the service keeps between runs (alerts.py's docstring)."""
    state = {key: fp for key, fp in previous.items() if key not in resolved}
    state.update({difference_key(i): fingerprint(i) for i in alerted})
    return state


def items_of(internal, external, **options) -> list[ReconciliationItem]:
    return all_items(run(internal, external, MAPPED, **options))


def test_the_same_difference_alerts_once_a_changed_size_again_and_resolution_once():
    state: dict = {}
    history = []
    for venue_quantity in ("150", "150.00", "170", "100", "100"):
        alerted, resolved = alert_changes(state, items_of([k("KXFED-DEC", "yes", "100")],
                                                          [k("KXFED-DEC", "yes", venue_quantity)]))
        history.append(([i.diff_quantity for i in alerted], resolved))
        state = next_state(state, alerted, resolved)
    assert history == [([50], []), ([], []), ([70], []), ([], [("kalshi", "KXFED-DEC", "yes")]), ([], [])]
    assert state == {}


def test_a_difference_that_disappears_is_resolved():
    state = {("kalshi", "KXFED-DEC", "no"): "orphaned:150"}
    assert alert_changes(state, items_of([], [])) == ([], [("kalshi", "KXFED-DEC", "no")])


def test_acknowledged_unknown_mapping_and_api_error_items_never_alert_and_do_not_resolve():
    state = {("kalshi", "KXFED-DEC", "no"): "orphaned:100", ("polymarket", "111", "yes"): "ghost:-5"}
    items = items_of([k("KXRAIN", "yes", "1")], [k("KXFED-DEC", "no", "150")],
                     acknowledged=[("kalshi", "KXFED-DEC", "no")])
    failed_poly = all_items(run([p("111", "yes", "5")], mappings=MAPPED,
                                venues={"polymarket": side("polymarket", complete=False)}))
    assert alert_changes(state, items + failed_poly) == ([], [])
    # A failed venue lists no venue-only holding: their absence resolves nothing.
    orphan_state = {("polymarket", "222", "no"): "orphaned:9"}
    assert alert_changes(orphan_state, failed_poly, failed_venues={"polymarket"}) == ([], [])


def test_fingerprint_is_class_and_size():
    item = only(run([], [k("KXFED-DEC", "no", "150.00")], MAPPED), "kalshi", "KXFED-DEC", "no")
    assert fingerprint(item) == "orphaned:150"


# ---- how reasons print numbers: dollars and prices as the UI shows them (format.js), quantities exact


def test_a_cost_difference_is_printed_to_the_cent_as_the_ui_shows_it():
    # The ledger keeps average prices to 1e-12, so its cost basis has many places; a reason rounds it.
    item = only(run([k("KXFED-DEC", "yes", "100", "40.199421438")], [k("KXFED-DEC", "yes", "100", "40")], MAPPED),
                "kalshi", "KXFED-DEC", "yes")
    assert item.reason.endswith("; cost basis $0.20 lower at the venue ($40.00) than in the ledger ($40.20).")
    assert item.diff_cost_basis == D("-0.199421438")  # the number itself stays exact


@pytest.mark.parametrize(("amount", "shown"), [
    ("-0.199421438", "\u2212$0.20"), ("0.005", "$0.01"), ("-0.005", "\u2212$0.01"), ("0.00499", "$0.00"),
    ("-0.004", "$0.00"), ("-0", "$0.00"), ("0E-14", "$0.00"), ("12.3", "$12.30"), ("1E+3", "$1,000.00"),
    ("1234567.895", "$1,234,567.90"), ("-8852.259999", "\u2212$8,852.26"),
    ("12345678901234567890123456789012.345", "$12,345,678,901,234,567,890,123,456,789,012.35"),
])
def test_usd_rounds_half_away_from_zero_to_the_cent_like_format_js(amount, shown):
    assert reasons.usd(D(amount)) == shown


@given(st.decimals(min_value=-10**12, max_value=10**12, allow_nan=False, allow_infinity=False, places=12))
def test_usd_is_the_amount_within_half_a_cent_rounded_away_from_zero(amount):
    shown = reasons.usd(amount)
    negative = shown.startswith("\u2212")
    digits = shown.removeprefix("\u2212").removeprefix("$")
    assert "E" not in digits and digits.rpartition(".")[2].isdigit() and len(digits.rpartition(".")[2]) == 2
    value = D(digits.replace(",", "")) * (-1 if negative else 1)
    assert abs(value - amount) <= D("0.005")
    # Half away from zero: an exact half cent goes outwards, so |shown| >= |amount| there.
    if abs(abs(value - amount) - D("0.005")) == 0:
        assert abs(value) > abs(amount)
    assert not (negative and value == 0)  # what rounds to $0.00 has no sign


@pytest.mark.parametrize(("amount", "shown"), [
    ("150.00", "150"), ("1E+2", "100"), ("1.5E+3", "1,500"), ("-0", "0"), ("-0.00", "0"), ("0E-14", "0"),
    ("10.50", "10.5"), ("0.000001", "0.000001"), ("1E-7", "0.0000001"), ("-3.20", "\u22123.2"),
    ("-1500", "\u22121,500"),
    ("1234567890123456789012345678901.5", "1,234,567,890,123,456,789,012,345,678,901.5"),  # beyond 28 digits: exact
])
def test_qty_is_exact_and_reads_like_format_js_contracts(amount, shown):
    assert reasons.qty(D(amount)) == shown


def test_a_reason_prints_quantities_without_an_exponent():
    item = only(run([k("KXFED-DEC", "yes", "1E+2")], [k("KXFED-DEC", "yes", "1.5E+2")], MAPPED),
                "kalshi", "KXFED-DEC", "yes")
    assert "Kalshi YES: drift, 100 in the ledger vs 150 at the venue (+50)" in item.reason


@pytest.mark.parametrize(("venue", "amount", "shown"), [
    ("kalshi", "0.56", "56¢"), ("kalshi", "0.2956", "29.56¢"), ("kalshi", "0.199421438", "19.94¢"),
    ("kalshi", "0.00005", "0.01¢"), ("kalshi", "1", "100¢"), ("polymarket", "0.5", "0.50"),
    ("polymarket", "0.45674", "0.4567"), ("polymarket", "0.45675", "0.4568"), ("polymarket", "1", "1.00"),
])
def test_prices_read_as_each_venue_quotes_them_like_format_js(venue, amount, shown):
    assert reasons.price(venue, D(amount)) == shown
