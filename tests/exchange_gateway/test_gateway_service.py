"""The gateway and the API as real processes against the simulator: holdings, errors, secrets."""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal

import nats

from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import get_external, start_stack
from tests.support.venue_sim import running_sim


def secret_forms(creds) -> list[str]:
    raw = [
        creds.kalshi_private_key_pem.decode(),
        creds.kalshi_key_id,
        creds.polymarket_api_key,
        creds.polymarket_private_key,
        creds.polymarket_private_key.removeprefix("0x"),
        creds.polymarket_api_secret,
        creds.polymarket_api_passphrase,
    ]
    pem_body = "".join(line for line in raw[0].splitlines() if "-----" not in line)
    forms = [*raw, pem_body, *[line for line in raw[0].splitlines() if "-----" not in line and len(line) > 20]]
    for value in raw:
        forms.append(base64.b64encode(value.encode()).decode())
        forms.append(base64.urlsafe_b64encode(value.encode()).decode())
    # The Polymarket secret is itself base64: its decoded bytes re-encoded in the other alphabet.
    decoded = base64.urlsafe_b64decode(creds.polymarket_api_secret)
    forms += [base64.b64encode(decoded).decode(), decoded.hex()]
    return forms


async def test_holdings_both_venues_exact_and_no_secret_leaks_anywhere(nats_url, nats_users, database_url, tmp_path):
    async with running_sim(scenario="demo") as sim:
        stack = start_stack(nats_users, database_url, gateway_env(sim, tmp_path))
        seen_on_bus: list[bytes] = []
        nc = await nats.connect(nats_url)

        async def capture(msg):
            seen_on_bus.append(msg.subject.encode() + b" " + msg.data)

        # Everything on the server, replies on _INBOX subjects included.
        await nc.subscribe(">", cb=capture)
        responses: list[str] = []
        try:
            async with stack.client(timeout=40) as client:
                body = await get_external(client, refresh=1)
                responses.append(str(body))
                for path in ("/api/health", "/", "/static/holdings.js", "/schema/openapi.json", "/metrics",
                             "/api/positions/external?refresh=0"):
                    responses.append((await client.get(path)).text)
                await asyncio.sleep(3)  # fill backfill and a round of marks go by on the bus
                gateway_metrics = (await client.get(stack.gateway_metrics)).text
                assert "trueup_venue_requests_total" in gateway_metrics
                responses.append(gateway_metrics)
        finally:
            await nc.drain()
            output = stack.stop()

        external = body["external"]
        assert external["errors"] == {}
        kalshi = external["kalshi"]
        assert kalshi["complete"] is True and kalshi["status"] == "ok"
        expected_k = {t: p.signed for t, p in sim.sim.kalshi.positions.items() if p.signed != 0}
        got_k = {p["instrument_id"]: Decimal(p["quantity"]) * (1 if p["outcome"] == "yes" else -1)
                 for p in kalshi["positions"]}
        assert got_k == expected_k
        assert Decimal(kalshi["balance"]["cash"]) == sim.sim.kalshi.balance
        # Rows carry the market's title (read once per ticker) and the venue's totals.
        assert all(p["title"] == sim.sim.kalshi.markets[p["instrument_id"]].title for p in kalshi["positions"])
        assert Decimal(kalshi["totals"]["cost_basis"]) == sum(Decimal(p["cost_basis"]) for p in kalshi["positions"])
        assert Decimal(kalshi["totals"]["cash"]) == sim.sim.kalshi.balance

        poly = external["polymarket"]
        assert poly["complete"] is True
        expected_p = {a: s.size for a, s in sim.sim.polymarket.positions().items() if s.size != 0}
        got_p = {p["instrument_id"]: Decimal(p["quantity"]) for p in poly["positions"]}
        assert got_p == expected_p  # dust included: sizeThreshold=0

    events = b"\n".join(seen_on_bus).decode(errors="replace")
    assert f"{stack.namespace}.evt.fills.kalshi" in events and f"{stack.namespace}.evt.marks" in events
    haystacks = {"gateway log": output["exchange-gateway"], "api log": output["api-gateway"],
                 "bus": events, "api responses": "\n".join(responses)}
    assert "service started" in output["exchange-gateway"]
    for form in [*secret_forms(sim.credentials), stack.token]:
        for where, text in haystacks.items():
            assert form not in text, f"a secret leaked into the {where}"


async def test_bad_key_file_fails_start_with_a_clear_message(nats_users, database_url, tmp_path):
    async with running_sim(scenario="demo") as sim:
        env = gateway_env(sim, tmp_path)
        (tmp_path / "kalshi.pem").write_text("not a key")
        stack = start_stack(nats_users, database_url, env)
        code = stack.procs["exchange-gateway"].wait(timeout=20)
        output = stack.stop()["exchange-gateway"]
    assert code != 0
    assert "KALSHI_PRIVATE_KEY_FILE" in output and "not a key" not in output

    env["KALSHI_PRIVATE_KEY_FILE"] = str(tmp_path / "missing.pem")
    stack = start_stack(nats_users, database_url, env)
    assert stack.procs["exchange-gateway"].wait(timeout=20) != 0
    assert "KALSHI_PRIVATE_KEY_FILE" in stack.stop()["exchange-gateway"]


async def test_a_failing_venue_is_named_and_the_other_is_still_served(nats_users, database_url, tmp_path):
    async with running_sim(scenario="demo") as sim:
        env = gateway_env(sim, tmp_path)
        env["POLYMARKET_API_SECRET"] = base64.urlsafe_b64encode(b"w" * 32).decode()  # the sim says 401
        stack = start_stack(nats_users, database_url, env)
        try:
            async with stack.client(timeout=40) as client:
                external = (await get_external(client))["external"]
                assert "polymarket" in external["errors"]
                assert external["kalshi"]["complete"] is True and external["kalshi"]["positions"]

                sim.sim.faults.set("kalshi", malformed_json=True)
                broken = (await get_external(client))["external"]
                assert broken["kalshi"]["complete"] is False
                assert "kalshi" in broken["errors"]["kalshi"]
        finally:
            sim.sim.faults.clear()
            stack.stop()


async def test_unconfigured_venue_is_reported_and_the_other_served(nats_users, database_url, tmp_path):
    async with running_sim(scenario="demo") as sim:
        stack = start_stack(nats_users, database_url, gateway_env(sim, tmp_path, venues=("kalshi",)))
        try:
            async with stack.client(timeout=40) as client:
                external = (await get_external(client))["external"]
                health = (await client.get("/api/health")).json()
        finally:
            stack.stop()
    assert external["polymarket"]["status"] == "not_configured"
    assert "not configured" in external["errors"]["polymarket"]
    assert external["kalshi"]["complete"] is True
    assert health["services"]["exchange-gateway"]["status"] == "ok"
