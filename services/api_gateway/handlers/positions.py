"""Positions area: what the trader actually holds on each venue (from the exchange-gateway)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from services.api_gateway.domain.external import external_view
from shared.bus import Bus, BusError
from shared.contracts import BalancesRequest, PositionsRequest, utcnow
from shared.contracts.channels import GATEWAY_BALANCES, GATEWAY_POSITIONS, GATEWAY_REPLY_TIMEOUT_SECONDS

# Paging every venue can take a while on a big account; the UI shows a spinner meanwhile.
GATEWAY_TIMEOUT_SECONDS = GATEWAY_REPLY_TIMEOUT_SECONDS


class PositionsController(Controller):
    path = "/api/positions"
    tags = ["positions"]

    @get("/external", summary="Holdings and balances as each venue reports them, with per-venue errors")
    async def external(
        self,
        bus: Bus,
        refresh: int = Parameter(default=0, ge=0, le=1, description="1 bypasses the gateway's short cache"),
    ) -> Response[dict[str, Any]]:
        force = refresh == 1
        try:
            positions, balances = await asyncio.gather(
                bus.request(GATEWAY_POSITIONS.subject(), PositionsRequest(force_refresh=force),
                            timeout=GATEWAY_TIMEOUT_SECONDS),
                bus.request(GATEWAY_BALANCES.subject(), BalancesRequest(force_refresh=force),
                            timeout=GATEWAY_TIMEOUT_SECONDS),
            )
        except BusError as exc:
            message = f"exchange-gateway unavailable: {exc}"
            body = {"external": {"snapshot_time": utcnow().isoformat(), "kalshi": None, "polymarket": None,
                                 "errors": {"kalshi": message, "polymarket": message}}}
            return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"external": external_view(positions, balances, utcnow())}, status_code=HTTP_200_OK)
