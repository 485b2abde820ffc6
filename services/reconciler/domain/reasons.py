"""What a trader reads for each reconciliation item and market: one sentence naming the market (by
title, when known) and the leg ("Polymarket NO"), the sizes, the class of difference (orphaned,
ghost, drift), its likely cause and what to do. Venue ids stay out of the words (a Polymarket token
id is 77 digits): the item carries them, and the UI shows them beside the reason, shortened.
Numbers read as the UI shows them (static/format.js) — quantities exactly, dollars to the cent,
prices in each venue's unit — so a reason reads the same amount as the cell beside it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal

from shared.contracts.events import ReconciliationItem
from shared.money import CENT

from .mappings import UNMAPPED_PREFIX

VENUE_NAMES = {"kalshi": "Kalshi", "polymarket": "Polymarket"}
MINUS = "\u2212"  # format.js's: a hyphen is easy to miss beside an amount
TITLE_SEPARATOR = " · "  # between a market's title and the rest of the reason (the UI drops the title)
_WIDE = Context(prec=80)  # dollars to cents exactly: a price has a few dozen digits at most
_PRICE_STEP = {"kalshi": Decimal("0.01"), "polymarket": Decimal("0.0001")}  # cents to 2 places; 4 places
# The likely cause of each difference, as the trader should first suspect it.
_ORPHANED_CAUSE = "a manual trade or a fill the bot missed"
_GHOST_CAUSE = "sold, redeemed or moved outside trueup"
_MORE_AT_VENUE_CAUSE = "fills the ledger missed"
_MORE_IN_LEDGER_CAUSE = "a fill the venue reversed or a sale the ledger missed"


def qty(amount: Decimal) -> str:
    """A quantity exactly, as format.js formatContracts shows it: 1500.00 -> "1,500", 1E+2 -> "100",
    -0 -> "0", 10.50 -> "10.5", -3.2 -> "−3.2". Text, not arithmetic: no context precision can round it."""
    text = format(amount.copy_abs(), ",f")  # copy_abs: abs() would round to the context
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _signed(amount, text)


def _rounded(amount: Decimal, step: Decimal) -> Decimal:
    """`amount` to a multiple of `step`, half away from zero (format.js rounds so), in a context wide
    enough for any amount's whole digits."""
    return amount.quantize(step, rounding=ROUND_HALF_UP, context=Context(prec=max(28, amount.adjusted() + 8)))


def _signed(shown: Decimal, body: str) -> str:
    # What rounds to zero has no sign ("$0.00", not "−$0.00"): -0.00 < 0 is false.
    return f"{MINUS if shown < 0 else ''}{body}"


def usd(amount: Decimal) -> str:
    """Dollars to the cent as format.js formatUsd shows them: "$1,234.57", "−$0.20", "$0.00"."""
    cents = _rounded(amount, CENT)
    return _signed(cents, f"${cents.copy_abs():,f}")


def _signed_qty(amount: Decimal) -> str:
    """A quantity difference with its sign either way, as the UI's diff column shows it: "+150", "−150"."""
    return f"+{qty(amount)}" if amount > 0 else qty(amount)


def price(venue: str, amount: Decimal) -> str:
    """A contract price as format.js formatPrice shows it: Kalshi in cents ("56¢", "29.56¢"),
    Polymarket 0–1 to 4 places with at least 2 ("0.45", "0.4567")."""
    if venue == "kalshi":
        cents = _rounded(amount.scaleb(2, context=_WIDE), _PRICE_STEP["kalshi"])
        return _signed(cents, f"{qty(cents.copy_abs())}¢")
    shown = _rounded(amount, _PRICE_STEP["polymarket"])
    body = format(shown.copy_abs(), "f").rstrip("0")
    whole, _, fraction = body.partition(".")
    return _signed(shown, f"{whole}.{fraction.ljust(2, '0')}")


def leg(venue: str, outcome: str) -> str:
    """"Polymarket NO": the venue and the outcome held, as the UI names a leg."""
    return f"{VENUE_NAMES[venue]} {outcome.upper()}"


def titled(title: str | None, reason: str) -> str:
    """The reason led by the market's title, when known: read alone (an alert, the API), it says which
    market; the UI, which shows the title beside it, drops that lead."""
    return f"{title}{TITLE_SEPARATOR}{reason}" if title else reason


# ---- the differences: what differs and why, then what to do ------------------------------------


def _orphaned_finding(external: Decimal) -> str:
    return f"orphaned, {qty(external)} held at the venue but not in the ledger: {_ORPHANED_CAUSE}"


def _ghost_finding(internal: Decimal) -> str:
    return f"ghost, {qty(internal)} in the ledger but none at the venue: {_GHOST_CAUSE}"


def _drift_finding(internal: Decimal, external: Decimal) -> str:
    cause = _MORE_AT_VENUE_CAUSE if external > internal else _MORE_IN_LEDGER_CAUSE
    return (f"drift, {qty(internal)} in the ledger vs {qty(external)} at the venue "
            f"({_signed_qty(external - internal)}): {cause}")


def orphaned(venue: str, outcome: str, external: Decimal) -> str:
    return f"{leg(venue, outcome)}: {_orphaned_finding(external)} — adopt it or acknowledge."


def ghost(venue: str, outcome: str, internal: Decimal) -> str:
    return f"{leg(venue, outcome)}: {_ghost_finding(internal)} — acknowledge it, or adopt to close it in the ledger."


def drift(venue: str, outcome: str, internal: Decimal, external: Decimal) -> str:
    return (f"{leg(venue, outcome)}: {_drift_finding(internal, external)} — adopt the venue's {qty(external)} "
            f"or acknowledge.")


def _cost_gap(internal_cost: Decimal, external_cost: Decimal, *, sub_cent: bool = False) -> str | None:
    """How the cost basis differs: "$0.20 lower at the venue ($312.29) than in the ledger ($312.49)";
    None when the difference shows as $0.00 (as in the UI's cost diff column), unless `sub_cent` asks
    for it exactly. Higher or lower, not a signed amount: a line may break between "−" and "$"."""
    gap = external_cost - internal_cost
    shown = usd(gap.copy_abs())
    if shown == "$0.00":
        if not sub_cent:
            return None
        shown = f"${qty(gap.copy_abs())}"
    return (f"{shown} {'higher' if gap > 0 else 'lower'} at the venue ({usd(external_cost)}) than in the ledger "
            f"({usd(internal_cost)})")


def cost_drift(venue: str, outcome: str, quantity: Decimal, internal_cost: Decimal, external_cost: Decimal,
               tolerance: Decimal) -> str:
    # A tolerance under a cent can make a sub-cent difference a drift: then it is shown exactly.
    gap = _cost_gap(internal_cost, external_cost, sub_cent=True)
    return (f"{leg(venue, outcome)}: drift, both hold {qty(quantity)} but the cost basis is {gap}, beyond the "
            f"tolerance {_tolerance_usd(tolerance)}: a fill at a price the ledger did not book, or fees counted "
            f"differently — acknowledge it if expected.")


def _tolerance_usd(tolerance: Decimal) -> str:
    # A configured bound, shown as set: a sub-cent tolerance rounded to "$0.00" would misstate it.
    return usd(tolerance) if tolerance == _rounded(tolerance, CENT) else f"${qty(tolerance)}"


def matched(venue: str, outcome: str, internal: Decimal, external: Decimal, tolerance: Decimal,
            costs: tuple[Decimal, Decimal] | None = None) -> str:
    """`costs`: (ledger, venue) cost basis when they differ — named, though it changes no status here."""
    sizes = (f"both hold {qty(internal)}" if internal == external else
             f"{qty(internal)} in the ledger vs {qty(external)} at the venue, within the dust tolerance "
             f"{qty(tolerance)}")
    gap = _cost_gap(*costs) if costs is not None else None
    return f"{leg(venue, outcome)}: {sizes}{f'; cost basis {gap}' if gap else ''}."


def venue_failed(venue: str, error: str, outcome: str, internal: Decimal, partial: Decimal | None) -> str:
    """Not compared: the venue's snapshot is incomplete, or the ledger could not be read or is still
    booking fills (`error` says which), so neither side's number can be trusted against the other."""
    listed = f", its incomplete snapshot listed {qty(partial)}" if partial is not None else ""
    return (f"{leg(venue, outcome)}: not checked ({error}); the ledger holds {qty(internal)}{listed} — compared "
            f"again once both sides answer.")


def unknown_mapping(venue: str, instrument_id: str, outcome: str, internal: Decimal, external: Decimal,
                    difference: str | None) -> str:
    name = leg(venue, outcome)
    if instrument_id.startswith(UNMAPPED_PREFIX):
        market_id = instrument_id[len(UNMAPPED_PREFIX):].rpartition(":")[0]
        return (f"{name}: imported without its Polymarket asset id, so the ledger's {qty(internal)} matches no venue "
                f"holding — add poly_asset_{outcome} to mapping {market_id} (PUT /api/v2/mappings/{market_id}).")
    if difference == "orphaned":
        finding = _orphaned_finding(external)
    elif difference == "ghost":
        finding = _ghost_finding(internal)
    elif difference == "drift":
        finding = _drift_finding(internal, external)
    else:
        sizes = f"both hold {qty(internal)}" if internal == external else (
            f"{qty(internal)} in the ledger vs {qty(external)} at the venue")
        return f"{name}: not mapped to a market ({sizes}) — map it to reconcile it."
    return f"{name}: not mapped to a market; {finding} — map it, then adopt or acknowledge."


def rivals(winner: str, others: tuple[str, ...]) -> str:
    return (f" Mapping{'s' if len(others) > 1 else ''} {', '.join(others)} also claim{'' if len(others) > 1 else 's'} "
            f"this instrument; {winner} is used (first by market_id): fix the mappings so one market names it.")


# ---- a market: a summary of its legs, never their whole reasons ---------------------------------


def _leg_summary(item: ReconciliationItem) -> str:
    """A market's item that is not a match: a mismatch (a mapped item is never unknown_mapping) or
    not checked."""
    name = leg(item.venue, item.outcome)
    if item.status == "api_error":
        return f"{name} not checked"
    acknowledged = ", acknowledged" if item.acknowledged else ""
    if item.internal_quantity == item.external_quantity and item.diff_cost_basis is not None:
        higher = "higher" if item.diff_cost_basis > 0 else "lower"
        return f"{name} cost drift ({usd(item.diff_cost_basis.copy_abs())} {higher} at the venue){acknowledged}"
    return (f"{name} {item.difference} (ledger {qty(item.internal_quantity)}, "
            f"venue {qty(item.external_quantity)}){acknowledged}")  # type: ignore[arg-type]  # a mismatch has both


def market(status: str, holdings: int, attention: Sequence[ReconciliationItem]) -> str:
    """`holdings`: the market's items; `attention`: those that are not a match, in item order."""
    if status == "match":
        if holdings == 1:
            return "Its one leg agrees with the venue."
        return "Both legs agree with the venues." if holdings == 2 else f"All {holdings} legs agree with the venues."
    legs = "Its one leg" if holdings == 1 else f"{len(attention)} of {holdings} legs"
    one = len(attention) == 1
    if all(item.status == "mismatch" for item in attention):
        verb = "differs" if one else "differ"
    else:  # a failed venue: not a difference, not checked
        verb = "needs attention" if one else "need attention"
    return f"{legs} {verb}: {'; '.join(_leg_summary(item) for item in attention)}."
