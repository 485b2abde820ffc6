"""The running stack (tests/api_gateway/conftest.py): health over the bus, the UI shell, OpenAPI, metrics."""

import signal

from tests.api_gateway.conftest import wait_until


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
