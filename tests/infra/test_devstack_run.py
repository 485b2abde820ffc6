"""`make run` for real: the launcher as a subprocess on embedded servers. A service killed with
SIGKILL is announced and comes back; SIGTERM stops the launcher and every child within 10 s."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from shared.devstack.embedded import free_port

REPO = Path(__file__).resolve().parents[2]
# The test session's own servers and namespace must not leak into the launcher's stack.
_NOT_INHERITED = ("NATS_URL", "DATABASE_URL", "BUS_NAMESPACE", "LOG_FORMAT")

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the children through /proc")


def children_of(pid: int) -> dict[int, str]:
    """pid -> command line of every live direct child of `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # The command name is in parentheses and may hold spaces: fields after it are fixed.
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(what: str, condition: Callable[[], object], timeout: float, output: Path) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = "\n".join(output.read_text(errors="replace").splitlines()[-40:])
            pytest.fail(f"{what}: not within {timeout}s; launcher said:\n{tail}")
        time.sleep(0.2)


def health_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


async def database_users(port: int) -> set[str]:
    """Who the services are connected as (asked as the embedded server's superuser)."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/trueup", timeout=10)
    try:
        rows = await conn.fetch("SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'trueup' AND pid <> pg_backend_pid()")
    finally:
        await conn.close()
    return {row["usename"] for row in rows}


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path, int, int]]:
    api_port, postgres_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env["TRUEUP_DEVSTACK"] = "embedded"
    output = tmp_path / "launcher.out"
    args = [sys.executable, "-m", "deploy.devstack", "run", "--data-dir", str(tmp_path / "data"),
            "--api-port", str(api_port), "--nats-port", str(free_port()), "--postgres-port", str(postgres_port),
            "--sim-kalshi-port", str(free_port()), "--sim-data-api-port", str(free_port()),
            "--sim-clob-port", str(free_port())]
    with output.open("w") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield proc, output, api_port, postgres_port
    finally:
        if proc.poll() is None:
            # The test failed before its own SIGTERM: don't leave a stack behind.
            kids = children_of(proc.pid)
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                for pid in kids:
                    if pid_alive(pid):
                        os.kill(pid, signal.SIGKILL)


def test_a_killed_service_comes_back_and_sigterm_stops_everything(launcher) -> None:
    proc, output, api_port, postgres_port = launcher
    health = f"http://127.0.0.1:{api_port}/api/health"
    wait_for("the banner with the login link", lambda: "login   http" in output.read_text(), 60, output)

    def api_gateway_pid() -> int | None:
        return next((pid for pid, cmd in children_of(proc.pid).items() if "services.api_gateway" in cmd), None)

    first = api_gateway_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    killed_at = time.monotonic()

    def restarted_pid() -> int | None:
        pid = api_gateway_pid()
        return pid if pid != first else None

    second = wait_for("a new api-gateway process", restarted_pid, 15, output)
    wait_for("/api/health answering again", lambda: health_answers(health), 20, output)
    back_after = time.monotonic() - killed_at
    text = output.read_text()
    assert "api-gateway killed by SIGKILL" in text and "restarting in 1s" in text
    assert "last lines of api-gateway:" in text
    assert f"api-gateway restarted (restart #1, pid {second})" in text
    # Its sessions were in memory: a fresh login link follows the restart.
    wait_for("a second login link", lambda: output.read_text().count("login   http") == 2, 10, output)
    assert back_after < 15

    # Each service with tables as its own role; nobody (but us, here) as the superuser.
    assert asyncio.run(database_users(postgres_port)) == {
        f"trueup_{name}" for name in ("exchange_gateway", "ledger", "reconciler", "executor", "risk", "notifier")}

    children = children_of(proc.pid)
    services = {pid: cmd.split(" -m services.")[1].split()[0] for pid, cmd in children.items() if " -m services." in cmd}
    assert len(services) == 8  # seven services and the venue-sim
    # The real processes' environments: the token in api-gateway's only, venue keys in the gateway's
    # only, and each service on the bus as its own NATS user (passwords generated, kept private).
    token = (output.parent / "data" / "api-token").read_text().strip()
    passwords = output.parent / "data" / "nats-passwords.json"
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    for pid, service in services.items():
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode()
        if service != "venue_sim":
            user = service.replace("_", "-")
            assert f"NATS_URL=nats://{user}:{quote(json.loads(passwords.read_text())[user], safe='')}@" in environ
        assert (f"API_TOKEN={token}" in environ) == (service == "api_gateway"), service
        assert ("POLYMARKET_PRIVATE_KEY=" in environ) == (service == "exchange_gateway"), service
    proc.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    proc.wait(12)
    assert time.monotonic() - stopped_at < 10
    assert proc.returncode == 0
    assert [pid for pid in children if pid_alive(pid)] == []
    assert not (output.parent / "data" / "postgres" / "postmaster.pid").exists()
    assert output.read_text().rstrip().endswith("stopped")
