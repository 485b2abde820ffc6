"""Shapes the gateway's replies into the `external` object the UI and seed-000 clients read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.contracts import VENUES, BalancesReply, PositionsReply


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
