"""Bootstrap for reconciler: settings, chassis, wiring."""

from __future__ import annotations

from pathlib import Path

from services.reconciler.handlers.actions import answer_actions
from services.reconciler.handlers.mappings import answer_mappings
from services.reconciler.handlers.queries import answer_queries
from services.reconciler.handlers.runs import Reconciler
from services.reconciler.handlers.triggers import Triggers
from services.reconciler.settings import ReconcilerSettings
from shared.chassis import Service, run_service
from shared.contracts.channels import VENUE_CONNECTIVITY
from shared.settings import load_settings

SERVICE_NAME = "reconciler"
SCHEMA = "reconciler"


def build() -> Service:
    settings = load_settings(ReconcilerSettings, service=SERVICE_NAME)
    service = Service(SERVICE_NAME, settings, schema=SCHEMA,
                      migrations=Path(__file__).parent / "adapters" / "migrations")
    reconciler = Reconciler(service, settings.reconcile_dust_tolerance)
    triggers = Triggers(service, reconciler, settings.reconcile_interval_seconds)
    answer_mappings(reconciler)
    answer_queries(reconciler)
    answer_actions(reconciler)
    service.bus.consume_batches(VENUE_CONNECTIVITY, triggers.on_connectivity, max_messages=100, max_wait_seconds=0.05)
    service.background(triggers.task())
    return service


def main() -> None:
    run_service(SERVICE_NAME, build)
