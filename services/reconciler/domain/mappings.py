"""Which mapped market (and which of its four legs) a venue instrument belongs to.

An `InstrumentMapping`'s `external_ids` claim instruments:

* `kalshi_market_ticker` claims both outcomes of that Kalshi ticker (legs `kalshi_yes`/`kalshi_no`
  by the holding's outcome: Kalshi nets a ticker into one YES or NO holding);
* `poly_asset_yes` / `poly_asset_no` claim that Polymarket token (legs `poly_yes` / `poly_no`: the
  token says which outcome it is, whatever a row's outcome says);
* `poly_condition_id` claims a Polymarket holding whose `market_hint` is that condition id (leg by
  the holding's outcome) — only when no asset id claims the token, because an asset id names the
  token itself and a condition id only its market (seed 000 orders them by preference).

`poly_market_slug` is for people (debug/UI) and claims nothing. Instruments named `unmapped:...`
(an imported Polymarket leg that had no asset id) never map: no venue reports such an instrument.

Two mappings claiming one instrument is an operator error the reconciler cannot settle; it stays
deterministic: the lexicographically first `market_id` wins and the item's reason names the rivals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from shared.contracts.reconciler import InstrumentMapping, Leg

UNMAPPED_PREFIX = "unmapped:"


class Claim(NamedTuple):
    """The market an instrument reconciles under; `rivals`: other markets that claim it too."""

    market_id: str
    leg: Leg
    rivals: tuple[str, ...] = ()


# A Kalshi ticker's leg follows the holding's outcome.
_KALSHI_LEGS: dict[str, Leg] = {"yes": "kalshi_yes", "no": "kalshi_no"}
_POLY_LEGS: dict[str, Leg] = {"yes": "poly_yes", "no": "poly_no"}


class MappingIndex:
    """Built once per run from the mappings; `claim` is one or two dict look-ups per holding."""

    def __init__(self, mappings: Iterable[InstrumentMapping]) -> None:
        tickers: dict[str, set[str]] = {}
        assets: dict[str, set[tuple[str, Leg]]] = {}
        conditions: dict[str, set[str]] = {}
        self.titles: dict[str, str | None] = {}
        for mapping in mappings:
            ids = mapping.external_ids
            self.titles[mapping.market_id] = mapping.title
            if ids.kalshi_market_ticker:
                tickers.setdefault(ids.kalshi_market_ticker, set()).add(mapping.market_id)
            if ids.poly_asset_yes:
                assets.setdefault(ids.poly_asset_yes, set()).add((mapping.market_id, "poly_yes"))
            if ids.poly_asset_no:
                assets.setdefault(ids.poly_asset_no, set()).add((mapping.market_id, "poly_no"))
            if ids.poly_condition_id:
                conditions.setdefault(ids.poly_condition_id, set()).add(mapping.market_id)
        # Winner and rivals are settled here, once, so a holding's look-up does no sorting. Per venue,
        # the claims by instrument id, then by the holding's outcome: the one look-up the diff makes
        # for most keys. An instrument missing there may still be claimed through `claim` (a
        # Polymarket holding by its condition id).
        self.by_instrument: dict[str, dict[str, dict[str, Claim]]] = {
            "kalshi": {ticker: _by_outcome(markets, _KALSHI_LEGS) for ticker, markets in tickers.items()
                       if not ticker.startswith(UNMAPPED_PREFIX)},
            "polymarket": {asset: _first_leg(claims) for asset, claims in assets.items()
                           if not asset.startswith(UNMAPPED_PREFIX)},
        }
        self._conditions = {condition: _by_outcome(markets, _POLY_LEGS) for condition, markets in conditions.items()}

    def claim(self, venue: str, instrument_id: str, outcome: str, market_hint: str | None) -> Claim | None:
        if instrument_id.startswith(UNMAPPED_PREFIX):
            return None
        by_outcome = self.by_instrument[venue].get(instrument_id)
        if by_outcome is not None:
            return by_outcome[outcome]
        if venue == "kalshi":
            return None
        by_condition = self._conditions.get(market_hint) if market_hint else None
        return by_condition[outcome] if by_condition else None


# `Claim(...)` goes through a generated Python `__new__`; the index builds three claims per mapping,
# so it builds the tuples directly.
_new_claim = tuple.__new__


def _by_outcome(markets: set[str], legs: dict[str, Leg]) -> dict[str, Claim]:
    if len(markets) == 1:
        (first,) = markets
        rivals: tuple[str, ...] = ()
    else:
        first, *others = sorted(markets)
        rivals = tuple(others)
    return {"yes": _new_claim(Claim, (first, legs["yes"], rivals)),
            "no": _new_claim(Claim, (first, legs["no"], rivals))}


def _first_leg(claims: set[tuple[str, Leg]]) -> dict[str, Claim]:
    """An asset id names its token, so both outcomes of a holding get the token's leg."""
    if len(claims) == 1:
        ((market_id, leg),) = claims
        rivals: tuple[str, ...] = ()
    else:
        ordered = sorted(claims)
        market_id, leg = ordered[0]
        rivals = tuple(sorted({m for m, _ in ordered[1:]} - {market_id}))
    claim = _new_claim(Claim, (market_id, leg, rivals))
    return {"yes": claim, "no": claim}
