"""The event contracts: the one source of truth for every message on the bus.

`proto/` is generated from these models (`make proto`) and a test fails when it drifts.
"""

from shared.contracts import subjects
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

# Which model travels on which subject: the AsyncAPI document and the bus helpers read this.
EVENT_CHANNELS: dict[str, type[Message]] = {
    subjects.FILLS + ".{venue}": Fill,
    subjects.ORDER_UPDATES + ".{venue}": OrderUpdate,
    subjects.EXTERNAL_SNAPSHOTS + ".{venue}": ExternalPositionsSnapshot,
    subjects.BALANCES + ".{venue}": BalanceSnapshot,
    subjects.MARKS + ".{venue}": Mark,
    subjects.SETTLEMENTS + ".{venue}": SettlementRecorded,
    subjects.ALERTS: Alert,
    subjects.RISK_STATE: RiskStateChanged,
    subjects.RECONCILIATIONS: ReconciliationCompleted,
    subjects.DEAD_LETTER + ".{subject}": DeadLetter,
}

RPC_CHANNELS: dict[str, tuple[type[Message], type[Message]]] = {
    subjects.GATEWAY_POSITIONS: (PositionsRequest, PositionsReply),
    subjects.GATEWAY_BALANCES: (BalancesRequest, BalancesReply),
    subjects.GATEWAY_FILLS_PAGE: (FillsPageRequest, FillsPageReply),
    subjects.GATEWAY_ORDER_LOOKUP: (OrderLookupRequest, OrderLookupReply),
    subjects.GATEWAY_PLACE_ORDER: (PlaceOrderRequest, PlaceOrderReply),
    subjects.GATEWAY_CANCEL_ORDER: (CancelOrderRequest, CancelOrderReply),
    subjects.HEALTH + ".{service}": (HealthRequest, HealthReply),
}

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
)

__all__ = [name for name in dir() if not name.startswith("_")]
