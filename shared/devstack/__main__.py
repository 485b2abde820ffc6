"""`python -m shared.devstack <command>`.

  run               the whole stack + venue-sim (what `make run` calls)
  compose-secrets   write demo credentials as one file per compose secret (what `make up` calls)
  exec-file-env     set NAME from NAME_FILE for every such pair, then exec the given command
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shared.devstack.launcher import REPO_ROOT, load_demo_credentials


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
    }
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    for name, value in values.items():
        path = out / name
        path.write_text(value if value.endswith("\n") else value + "\n")
        # Bind-mounted into containers that run as a non-root user, which must read them.
        path.chmod(0o644)
    return out


def exec_file_env(argv: list[str]) -> None:
    env = dict(os.environ)
    for name, path in os.environ.items():
        base = name.removesuffix("_FILE")
        if name.endswith("_FILE") and base not in env and Path(path).is_file():
            env[base] = Path(path).read_text().strip()
    os.execvpe(argv[0], argv, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the whole stack (make run)")
    secrets = sub.add_parser("compose-secrets", help="write demo secrets for docker compose")
    secrets.add_argument("--out", type=Path, default=REPO_ROOT / ".data" / "compose-secrets")
    execp = sub.add_parser("exec-file-env", help="NAME from NAME_FILE, then exec")
    execp.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.command == "run":
        from shared.devstack.launcher import run

        return run()
    if args.command == "compose-secrets":
        print(write_compose_secrets(args.out, REPO_ROOT / ".data"))
        return 0
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("exec-file-env needs a command")
    exec_file_env(cmd)
    return 1


if __name__ == "__main__":
    sys.exit(main())
