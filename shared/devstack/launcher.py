"""`make run`: the whole stack on one machine, one process per service, plus the venue simulator.

NATS and Postgres come from `NATS_URL`/`DATABASE_URL` when set, else embedded servers whose data
lives in `<repo>/.data/` and is reused by the next run. Each child gets an environment built from an
allow-list, never a copy of ours: venue credentials reach exchange-gateway and nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from shared.devstack.provision import Infra, provision

REPO_ROOT = Path(__file__).resolve().parents[2]

# Start order: producers of facts before their consumers, the HTTP front last.
SERVICES = (
    "exchange_gateway", "ledger", "reconciler", "executor", "risk", "notifier", "api_gateway",
)
HEALTH_URL = "http://127.0.0.1:8000/api/health"
UI_URL = "http://127.0.0.1:8000/"
SIM_KALSHI_URL = "http://127.0.0.1:8100/trade-api/v2"
SIM_POLY_DATA_URL = "http://127.0.0.1:8101"
SIM_POLY_CLOB_URL = "http://127.0.0.1:8102"
NATS_PORT = 4222
POSTGRES_PORT = 5433
STOP_TIMEOUT = 10.0

# What any child may inherit from our environment: process plumbing only, no configuration.
_PROCESS_ENV = (
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM", "NO_COLOR",
    "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
)
# Per-service configuration passed through when the operator set it.
_PASSTHROUGH: dict[str, tuple[str, ...]] = {
    "api_gateway": ("API_HOST", "API_PORT", "API_TOKEN", "API_USERS"),
    "notifier": ("DISCORD_WEBHOOK_URL", "SLACK_WEBHOOK_URL", "ALERT_WEBHOOK_URL"),
}


def existing_services(root: Path = REPO_ROOT) -> list[str]:
    return [name for name in SERVICES if (root / "services" / name / "main.py").is_file()]


def common_env(parent: dict[str, str], nats_url: str, database_url: str) -> dict[str, str]:
    env = {k: parent[k] for k in _PROCESS_ENV if k in parent}
    env.update(
        NATS_URL=nats_url,
        DATABASE_URL=database_url,
        TRADING_MODE="paper",
        LOG_LEVEL=parent.get("LOG_LEVEL", "INFO"),
        PYTHONUNBUFFERED="1",
    )
    if parent.get("BUS_NAMESPACE"):
        env["BUS_NAMESPACE"] = parent["BUS_NAMESPACE"]
    return env


def gateway_venue_env(creds: Any) -> dict[str, str]:
    """The venue endpoints (the simulator) and the demo credentials: exchange-gateway only."""
    return {
        "KALSHI_BASE_URL": SIM_KALSHI_URL,
        "KALSHI_API_KEY_ID": creds.kalshi_key_id,
        "KALSHI_PRIVATE_KEY_FILE": str(creds.kalshi_private_key_file),
        "POLYMARKET_CLOB_URL": SIM_POLY_CLOB_URL,
        "POLYMARKET_DATA_API_URL": SIM_POLY_DATA_URL,
        "POLYMARKET_ADDRESS": creds.polymarket_address,
        "POLYMARKET_PRIVATE_KEY": creds.polymarket_private_key,
        "POLYMARKET_API_KEY": creds.polymarket_api_key,
        "POLYMARKET_API_SECRET": creds.polymarket_api_secret,
        "POLYMARKET_API_PASSPHRASE": creds.polymarket_api_passphrase,
    }


def sim_env(creds: Any, data_dir: Path) -> dict[str, str]:
    """What the simulator needs to verify the gateway's signatures: public halves and API creds."""
    return {
        "SIM_KALSHI_KEY_ID": creds.kalshi_key_id,
        "SIM_KALSHI_PUBLIC_KEY_FILE": str(creds.kalshi_public_key_file),
        "SIM_POLYMARKET_API_KEY": creds.polymarket_api_key,
        "SIM_POLYMARKET_API_SECRET": creds.polymarket_api_secret,
        "SIM_POLYMARKET_API_PASSPHRASE": creds.polymarket_api_passphrase,
        "SIM_POLYMARKET_ADDRESS": creds.polymarket_address,
        "SIM_DATA_DIR": str(data_dir),
        "SIM_SCENARIO": "demo",
    }


def service_env(name: str, parent: dict[str, str], common: dict[str, str], creds: Any) -> dict[str, str]:
    env = dict(common)
    env.update({k: parent[k] for k in _PASSTHROUGH.get(name, ()) if parent.get(k)})
    if name == "exchange_gateway":
        env.update(gateway_venue_env(creds))
    return env


def load_demo_credentials(data_dir: Path) -> Any:
    from services.venue_sim.demo_credentials import ensure_demo_credentials

    return ensure_demo_credentials(data_dir / "demo-creds")


# ---------------------------------------------------------------------------------------------
# children


class _Output:
    """Serialises children's lines onto our stdout, each prefixed with its service name."""

    def __init__(self, width: int) -> None:
        self._lock = threading.Lock()
        self._width = width

    def line(self, name: str, text: str) -> None:
        with self._lock:
            sys.stdout.write(f"{name:<{self._width}} | {text}\n")
            sys.stdout.flush()

    def banner(self, text: str) -> None:
        with self._lock:
            bar = "!" * 78
            sys.stdout.write(f"\n{bar}\n!!! {text}\n{bar}\n\n")
            sys.stdout.flush()


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    reported: bool = False
    pump: threading.Thread | None = field(default=None, repr=False)


def _pump(stream: IO[str], name: str, out: _Output) -> None:
    for raw in stream:
        out.line(name, raw.rstrip("\n"))


def spawn(name: str, module: str, env: dict[str, str], out: _Output) -> Child:
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, errors="replace",
    )
    child = Child(name, proc)
    assert proc.stdout is not None
    child.pump = threading.Thread(target=_pump, args=(proc.stdout, name, out), daemon=True)
    child.pump.start()
    return child


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM everyone (last started first), then SIGKILL whoever outlives the timeout."""
    for child in reversed(children):
        if child.proc.poll() is None:
            child.proc.terminate()
    deadline = time.monotonic() + timeout
    for child in reversed(children):
        try:
            child.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()
    for child in children:
        if child.pump is not None:
            child.pump.join(timeout=2)


def report_deaths(children: list[Child], out: _Output) -> None:
    for child in children:
        code = child.proc.poll()
        if code is not None and not child.reported:
            child.reported = True
            out.banner(f"{child.name} EXITED with code {code} — the stack is degraded (see its lines above)")


def wait_healthy(url: str, children: list[Child], out: _Output, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report_deaths(children, out)
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


class _Terminate(Exception):
    pass


def _raise_terminate(signum: int, frame: object) -> None:
    raise _Terminate()


def run(health_timeout: float = 90.0) -> int:
    parent = dict(os.environ)
    data_dir = REPO_ROOT / ".data"
    data_dir.mkdir(exist_ok=True)
    names = existing_services()
    out = _Output(max(len(n) for n in ["venue-sim", "devstack", *names]))
    signal.signal(signal.SIGTERM, _raise_terminate)

    infra: Infra | None = None
    children: list[Child] = []
    try:
        started = time.monotonic()
        infra = provision(data_dir, nats_port=NATS_PORT, postgres_port=POSTGRES_PORT)
        out.line("devstack", f"NATS {infra.nats_url} ({infra.sources['nats']}), "
                             f"Postgres {infra.database_url} ({infra.sources['postgres']}) "
                             f"in {time.monotonic() - started:.1f}s; data in {data_dir}")
        creds = load_demo_credentials(data_dir)
        common = common_env(parent, infra.nats_url, infra.database_url)

        sim = {k: common[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONUNBUFFERED",
                                      "LOG_LEVEL", "VIRTUAL_ENV") if k in common}
        sim.update(sim_env(creds, data_dir / "venue-sim"))
        children.append(spawn("venue-sim", "services.venue_sim", sim, out))
        for name in names:
            env = service_env(name, parent, common, creds)
            children.append(spawn(name.replace("_", "-"), f"services.{name}", env, out))

        if "api_gateway" in names:
            if wait_healthy(HEALTH_URL, children, out, health_timeout):
                out.line("devstack", f"UI ready: {UI_URL}  (Ctrl-C to stop)")
            else:
                out.banner(f"{HEALTH_URL} did not answer within {health_timeout:.0f}s")
        else:
            out.line("devstack", "api-gateway not present; no UI. Ctrl-C to stop.")

        while True:
            report_deaths(children, out)
            time.sleep(0.5)
    except (KeyboardInterrupt, _Terminate):
        out.line("devstack", "stopping…")
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_children(children)
        if infra is not None:
            infra.stop()
        out.line("devstack", "stopped")
