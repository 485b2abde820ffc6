"""Bootstrap for ledger: settings, chassis, wiring."""

from __future__ import annotations

from pathlib import Path

from services.ledger.handlers.gateway_queries import answer_gateway
from services.ledger.handlers.ingest import ingest_fills, ingest_settlements
from services.ledger.handlers.portfolio_snapshots import snapshot_portfolio_task
from services.ledger.handlers.queries import answer_queries
from services.ledger.handlers.reconciler_queries import answer_reconciler
from services.ledger.handlers.venue_facts import ingest_balances, ingest_marks, mirror_venue_snapshots
from services.ledger.settings import LedgerSettings
from shared.chassis import Service, run_service
from shared.contracts.channels import BALANCES, EXTERNAL_SNAPSHOTS, FILLS, MARKS, SETTLEMENTS
from shared.settings import load_settings

SERVICE_NAME = "ledger"
SCHEMA = "ledger"


def build() -> Service:
    settings = load_settings(LedgerSettings, service=SERVICE_NAME)
    service = Service(SERVICE_NAME, settings, schema=SCHEMA,
                      migrations=Path(__file__).parent / "adapters" / "migrations")
    batches = dict(max_messages=settings.ingest_batch_max_messages,
                   max_wait_seconds=settings.ingest_batch_max_wait_seconds)

    def with_pool(handler):
        # The pool exists once the service has started, before the bus delivers anything.
        async def handle(events):
            assert service.pool is not None
            await handler(service.pool, events)
        return handle

    service.bus.consume_batches(FILLS, with_pool(ingest_fills), **batches)
    service.bus.consume_batches(SETTLEMENTS, with_pool(ingest_settlements), **batches)
    service.bus.consume_batches(MARKS, with_pool(ingest_marks), **batches)
    service.bus.consume_batches(BALANCES, with_pool(ingest_balances), **batches)
    service.bus.consume_batches(EXTERNAL_SNAPSHOTS, with_pool(mirror_venue_snapshots), **batches)
    answer_queries(service)
    answer_reconciler(service)
    answer_gateway(service)
    service.background(snapshot_portfolio_task(service, settings.portfolio_snapshot_interval_seconds))
    return service


def main() -> None:
    run_service(SERVICE_NAME, build)
