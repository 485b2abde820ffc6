from __future__ import annotations

import asyncpg


async def create_pool(database_url: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool whose connections resolve unqualified names in the service's own schema.

    `numeric` comes back as `Decimal` by default in asyncpg, which is exactly what money needs.
    """
    server_settings = {"application_name": f"trueup-{schema or 'shared'}"}
    if schema:
        server_settings["search_path"] = f"{schema},public"
    return await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, server_settings=server_settings, command_timeout=30
    )
