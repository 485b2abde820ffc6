"""The embedded NATS server's users: the generated permissions (`deploy/nats/permissions.conf`,
rendered for the run's namespace) and a generated password per user, kept 0600 next to the
server's data and reused by the next run. No password is ever a default."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from shared.contracts.permissions_gen import (
    USERS,
    authorization,
    password_variable,
    user_block,
    user_blocks,
)

PASSWORDS_FILE = "nats-passwords.json"
# Tests only: sees every subject, publishes nothing (a test proving no secret crosses the bus).
OBSERVER = "test-observer"


def new_password() -> str:
    """A random password the server's config can read back. The permissions take passwords from
    variables, and nats-server parses a variable's value like any config value: one starting with
    a digit or '-' is read as a number and the server refuses to start. So: a letter, then hex."""
    return "p" + secrets.token_hex(24)


def _usable(password: str | None) -> bool:
    return bool(password) and password[0].isalpha()


def ensure_passwords(path: Path, users: tuple[str, ...]) -> dict[str, str]:
    """One password per user, generated once into `path` (0600) and reused after (a stored one the
    server could not read, from before `new_password`'s rule, is replaced)."""
    stored: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    if all(_usable(stored.get(user)) for user in users):
        return {user: stored[user] for user in users}
    stored = {user: stored[user] if _usable(stored.get(user)) else new_password() for user in users}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(stored, f, indent=2)
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT
    return stored


def users(observer: bool) -> tuple[str, ...]:
    return (*USERS, OBSERVER) if observer else USERS


def server_config(directory: Path, namespace: str, *, observer: bool = False) -> Path:
    """`nats-server.conf` including the generated `permissions.conf` (JetStream and where it
    stores are `embedded.start_nats`'s flags)."""
    blocks = user_blocks(namespace)
    if observer:
        blocks.append(user_block(OBSERVER, [('"_INBOX.nobody"', "nothing")], [('">"', "everything, to watch")]))
    (directory / "permissions.conf").write_text(authorization(blocks))
    config = directory / "nats-server.conf"
    config.write_text("max_payload: 1MB\ninclude ./permissions.conf\n")
    return config


def password_env(passwords: dict[str, str]) -> dict[str, str]:
    """The variables the permissions read the passwords from."""
    return {password_variable(user): password for user, password in passwords.items()}


def user_url(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
