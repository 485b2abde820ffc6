"""Bootstrap for ledger: settings, chassis, wiring."""

from pathlib import Path

from shared.chassis import Service, run_service
from shared.settings import BaseServiceSettings, load_settings

SERVICE_NAME = "ledger"
SCHEMA = "ledger"


def build() -> Service:
    settings = load_settings(BaseServiceSettings)
    return Service(
        SERVICE_NAME,
        settings,
        schema=SCHEMA,
        migrations=Path(__file__).parent / "adapters" / "migrations",
    )


def main() -> None:
    run_service(SERVICE_NAME, build)
