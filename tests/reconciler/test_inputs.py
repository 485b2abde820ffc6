"""What the reconciler takes from a venue snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from services.reconciler.handlers.inputs import venue_side
from shared.contracts import ExternalPosition, ExternalPositionsSnapshot


def held(asset: str, size: str, **raw: object) -> ExternalPosition:
    return ExternalPosition(venue="polymarket", account="0xabc", instrument_id=asset, outcome="no",
                            quantity=D(size), raw={"conditionId": "0xc0nd", **raw})


def test_a_resolved_holding_awaiting_redemption_is_not_an_open_holding():
    snapshot = ExternalPositionsSnapshot(
        venue="polymarket", account="0xabc", snapshot_time=datetime(2026, 11, 1, tzinfo=UTC), complete=True,
        positions=(held("OPEN", "10", redeemable=False), held("RESOLVED", "300", redeemable=True)),
    )
    side = venue_side(snapshot)
    assert [(h.instrument_id, h.quantity, h.market_hint) for h in side.holdings] == [("OPEN", D(10), "0xc0nd")]
    assert side.complete
