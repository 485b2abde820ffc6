"""Run exchange-gateway and api-gateway (and, when asked, the ledger) as real processes for
end-to-end tests, each as its own NATS user, after the admin step has made the stack's streams and
consumers."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from shared.bus import BusConfig
from shared.bus.provision import provision_bus
from shared.contracts.channels import ADMIN
from tests.support.db_roles import service_database_urls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, procs: dict[str, subprocess.Popen], logs: dict[str, Path], api: str, namespace: str,
                 token: str) -> None:
        self.procs = procs
        self.logs = logs
        self.api = api
        self.namespace = namespace
        self.token = token

    def client(self, **kwargs) -> httpx.AsyncClient:
        """An HTTP client for the API that sends the stack's token, as a script would."""
        return httpx.AsyncClient(base_url=self.api, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def stop(self) -> dict[str, str]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return {name: path.read_text(errors="replace") for name, path in self.logs.items()}


def spawn(module: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    # Output goes to a file, not a pipe: a chatty process must never block on a full pipe.
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", module], env=env, stdout=sink, stderr=subprocess.STDOUT)


def start_stack(nats_users: dict[str, str], database_url: str, gateway_extra: dict[str, str],
                ledger: dict[str, str] | None = None) -> Stack:
    """`nats_users`: each NATS user's URL (the `nats_users` fixture). `ledger`: also run the ledger,
    with these settings on top (e.g. `PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS`; `{}` for its defaults);
    None (the default) runs without one."""
    namespace = f"s{uuid.uuid4().hex[:10]}"
    port = free_port()
    token = secrets.token_urlsafe(32)
    # Its own loop in a worker thread: the caller's loop is running (the test is async).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, provision_bus(nats_users[ADMIN], namespace, BusConfig.defaults())).result()
    # Only what every service declares: a service refuses a setting it does not implement.
    base = {"PATH": os.environ["PATH"], "BUS_NAMESPACE": namespace, "LOG_LEVEL": "DEBUG"}
    # Fast polls so tests see fills and marks quickly; `gateway_extra` may set others (a benchmark
    # runs the defaults).
    gateway = {**base, "NATS_URL": nats_users["exchange-gateway"],
               "DATABASE_URL": service_database_urls(database_url)["exchange-gateway"],
               "FILL_POLL_INTERVAL_SECONDS": "0.5", "MARK_INTERVAL_SECONDS": "1", **gateway_extra,
               "METRICS_PORT": str(free_port())}
    names = ("exchange-gateway", "api-gateway", *(("ledger",) if ledger is not None else ()))
    logs = {name: Path(tempfile.mkdtemp()) / f"{name}.log" for name in names}
    procs = {
        "exchange-gateway": spawn("services.exchange_gateway", gateway, logs["exchange-gateway"]),
        # The API gets no venue variables and no database (it owns no tables): it must work without them.
        "api-gateway": spawn("services.api_gateway", {**base, "NATS_URL": nats_users["api-gateway"],
                                                      "API_PORT": str(port), "API_TOKEN": token},
                             logs["api-gateway"]),
    }
    if ledger is not None:
        # Its own NATS user and Postgres role, as make run and compose give it.
        procs["ledger"] = spawn("services.ledger", {**base, "NATS_URL": nats_users["ledger"],
                                                    "DATABASE_URL": service_database_urls(database_url)["ledger"],
                                                    **ledger}, logs["ledger"])
    stack = Stack(procs, logs, f"http://127.0.0.1:{port}", namespace, token)
    stack.gateway_metrics = f"http://127.0.0.1:{gateway['METRICS_PORT']}/metrics"
    return stack


async def wait_for_gateway(client: httpx.AsyncClient, timeout: float = 30.0) -> None:
    """Like the UI: ask for holdings once the gateway says it is up.

    Needed, not cosmetic: a test that listens on `>` is itself a subscriber of every request
    subject, so NATS never answers "no responders" and an early request waits its full timeout.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            health = (await client.get("/api/health")).json()
            if health["services"]["exchange-gateway"]["status"] == "ok":
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("exchange-gateway never became healthy")


async def get_external(client: httpx.AsyncClient, refresh: int = 1, timeout: float = 30.0) -> dict:
    await wait_for_gateway(client)
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while True:
        try:
            response = await client.get("/api/positions/external", params={"refresh": refresh})
            if response.status_code == 200:
                return response.json()
            last = response.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"external positions never answered; last: {last}")
        await asyncio.sleep(0.3)
