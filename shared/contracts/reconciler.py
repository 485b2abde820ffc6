"""Questions asked of the reconciler (mappings, runs, the overview, operator actions) and the two
it asks of the ledger (imported markets, adoption of a venue holding)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.base import ErrorInfo, Message, Outcome, Venue
from shared.contracts.events import (
    ExternalPositionsSnapshot,
    ReconciliationItem,
    ReconciliationStatus,
    ReconciliationTrigger,
)
from shared.contracts.ledger import LedgerPosition
from shared.money import Money, Price, Quantity

MappingSource = Literal["operator", "import"]
OperatorAction = Literal["acknowledge", "adopt", "map"]
# A market's four legs, as seed 000 names them.
Leg = Literal["kalshi_yes", "kalshi_no", "poly_yes", "poly_no"]
_ID = Field(default=None, min_length=1, max_length=256)


class ExternalIds(BaseModel):
    """How one internal market is known on each venue (seed 000's `external_ids`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kalshi_market_ticker: str | None = _ID
    poly_asset_yes: str | None = _ID
    poly_asset_no: str | None = _ID
    poly_condition_id: str | None = _ID
    poly_market_slug: str | None = _ID


class InstrumentMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    market_id: str = Field(min_length=1, max_length=256)
    external_ids: ExternalIds
    title: str | None = None
    source: MappingSource
    updated_at: datetime
    updated_by: str


class MappingsRequest(Message):
    market_id: str | None = Field(default=None, min_length=1, max_length=256)


class MappingsReply(Message):
    mappings: tuple[InstrumentMapping, ...] = ()


class PutMappingRequest(Message):
    market_id: str = Field(min_length=1, max_length=256)
    external_ids: ExternalIds
    title: str | None = Field(default=None, max_length=500)
    actor: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _names_something(self) -> PutMappingRequest:
        if not any(self.external_ids.model_dump().values()):
            raise ValueError("external_ids: a mapping names at least one venue id")
        return self


class DeleteMappingRequest(Message):
    market_id: str = Field(min_length=1, max_length=256)
    actor: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="", max_length=1000)


class MappingReply(Message):
    mapping: InstrumentMapping | None = None
    error: ErrorInfo | None = None


class LegQuantities(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: Quantity
    cost_basis: Money | None = None


class MarketReconciliation(BaseModel):
    """One mapped market: its legs on both sides, the differences and one status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    market_id: str
    title: str | None = None
    internal: dict[Leg, LegQuantities]
    external: dict[Leg, LegQuantities]
    diff_contracts: dict[Leg, Quantity]
    diff_cost_basis: dict[Leg, Money]
    status: ReconciliationStatus
    reason: str
    items: tuple[ReconciliationItem, ...]


class ReconciliationRun(BaseModel):
    """Seed 000's reconciliation object, with the run's identity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    trigger: ReconciliationTrigger | Literal["overview"]
    started_at: datetime
    finished_at: datetime
    snapshot_time: datetime
    summary: dict[ReconciliationStatus, int]
    by_market_id: dict[str, MarketReconciliation] = Field(default_factory=dict)
    unmapped: tuple[ReconciliationItem, ...] = ()
    errors: dict[Venue, str] = Field(default_factory=dict)


class ReconcileRequest(Message):
    actor: str = Field(min_length=1, max_length=128)


class ReconcileReply(Message):
    run: ReconciliationRun | None = None
    error: ErrorInfo | None = None


class ReconciliationsQuery(Message):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class ReconciliationSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    trigger: ReconciliationTrigger
    started_at: datetime
    finished_at: datetime
    snapshot_time: datetime
    summary: dict[ReconciliationStatus, int]


class ReconciliationsPage(Message):
    runs: tuple[ReconciliationSummary, ...] = ()
    total: int = Field(ge=0)


class ReconciliationRequest(Message):
    run_id: str = Field(min_length=1, max_length=64)


class OverviewRequest(Message):
    refresh_external: bool = False


class OverviewReply(Message):
    """`{internal, external, reconciliation}` as seed 000 describes: the ledger's open positions,
    the gateway's snapshots (its TTL cache honoured unless refreshed) and their reconciliation."""

    internal: tuple[LedgerPosition, ...] = ()
    external: tuple[ExternalPositionsSnapshot, ...] = ()
    reconciliation: ReconciliationRun | None = None
    error: ErrorInfo | None = None


class OperatorActionRequest(Message):
    """acknowledge: a known difference (kept visible, not alerted); adopt: book the venue's holding
    into the ledger; map: attach the instrument to `market_id`."""

    action: OperatorAction
    venue: Venue
    instrument_id: str = Field(min_length=1, max_length=256)
    outcome: Outcome
    market_id: str | None = Field(default=None, min_length=1, max_length=256)
    actor: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _map_names_a_market(self) -> OperatorActionRequest:
        if self.action == "map" and self.market_id is None:
            raise ValueError("market_id: map attaches the instrument to a market; name it")
        return self


class OperatorActionReply(Message):
    done: bool
    message: str
    error: ErrorInfo | None = None


# ---- what the reconciler asks of the ledger -------------------------------------------------------

class ImportedMarketsRequest(Message):
    pass


class ImportedMarket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    market_id: str
    description: str | None = None
    external_ids: ExternalIds


class ImportedMarketsReply(Message):
    """The latest `external_ids` of every imported record that carried them."""

    markets: tuple[ImportedMarket, ...] = ()


class AdoptionRequest(Message):
    """Book a venue holding the ledger lacks (or the part it lacks) as an external adjustment, so
    the ledger's quantity becomes the venue's. `event_id` makes a retried request book once."""

    venue: Venue
    account: str
    instrument_id: str = Field(min_length=1, max_length=256)
    outcome: Outcome
    quantity: Quantity = Field(description="signed: + adds to the held outcome, - removes")
    price: Price = Field(description="the venue's average price for the holding, booked as the adjustment's price")
    actor: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=1000)


class AdoptionReply(Message):
    booked: bool
    error: ErrorInfo | None = None
