"""Bootstrap for exchange-gateway: the one process that loads venue secrets.

Wires the venue clients (only for venues with credentials), the request/reply answers, a fill
poller, a settlement poller and a mark publisher per venue (marking what the venue and what the
ledger holds there), on the shared service chassis. Each feed's health (last successful poll,
lag, quarantined rows; degraded once stalled) is one health check, `<venue>.<feed>`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from services.exchange_gateway.adapters.fill_store import FillStore
from services.exchange_gateway.adapters.ledger_holdings import LedgerHoldings
from services.exchange_gateway.adapters.settlement_store import SettlementStore
from services.exchange_gateway.adapters.venue import VenueClient
from services.exchange_gateway.adapters.venues import build_venue_clients
from services.exchange_gateway.domain.feed_health import FeedHealth
from services.exchange_gateway.handlers.feed_poller import FeedPoller, fills_feed, settlements_feed
from services.exchange_gateway.handlers.marks import run_mark_publisher
from services.exchange_gateway.handlers.queries import VenueQueries
from services.exchange_gateway.settings import GatewaySettings
from shared.chassis import Service, run_service
from shared.contracts import VENUES, utcnow
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
    # An answer is bounded like one venue read, so it always reaches the API inside its wait.
    queries = VenueQueries(clients, service.bus, settings.positions_cache_ttl_seconds,
                           answer_deadline_seconds=settings.venue_read_deadline_seconds)
    queries.register(service.bus)
    # Snapshot facts go out in the background: stopping waits for the ones still pending.
    service.on_stop(queries.facts.drain)
    # Marked besides the venues' own holdings: what the ledger holds that a venue no longer does.
    ledger_holdings = LedgerHoldings(service.bus)

    for venue in VENUES:
        if venue not in clients:
            log.warning("venue not configured; serving the other venue only", venue=venue)
            service.health_checks[venue] = _constant("ok (not configured)")
    for client in clients.values():
        service.health_checks[client.venue] = _constant("ok")
        _poll_feeds(service, client, settings)

        async def publish_marks(client=client) -> None:
            await run_mark_publisher(client, queries, ledger_holdings, service.bus, settings.mark_interval_seconds)

        publish_marks.__name__ = f"publish_marks_{client.venue}"
        service.background(publish_marks)
        service.on_stop(client.aclose)
    return service


def _poll_feeds(service: Service, client: VenueClient, settings: GatewaySettings) -> None:
    stall_after = timedelta(seconds=settings.feed_stall_seconds)
    for feed, store_type, interval in (
        (fills_feed(client), FillStore, settings.fill_poll_interval_seconds),
        (settlements_feed(client), SettlementStore, settings.settlement_poll_interval_seconds),
    ):
        health = FeedHealth(client.venue, feed.name, utcnow())

        async def check(health=health) -> str:
            return health.report(utcnow(), stall_after)

        async def poll(feed=feed, store_type=store_type, interval=interval, health=health) -> None:
            assert service.pool is not None
            await FeedPoller(client.venue, feed, store_type(service.pool), service.bus, interval, health).run_forever()

        poll.__name__ = f"poll_{feed.name}_{client.venue}"
        service.health_checks[f"{client.venue}.{feed.name}"] = check
        service.background(poll)


def _constant(value: str):
    async def check() -> str:
        return value

    return check


def main() -> None:
    run_service(SERVICE_NAME, build)
