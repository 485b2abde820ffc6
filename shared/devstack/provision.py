"""Where NATS and Postgres come from, for tests and `make run`.

Order, per server: the environment (`NATS_URL` / `DATABASE_URL`) when set → containers via
testcontainers when a Docker engine answers → embedded servers from the venv. The environment wins
so CI or a developer can point everything at servers of their choosing; the embedded fallback means
a fresh machine with only Python needs nothing else.

`TRUEUP_DEVSTACK=embedded|docker` forces one of the two fallbacks.

The embedded NATS runs with the generated per-service users and permissions (`nats_auth`), each
user with its own generated password: `Infra.nats_users` holds each user's URL. A server from the
environment or a container is taken as it is: every user gets its URL unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.contracts.channels import ADMIN
from shared.devstack import embedded, nats_auth

NATS_IMAGE = "nats:2.10-alpine"
POSTGRES_IMAGE = "postgres:15"


@dataclass
class Infra:
    nats_url: str
    database_url: str
    # Per NATS user (every service, the admin step), the URL carrying its own password.
    nats_users: dict[str, str] = field(default_factory=dict)
    # Per server, where it came from: "env", "docker" or "embedded".
    sources: dict[str, str] = field(default_factory=dict)
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        """Stop what this call started (never a server taken from the environment)."""
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # one failed stop must not leave the other server running
                print(f"devstack: stopping failed: {exc!r}")

    @property
    def nats_admin_url(self) -> str:
        return self.nats_users[ADMIN]


def docker_available(timeout: float = 2.0) -> bool:
    """True only if a Docker engine answers a ping. Fails in milliseconds when there is none."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host and not Path("/var/run/docker.sock").exists():
        # No socket and no remote engine configured: don't even import the SDK.
        rootless = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / "docker.sock"
        if not rootless.exists():
            return False
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _fallback() -> str:
    forced = os.environ.get("TRUEUP_DEVSTACK", "").strip().lower()
    if forced in ("embedded", "docker"):
        return forced
    return "docker" if docker_available() else "embedded"


def _docker_nats() -> tuple[str, Callable[[], None]]:
    from testcontainers.community.nats import NatsContainer

    c = NatsContainer(NATS_IMAGE, jetstream=True).start()
    return c.nats_uri(), c.stop


def _docker_postgres(database: str) -> tuple[str, Callable[[], None]]:
    from testcontainers.community.postgres import PostgresContainer

    c = PostgresContainer(POSTGRES_IMAGE, dbname=database, driver=None).start()
    return c.get_connection_url(driver=None), c.stop


def provision(
    workdir: Path,
    *,
    nats_port: int | None = None,
    postgres_port: int | None = None,
    database: str = "trueup",
    durable: bool = True,
    use_env: bool = True,
    nats_namespace: str = "trueup",
    nats_observer: bool = False,
) -> Infra:
    """Resolve NATS + Postgres. Embedded data lives under `workdir` (`nats/`, `postgres/`, and the
    NATS passwords in `nats-passwords.json`).

    The embedded NATS permits `nats_namespace` (`*`: any one, for tests), plus a read-only
    observer user with `nats_observer` (tests). `durable=False` (tests) turns Postgres fsync off.
    On failure, anything already started is stopped before the error propagates.
    """
    env_nats = os.environ.get("NATS_URL", "").strip() if use_env else ""
    env_db = os.environ.get("DATABASE_URL", "").strip() if use_env else ""
    infra = Infra(nats_url=env_nats, database_url=env_db)
    mode = None if (env_nats and env_db) else _fallback()
    try:
        if env_nats:
            infra.sources["nats"] = "env"
            infra.nats_users = dict.fromkeys(nats_auth.users(nats_observer), env_nats)
        elif mode == "docker":
            infra.nats_url, stop = _docker_nats()
            infra.nats_users = dict.fromkeys(nats_auth.users(nats_observer), infra.nats_url)
            infra._stops.append(stop)
            infra.sources["nats"] = "docker"
        else:
            store = Path(workdir) / "nats"
            store.mkdir(parents=True, exist_ok=True)
            users = nats_auth.users(nats_observer)
            passwords = nats_auth.ensure_passwords(Path(workdir) / nats_auth.PASSWORDS_FILE, users)
            config = nats_auth.server_config(store, nats_namespace, observer=nats_observer)
            nats = embedded.start_nats(store, port=nats_port, config=config, env=nats_auth.password_env(passwords))
            infra.nats_url = nats.url
            infra.nats_users = {user: nats_auth.user_url(nats.url, user, passwords[user]) for user in users}
            infra._stops.append(nats.stop)
            infra.sources["nats"] = "embedded"

        if env_db:
            infra.sources["postgres"] = "env"
        elif mode == "docker":
            infra.database_url, stop = _docker_postgres(database)
            infra._stops.append(stop)
            infra.sources["postgres"] = "docker"
        else:
            pg = embedded.start_postgres(
                Path(workdir) / "postgres", port=postgres_port, database=database, durable=durable
            )
            infra.database_url = pg.url
            infra._stops.append(pg.stop)
            infra.sources["postgres"] = "embedded"
    except BaseException:
        infra.stop()
        raise
    return infra
