"""The event contracts: the one source of truth for every message on the bus.

Which model travels on which subject, and who sends and reads it, is declared in `channels`.
`proto/` and the NATS permissions are generated from both (`make proto`); a test fails on drift.
"""

from shared.contracts import channels
from shared.contracts.base import VENUES, ErrorInfo, Message, Outcome, Side, Venue, deterministic_id, new_id, utcnow
from shared.contracts.events import (
    Alert,
    BalanceSnapshot,
    DeadLetter,
    ExternalPosition,
    ExternalPositionsSnapshot,
    Fill,
    Mark,
    OrderUpdate,
    ReconciliationCompleted,
    ReconciliationItem,
    RiskStateChanged,
    SettlementRecorded,
)
from shared.contracts.gateway import (
    BalancesReply,
    BalancesRequest,
    CancelOrderReply,
    CancelOrderRequest,
    FillsPageReply,
    FillsPageRequest,
    HealthReply,
    HealthRequest,
    OrderLookupReply,
    OrderLookupRequest,
    PlaceOrderReply,
    PlaceOrderRequest,
    PositionsReply,
    PositionsRequest,
)
from shared.contracts.ledger import (
    LedgerPosition,
    PortfolioHistoryReply,
    PortfolioHistoryRequest,
    PortfolioSnapshot,
    PortfolioSummary,
    PortfolioSummaryRequest,
    PortfolioTotals,
    PositionReply,
    PositionRequest,
    PositionsPage,
    PositionsQuery,
)

ALL_MODELS: tuple[type, ...] = (
    Fill,
    OrderUpdate,
    ExternalPosition,
    ExternalPositionsSnapshot,
    BalanceSnapshot,
    Mark,
    SettlementRecorded,
    Alert,
    RiskStateChanged,
    ReconciliationItem,
    ReconciliationCompleted,
    DeadLetter,
    ErrorInfo,
    PositionsRequest,
    PositionsReply,
    BalancesRequest,
    BalancesReply,
    FillsPageRequest,
    FillsPageReply,
    OrderLookupRequest,
    OrderLookupReply,
    PlaceOrderRequest,
    PlaceOrderReply,
    CancelOrderRequest,
    CancelOrderReply,
    HealthRequest,
    HealthReply,
    LedgerPosition,
    PositionsQuery,
    PositionsPage,
    PositionRequest,
    PositionReply,
    PortfolioTotals,
    PortfolioSummaryRequest,
    PortfolioSummary,
    PortfolioSnapshot,
    PortfolioHistoryRequest,
    PortfolioHistoryReply,
)

__all__ = [name for name in dir() if not name.startswith("_")]
