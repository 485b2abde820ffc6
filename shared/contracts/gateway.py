"""Request/reply models for questions asked of the exchange-gateway (and health of every service)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts.base import ErrorInfo, Message, Outcome, Side, Venue
from shared.contracts.events import BalanceSnapshot, ExternalPositionsSnapshot, Fill, OrderUpdate
from shared.money import Price, Quantity


class PositionsRequest(Message):
    venues: tuple[Venue, ...] = ("kalshi", "polymarket")
    force_refresh: bool = False


class PositionsReply(Message):
    snapshots: tuple[ExternalPositionsSnapshot, ...]


class BalancesRequest(Message):
    venues: tuple[Venue, ...] = ("kalshi", "polymarket")
    force_refresh: bool = False


class BalancesReply(Message):
    balances: tuple[BalanceSnapshot, ...]
    errors: tuple[ErrorInfo, ...] = ()


class FillsPageRequest(Message):
    venue: Venue
    cursor: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    min_ts: datetime | None = None


class FillsPageReply(Message):
    fills: tuple[Fill, ...] = ()
    next_cursor: str | None = None
    error: ErrorInfo | None = None


class OrderLookupRequest(Message):
    venue: Venue
    order_id: str | None = None
    client_order_id: str | None = None


class OrderLookupReply(Message):
    order: OrderUpdate | None = None
    error: ErrorInfo | None = None


class PlaceOrderRequest(Message):
    venue: Venue
    client_order_id: str = Field(min_length=1, max_length=64)
    instrument_id: str
    outcome: Outcome
    side: Side
    quantity: Quantity
    limit_price: Price
    time_in_force: Literal["gtc", "ioc", "fok"] = "gtc"


class PlaceOrderReply(Message):
    order: OrderUpdate | None = None
    error: ErrorInfo | None = None


class CancelOrderRequest(Message):
    venue: Venue
    order_id: str
    instrument_id: str


class CancelOrderReply(Message):
    order: OrderUpdate | None = None
    error: ErrorInfo | None = None


class HealthRequest(Message):
    pass


class HealthReply(Message):
    service: str
    status: Literal["ok", "degraded", "down"]
    started_at: datetime
    checks: dict[str, str] = Field(default_factory=dict)
