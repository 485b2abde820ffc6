"""`python -m deploy.devstack <command>`.

  run               the whole stack + venue-sim, supervised (what `make run` calls)
  compose-secrets   write demo credentials as one file per compose secret (what `make up` calls)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deploy.devstack.launcher import DATA_DIR, Ports, ensure_api_token, load_demo_credentials
from shared.contracts.permissions_gen import USERS
from shared.db.roles import compose_database_secrets
from shared.devstack.nats_auth import PASSWORDS_FILE, ensure_passwords, user_url

# Where the services reach NATS inside compose.
_COMPOSE_NATS = "nats://nats:4222"


def compose_nats_secrets(data_dir: Path) -> dict[str, str]:
    """Per NATS user, the password (the server's) and its URL (the service's), as `make run`'s."""
    passwords = ensure_passwords(data_dir / PASSWORDS_FILE, USERS)
    secrets = {}
    for user, password in passwords.items():
        name = user.replace("-", "_")
        secrets[f"nats_password_{name}"] = password
        secrets[f"nats_url_{name}"] = user_url(_COMPOSE_NATS, user, password)
    return secrets


def write_compose_secrets(out: Path, data_dir: Path) -> Path:
    """One file per secret, named as docker-compose.yml's `secrets:` expect them."""
    creds = load_demo_credentials(data_dir)
    values = {
        "kalshi_api_key_id": creds.kalshi_key_id,
        "kalshi_private_key": Path(creds.kalshi_private_key_file).read_text(),
        "polymarket_address": creds.polymarket_address,
        "polymarket_private_key": creds.polymarket_private_key,
        "polymarket_api_key": creds.polymarket_api_key,
        "polymarket_api_secret": creds.polymarket_api_secret,
        "polymarket_api_passphrase": creds.polymarket_api_passphrase,
        "sim_kalshi_public_key": Path(creds.kalshi_public_key_file).read_text(),
        # The same token as `make run`'s (.data/api-token); Postgres's admin password and each service's own DSN.
        "api_token": ensure_api_token(data_dir),
        **compose_database_secrets(out),
        **compose_nats_secrets(data_dir),
    }
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    for name, value in values.items():
        path = out / name
        path.write_text(value if value.endswith("\n") else value + "\n")
        # Bind-mounted into containers that run as a non-root user, which must read them.
        path.chmod(0o644)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole stack, supervised (make run)")
    run.add_argument("--data-dir", type=Path, default=DATA_DIR,
                     help="embedded servers' data, demo credentials, API token (default: .data/)")
    defaults = Ports()
    for name in ("api", "sim_kalshi", "sim_data_api", "sim_clob", "nats", "postgres"):
        run.add_argument(f"--{name.replace('_', '-')}-port", dest=name, type=int, default=getattr(defaults, name))
    secrets = sub.add_parser("compose-secrets", help="write demo secrets for docker compose")
    secrets.add_argument("--out", type=Path, default=DATA_DIR / "compose-secrets")
    args = parser.parse_args(argv)

    if args.command == "run":
        from deploy.devstack.launcher import run as run_stack

        ports = Ports(**{name: getattr(args, name) for name in Ports.__dataclass_fields__})
        return run_stack(ports, args.data_dir.resolve())
    print(write_compose_secrets(args.out, DATA_DIR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
