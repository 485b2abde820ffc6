"""What the ledger does for the reconciler, as pure rules: an import record's venue ids as
`ExternalIds`, and an operator's adoption of a venue holding as an adjustment fill.

An adoption moves the ledger's quantity of the held `outcome` by the signed `quantity` at
`price`. It is journaled as an ordinary confirmed fill (no client order id, so its origin is
"external"; fee 0), which the fold applies like any other: a buy of that outcome adds, a sell
removes. On Kalshi that needs no translation either: buying NO *is* adding to a NO holding
(`positions.held_trade`). Its fill id derives from the request's event id, so a retried request
is journaled once.

An adoption that cannot land as a holding of the requested outcome is refused rather than booked
as something else: a removal of more than the ledger holds (a Polymarket sell would realize
proceeds at zero cost, a Kalshi one would flip to the other side), or, on Kalshi, any adoption of
one side while the ledger holds the other (the venue nets a ticker into one side; the reconciler
removes the wrong side first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.ledger.domain.positions import Position
from shared.contracts import Fill, deterministic_id
from shared.contracts.reconciler import AdoptionRequest, ExternalIds

# ExternalIds field -> the record's keys holding it, first present wins. Older bots wrote
# `poly_token_id_*` where newer ones write `poly_asset_*` (as the import itself reads them).
_ID_KEYS: dict[str, tuple[str, ...]] = {
    "kalshi_market_ticker": ("kalshi_market_ticker",),
    "poly_asset_yes": ("poly_asset_yes", "poly_token_id_yes"),
    "poly_asset_no": ("poly_asset_no", "poly_token_id_no"),
    "poly_condition_id": ("poly_condition_id",),
    "poly_market_slug": ("poly_market_slug",),
}
# Every key of a record's `external_ids` that names a venue id.
ID_KEYS: tuple[str, ...] = tuple(key for keys in _ID_KEYS.values() for key in keys)


class AdoptionRefused(ValueError):
    """The adoption cannot be booked as asked; the message says why (for the operator)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def venue_ids(external_ids: Mapping[str, Any]) -> ExternalIds | None:
    """An import record's `external_ids` as the reconciler's `ExternalIds` (`account_ids` and
    unknown keys ignored); None when it names no venue id. Raises ValueError for an id the
    contract cannot carry (longer than 256 characters)."""
    ids: dict[str, str] = {}
    for field, keys in _ID_KEYS.items():
        for key in keys:
            value = external_ids.get(key)
            if isinstance(value, str) and value.strip():
                ids[field] = value.strip()
                break
    if not ids:
        return None
    try:
        return ExternalIds(**ids)
    except ValidationError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None


def adjustment_fill_id(request: AdoptionRequest) -> str:
    return f"adjust-{request.event_id}"


def adjustment_fill(request: AdoptionRequest, *, at: datetime) -> Fill:
    """The adoption as the fill the journal keeps; `raw` records who asked and why."""
    if request.quantity == 0:
        raise AdoptionRefused("invalid_request", "quantity is 0: an adoption moves the ledger's quantity")
    return Fill(
        event_id=deterministic_id("ledger", "adjustment", request.event_id),
        occurred_at=at,
        venue=request.venue,
        account=request.account,
        fill_id=adjustment_fill_id(request),
        instrument_id=request.instrument_id,
        outcome=request.outcome,
        side="buy" if request.quantity > 0 else "sell",
        quantity=abs(request.quantity),
        price=request.price,
        fee=0,
        status="confirmed",
        executed_at=at,
        raw={"adjustment": True, "actor": request.actor, "reason": request.reason,
             "request_event_id": request.event_id},
    )


def check_adoptable(request: AdoptionRequest, open_positions: Iterable[Position]) -> None:
    """Raise AdoptionRefused unless the adoption lands as a holding of the requested outcome
    (`open_positions`: the ledger's open positions of the request's instrument)."""
    held = {p.outcome: p.quantity for p in open_positions
            if (p.venue, p.instrument_id) == (request.venue, request.instrument_id) and p.quantity > 0}
    other = "no" if request.outcome == "yes" else "yes"
    where = f"{request.venue} {request.instrument_id}"
    if request.venue == "kalshi" and held.get(other):
        raise AdoptionRefused("not_adoptable", f"the ledger holds {held[other]} {other.upper()} of {where}; "
                              "Kalshi nets a ticker into one side: remove that holding before adopting "
                              f"{request.outcome.upper()}")
    holding = held.get(request.outcome, 0)
    if holding + request.quantity < 0:
        raise AdoptionRefused("not_adoptable", f"the ledger holds {holding} {request.outcome.upper()} of {where}; "
                              f"it cannot remove {-request.quantity}")


def same_adoption(journaled: Mapping[str, Any], fill: Fill) -> bool:
    """Whether a fill already journaled under this adoption's id books the same thing (a retry)
    rather than another adoption reusing the event id."""
    return (journaled["venue"], journaled["instrument_id"], journaled["outcome"], journaled["side"],
            journaled["quantity"], journaled["price"]) == (
        fill.venue, fill.instrument_id, fill.outcome, fill.side, fill.quantity, fill.price)
