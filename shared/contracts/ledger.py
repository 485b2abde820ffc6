"""Questions asked of the ledger: its positions (fills-derived book), the portfolio summary, the
portfolio's history and the instruments it holds open on a venue. Amounts are decimal strings on
the wire, like every other contract."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.base import Message, Outcome, Venue
from shared.contracts.events import SettlementResult
from shared.money import Money, Price, Quantity

PositionStatus = Literal["open", "closed"]
# own: opened by an order trueup placed; external: anything else (manual trade, another bot);
# imported: an opening balance loaded with `trueup import`.
PositionOrigin = Literal["own", "external", "imported"]
PositionOrderBy = Literal["unrealized_pnl", "cost_basis", "opened_at"]
DEFAULT_HISTORY_LIMIT = 168  # a week of hourly snapshots


class LedgerPosition(BaseModel):
    """One lifecycle of a holding in the ledger's own book (fills, settlements, imports), valued
    at the latest mark. Prices are of the held outcome (a Kalshi NO at 1 − YES)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="stable: the same lifecycle keeps its id when recomputed from the journal")
    venue: Venue
    instrument_id: str = Field(description="Kalshi market ticker or Polymarket asset (token id)")
    market_id: str = Field(description="the market: Kalshi ticker, Polymarket condition id when known, "
                                       "an imported record's market_id")
    title: str | None = None
    outcome: Outcome
    status: PositionStatus
    quantity: Quantity
    avg_price: Price = Field(description="weighted average entry price of the held outcome")
    cost_basis: Money
    realized_pnl: Money = Field(description="net of fees: reductions, settlement payout minus cost, minus every fee")
    fees: Money
    mark_price: Price | None = Field(default=None, description="latest mark of the held outcome; None: no mark yet")
    mark_as_of: datetime | None = None
    market_value: Money | None = None
    unrealized_pnl: Money | None = Field(default=None, description="(mark - avg) x quantity")
    strategy_name: str | None = None
    origin: PositionOrigin
    opened_at: datetime
    closed_at: datetime | None = None
    settlement_result: SettlementResult | None = None
    unmatched_sold: Quantity = Field(description="shares sold beyond the holding (history the ledger never saw)")
    updated_at: datetime


class PositionsQuery(Message):
    status: PositionStatus | None = None
    strategy_name: str | None = Field(default=None, min_length=1, max_length=64)
    market_id: str | None = Field(default=None, min_length=1, max_length=256)
    venue: Venue | None = None
    # Up to 10,000 a page for a service reading every open position (a big reply goes in parts);
    # the HTTP API keeps its own page bound.
    limit: int = Field(default=100, ge=1, le=10_000)
    offset: int = Field(default=0, ge=0)
    order_by: PositionOrderBy = "opened_at"
    asc: bool = False


class PositionsPage(Message):
    positions: tuple[LedgerPosition, ...] = ()
    total: int = Field(ge=0, description="positions matching the filters, before limit/offset")
    limit: int
    offset: int
    fills_pending: int | None = Field(
        default=None, ge=0,
        description="fills on the bus the ledger has not booked yet when it read the page (None: unknown); "
                    "a book with a backlog is not the account's yet")


class PositionRequest(Message):
    position_id: str = Field(min_length=1, max_length=64)


class PositionReply(Message):
    position: LedgerPosition | None = None


class PortfolioTotals(BaseModel):
    """The book's totals at one moment. Positions without a mark are valued at cost (unrealized 0)
    and counted in `unvalued_positions`; cash is the venues' latest reported balance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    open_positions: int = Field(ge=0)
    total_cost_basis: Money
    total_market_value: Money
    unrealized_pnl: Money
    realized_pnl: Money
    fees: Money
    cash: Money | None = Field(default=None, description="sum of the venues' cash; None: no balance known yet")
    net_liquidation: Money = Field(description="cash + market value")
    unvalued_positions: int = Field(ge=0)


class PortfolioSummaryRequest(Message):
    pass


class PortfolioSummary(Message):
    as_of: datetime
    totals: PortfolioTotals
    cash_as_of: datetime | None = None


class PortfolioSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    snapshot_at: datetime
    totals: PortfolioTotals


class PortfolioHistoryRequest(Message):
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=DEFAULT_HISTORY_LIMIT, ge=1, le=10_000)

    @model_validator(mode="after")
    def _window_is_ordered(self) -> PortfolioHistoryRequest:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


class PortfolioHistoryReply(Message):
    snapshots: tuple[PortfolioSnapshot, ...] = Field(default=(), description="oldest first")


class OpenInstrumentsRequest(Message):
    """Which instruments the ledger holds open on `venue`: the exchange-gateway's marks ask it."""

    venue: Venue


class OpenInstrumentsReply(Message):
    """The instruments with an open position on the venue: the gateway marks them even when the
    venue no longer holds them (a ghost), so the ledger can value every open position."""

    instrument_ids: tuple[str, ...] = Field(default=(), description="each once, sorted")
