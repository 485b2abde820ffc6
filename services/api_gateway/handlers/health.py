from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from pydantic import BaseModel

from services.api_gateway.domain.health import ServiceHealth, Status, overall_status
from services.api_gateway.handlers.auth import PUBLIC
from shared.bus import Bus, BusError
from shared.contracts import HealthRequest
from shared.contracts.channels import HEALTH, SERVICES

SELF = "api-gateway"


class ServiceHealthOut(BaseModel):
    status: Status
    detail: dict[str, str]


class HealthOut(BaseModel):
    status: Status
    services: dict[str, ServiceHealthOut]


async def ask_health(bus: Bus, service: str, timeout: float) -> ServiceHealth:
    try:
        reply = await bus.request(HEALTH.subject(service=service), HealthRequest(), timeout=timeout)
    except BusError as exc:
        return ServiceHealth(service, "down", {"error": str(exc)})
    return ServiceHealth(service, reply.status, {**reply.checks, "started_at": reply.started_at.isoformat()})


class HealthController(Controller):
    path = "/api/health"
    tags = ["health"]

    # Open to all: what a load balancer, `make run` and the login page itself poll.
    @get("/", summary="Health of every trueup service, asked over the bus", opt={PUBLIC: True})
    async def health(self, bus: Bus, health_timeout: float) -> Response[HealthOut]:
        answers = await asyncio.gather(
            *(ask_health(bus, name, health_timeout) for name in SERVICES)
        )
        status = overall_status(list(answers))
        body = HealthOut(
            status=status,
            services={a.service: ServiceHealthOut(status=a.status, detail=a.detail) for a in answers},
        )
        return Response(body, status_code=HTTP_200_OK if status == "ok" else HTTP_503_SERVICE_UNAVAILABLE)
