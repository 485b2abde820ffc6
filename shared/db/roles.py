"""One Postgres role per service, with rights only on that service's own schema.

`provision_service_roles` is the admin step `make run`, compose (`python -m shared.db.roles`) and
the tests run before services start: per service a LOGIN role named `<database>_<service>` (roles are
cluster-wide; the database in the name keeps two databases on one server apart), owner of its schema
and of everything in it, with no CREATE on `public` and no access to any other schema. Each role
carries `statement_timeout` and `idle_in_transaction_session_timeout`, so a stuck query or a
forgotten transaction cannot hold locks for long. Re-running it is safe: it sets a new password and
takes over objects an earlier superuser-run start created.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

# Every service that owns tables, and its schema (each service's main.py names the same; a test checks).
SERVICE_SCHEMAS = {
    "exchange-gateway": "gateway",
    "ledger": "ledger",
    "reconciler": "reconciler",
    "executor": "executor",
    "risk": "risk",
    "notifier": "notifier",
}
STATEMENT_TIMEOUT = "30s"
IDLE_IN_TRANSACTION_TIMEOUT = "60s"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def role_name(database: str, service: str) -> str:
    name = f"{database}_{service}".replace("-", "_").lower()
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} cannot be a Postgres role name (letters, digits, _; at most 63)")
    return name


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain Postgres identifier")
    return f'"{name}"'


def service_dsn(admin_dsn: str, database: str, role: str, password: str) -> str:
    """The admin DSN's host and port, with the service's role, password and `database`."""
    parts = urlsplit(admin_dsn)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{f'[{host}]' if ':' in host else host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{database}"))


async def ensure_service_role(conn: asyncpg.Connection, database: str, role: str, password: str, schema: str) -> None:
    """Create or update `role` (LOGIN, `password`) as the owner of `schema` and nothing else."""
    r, s, db = _ident(role), _ident(schema), f'"{database}"'
    async with conn.transaction():
        # Serialises concurrent provisioning (parallel test sessions, two launchers) of one role.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"trueup.roles.{role}")
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        verb = "ALTER" if exists else "CREATE"
        # The password is a literal (DDL takes no parameters): quote it the server's way.
        literal = await conn.fetchval("SELECT quote_literal($1)", password)
        await conn.execute(f"{verb} ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD {literal}")
        await conn.execute(f"ALTER ROLE {r} SET statement_timeout = '{STATEMENT_TIMEOUT}'")
        await conn.execute(f"ALTER ROLE {r} SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}'")
        await conn.execute(f"GRANT CONNECT ON DATABASE {db} TO {r}")
        # Before Postgres 15 everyone may create in `public`; no service needs to.
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {r}")
        await conn.execute(f"ALTER SCHEMA {s} OWNER TO {r}")
        # Tables an earlier start made as another role (make run's data from before roles existed).
        for kind, name in await conn.fetch(
            """SELECT c.relkind::text, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                 AND pg_get_userbyid(c.relowner) <> $2
                 AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))""",
            schema, role,
        ):
            what = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}[kind]
            await conn.execute(f'ALTER {what} {s}."{name}" OWNER TO {r}')


async def provision_service_roles_async(
    admin_dsn: str, database: str, services: dict[str, str], *, passwords: dict[str, str] | None = None
) -> dict[str, str]:
    """`services`: service name -> its schema. Returns service name -> the DSN it connects with.

    Passwords are generated unless `passwords` gives a service's (compose: from its secret file)."""
    conn = await asyncpg.connect(_admin_dsn_for(admin_dsn, database), timeout=10)
    dsns = {}
    try:
        for service, schema in services.items():
            role = role_name(database, service)
            password = (passwords or {}).get(service) or secrets.token_urlsafe(24)
            await ensure_service_role(conn, database, role, password, schema)
            dsns[service] = service_dsn(admin_dsn, database, role, password)
    finally:
        await conn.close()
    return dsns


def _admin_dsn_for(admin_dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{database}"))


def provision_service_roles(
    admin_dsn: str, database: str, services: dict[str, str], *, passwords: dict[str, str] | None = None
) -> dict[str, str]:
    """Blocking form for launchers and fixtures (call it where no event loop is running)."""
    return asyncio.run(provision_service_roles_async(admin_dsn, database, services, passwords=passwords))


def compose_database_secrets(existing: Path, database: str = "trueup", host: str = "postgres") -> dict[str, str]:
    """`make up`'s database secrets: the admin password and each service's DSN (file name ->
    content), generated once and then read back from `existing`. Stable on purpose: Postgres keeps
    the admin password its data volume was created with."""
    def kept(name: str, make: Callable[[], str]) -> str:
        path = existing / name
        return path.read_text().strip() if path.is_file() else make()

    values = {"postgres_password": kept("postgres_password", lambda: secrets.token_urlsafe(24))}
    for service in SERVICE_SCHEMAS:
        role = role_name(database, service)
        name = f"database_url_{service.replace('-', '_')}"
        values[name] = kept(name, lambda role=role: service_dsn(
            f"postgresql://{host}:5432/", database, role, secrets.token_urlsafe(24)))
    return values


def main(argv: list[str] | None = None) -> None:
    """Compose's `db-roles` step: `python -m shared.db.roles SERVICE=SCHEMA:DSN_FILE ...` with the
    admin DSN in `ADMIN_DATABASE_URL` (or `--admin-password-file` for its password). Each DSN file
    (written by `make up`'s secrets generator) holds the URL that service connects with: its role
    gets that URL's password."""
    import argparse
    import os

    parser = argparse.ArgumentParser(prog="python -m shared.db.roles")
    parser.add_argument("--admin-password-file", type=Path)
    parser.add_argument("services", nargs="+", metavar="SERVICE=SCHEMA:DSN_FILE")
    args = parser.parse_args(argv)
    admin = urlsplit(os.environ["ADMIN_DATABASE_URL"])
    if args.admin_password_file:
        password = quote(args.admin_password_file.read_text().strip(), safe="")
        admin = admin._replace(netloc=f"{admin.username}:{password}@{admin.netloc.rpartition('@')[2]}")
    database = admin.path.lstrip("/")
    services, passwords = {}, {}
    for spec in args.services:
        service, _, rest = spec.partition("=")
        schema, _, dsn_file = rest.partition(":")
        dsn = urlsplit(Path(dsn_file).read_text().strip())
        if dsn.username != role_name(database, service):
            raise SystemExit(f"{dsn_file}: its user must be {role_name(database, service)}")
        services[service], passwords[service] = schema, unquote(dsn.password or "")
    provision_service_roles(urlunsplit(admin), database, services, passwords=passwords)
    print(f"roles ready: {', '.join(role_name(database, s) for s in services)}")


if __name__ == "__main__":
    main()
