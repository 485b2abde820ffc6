"""Importing another bot's ledger: the `positions.json` of the Rust arb bot (`controller::position_tracker`).

The file is `{"positions": {"<market_id>": ArbPosition, ...}}`; an ArbPosition holds four legs
(`kalshi_yes`, `kalshi_no`, `poly_yes`, `poly_no`, each `{contracts, cost_basis, avg_price}`),
`total_fees`, `opened_at`, `status` (open | closed | resolved), `realized_pnl`, optionally `trades`,
`next_sequence` and (newer bots) `external_ids`. Numbers are serde's floats; they are read as the
decimals they print (`parse_venue_json`), never through a binary float. Keys this module does not
know are tolerated and kept in the stored raw record (older and newer bots differ).

Validation is whole-file and pure: every record is checked (`contracts` and `total_fees` not
negative, numbers as JSON numbers — NaN refused, `opened_at` with an offset, a known `status`, the
key equal to `market_id`) and every problem is listed, naming the record and field; one problem
means nothing is imported.

How a record becomes ledger holdings (`OpeningBalance`s, see `fold`), all exact Decimal:

* **What a leg means.** The bot adds every fill to its leg (a sell is a negative add), so a leg's
  `cost_basis` is the *net cash* paid on it and `contracts` what it still holds; `avg_price` is
  derived and ignored. A leg with contracts and cost both 0 is empty.
* **Instruments.** Kalshi legs: `external_ids.kalshi_market_ticker`, else `market_id` (the bot keys
  markets by Kalshi ticker). Polymarket legs: `poly_asset_yes/no`, else `poly_token_id_yes/no`,
  else the placeholder `unmapped:<market_id>:yes|no` (the reconciler reports those as unknown
  mappings). When a later file maps such a leg, the placeholder left by the earlier import is
  closed empty (its earlier opening, PnL included, stops counting; the mapped leg carries it now).
  Two legs of one file on one instrument are an error: an instrument has one opening.
  Every instrument of a record is described by the record's `market_id` (so an arb's legs on both
  venues group as one market) and its `description` as title.
* **Kalshi nets YES and NO** of a ticker into one holding (the venue pays $1 for each matched
  pair): `min(yes, no)` pairs realize `pairs × $1 −` both legs' cost of those pairs (each leg's
  cost pro rata to its contracts); the rest is one holding of the larger side carrying that side's
  remaining cost. Equal sides leave a closed holding with only the realized pairs.
* **Holding price.** The ledger's identity `cost_basis = avg_price × quantity` holds with the average
  rounded to `AVG_QUANTUM`, and a price lies in [0, 1]: a net cost per contract outside that range
  (legs partly sold at a profit, or at a loss) is clamped, and whatever cost the holding does not
  carry — clamp and rounding residual — is realized. Hence, per record,
  `realized − cost_basis = −(net cash the legs imply)` exactly (the property tests check it).
* **Fees.** `total_fees` are not in the legs' costs (the bot keeps them apart): they are charged to
  the record's first non-empty holding (Kalshi, then Polymarket YES, then NO), as `fees` and as a
  negative in `realized_pnl`, which is net of fees in this ledger.
* **Closed or resolved records** become closed holdings (quantity 0) on each non-empty leg's
  instrument, so an imported flat market stays flat; the record's `realized_pnl` (the bot's is
  already net of fees: payout − legs − fees) and `total_fees` sit on the first. A null
  `realized_pnl` counts as 0, with a warning. A record whose PnL has no non-empty leg to sit on
  puts it on its Kalshi ticker.
* **Times and ids.** `opened_at` is the record's (RFC 3339; nanoseconds truncated to microseconds);
  `as_of` is the import's single timestamp. The import's id derives from the file digest and
  `as_of`, each holding's `source_id` from the import id, market and leg. Whether a holding is
  new — so that re-importing a file changes nothing — is the handler's question (it compares with
  the instrument's latest opening), not this module's.
* **Strategy.** The operator's `--strategy` name, if any (`[a-z0-9_]{1,32}`, as trueup names
  strategies); the origin of every imported position is `imported` (the fold sets it).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from services.ledger.domain.fold import OpeningBalance
from services.ledger.domain.positions import AVG_QUANTUM, Held
from shared.contracts import deterministic_id
from shared.money import ONE, ZERO, parse_venue_json

# The rule trueup names strategies by (shared.contracts.client_order_ids).
STRATEGY_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
# Wide enough that every sum and product of the file's numbers is exact (as in positions.py).
_EXACT = Context(prec=80)
# The record's Polymarket legs and the outcome each holds.
_POLY_LEGS: tuple[tuple[str, Held], ...] = (("poly_yes", "yes"), ("poly_no", "no"))


class ImportFileError(ValueError):
    """The file cannot be imported; `errors` lists every problem, one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# ---- the file's shapes ------------------------------------------------------------------------

def _show(value: Any) -> str:
    if isinstance(value, float):  # only NaN / Infinity get here (parse_venue_json)
        return str(value).replace("nan", "NaN").replace("inf", "Infinity")
    shown = str(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError(f"{_show(value)} is not a number")
    return Decimal(value)


def _not_negative(value: Any) -> Decimal:
    number = _number(value)
    if number < 0:
        raise ValueError(f"{_show(value)} is negative")
    return number


def _number_or_null(value: Any) -> Decimal | None:
    return None if value is None else _number(value)


Number = Annotated[Decimal, BeforeValidator(_number)]
NonNegative = Annotated[Decimal, BeforeValidator(_not_negative)]
NumberOrNull = Annotated[Decimal | None, BeforeValidator(_number_or_null)]


class _Tolerant(BaseModel):
    # Other bot versions add keys: accepted here, kept in the stored raw record.
    model_config = ConfigDict(extra="allow", frozen=True)


class PositionLeg(_Tolerant):
    contracts: NonNegative
    cost_basis: Number
    avg_price: Number

    @property
    def empty(self) -> bool:
        return self.contracts == 0 and self.cost_basis == 0


class AccountIds(_Tolerant):
    poly_address: str | None = None
    kalshi_member_id: str | None = None


class ExternalIds(_Tolerant):
    kalshi_market_ticker: str | None = None
    poly_asset_yes: str | None = None
    poly_asset_no: str | None = None
    poly_condition_id: str | None = None
    poly_token_id_yes: str | None = None
    poly_token_id_no: str | None = None
    poly_market_slug: str | None = None
    account_ids: AccountIds | None = None


class ArbPosition(_Tolerant):
    market_id: str
    description: str
    kalshi_yes: PositionLeg
    kalshi_no: PositionLeg
    poly_yes: PositionLeg
    poly_no: PositionLeg
    total_fees: NonNegative
    opened_at: AwareDatetime
    status: str
    realized_pnl: NumberOrNull = None  # serde reads a missing Option as None
    trades: list[Any] = []
    next_sequence: int | None = None
    external_ids: ExternalIds | None = None

    @field_validator("market_id")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty")
        return value

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in ("open", "closed", "resolved"):
            raise ValueError(f"{value!r} is not one of open, closed, resolved")
        return value


# ---- holdings (pure math) ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Holding:
    """What one instrument holds after the import: `realized_pnl` excludes fees (charged later)."""

    outcome: Held
    quantity: Decimal
    avg_price: Decimal
    cost_basis: Decimal
    realized_pnl: Decimal


def holding(outcome: Held, contracts: Decimal, net_cost: Decimal) -> Holding:
    """`contracts` held for `net_cost` paid: the average clamped to [0, 1] and rounded to
    `AVG_QUANTUM`; the cost the holding does not carry is realized (`realized − cost = −net_cost`)."""
    with localcontext(_EXACT):
        if contracts == 0:
            return Holding(outcome, ZERO, ZERO, ZERO, -net_cost)
        carried = min(max(net_cost, ZERO), contracts)  # a price is between $0 and $1
        avg = (carried / contracts).quantize(AVG_QUANTUM, rounding=ROUND_HALF_EVEN)
        cost_basis = avg * contracts
        return Holding(outcome, contracts, avg, cost_basis, cost_basis - net_cost)


def net_kalshi(yes: PositionLeg, no: PositionLeg) -> Holding:
    """One Kalshi ticker's YES and NO legs as one holding: matched pairs pay $1 each and are realized."""
    with localcontext(_EXACT):
        pairs = min(yes.contracts, no.contracts)
        larger, outcome = (yes, "yes") if yes.contracts >= no.contracts else (no, "no")
        smaller = no if larger is yes else yes
        # The larger leg's cost of the matched pairs, pro rata (the smaller leg's pairs are all it
        # holds, hence all its cost). Only how the cost splits between the pairs and the holding
        # depends on this quotient; the total realized does not, so its rounding loses no cash.
        larger_pairs_cost = larger.cost_basis * pairs / larger.contracts if pairs else ZERO
        remaining = holding(outcome, larger.contracts - pairs, larger.cost_basis - larger_pairs_cost)
        pairs_realized = pairs * ONE - larger_pairs_cost - smaller.cost_basis
        return Holding(remaining.outcome, remaining.quantity, remaining.avg_price, remaining.cost_basis,
                       remaining.realized_pnl + pairs_realized)


# ---- records -> openings ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Instrument:
    """An instrument an import writes to `instruments`: every leg of a record gets the record's
    market id (the arb's legs on both venues group as one market) and its description as title."""

    venue: str
    instrument_id: str
    market_id: str
    title: str | None


@dataclass(frozen=True, slots=True)
class ImportedRecord:
    market_id: str
    description: str
    status: str
    external_ids: dict[str, Any] | None  # as in the file (unknown keys kept)
    raw: dict[str, Any]  # the whole record as in the file; numbers are Decimals
    openings: tuple[OpeningBalance, ...]
    instruments: tuple[Instrument, ...]  # one per opening, same order
    # Closed, empty openings for the `unmapped:` placeholders of Polymarket legs this record now
    # maps to real ids: written only where an earlier import left a placeholder holding.
    retirements: tuple[OpeningBalance, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportPlan:
    import_id: str
    file_name: str
    file_sha256: str
    as_of: datetime
    strategy_name: str | None
    records: tuple[ImportedRecord, ...]
    warnings: tuple[str, ...]

    @property
    def openings(self) -> Iterator[OpeningBalance]:
        return (opening for record in self.records for opening in record.openings)


def unmapped_instrument(market_id: str, outcome: Held) -> str:
    return f"unmapped:{market_id}:{outcome}"


def kalshi_ticker(position: ArbPosition) -> str:
    ids = position.external_ids
    return (ids.kalshi_market_ticker if ids and ids.kalshi_market_ticker else None) or position.market_id


def poly_instrument(position: ArbPosition, outcome: Held) -> str:
    ids = position.external_ids
    known = None
    if ids is not None:
        known = (ids.poly_asset_yes or ids.poly_token_id_yes) if outcome == "yes" else \
            (ids.poly_asset_no or ids.poly_token_id_no)
    return known or unmapped_instrument(position.market_id, outcome)


@dataclass(frozen=True, slots=True)
class _Placed:
    leg: str  # "kalshi" | "poly_yes" | "poly_no": the part of the record an opening comes from
    venue: str
    instrument_id: str
    holding: Holding


def _holdings(position: ArbPosition) -> list[_Placed]:
    """The record's non-empty holdings in charging order (Kalshi, Polymarket YES, NO)."""
    placed = []
    if not (position.kalshi_yes.empty and position.kalshi_no.empty):
        placed.append(_Placed("kalshi", "kalshi", kalshi_ticker(position),
                              net_kalshi(position.kalshi_yes, position.kalshi_no)))
    for leg_name, outcome in _POLY_LEGS:
        leg: PositionLeg = getattr(position, leg_name)
        if not leg.empty:
            placed.append(_Placed(leg_name, "polymarket", poly_instrument(position, outcome),
                                  holding(outcome, leg.contracts, leg.cost_basis)))
    return placed


def placeholder_retirements(
    position: ArbPosition, *, import_id: str, as_of: datetime, strategy_name: str | None
) -> tuple[OpeningBalance, ...]:
    """A file without Polymarket ids put those legs on placeholders; once the ids are known the
    placeholders hold nothing (the fold drops their earlier opening, PnL included, so nothing counts twice)."""
    retired = []
    for leg_name, outcome in _POLY_LEGS:
        placeholder = unmapped_instrument(position.market_id, outcome)
        if poly_instrument(position, outcome) != placeholder:
            retired.append(OpeningBalance(
                source_id=deterministic_id("import", import_id, position.market_id, f"retire_{leg_name}"),
                venue="polymarket", instrument_id=placeholder, outcome=outcome,
                quantity=ZERO, avg_price=ZERO, cost_basis=ZERO, realized_pnl=ZERO, fees=ZERO,
                opened_at=position.opened_at, as_of=as_of, strategy_name=strategy_name,
            ))
    return tuple(retired)


def record_openings(
    position: ArbPosition, *, import_id: str, as_of: datetime, strategy_name: str | None
) -> tuple[list[tuple[OpeningBalance, Instrument]], list[str]]:
    """A validated record as openings (with their instruments) and warnings."""
    warnings: list[str] = []
    placed = _holdings(position)
    if position.status == "open":
        # Its holdings carry their own realized part; the fees are still to be charged.
        record_pnl = -position.total_fees
    else:
        # Closed: nothing is held, and the PnL is the bot's (payout − legs − fees: net of fees already).
        if position.realized_pnl is None:
            warnings.append(f"record {position.market_id!r}: status {position.status} without realized_pnl; "
                            "imported with realized PnL 0")
        record_pnl = position.realized_pnl or ZERO
        placed = [_Placed(p.leg, p.venue, p.instrument_id, Holding(p.holding.outcome, ZERO, ZERO, ZERO, ZERO))
                  for p in placed]
    if not placed and (record_pnl != 0 or position.total_fees != 0):
        ticker = kalshi_ticker(position)
        placed = [_Placed("kalshi", "kalshi", ticker, Holding("yes", ZERO, ZERO, ZERO, ZERO))]
    title = position.description.strip() or None
    result = []
    for i, p in enumerate(placed):
        first = i == 0  # the record's PnL and fees go on its first holding
        with localcontext(_EXACT):
            opening = OpeningBalance(
                source_id=deterministic_id("import", import_id, position.market_id, p.leg),
                venue=p.venue, instrument_id=p.instrument_id, outcome=p.holding.outcome,
                quantity=p.holding.quantity, avg_price=p.holding.avg_price, cost_basis=p.holding.cost_basis,
                realized_pnl=p.holding.realized_pnl + (record_pnl if first else ZERO),
                fees=position.total_fees if first else ZERO, opened_at=position.opened_at,
                as_of=as_of, strategy_name=strategy_name,
            )
        result.append((opening, Instrument(p.venue, p.instrument_id, position.market_id, title)))
    return result, warnings


# ---- the file ---------------------------------------------------------------------------------

def _error_text(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        problem = "missing"
    elif error["type"] == "value_error":
        problem = str(error["ctx"]["error"])
    elif error["type"] in ("timezone_aware", "datetime_from_date_parsing", "datetime_parsing", "datetime_type"):
        problem = f"{_show(error['input'])} is not an RFC 3339 time with an offset"
    else:
        problem = f"{error['msg'][0].lower()}{error['msg'][1:]}, got {_show(error['input'])}"
    return f"{where}: {problem}" if where else problem


def _non_finite(value: Any, path: str) -> Iterator[str]:
    """Where the record holds NaN or Infinity (JSON extensions serde never writes; Postgres refuses them)."""
    if isinstance(value, float):
        yield f"{path}: {_show(value)} is not a number"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, f"{path}[{i}]")


def json_text(value: Any) -> str:
    """JSON with Decimals written as the numbers they are (for jsonb), not as strings or floats."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    return json.dumps(value)


def _load(data: bytes, file_name: str) -> dict[str, Any]:
    try:
        document = parse_venue_json(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ImportFileError([f"{file_name}: not UTF-8 text (byte {exc.start})"]) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise ImportFileError([f"{file_name}: not valid JSON: {exc.msg} at {where}"]) from None
    positions = document.get("positions") if isinstance(document, dict) else None
    if not isinstance(positions, dict):
        raise ImportFileError([f'{file_name}: expected an object with a "positions" map of market id to position'])
    return positions


def parse_positions_file(
    data: bytes, *, file_name: str, as_of: datetime, strategy_name: str | None = None
) -> ImportPlan:
    """Validate the whole file and plan its import; raises ImportFileError listing every problem."""
    if strategy_name is not None and not STRATEGY_NAME.match(strategy_name):
        raise ImportFileError([f"strategy name {strategy_name!r} must be 1-32 of a-z, 0-9 and _"])
    positions = _load(data, file_name)
    file_sha256 = hashlib.sha256(data).hexdigest()
    import_id = deterministic_id("import", file_sha256, as_of.isoformat())
    errors: list[str] = []
    warnings: list[str] = []
    records: list[ImportedRecord] = []
    owners: dict[tuple[str, str], str] = {}  # instrument -> "record 'X' leg" that holds it
    for key, raw in positions.items():
        where = f"{file_name}: record {key!r}"
        if not isinstance(raw, dict):
            errors.append(f"{where}: expected an object, got {type(raw).__name__}")
            continue
        problems = list(_non_finite(raw, ""))
        try:
            position = ArbPosition.model_validate(raw)
        except ValidationError as exc:
            problems += [_error_text(e) for e in exc.errors()]
            position = None
        if isinstance(raw.get("market_id"), str) and raw["market_id"] != key:
            problems.append(f"market_id: {raw['market_id']!r} differs from the record's key")
        if problems or position is None:
            errors += [f"{where}: {problem}" for problem in dict.fromkeys(problems)]
            continue
        placed, record_warnings = record_openings(position, import_id=import_id, as_of=as_of,
                                                  strategy_name=strategy_name)
        warnings += [f"{file_name}: {w}" for w in record_warnings]
        for opening, _ in placed:
            instrument = (opening.venue, opening.instrument_id)
            if instrument in owners:
                errors.append(f"{where}: {opening.venue} instrument {opening.instrument_id!r} is also held by "
                              f"{owners[instrument]}; an instrument takes one opening, merge the records")
            else:
                owners[instrument] = f"record {key!r}"
        ids = raw.get("external_ids")
        records.append(ImportedRecord(
            market_id=position.market_id, description=position.description, status=position.status,
            external_ids=ids if isinstance(ids, dict) else None, raw=raw,
            openings=tuple(o for o, _ in placed), instruments=tuple(i for _, i in placed),
            retirements=placeholder_retirements(position, import_id=import_id, as_of=as_of,
                                                strategy_name=strategy_name),
        ))
    if errors:
        raise ImportFileError(errors)
    return ImportPlan(import_id, file_name, file_sha256, as_of, strategy_name, tuple(records), tuple(warnings))
