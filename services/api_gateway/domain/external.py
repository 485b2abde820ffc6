"""Shapes the gateway's replies into the `external` object the UI and seed-000 clients read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.contracts import VENUES, BalancesReply, ExternalPosition, PositionsReply
from shared.money import ZERO


@dataclass(frozen=True)
class VenueTotals:
    """Sums over one venue's holdings, exact. `unvalued` holdings (no market value known) are
    left out of the market value and unrealized PnL sums and counted, so a partial total is
    never read as a full one."""

    cost_basis: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    unvalued: int
    cash: Decimal | None

    def as_json(self) -> dict[str, Any]:
        return {
            "cost_basis": str(self.cost_basis),
            "market_value": str(self.market_value),
            "unrealized_pnl": str(self.unrealized_pnl),
            "unvalued": self.unvalued,
            "cash": str(self.cash) if self.cash is not None else None,
        }


def venue_totals(positions: Iterable[ExternalPosition], cash: Decimal | None) -> VenueTotals:
    held = list(positions)
    return VenueTotals(
        cost_basis=sum((p.cost_basis for p in held if p.cost_basis is not None), ZERO),
        market_value=sum((p.market_value for p in held if p.market_value is not None), ZERO),
        unrealized_pnl=sum((p.unrealized_pnl for p in held if p.unrealized_pnl is not None), ZERO),
        unvalued=sum(1 for p in held if p.market_value is None),
        cash=cash,
    )


def external_view(positions: PositionsReply, balances: BalancesReply, now: datetime) -> dict[str, Any]:
    by_venue = {s.venue: s for s in positions.snapshots}
    balance_by_venue = {b.venue: b for b in balances.balances}
    errors: dict[str, str] = {}
    view: dict[str, Any] = {}
    for venue in VENUES:
        snapshot = by_venue.get(venue)
        balance = balance_by_venue.get(venue)
        if snapshot is None:
            view[venue] = None
            errors[venue] = f"{venue}: no snapshot returned"
            continue
        if snapshot.error:
            errors[venue] = snapshot.error
        view[venue] = {
            "status": snapshot.status,
            "complete": snapshot.complete,
            "account": snapshot.account,
            "snapshot_time": snapshot.snapshot_time.isoformat(),
            "age_seconds": str(round((now - snapshot.snapshot_time).total_seconds(), 1)),
            "positions": [p.model_dump(mode="json") for p in snapshot.positions],
            "balance": balance.model_dump(mode="json", include={"cash", "portfolio_value", "as_of"}) if balance else None,
            "totals": venue_totals(snapshot.positions, balance.cash if balance else None).as_json(),
        }
    for error in balances.errors:
        if error.venue and error.venue not in errors:
            errors[error.venue] = error.message
    times = [s.snapshot_time for s in positions.snapshots]
    return {
        "snapshot_time": (min(times) if times else now).isoformat(),
        **view,
        "errors": errors,
    }
