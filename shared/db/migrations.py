"""Plain-SQL, versioned, per-schema migrations applied at service start.

Files are `NNN_description.sql` in the service's `adapters/migrations/` folder. Pending files
apply together in one transaction (all or nothing) and are recorded in `<schema>.schema_migrations`. A transaction-scoped
advisory lock keyed on the schema serialises concurrent starts (two replicas, or every service
of `make run` starting at once), so nobody applies a file twice or sees half a schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

_FILE = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    filename: str
    sql: str


def discover(directory: Path) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files must be named NNN_description.sql")
        migrations.append(Migration(int(match.group(1)), match.group(2), path.name, path.read_text()))
    versions = [m.version for m in migrations]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"{directory}: two migrations share a version number")
    return migrations


async def apply_migrations(pool: asyncpg.Pool, schema: str, directory: Path) -> list[int]:
    """Apply pending migrations for `schema`; returns the versions applied by this call."""
    if not _SCHEMA.match(schema):
        raise MigrationError(f"invalid schema name {schema!r}")
    migrations = discover(directory)
    applied_now: list[int] = []
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"trueup.migrations.{schema}")
            # Only when missing: a service's own role owns its schema but may not create schemas
            # (Postgres checks that right before it looks whether the schema exists).
            if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
                await conn.execute(f"CREATE SCHEMA {schema}")
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")}
            for migration in migrations:
                if migration.version in done:
                    continue
                await conn.execute(f"SET LOCAL search_path TO {schema}, public")
                try:
                    await conn.execute(migration.sql)
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"{schema} migration {migration.filename} failed: {exc}") from exc
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
                applied_now.append(migration.version)
    return applied_now
