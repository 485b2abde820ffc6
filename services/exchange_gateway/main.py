"""Bootstrap for exchange-gateway: the one process that loads venue secrets.

Wires the venue clients (only for venues with credentials), the request/reply answers, a fill
poller and a mark publisher per venue, on the shared service chassis.
"""

from __future__ import annotations

from pathlib import Path

from services.exchange_gateway.adapters.fill_store import FillStore
from services.exchange_gateway.adapters.venues import build_venue_clients
from services.exchange_gateway.handlers.fill_poller import FillPoller
from services.exchange_gateway.handlers.marks import run_mark_publisher
from services.exchange_gateway.handlers.queries import VenueQueries
from services.exchange_gateway.settings import GatewaySettings
from shared.chassis import Service, run_service
from shared.contracts import VENUES
from shared.logs import get_logger
from shared.settings import load_settings

SERVICE_NAME = "exchange-gateway"
SCHEMA = "gateway"
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"

log = get_logger(__name__)


def build() -> Service:
    settings = load_settings(GatewaySettings)
    clients = build_venue_clients(settings)
    service = Service(SERVICE_NAME, settings, schema=SCHEMA, migrations=MIGRATIONS)
    queries = VenueQueries(clients, service.bus, settings.positions_cache_ttl_seconds)
    queries.register(service.bus)

    for venue in VENUES:
        if venue not in clients:
            log.warning("venue not configured; serving the other venue only", venue=venue)
            service.health_checks[venue] = _constant("ok (not configured)")
    for client in clients.values():
        service.health_checks[client.venue] = _constant("ok")

        async def poll_fills(client=client) -> None:
            assert service.pool is not None
            poller = FillPoller(client, FillStore(service.pool), service.bus, settings.fill_poll_interval_seconds)
            await poller.run_forever()

        async def publish_marks(client=client) -> None:
            await run_mark_publisher(client, queries, service.bus, settings.mark_interval_seconds)

        poll_fills.__name__ = f"poll_fills_{client.venue}"
        publish_marks.__name__ = f"publish_marks_{client.venue}"
        service.background(poll_fills)
        service.background(publish_marks)
        service.on_stop(client.aclose)
    return service


def _constant(value: str):
    async def check() -> str:
        return value

    return check


def main() -> None:
    run_service(SERVICE_NAME, build)
