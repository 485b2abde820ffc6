"""Facts published on JetStream."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.base import Message, Outcome, Side, Venue
from shared.money import Money, Price, Quantity

# Polymarket trades are provisional until CONFIRMED and may still FAIL; Kalshi fills are final.
FillStatus = Literal["matched", "mined", "confirmed", "retrying", "failed"]
OrderStatus = Literal["pending", "open", "partially_filled", "filled", "canceled", "rejected", "expired", "unknown"]
TradingState = Literal["ACTIVE", "REDUCING", "HALTED"]
Severity = Literal["info", "warning", "critical"]
ReconciliationStatus = Literal["match", "mismatch", "unknown_mapping", "api_error"]
# Kalshi's four; a Polymarket market that resolves to one token is "yes" (outcome index 0) or "no".
SettlementResult = Literal["yes", "no", "scalar", "void"]
ValuationSource = Literal["mark", "venue"]


class Fill(Message):
    venue: Venue
    account: str
    fill_id: str
    order_id: str | None = None
    client_order_id: str | None = None
    instrument_id: str = Field(description="Kalshi market ticker or Polymarket asset (token id)")
    outcome: Outcome
    side: Side
    quantity: Quantity
    price: Price
    fee: Money
    status: FillStatus
    is_taker: bool | None = None
    executed_at: datetime
    raw: dict[str, Any] = Field(default_factory=dict, description="venue payload, for debugging")


class OrderUpdate(Message):
    venue: Venue
    order_id: str | None = None
    client_order_id: str | None = None
    instrument_id: str
    outcome: Outcome
    side: Side
    status: OrderStatus
    limit_price: Price | None = None
    quantity: Quantity
    filled_quantity: Quantity
    remaining_quantity: Quantity
    average_fill_price: Price | None = None
    updated_at: datetime
    raw: dict[str, Any] = Field(default_factory=dict)


class SettlementRecorded(Message):
    """A market the account held has settled, and what it paid: one event per venue, account and
    market (`event_id` = deterministic_id(venue, "settlement", account, instrument_id))."""

    venue: Venue
    account: str
    instrument_id: str = Field(description="Kalshi market ticker or Polymarket condition id")
    yes_token_id: str | None = Field(default=None, description="Polymarket: the token of outcome index 0 (yes)")
    no_token_id: str | None = Field(default=None, description="Polymarket: the token of outcome index 1 (no)")
    result: SettlementResult
    value: Price | None = Field(default=None, description="payout per YES contract/share in USD (1 or 0 on yes/no)")
    yes_count: Quantity
    no_count: Quantity
    yes_cost: Money = Field(description="what the settled YES contracts/shares cost")
    no_cost: Money
    revenue: Money = Field(description="what the settlement paid the account")
    fees: Money
    settled_at: datetime = Field(
        description="Kalshi: settled_time; Polymarket (which reports no resolution time): when the gateway "
        "first saw the market resolved"
    )
    raw: dict[str, Any] = Field(default_factory=dict, description="venue payload, for debugging")


class ExternalPosition(BaseModel):
    """One holding as the venue reports it, normalized across venues."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    venue: Venue
    account: str
    instrument_id: str
    outcome: Outcome
    quantity: Quantity = Field(
        description="contracts or shares held of `outcome`; Kalshi's netted position_fp < 0 becomes outcome=no"
    )
    avg_price: Price | None = None
    cost_basis: Money | None = None
    market_value: Money | None = None
    realized_pnl: Money | None = None
    fees: Money | None = None
    title: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
    # Valuation, set by the gateway when it answers (the venue's snapshot fact leaves them unset).
    mark_price: Price | None = Field(default=None, description="price of the held outcome the value uses")
    mark_as_of: datetime | None = None
    unrealized_pnl: Money | None = Field(default=None, description="market_value - cost_basis")
    valuation_source: ValuationSource | None = Field(
        default=None, description="mark: our latest mark; venue: the venue's own value (Polymarket currentValue)"
    )


class ExternalPositionsSnapshot(Message):
    """A venue's holdings at one moment. `complete=False` means some page failed: never a match.

    A big account's snapshot does not fit one JetStream message: it is published as `parts`
    facts sharing `snapshot_id` (and every other field), each with some of the positions. Only
    all parts together say what the venue no longer holds."""

    venue: Venue
    account: str
    snapshot_time: datetime
    complete: bool
    error: str | None = None
    status: Literal["ok", "error", "not_configured"] = "ok"
    positions: tuple[ExternalPosition, ...] = ()
    snapshot_id: str | None = Field(default=None, description="the whole snapshot's id when sent in parts")
    part: int = Field(default=0, ge=0)
    parts: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _part_of_whole(self) -> ExternalPositionsSnapshot:
        if self.part >= self.parts:
            raise ValueError(f"part {self.part} of {self.parts}: parts are numbered from 0")
        if self.parts > 1 and not self.snapshot_id:
            raise ValueError("a snapshot sent in parts names its snapshot_id")
        return self


class BalanceSnapshot(Message):
    venue: Venue
    account: str
    cash: Money
    portfolio_value: Money | None = None
    as_of: datetime


class Mark(Message):
    venue: Venue
    instrument_id: str
    best_bid: Price | None = None
    best_ask: Price | None = None
    mid: Price | None = None
    last: Price | None = None
    as_of: datetime


class Alert(Message):
    severity: Severity
    source: str
    code: str
    message: str
    dedup_key: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class RiskStateChanged(Message):
    previous: TradingState | None = None
    state: TradingState
    reason: str
    trigger: str
    actor: str


# orphaned: held at the venue, absent from the ledger; ghost: in the ledger, not at the venue;
# drift: both, in different quantities (or cost basis beyond the tolerance).
ReconciliationDifference = Literal["orphaned", "ghost", "drift"]
ReconciliationTrigger = Literal["startup", "schedule", "on_demand", "reconnect"]


class ReconciliationItem(BaseModel):
    """One (venue, instrument, outcome): the ledger's open quantity beside the venue's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    venue: Venue
    instrument_id: str
    outcome: Outcome
    market_id: str | None = Field(default=None, description="the mapped market; None: no mapping (unknown_mapping)")
    title: str | None = None
    internal_quantity: Quantity = Field(description="the ledger's open quantity (0 when it holds none)")
    external_quantity: Quantity | None = Field(default=None, description="the venue's; None when the venue's "
                                                                         "snapshot failed (api_error)")
    internal_cost_basis: Money | None = None
    external_cost_basis: Money | None = None
    diff_quantity: Quantity | None = Field(default=None, description="external - internal")
    diff_cost_basis: Money | None = Field(default=None, description="external - internal, where both have one")
    status: ReconciliationStatus
    difference: ReconciliationDifference | None = None
    reason: str
    acknowledged: bool = Field(default=False, description="an operator marked this difference as known")


# A fact is one JetStream message (1 MB): a big run's items stay with the stored run.
MAX_PUBLISHED_DIFFERENCES = 200


class ReconciliationCompleted(Message):
    """A run finished. Its differences (mismatch items) ride along up to MAX_PUBLISHED_DIFFERENCES;
    every item of the run is read with `rpc.reconciler.run`."""

    run_id: str
    trigger: ReconciliationTrigger
    started_at: datetime
    finished_at: datetime
    snapshot_time: datetime
    summary: dict[ReconciliationStatus, int]
    differences: tuple[ReconciliationItem, ...] = Field(default=(), max_length=MAX_PUBLISHED_DIFFERENCES)
    differences_total: int = Field(default=0, ge=0)


class VenueConnectivity(Message):
    """The exchange-gateway lost or regained a venue (its feeds failing, then polling again): a
    reconnect is when fills may have been missed, so the reconciler runs."""

    venue: Venue
    connected: bool
    since: datetime
    reason: str


class DeadLetter(Message):
    """A message a consumer could not accept, kept verbatim (truncated) with the reason."""

    original_subject: str
    consumer: str
    error: str
    payload: str = Field(description="original bytes as text, truncated to 64 KiB")
