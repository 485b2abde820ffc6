"""The running stack: every service as its own process on real NATS + Postgres, each with its own
NATS user (after the admin step made the streams and consumers) and its own Postgres role, and
only the settings it declares; the API asked with its token."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys

import httpx
import pytest

SERVICES = ["exchange_gateway", "ledger", "reconciler", "executor", "risk", "notifier"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_until(check, timeout=30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            last = await check()
            if last:
                return last
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"not ready in {timeout}s (last={last!r})")


@pytest.fixture(scope="package")
async def stack(nats_users, provision_bus, service_database_urls, bus_namespace, tmp_path_factory):
    """(client sending the API token, processes, log files); one stack for the whole package."""
    port = free_port()
    token = secrets.token_urlsafe(32)
    await provision_bus(bus_namespace)
    common = {"PATH": os.environ["PATH"], "BUS_NAMESPACE": bus_namespace}
    envs = {name: {**common, "NATS_URL": nats_users[name.replace("_", "-")],
                   "DATABASE_URL": service_database_urls[name.replace("_", "-")]} for name in SERVICES}
    envs["api_gateway"] = {**common, "NATS_URL": nats_users["api-gateway"], "API_PORT": str(port), "API_TOKEN": token}
    logs = {name: tmp_path_factory.mktemp("logs") / f"{name}.log" for name in envs}
    procs = {}
    for name, log in logs.items():
        # A file, not a pipe: nothing reads a pipe until the end, and a full one blocks the service.
        with log.open("wb") as sink:
            procs[name] = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=envs[name], stdout=sink,
                                           stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client, procs, logs
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
