"""The Litestar application: controllers per domain area, dependencies from the running service."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from services.api_gateway.domain.sessions import Sessions
from services.api_gateway.handlers.auth import AuthController, RequireCredentials, login
from services.api_gateway.handlers.health import HealthController
from services.api_gateway.handlers.portfolio import PortfolioController
from services.api_gateway.handlers.positions import PositionsController
from services.api_gateway.handlers.reconciliation import OverviewController, ReconciliationController
from services.api_gateway.handlers.ui import index, metrics, static_files
from services.api_gateway.settings import ApiSettings
from shared.bus import Bus


def create_app(bus: Bus, settings: ApiSettings) -> Litestar:
    sessions = Sessions()
    return Litestar(
        route_handlers=[HealthController, PositionsController, PortfolioController, OverviewController,
                        ReconciliationController, AuthController, login, index, metrics, static_files],
        dependencies={
            "bus": Provide(lambda: bus, use_cache=True, sync_to_thread=False),
            "health_timeout": Provide(lambda: settings.health_timeout_seconds, use_cache=True, sync_to_thread=False),
            "sessions": Provide(lambda: sessions, use_cache=True, sync_to_thread=False),
            # To tell a script's token from a browser session in the audit log's actor.
        },
        # Every route, the OpenAPI schema and static files included, unless marked public.
        middleware=[RequireCredentials(settings.api_token, sessions)],
        openapi_config=OpenAPIConfig(title="trueup API", version="0.1.0", path="/schema"),
        # Logging is configured once by shared.logs (JSON + redaction); Litestar must not replace it.
        logging_config=None,
    )
