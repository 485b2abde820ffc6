from __future__ import annotations

import asyncpg
import asyncpg.pool

# How long anything waits for a free connection before failing loudly, rather than queueing
# forever behind a stuck query (which the role's statement_timeout ends after 30 s anyway).
ACQUIRE_TIMEOUT_SECONDS = 10.0


class BoundedPool(asyncpg.Pool):
    """An asyncpg pool whose every acquire is bounded, the implicit ones (`pool.fetch`, ...) included."""

    def __init__(self, *args, acquire_timeout: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None):
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def create_pool(
    database_url: str,
    *,
    schema: str | None = None,
    min_size: int = 1,
    max_size: int = 10,
    acquire_timeout: float = ACQUIRE_TIMEOUT_SECONDS,
) -> asyncpg.Pool:
    """An asyncpg pool whose connections resolve unqualified names in the service's own schema.

    `numeric` comes back as `Decimal` by default in asyncpg, which is exactly what money needs.
    """
    server_settings = {"application_name": f"trueup-{schema or 'shared'}"}
    if schema:
        server_settings["search_path"] = f"{schema},public"
    # asyncpg.create_pool has no pool-class hook; these are its own defaults, passed explicitly.
    pool = BoundedPool(
        database_url, acquire_timeout=acquire_timeout, min_size=min_size, max_size=max_size, max_queries=50000,
        max_inactive_connection_lifetime=300.0, loop=None, connection_class=asyncpg.Connection,
        record_class=asyncpg.Record, server_settings=server_settings, command_timeout=30,
    )
    return await pool
