"""Bootstrap for notifier: settings, chassis, wiring."""

from pathlib import Path

from shared.chassis import Service, run_service

SERVICE_NAME = "notifier"
SCHEMA = "notifier"


def build() -> Service:
    return Service.with_own_schema(SERVICE_NAME, SCHEMA, Path(__file__).parent)


def main() -> None:
    run_service(SERVICE_NAME, build)
