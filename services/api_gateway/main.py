"""Bootstrap for api-gateway: the chassis (bus, health) plus an HTTP server in the same loop."""

from __future__ import annotations

import asyncio

import uvicorn

from services.api_gateway.app import create_app
from services.api_gateway.settings import ApiSettings
from shared.chassis import Service
from shared.logs import configure_logging, get_logger
from shared.settings import load_settings

SERVICE_NAME = "api-gateway"
log = get_logger(__name__)


async def serve(settings: ApiSettings) -> None:
    # The API owns no tables yet; it asks the services that do.
    service = Service(SERVICE_NAME, settings)
    await service.start()
    app = create_app(service.bus, settings)
    config = uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    log.info("api listening", url=f"http://{settings.api_host}:{settings.api_port}/")
    try:
        # uvicorn handles SIGTERM/SIGINT itself and returns from serve() when told to stop.
        await server.serve()
    finally:
        await service.stop()


def main() -> None:
    settings = load_settings(ApiSettings)
    configure_logging(SERVICE_NAME, settings.log_level)
    asyncio.run(serve(settings))
