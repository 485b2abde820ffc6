"""Session-wide infrastructure for every test: NATS (JetStream) and Postgres.

Servers come from `shared.devstack.provision`: `NATS_URL`/`DATABASE_URL` if set, else containers
when a Docker engine answers, else embedded servers from the venv in a temp dir (well under a
second to start). They start lazily, once per session, only if a test asks for them.

Isolation between test sessions that share a server: each session gets its own database
(`trueup_test_<random>`, dropped at the end) and its own bus namespace (`t<random>`), which
`shared.bus.Bus` prefixes to every subject and stream name (via `BUS_NAMESPACE`).

The embedded NATS runs with the generated per-service permissions, for any namespace: a test
connects each service with that service's own user (`nats_users`), and creates a namespace's
streams and consumers as the admin step does (`provision_bus`) before any service starts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from shared.devstack.provision import Infra, provision

# Venue secrets must never reach a test from the developer's shell; a test that needs them says so.
_VENUE_SECRET_PREFIXES = ("KALSHI_", "POLYMARKET_")


def _run_async(coro_fn: Callable, *args):
    """Run a coroutine to completion on a private loop in a worker thread, so the session's
    pytest-asyncio loop (current in this thread) is neither used nor replaced."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn(*args))).result()


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
def _no_service_settings_from_the_shell() -> Iterator[None]:
    """A developer's shell may hold venue keys or another service's settings (API_TOKEN, SIM_*):
    every service refuses a trueup setting it does not declare, so none may leak into a test.
    The connection settings (NATS_URL, DATABASE_URL, ...) stay: they pick the servers tests use."""
    from shared.settings import BaseServiceSettings, env_names, trueup_owns

    shared_names = env_names(BaseServiceSettings)
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            base = name.upper().removesuffix("_FILE")
            if trueup_owns(base) and base not in shared_names:
                mp.delenv(name)
        yield


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    workdir = Path(tempfile.mkdtemp(prefix="trueup-test-"))
    # `*`: every namespace a session or a test picks is under the same rules as `trueup` in production.
    resolved = provision(workdir, durable=False, nats_namespace="*", nats_observer=True)
    try:
        yield resolved
    finally:
        resolved.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def bus_namespace() -> Iterator[str]:
    """A namespace no other test session uses; also exported as `BUS_NAMESPACE`."""
    namespace = f"t{uuid.uuid4().hex[:12]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BUS_NAMESPACE", namespace)
        yield namespace


@pytest.fixture(scope="session")
def nats_users(infra: Infra) -> dict[str, str]:
    """NATS user (each service, `admin`) -> its URL with its own password."""
    return infra.nats_users


@pytest.fixture(scope="session")
def nats_url(infra: Infra, bus_namespace: str) -> Iterator[str]:
    """NATS with JetStream, as the test observer (sees every subject, may publish nothing);
    requesting it also pins this session's `BUS_NAMESPACE`."""
    from shared.devstack.nats_auth import OBSERVER

    url = infra.nats_users[OBSERVER]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NATS_URL", url)
        yield url


@pytest.fixture(scope="session")
def provision_bus(infra: Infra) -> Callable[..., Awaitable[None]]:
    """`await provision_bus(namespace[, config])`: the admin step for a namespace (streams and
    every declared consumer), as `make run` and compose run it before the services start."""
    from shared.bus import BusConfig
    from shared.bus.provision import provision_bus as provision_as_admin

    async def provision_namespace(namespace: str, config: BusConfig | None = None) -> None:
        await provision_as_admin(infra.nats_admin_url, namespace, config or BusConfig.defaults())

    return provision_namespace


@pytest.fixture(scope="session")
def database_factory(infra: Infra) -> Iterator[Callable[[str], str]]:
    """`make(prefix)` creates a fresh empty database and returns its URL; all are dropped at the end."""
    created: list[str] = []

    def make(prefix: str = "trueup_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        _run_async(_admin, infra.database_url, f'CREATE DATABASE "{name}"')
        created.append(name)
        return _with_database(infra.database_url, name)

    yield make
    for name in created:
        try:
            _run_async(_admin, infra.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:  # a leftover test database is harmless; say so and move on
            print(f"could not drop test database {name}: {exc!r}")


@pytest.fixture(scope="session")
def database_url(database_factory: Callable[[str], str]) -> Iterator[str]:
    """This session's own database (`trueup_test_<random>`); also exported as `DATABASE_URL`."""
    url = database_factory("trueup_test")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        yield url


@pytest.fixture(scope="session")
def service_database_urls(database_url: str) -> dict[str, str]:
    """Service name -> the DSN of its own Postgres role in this session's database (rights only on
    its own schema, timeouts set), as `make run` and compose give each service."""
    from tests.support.db_roles import service_database_urls as provisioned

    return provisioned(database_url)


@pytest.fixture
def service_env(
    monkeypatch: pytest.MonkeyPatch, nats_url: str, database_url: str, bus_namespace: str
) -> dict[str, str]:
    """Environment for a service under test, set on this process for the test's duration.

    Returns the same variables as a dict, to pass (with PATH etc.) to a service subprocess; a test
    adds what its service needs (e.g. venue URLs for the gateway) via `monkeypatch.setenv`.
    """
    for name in list(os.environ):
        if name.startswith(_VENUE_SECRET_PREFIXES):
            monkeypatch.delenv(name)
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "BUS_NAMESPACE": bus_namespace,
        "TRADING_MODE": "paper",
        "LOG_LEVEL": "DEBUG",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
