"""What the reconciler reads beyond every service's settings."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shared.settings import BaseServiceSettings


class ReconcilerSettings(BaseServiceSettings):
    # A scheduled run every this many seconds (one at start-up and after a venue reconnects too).
    reconcile_interval_seconds: float = Field(default=300, ge=1)
    # Quantity differences up to this many contracts/shares count as a match (dust); 0: exact.
    reconcile_dust_tolerance: Decimal = Field(default=Decimal("0"), ge=0)
