"""`python -m shared.devstack exec-file-env -- <command>`: set NAME from NAME_FILE for every such
pair, then exec the command (the compose venue-sim's entry point: its SIM_* secrets are files).

`make run` itself lives in `deploy/devstack` (it starts services; `shared/` imports none).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


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
    execp = sub.add_parser("exec-file-env", help="NAME from NAME_FILE, then exec")
    execp.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("exec-file-env needs a command")
    exec_file_env(cmd)
    return 1


if __name__ == "__main__":
    sys.exit(main())
