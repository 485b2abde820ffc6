"""What the gateway's handlers need from a venue, whichever venue it is.

Kalshi and Polymarket adapters implement `VenueClient`; handlers, pollers and the cache only
see this interface and the normalized contracts, never a venue payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.exchange_gateway.domain.quarantine import RejectedRow
from shared.contracts import BalanceSnapshot, ExternalPosition, Fill, Mark, OrderUpdate, SettlementRecorded, Venue


class VenueError(RuntimeError):
    """A venue call failed after retries. The message names the venue and never carries secrets."""

    def __init__(self, venue: Venue, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(f"{venue}: {message}")
        self.venue = venue
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class PositionsResult:
    """All pages of a venue's holdings; `complete=False` (with `error`) when any page failed."""

    positions: tuple[ExternalPosition, ...]
    complete: bool
    error: str | None = None


@dataclass(frozen=True)
class FillsPage:
    fills: tuple[Fill, ...]
    # None when this was the last page.
    next_cursor: str | None
    # Rows that could not be read: the poller quarantines them; the rest of the page goes on.
    rejected: tuple[RejectedRow, ...] = ()

    @property
    def events(self) -> tuple[Fill, ...]:
        return self.fills


@dataclass(frozen=True)
class SettlementsPage:
    settlements: tuple[SettlementRecorded, ...]
    # None when this was the last page.
    next_cursor: str | None
    rejected: tuple[RejectedRow, ...] = ()

    @property
    def events(self) -> tuple[SettlementRecorded, ...]:
        return self.settlements


class VenueClient(Protocol):
    venue: Venue
    account: str

    async def fetch_positions(self) -> PositionsResult: ...

    async def fetch_balance(self) -> BalanceSnapshot: ...

    async def fetch_fills_page(self, cursor: str | None, min_ts: datetime | None, limit: int) -> FillsPage: ...

    async def fetch_settlements_page(self, cursor: str | None, min_ts: datetime | None, limit: int) -> SettlementsPage: ...

    async def lookup_order(self, *, order_id: str | None = None, client_order_id: str | None = None) -> OrderUpdate | None: ...

    async def fetch_marks(self, instrument_ids: list[str]) -> list[Mark]: ...

    async def aclose(self) -> None: ...
