"""The root conftest's session fixtures: real servers, a private database and bus namespace."""

from __future__ import annotations

import json
import os
import re
import time

from urllib.parse import urlsplit

import asyncpg
import nats
import pytest

from shared.contracts.channels import ADMIN, SERVICES, inbox_prefix
from shared.devstack import provision as provision_mod
from shared.devstack.nats_auth import OBSERVER, ensure_passwords, new_password


async def test_database_url_is_a_private_fresh_database(database_url: str, database_factory) -> None:
    assert os.environ["DATABASE_URL"] == database_url
    conn = await asyncpg.connect(database_url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        assert re.fullmatch(r"trueup_test_[0-9a-f]{10}", name)
    finally:
        await conn.close()
    # Other tests may already have used the session database; a factory database starts empty.
    conn = await asyncpg.connect(database_factory("trueup_fresh"))
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        assert tables == 0
    finally:
        await conn.close()


async def test_nats_url_has_jetstream_and_pins_namespace(nats_url: str, nats_users: dict[str, str],
                                                         bus_namespace: str) -> None:
    assert os.environ["NATS_URL"] == nats_url
    assert os.environ["BUS_NAMESPACE"] == bus_namespace
    assert re.fullmatch(r"t[0-9a-f]{12}", bus_namespace)
    nc = await nats.connect(nats_users[ADMIN], inbox_prefix=inbox_prefix(bus_namespace, ADMIN))
    try:
        info = await nc.jetstream().account_info()
        assert info.limits is not None
    finally:
        await nc.close()


async def test_embedded_nats_admits_only_its_generated_users(infra, nats_users: dict[str, str]) -> None:
    if infra.sources["nats"] != "embedded":
        pytest.skip("a server from the environment or a container is taken as it is")
    assert set(nats_users) == {*SERVICES, ADMIN, OBSERVER}
    assert len({urlsplit(url).password for url in nats_users.values()}) == len(nats_users)
    for url in (infra.nats_url, nats_users["ledger"].replace(urlsplit(nats_users["ledger"]).password, "guess")):
        with pytest.raises(Exception, match="Authorization Violation"):
            await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)


def test_service_env_sets_and_scrubs(service_env: dict[str, str], nats_url: str, database_url: str) -> None:
    assert service_env["NATS_URL"] == nats_url == os.environ["NATS_URL"]
    assert service_env["DATABASE_URL"] == database_url
    assert service_env["TRADING_MODE"] == "paper"
    assert not [k for k in os.environ if k.startswith(("KALSHI_", "POLYMARKET_"))]


def test_database_factory_makes_distinct_databases(database_factory, database_url: str) -> None:
    other = database_factory("trueup_extra")
    assert other != database_url
    assert other.rsplit("/", 1)[1].startswith("trueup_extra_")


def test_environment_wins_over_any_fallback(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NATS_URL", "nats://example.invalid:4222")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@example.invalid/db")
    infra = provision_mod.provision(tmp_path)
    assert infra.nats_url == "nats://example.invalid:4222"
    assert infra.database_url == "postgresql://u@example.invalid/db"
    assert infra.sources == {"nats": "env", "postgres": "env"}
    assert list(tmp_path.iterdir()) == []  # nothing was started


def test_docker_probe_fails_fast_without_an_engine(monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    started = time.monotonic()
    assert provision_mod.docker_available() is False
    assert time.monotonic() - started < 3


def test_nats_passwords_are_always_readable_by_the_server_config(tmp_path) -> None:
    # nats-server reads a variable starting with a digit or '-' as a number and refuses to start:
    # such a password (token_urlsafe made one in a few runs out of ten) must never be generated or kept.
    assert all(new_password()[0].isalpha() for _ in range(500))
    path = tmp_path / "nats-passwords.json"
    path.write_text(json.dumps({"ledger": "7Uabc-def", "risk": "pGoodOne123456"}))
    kept = ensure_passwords(path, ("ledger", "risk", "notifier"))
    assert kept["risk"] == "pGoodOne123456"  # a usable stored password is reused
    assert kept["ledger"] != "7Uabc-def" and kept["ledger"][0].isalpha() and kept["notifier"][0].isalpha()
    assert json.loads(path.read_text()) == kept and path.stat().st_mode & 0o777 == 0o600
