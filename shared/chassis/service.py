"""The service chassis every process shares: logging, bus, database, health, metrics, SIGTERM.

A service's `main` builds a `Service`, registers its consumers/responders and background tasks
in a `setup` callback, and calls `run_service`. The chassis owns the order of start-up (log →
database + migrations → bus → health → tasks) and of shutdown (stop tasks → drain bus → close
pool), so no service re-implements it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge, start_http_server

from shared.bus import Bus, BusConfig
from shared.contracts import HealthReply, HealthRequest, utcnow
from shared.contracts.channels import HEALTH
from shared.db import apply_migrations, create_pool
from shared.logs import configure_logging, get_logger
from shared.settings import BaseServiceSettings, load_settings

log = get_logger(__name__)

SERVICE_UP = Gauge("trueup_service_up", "1 while the service is running", ["service"])
HANDLER_ERRORS = Counter("trueup_handler_errors_total", "background task failures", ["service", "task"])

HealthCheck = Callable[[], Awaitable[str]]


@dataclass
class Service:
    name: str
    settings: BaseServiceSettings
    schema: str | None = None
    migrations: Path | None = None
    bus: Bus = field(init=False)
    pool: asyncpg.Pool | None = None
    started_at: Any = field(default_factory=utcnow)
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    _tasks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _running: list[asyncio.Task[None]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.bus = Bus(self.settings.nats_url, self.settings.bus_namespace, self.name,
                       BusConfig.from_settings(self.settings))

    @classmethod
    def with_own_schema(cls, name: str, schema: str, package_dir: Path) -> Service:
        """A service configured from the environment, owning `schema` with migrations in
        `<package>/adapters/migrations` — the standard layout."""
        return cls(
            name,
            load_settings(BaseServiceSettings, service=name),
            schema=schema,
            migrations=package_dir / "adapters" / "migrations",
        )

    def background(self, task: Callable[[], Awaitable[None]]) -> None:
        """Run `task` for the life of the service; a crash is logged and the task restarted."""
        self._tasks.append(task)

    def on_stop(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run `cleanup` at shutdown, after background tasks stop and before the bus closes."""
        self._on_stop.append(cleanup)

    async def health(self, _request: HealthRequest) -> HealthReply:
        checks: dict[str, str] = {}
        for check_name, check in self.health_checks.items():
            try:
                checks[check_name] = await asyncio.wait_for(check(), timeout=2.0)
            except Exception as exc:  # a failing check degrades health; it must not kill the reply
                checks[check_name] = f"error: {type(exc).__name__}"
        status = "ok" if all(v == "ok" or v.startswith("ok") for v in checks.values()) else "degraded"
        return HealthReply(service=self.name, status=status, started_at=self.started_at, checks=checks)

    async def _db_check(self) -> str:
        assert self.pool is not None
        await self.pool.fetchval("SELECT 1")
        return "ok"

    async def _supervise(self, task: Callable[[], Awaitable[None]]) -> None:
        name = getattr(task, "__name__", "task")
        while not self.stopping.is_set():
            try:
                await task()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                HANDLER_ERRORS.labels(self.name, name).inc()
                log.exception("background task crashed; restarting", task=name)
                await asyncio.sleep(1.0)

    async def start(self) -> None:
        if self.schema:
            self.pool = await create_pool(self.settings.database_url, schema=self.schema)
            if self.migrations:
                applied = await apply_migrations(self.pool, self.schema, self.migrations)
                if applied:
                    log.info("migrations applied", schema=self.schema, versions=applied)
            self.health_checks.setdefault("database", self._db_check)
        self.bus.respond(HEALTH.subject(service=self.name), self.health, queue=f"{self.name}-health")
        await self.bus.start()
        self._running = [asyncio.create_task(self._supervise(t)) for t in self._tasks]
        SERVICE_UP.labels(self.name).set(1)
        log.info("service started", service=self.name)

    async def stop(self) -> None:
        self.stopping.set()
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        for cleanup in self._on_stop:
            await cleanup()
        await self.bus.stop()
        if self.pool is not None:
            await self.pool.close()
        SERVICE_UP.labels(self.name).set(0)
        log.info("service stopped", service=self.name)


async def serve_until_signalled(service: Service) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stopping.set)
    await service.start()
    try:
        await service.stopping.wait()
    finally:
        await service.stop()


def run_service(name: str, build: Callable[[], Service]) -> None:
    """Entry point for `python -m services.<name>`: configure logs and metrics, run until SIGTERM."""
    # Logging first, so whatever `build` reports (config errors, unconfigured venues) is JSON too.
    early_level = os.environ.get("LOG_LEVEL", "INFO").upper()
    configure_logging(name, early_level if early_level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")
    service = build()
    configure_logging(service.name, service.settings.log_level)
    if service.settings.metrics_port:
        start_http_server(service.settings.metrics_port, addr="0.0.0.0")
    asyncio.run(serve_until_signalled(service))
