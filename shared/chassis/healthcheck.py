"""`python -m shared.chassis.healthcheck <service>`: exit 0 when the service answers healthy.

Used by container healthchecks: it asks over the bus, the same way the API aggregates health,
so "healthy" means reachable through NATS, not merely "process exists".
"""

from __future__ import annotations

import asyncio
import sys

from shared.bus import Bus, BusError
from shared.contracts import HealthRequest
from shared.contracts.channels import HEALTH
from shared.settings import BaseServiceSettings, load_settings


async def check(service: str) -> bool:
    # It runs inside a service's container, among that service's own settings: it reads only the bus's.
    settings = load_settings(BaseServiceSettings, strict=False)
    # As the service itself: its user may ask its own health, and receive replies only on its own inbox.
    bus = Bus(settings.nats_url, settings.bus_namespace, service)
    await bus.broker.connect()
    try:
        reply = await bus.request(HEALTH.subject(service=service), HealthRequest(), timeout=3.0)
    except BusError as exc:
        print(f"{service}: {exc}")
        return False
    finally:
        await bus.stop()
    print(f"{service}: {reply.status} {reply.checks}")
    return reply.status == "ok"


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m shared.chassis.healthcheck <service-name>")
    sys.exit(0 if asyncio.run(check(sys.argv[1])) else 1)


if __name__ == "__main__":
    main()
