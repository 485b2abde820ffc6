"""Each service's own Postgres role: rights only on its schema, timeouts set, a bounded pool (real Postgres)."""

from __future__ import annotations

import asyncio
import importlib
from urllib.parse import urlsplit

import asyncpg
import pytest

from shared.db import apply_migrations, create_pool
from shared.db.roles import SERVICE_SCHEMAS, compose_database_secrets, provision_service_roles_async, role_name, service_dsn
from shared.db.roles import main as roles_main

SERVICES = {"exchange-gateway": "gateway", "ledger": "ledger"}


@pytest.fixture(scope="module")
def roles_database(database_factory) -> str:
    return database_factory("trueup_roles")


def _database(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def test_a_role_owns_its_schema_and_cannot_touch_another(roles_database, infra, tmp_path):
    dsns = await provision_service_roles_async(infra.database_url, _database(roles_database), SERVICES)
    assert urlsplit(dsns["ledger"]).username == role_name(_database(roles_database), "ledger")
    (tmp_path / "001_fills.sql").write_text("CREATE TABLE fills (id text PRIMARY KEY);")
    gateway = await create_pool(dsns["exchange-gateway"], schema="gateway")
    try:
        assert await apply_migrations(gateway, "gateway", tmp_path) == [1]
        await gateway.execute("INSERT INTO fills VALUES ('f1')")
    finally:
        await gateway.close()

    ledger = await asyncpg.connect(dsns["ledger"])
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await ledger.fetch("SELECT * FROM gateway.fills")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await ledger.execute("CREATE TABLE public.sneaky (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await ledger.execute("CREATE SCHEMA elsewhere")
        await ledger.execute("CREATE TABLE ledger.mine (id int)")  # its own schema: fine
    finally:
        await ledger.close()


async def test_the_timeouts_are_in_effect_for_the_role(roles_database, infra):
    dsns = await provision_service_roles_async(infra.database_url, _database(roles_database), {"ledger": "ledger"})
    conn = await asyncpg.connect(dsns["ledger"])
    try:
        assert await conn.fetchval("SHOW statement_timeout") == "30s"
        assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "1min"
        await conn.execute("SET statement_timeout = '100ms'")  # the role's 30 s, shortened to see it bite
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.execute("SELECT pg_sleep(2)")
    finally:
        await conn.close()


async def test_reprovisioning_takes_over_what_a_superuser_made_and_rotates_the_password(roles_database, infra):
    database = _database(roles_database)
    admin = await asyncpg.connect(roles_database)
    try:
        await admin.execute("CREATE SCHEMA IF NOT EXISTS risk; CREATE TABLE risk.limits (id serial PRIMARY KEY)")
    finally:
        await admin.close()
    first = await provision_service_roles_async(infra.database_url, database, {"risk": "risk"})
    second = await provision_service_roles_async(infra.database_url, database, {"risk": "risk"})
    assert urlsplit(first["risk"]).password != urlsplit(second["risk"]).password
    conn = await asyncpg.connect(second["risk"])
    try:
        await conn.execute("INSERT INTO risk.limits DEFAULT VALUES")
        assert await conn.fetchval("SELECT tableowner FROM pg_tables WHERE schemaname = 'risk'") == role_name(database, "risk")
    finally:
        await conn.close()


async def test_every_acquire_is_bounded(database_url):
    pool = await create_pool(database_url, max_size=1, acquire_timeout=0.3)
    try:
        async with pool.acquire():
            with pytest.raises(asyncio.TimeoutError):
                await pool.fetchval("SELECT 1")  # the implicit acquire waits 0.3 s, not forever
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


def test_the_schema_map_matches_each_service():
    for service, schema in SERVICE_SCHEMAS.items():
        main = importlib.import_module(f"services.{service.replace('-', '_')}.main")
        assert (main.SERVICE_NAME, main.SCHEMA) == (service, schema)


async def test_compose_roles_step_gives_each_role_its_secret_files_password(roles_database, infra, tmp_path, monkeypatch):
    database = _database(roles_database)
    secrets = compose_database_secrets(tmp_path, database=database)
    assert compose_database_secrets(_written(tmp_path, secrets), database=database) == secrets  # stable
    # The files name host `postgres`; here the same role and password on the test server.
    dsn = service_dsn(infra.database_url, database, role_name(database, "ledger"),
                      urlsplit(secrets["database_url_ledger"]).password)
    (tmp_path / "ledger.url").write_text(secrets["database_url_ledger"])
    admin = urlsplit(infra.database_url)
    monkeypatch.setenv("ADMIN_DATABASE_URL", admin._replace(path=f"/{database}").geturl())
    await asyncio.to_thread(roles_main, [f"ledger=ledger:{tmp_path / 'ledger.url'}"])
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT current_user") == role_name(database, "ledger")
    finally:
        await conn.close()


def _written(directory, values: dict[str, str]):
    for name, value in values.items():
        (directory / name).write_text(value + "\n")
    return directory
