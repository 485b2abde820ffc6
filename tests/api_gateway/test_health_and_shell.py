"""The running stack: every service as its own process on real NATS + Postgres, asked via the API."""

import asyncio
import os
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


@pytest.fixture(scope="module")
async def stack(nats_url, database_url, bus_namespace, tmp_path_factory):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "BUS_NAMESPACE": bus_namespace,
        "API_PORT": str(port),
    }
    logs = {name: tmp_path_factory.mktemp("logs") / f"{name}.log" for name in [*SERVICES, "api_gateway"]}
    procs = {}
    for name, log in logs.items():
        # A file, not a pipe: nothing reads a pipe until the end, and a full one blocks the service.
        with log.open("wb") as sink:
            procs[name] = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        yield client, procs, logs
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_every_service_reports_healthy_over_the_bus(stack):
    client, _, _ = stack

    async def healthy():
        response = await client.get("/api/health")
        return response if response.status_code == 200 else None

    body = (await wait_until(healthy)).json()
    assert body["status"] == "ok"
    expected = {"exchange-gateway", "ledger", "reconciler", "executor", "risk", "notifier", "api-gateway"}
    assert set(body["services"]) == expected
    assert body["services"]["ledger"]["detail"]["database"] == "ok"


async def test_ui_shell_openapi_and_metrics_are_served(stack):
    client, _, _ = stack
    await wait_until(lambda: _ok(client, "/"))
    page = await client.get("/")
    assert page.headers["content-type"].startswith("text/html") and 'src="/static/app.js"' in page.text
    script = await client.get("/static/app.js")
    assert script.status_code == 200 and "/api/health" in script.text
    assert "http" not in script.text.replace("/api/health", "")  # nothing fetched from a CDN
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/health" in schema["paths"]
    metrics = await client.get("/metrics")
    assert "trueup_service_up" in metrics.text


async def test_a_stopped_service_shows_down_and_stops_gracefully(stack):
    client, procs, logs = stack
    await wait_until(lambda: _ok(client, "/api/health"))
    risk = procs["risk"]
    risk.send_signal(signal.SIGTERM)
    assert risk.wait(timeout=15) == 0, "SIGTERM must shut down cleanly"
    output = logs["risk"].read_text()
    assert '"service stopped"' in output

    async def degraded():
        response = await client.get("/api/health")
        return response if response.json()["services"]["risk"]["status"] == "down" else None

    response = await wait_until(degraded, timeout=10)
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


async def _ok(client, path):
    return (await client.get(path)).status_code == 200
