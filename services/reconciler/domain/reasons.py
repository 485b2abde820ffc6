"""What a trader reads for each reconciliation item and market: what differs, by how much, the
likely cause and what to do. Quantities are shown exactly; dollars and prices as the UI shows them
(static/format.js), so a reason reads the same amount as the cell beside it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

from shared.money import CENT

from .mappings import UNMAPPED_PREFIX

VENUE_NAMES = {"kalshi": "Kalshi", "polymarket": "Polymarket"}
_ADOPT = "Adopt books the venue's quantity into the ledger; acknowledge it if it is known and intended."
MINUS = "\u2212"  # format.js's: a hyphen is easy to miss beside an amount
_WIDE = Context(prec=80)  # dollars to cents exactly: a price has a few dozen digits at most
_PRICE_STEP = {"kalshi": Decimal("0.01"), "polymarket": Decimal("0.0001")}  # cents to 2 places; 4 places


def qty(amount: Decimal) -> str:
    """A quantity exactly, as a plain decimal: 150.00 -> "150", 1E+2 -> "100", -0 -> "0", 10.50 -> "10.5".
    Text, not arithmetic: no context precision can round it."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _rounded(amount: Decimal, step: Decimal) -> Decimal:
    """`amount` to a multiple of `step`, half away from zero (format.js rounds so), in a context wide
    enough for any amount's whole digits."""
    return amount.quantize(step, rounding=ROUND_HALF_UP, context=Context(prec=max(28, amount.adjusted() + 8)))


def _signed(rounded: Decimal, body: str) -> str:
    # What rounds to zero has no sign ("$0.00", not "−$0.00"): -0.00 < 0 is false.
    return f"{MINUS if rounded < 0 else ''}{body}"


def usd(amount: Decimal) -> str:
    """Dollars to the cent as format.js formatUsd shows them: "$1,234.57", "−$0.20", "$0.00"."""
    cents = _rounded(amount, CENT)
    return _signed(cents, f"${cents.copy_abs():,f}")  # copy_abs: abs() would round to the context


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


def venue_failed(venue: str, error: str, outcome: str, internal: Decimal, partial: Decimal | None) -> str:
    listed = f" (the incomplete snapshot listed {qty(partial)})" if partial is not None else ""
    return (f"{VENUE_NAMES[venue]} snapshot failed: {error}. The ledger's {qty(internal)} {outcome.upper()} "
            f"cannot be checked until the venue answers{listed}; never reported as a match.")


def orphaned(venue: str, outcome: str, external: Decimal) -> str:
    return (f"{VENUE_NAMES[venue]} holds {qty(external)} {outcome.upper()}, the ledger 0: a trade the ledger "
            f"never saw (a manual trade, fills before its history, or a crash after the order). {_ADOPT}")


def ghost(venue: str, outcome: str, internal: Decimal) -> str:
    return (f"The ledger holds {qty(internal)} {outcome.upper()}, {VENUE_NAMES[venue]} 0: the venue no longer "
            f"has it (sold, settled or redeemed outside trueup, or a fill the venue reversed). {_ADOPT}")


def drift(venue: str, outcome: str, internal: Decimal, external: Decimal) -> str:
    name = VENUE_NAMES[venue]
    head = f"{name} holds {qty(external)} {outcome.upper()}, the ledger {qty(internal)}: "
    if external > internal:
        why = (f"the venue has {qty(external - internal)} more — fills the ledger missed (a dropped fill, "
               f"or trades outside trueup).")
    else:
        why = (f"the ledger has {qty(internal - external)} more — fills it booked that the venue does not "
               f"show (a failed or reversed fill, or a sale it never saw).")
    return f"{head}{why} {_ADOPT}"


def cost_drift(venue: str, outcome: str, quantity: Decimal, internal_cost: Decimal, external_cost: Decimal,
               tolerance: Decimal) -> str:
    return (f"{VENUE_NAMES[venue]} and the ledger both hold {qty(quantity)} {outcome.upper()}, but the cost "
            f"basis differs by {usd(external_cost - internal_cost)} (venue {usd(external_cost)}, ledger "
            f"{usd(internal_cost)}), beyond the tolerance {_tolerance_usd(tolerance)}: a fill at a price the ledger did "
            f"not book, or fees counted differently.")


def _tolerance_usd(tolerance: Decimal) -> str:
    # A configured bound, shown as set: a sub-cent tolerance rounded to "$0.00" would misstate it.
    return usd(tolerance) if tolerance == _rounded(tolerance, CENT) else f"${qty(tolerance)}"


def matched(venue: str, outcome: str, internal: Decimal, external: Decimal, tolerance: Decimal) -> str:
    name = VENUE_NAMES[venue]
    if internal == external:
        return f"{name} and the ledger both hold {qty(internal)} {outcome.upper()}."
    return (f"{name} holds {qty(external)} {outcome.upper()}, the ledger {qty(internal)}: within the dust "
            f"tolerance {qty(tolerance)}.")


def cost_note(internal_cost: Decimal, external_cost: Decimal) -> str:
    """A cost basis difference that does not change the status (not compared, or within tolerance)."""
    return (f" Cost basis differs by {usd(external_cost - internal_cost)} (venue {usd(external_cost)}, "
            f"ledger {usd(internal_cost)}).")


def unknown_mapping(venue: str, instrument_id: str, outcome: str, internal: Decimal, external: Decimal,
                    difference: str | None) -> str:
    name = VENUE_NAMES[venue]
    if instrument_id.startswith(UNMAPPED_PREFIX):
        market_id = instrument_id[len(UNMAPPED_PREFIX):].rpartition(":")[0]
        return (f"Imported leg of market {market_id} without a Polymarket asset id: the ledger holds "
                f"{qty(internal)} {outcome.upper()} that no venue row can match. Add poly_asset_{outcome} to "
                f"mapping {market_id} (PUT /api/v2/mappings/{market_id}, or re-import positions.json with "
                f"external_ids).")
    field = "kalshi_market_ticker" if venue == "kalshi" else f"poly_asset_{outcome}"
    what = "ticker" if venue == "kalshi" else "asset"
    differs = (f" They differ by {qty(external - internal)} ({difference})." if difference else "")
    return (f"No mapping covers {name} {what} {instrument_id} ({outcome.upper()}): the ledger holds "
            f"{qty(internal)}, {name} {qty(external)}.{differs} Map it to a market (the map action, or PUT "
            f"/api/v2/mappings/{{market_id}} with {field}) to reconcile it.")


def rivals(winner: str, others: tuple[str, ...]) -> str:
    return (f" Mapping{'s' if len(others) > 1 else ''} {', '.join(others)} also claim{'' if len(others) > 1 else 's'} "
            f"this instrument; {winner} is used (first by market_id): fix the mappings so one market names it.")


def market(status: str, holdings: int, attention: list[tuple[str, str]]) -> str:
    """`attention`: (leg, item reason) of every item that is not a match."""
    if status == "match":
        return (f"All {holdings} holdings agree with the venues." if holdings > 1
                else "Its one holding agrees with the venue.")
    details = " ".join(f"[{leg}] {reason}" for leg, reason in attention)
    need = "needs" if len(attention) == 1 else "need"
    return f"{len(attention)} of {holdings} holding{'s' if holdings > 1 else ''} {need} attention ({status}). {details}"
