"""`make run`: the whole stack on one machine, one supervised process per service, plus the venue
simulator.

NATS and Postgres come from `NATS_URL`/`DATABASE_URL` when set, else embedded servers whose data
lives in `<repo>/.data/` and is reused by the next run. The embedded NATS runs with the generated
permissions (those of `deploy/nats/permissions.conf`) and a generated password per user
(`.data/nats-passwords.json`, 0600); each service connects as its own user, after the admin step
(`shared.bus.provision`) made the streams and consumers. Each child gets an environment built from an
allow-list, never a copy of ours: venue credentials reach exchange-gateway and nothing else, the
API token reaches api-gateway and nothing else. Children always log JSON to us; the console
decides how to show it. Once the API answers, the simulator's demo markets are mapped through it
(demo_mappings.py), so the Overview shows the demo's deliberate differences rather than nothing
but unknown mappings.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from deploy.devstack import demo_mappings
from deploy.devstack.console import Console
from deploy.devstack.supervisor import Child, ChildSpec, Supervisor
from services.api_gateway.login_link import mint_login_link
from services.venue_sim.demo_credentials import DemoCredentials, ensure_demo_credentials
from shared.bus import BusConfig
from shared.bus.provision import provision_bus
from shared.db.roles import SERVICE_SCHEMAS, provision_service_roles
from shared.devstack.provision import Infra, provision

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / ".data"
API_TOKEN_FILE = "api-token"

# Start order: producers of facts before their consumers, the HTTP front last.
SERVICES = (
    "exchange_gateway", "ledger", "reconciler", "executor", "risk", "notifier", "api_gateway",
)
SIM = "venue-sim"
# SIGTERM to SIGKILL for the children; the embedded servers' own stop fits in what is left of
# the 10 s an operator waits after Ctrl-C.
CHILD_STOP_TIMEOUT = 6.0
UI_WAIT_WARNING = 90.0
TICK = 0.2

# What any child may inherit from our environment: process plumbing only, no configuration.
_PROCESS_ENV = (
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM", "NO_COLOR",
    "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
)
# Per-service configuration passed through when the operator set it.
_PASSTHROUGH: dict[str, tuple[str, ...]] = {
    "api_gateway": ("API_HOST",),
    "ledger": ("PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS",),
}
# Demo-session defaults, each a setting its service declares, used unless the operator set it: the
# Portfolio chart gains a point a minute rather than one an hour, so it fills while you look.
_DEMO_DEFAULTS: dict[str, dict[str, str]] = {
    "ledger": {"PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS": "60"},
}


@dataclass(frozen=True)
class Ports:
    api: int = 8000
    sim_kalshi: int = 8100
    sim_data_api: int = 8101
    sim_clob: int = 8102
    # Preferred only: a busy port makes the embedded server take a free one.
    nats: int = 4222
    postgres: int = 5433

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api}"

    @property
    def sim_kalshi_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_kalshi}/trade-api/v2"

    @property
    def sim_data_api_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_data_api}"

    @property
    def sim_clob_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_clob}"


@dataclass(frozen=True)
class Stack:
    """Everything resolved before the first child starts."""

    # Per service (display name), the NATS URL of its own user.
    nats_urls: dict[str, str]
    # Per service that owns a schema (by display name, as shared.db.roles names them), the DSN
    # of its own role, with rights on that schema only.
    database_urls: dict[str, str]
    creds: DemoCredentials
    api_token: str
    ports: Ports = Ports()


def display_name(service: str) -> str:
    return service.replace("_", "-")


def existing_services(root: Path = REPO_ROOT) -> list[str]:
    return [name for name in SERVICES if (root / "services" / name / "main.py").is_file()]


def ensure_api_token(data_dir: Path) -> str:
    """The API token in `<data_dir>/api-token` (0600), generated on first use and reused after."""
    path = data_dir / API_TOKEN_FILE
    if path.is_file():
        token = path.read_text().strip()
        if len(token) >= 32:
            path.chmod(0o600)
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT
    return token


def load_demo_credentials(data_dir: Path) -> DemoCredentials:
    return ensure_demo_credentials(data_dir / "demo-creds")


def _process_env(parent: dict[str, str]) -> dict[str, str]:
    env = {k: parent[k] for k in _PROCESS_ENV if k in parent}
    # JSON to us whatever the terminal: the console renders it (see console.py).
    env.update(PYTHONUNBUFFERED="1", LOG_LEVEL=parent.get("LOG_LEVEL", "INFO"), LOG_FORMAT="json")
    return env


def common_env(parent: dict[str, str]) -> dict[str, str]:
    env = _process_env(parent)
    env.update(TRADING_MODE="paper")
    if parent.get("BUS_NAMESPACE"):
        env["BUS_NAMESPACE"] = parent["BUS_NAMESPACE"]
    return env


def gateway_venue_env(stack: Stack) -> dict[str, str]:
    """The venue endpoints (the simulator) and the demo credentials: exchange-gateway only."""
    creds = stack.creds
    return {
        "KALSHI_BASE_URL": stack.ports.sim_kalshi_url,
        "KALSHI_API_KEY_ID": creds.kalshi_key_id,
        "KALSHI_PRIVATE_KEY_FILE": str(creds.kalshi_private_key_file),
        "POLYMARKET_CLOB_URL": stack.ports.sim_clob_url,
        "POLYMARKET_DATA_API_URL": stack.ports.sim_data_api_url,
        "POLYMARKET_ADDRESS": creds.polymarket_address,
        "POLYMARKET_PRIVATE_KEY": creds.polymarket_private_key,
        "POLYMARKET_API_KEY": creds.polymarket_api_key,
        "POLYMARKET_API_SECRET": creds.polymarket_api_secret,
        "POLYMARKET_API_PASSPHRASE": creds.polymarket_api_passphrase,
    }


def sim_env(parent: dict[str, str], stack: Stack, data_dir: Path) -> dict[str, str]:
    """What the simulator needs to verify the gateway's signatures: public halves and API creds."""
    creds = stack.creds
    env = _process_env(parent)
    env.update({
        "SIM_KALSHI_PORT": str(stack.ports.sim_kalshi),
        "SIM_DATA_API_PORT": str(stack.ports.sim_data_api),
        "SIM_CLOB_PORT": str(stack.ports.sim_clob),
        "SIM_KALSHI_KEY_ID": creds.kalshi_key_id,
        "SIM_KALSHI_PUBLIC_KEY_FILE": str(creds.kalshi_public_key_file),
        "SIM_POLYMARKET_API_KEY": creds.polymarket_api_key,
        "SIM_POLYMARKET_API_SECRET": creds.polymarket_api_secret,
        "SIM_POLYMARKET_API_PASSPHRASE": creds.polymarket_api_passphrase,
        "SIM_POLYMARKET_ADDRESS": creds.polymarket_address,
        "SIM_DATA_DIR": str(data_dir),
        "SIM_SCENARIO": "demo",
    })
    return env


def service_env(name: str, parent: dict[str, str], stack: Stack) -> dict[str, str]:
    env = common_env(parent)
    env["NATS_URL"] = stack.nats_urls[display_name(name)]
    # A service without a schema (api-gateway) gets no database at all.
    if display_name(name) in stack.database_urls:
        env["DATABASE_URL"] = stack.database_urls[display_name(name)]
    env.update(_DEMO_DEFAULTS.get(name, {}))
    env.update({k: parent[k] for k in _PASSTHROUGH.get(name, ()) if parent.get(k)})
    if name == "exchange_gateway":
        env.update(gateway_venue_env(stack))
    if name == "api_gateway":
        env.update(API_PORT=str(stack.ports.api), API_TOKEN=stack.api_token)
    return env


def without_password(url: str) -> str:
    """A URL fit for the console: any password replaced (DATABASE_URL may carry one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


# ---------------------------------------------------------------------------------------------
# the run


def api_answers(base_url: str) -> bool:
    """Any HTTP answer from /api/health: the API is up (a degraded service is its own story)."""
    try:
        with urllib.request.urlopen(f"{base_url}/api/health", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def login_lines(stack: Stack, token_file: Path) -> list[str]:
    base = stack.ports.api_url
    try:
        link = mint_login_link(base, stack.api_token)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        return [f"UI      {base}/  (no login link: {type(exc).__name__}: {exc})"]
    return [
        f"UI      {base}/",
        f"login   {link}",
        "        one-time link, valid 10 minutes; a new one is printed whenever api-gateway restarts",
        f"API     {base}/api  with  Authorization: Bearer $(cat {token_file})   OpenAPI: {base}/schema",
    ]


def banner_lines(stack: Stack, infra: Infra, data_dir: Path, token_file: Path) -> list[str]:
    p = stack.ports
    return [
        "trueup is running: paper trading against the venue simulator",
        *login_lines(stack, token_file),
        f"venues  Kalshi {p.sim_kalshi_url}  Polymarket data {p.sim_data_api_url}  CLOB {p.sim_clob_url}",
        f"NATS    {without_password(infra.nats_url)} ({infra.sources['nats']})   "
        f"Postgres {without_password(infra.database_url)} ({infra.sources['postgres']})",
        f"data    {data_dir}",
        "Ctrl-C stops everything.",
    ]


class _Terminate(Exception):
    pass


def _raise_terminate(signum: int, frame: object) -> None:
    raise _Terminate()


@dataclass
class LoginAnnouncer:
    """Prints the banner once the API answers, and a fresh login link after every api-gateway
    restart (its sessions live in memory, so the browser needs a new one)."""

    console: Console
    stack: Stack
    infra: Infra
    data_dir: Path
    announced_for: int | None = None  # the api-gateway restart count the last link was minted for
    waiting_since: float = field(default_factory=time.monotonic)
    warned: bool = False

    def check(self, api: Child) -> None:
        if api.restart_at is not None or self.announced_for == api.restarts:
            return
        base = self.stack.ports.api_url
        if not api_answers(base):
            if not self.warned and time.monotonic() - self.waiting_since > UI_WAIT_WARNING:
                self.console.notice(f"{base}/api/health has not answered for {UI_WAIT_WARNING:.0f}s")
                self.warned = True
            return
        token_file = self.data_dir / API_TOKEN_FILE
        first = self.announced_for is None
        self.console.banner(banner_lines(self.stack, self.infra, self.data_dir, token_file) if first
                            else login_lines(self.stack, token_file))
        self.announced_for = api.restarts


def run(ports: Ports = Ports(), data_dir: Path = DATA_DIR) -> int:
    parent = dict(os.environ)
    data_dir.mkdir(parents=True, exist_ok=True)
    names = existing_services()
    console = Console([SIM, *map(display_name, names)], log_format=parent.get("LOG_FORMAT"))
    supervisor = Supervisor(console, REPO_ROOT)
    # SIGHUP too: a closed terminal must not leave the children (in their own sessions) behind.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_terminate)

    infra: Infra | None = None
    seeding: threading.Event | None = None
    try:
        started = time.monotonic()
        namespace = parent.get("BUS_NAMESPACE") or "trueup"
        infra = provision(data_dir, nats_port=ports.nats, postgres_port=ports.postgres, nats_namespace=namespace)
        # The services run with the settings' defaults for the bus, so the admin step does too.
        asyncio.run(provision_bus(infra.nats_admin_url, namespace, BusConfig.defaults()))
        console.notice(f"NATS and Postgres ready in {time.monotonic() - started:.1f}s")
        present = set(map(display_name, names))
        stack = Stack(
            nats_urls={service: infra.nats_users[service] for service in present},
            database_urls=provision_service_roles(
                infra.database_url, urlsplit(infra.database_url).path.lstrip("/"),
                {service: schema for service, schema in SERVICE_SCHEMAS.items() if service in present},
            ),
            creds=load_demo_credentials(data_dir), api_token=ensure_api_token(data_dir), ports=ports,
        )
        supervisor.add(ChildSpec(SIM, [sys.executable, "-m", "services.venue_sim"],
                                 sim_env(parent, stack, data_dir / "venue-sim")))
        children = {
            name: supervisor.add(ChildSpec(display_name(name), [sys.executable, "-m", f"services.{name}"],
                                           service_env(name, parent, stack)))
            for name in names
        }
        api = children.get("api_gateway")
        if api is None:
            console.notice("api-gateway not present: no UI. Ctrl-C to stop.")
        announcer = LoginAnnouncer(console, stack, infra, data_dir)
        while True:
            supervisor.tick()
            if api is not None:
                announcer.check(api)
                # The simulator runs the demo scenario: map its markets once the API answers.
                if seeding is None and announcer.announced_for is not None:
                    seeding = demo_mappings.seed_in_background(ports.api_url, stack.api_token, console.notice)
            time.sleep(TICK)
    except (KeyboardInterrupt, _Terminate):
        console.notice("stopping…")
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        if seeding is not None:
            seeding.set()
        supervisor.stop(CHILD_STOP_TIMEOUT)
        if infra is not None:
            infra.stop()
        console.notice("stopped")
