"""deploy/nats: the permission rules generated from the channel declarations are current and hold on a
real nats-server."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

from shared.contracts.channels import SERVICES
from shared.contracts.permissions_gen import render_permissions
from shared.devstack import embedded

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats"
USERS = SERVICES


def _password(user: str) -> str:
    return f"pw-{user}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    env = {**os.environ, **{f"NATS_PASSWORD_{u.upper().replace('-', '_')}": _password(u) for u in USERS}}
    port = embedded.free_port()
    store = tmp_path_factory.mktemp("nats-perm")
    # The shipped file, only with its container path for JetStream data moved to a temp dir.
    conf = (DEPLOY / "nats-server.conf").read_text().replace("/data/jetstream", str(store / "js"))
    shutil.copy(DEPLOY / "permissions.conf", store / "permissions.conf")
    (store / "nats-server.conf").write_text(conf)
    proc = subprocess.Popen(
        [str(embedded.nats_server_binary()), "-c", str(store / "nats-server.conf"),
         "-a", "127.0.0.1", "-p", str(port), "-m", str(embedded.free_port())],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        embedded._wait_nats_ready(port, proc, store / "none.log", 10)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


async def _connect(port: int, user: str, errors: list[Exception] | None = None):
    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(exc)

    return await nats.connect(
        f"nats://127.0.0.1:{port}", user=user, password=_password(user), error_cb=on_error,
        allow_reconnect=False,
    )


def test_permissions_file_matches_the_channel_declarations() -> None:
    """`make proto` writes it; declaring a channel or a consumer without regenerating fails here."""
    assert (DEPLOY / "permissions.conf").read_text() == render_permissions(), "run `make proto`"


async def test_config_is_valid_for_nats_server() -> None:
    env = {**os.environ, **{f"NATS_PASSWORD_{u.upper().replace('-', '_')}": "x" for u in USERS}}
    res = subprocess.run([str(embedded.nats_server_binary()), "-c", str(DEPLOY / "nats-server.conf"), "-t"],
                         env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("subject", ["trueup.evt.fills.kalshi", "trueup.evt.settlements.kalshi"])
async def test_only_gateway_publishes_venue_facts(server: int, subject: str) -> None:
    watcher = await _connect(server, "ledger")
    got: list[bytes] = []

    async def collect(msg) -> None:
        got.append(msg.data)

    sub = await watcher.subscribe(subject.rsplit(".", 1)[0] + ".>", cb=collect)
    await watcher.flush()
    gateway = await _connect(server, "exchange-gateway")
    errors: list[Exception] = []
    intruder = await _connect(server, "executor", errors)
    try:
        await intruder.publish(subject, b"forged")
        await gateway.publish(subject, b"real")
        await gateway.flush()
        await intruder.flush()
        await asyncio.sleep(0.2)
        assert got == [b"real"]
        assert any("permissions violation" in str(e).lower() for e in errors)
    finally:
        await sub.unsubscribe()
        for nc in (watcher, gateway, intruder):
            await nc.close()


async def test_only_executor_may_ask_gateway_to_place_orders(server: int) -> None:
    gateway = await _connect(server, "exchange-gateway")

    async def answer(msg) -> None:
        await msg.respond(b"placed")

    await gateway.subscribe("trueup.rpc.gateway.place_order", cb=answer)
    await gateway.flush()
    executor = await _connect(server, "executor")
    try:
        reply = await executor.request("trueup.rpc.gateway.place_order", b"{}", timeout=2)
        assert reply.data == b"placed"
        for user in ("api-gateway", "reconciler", "risk", "ledger", "notifier"):
            other = await _connect(server, user)
            try:
                with pytest.raises((NatsTimeout, NoRespondersError)):
                    await other.request("trueup.rpc.gateway.place_order", b"{}", timeout=0.3)
            finally:
                await other.close()
    finally:
        await executor.close()
        await gateway.close()


async def test_other_services_cannot_answer_place_order(server: int) -> None:
    errors: list[Exception] = []
    impostor = await _connect(server, "api-gateway", errors)
    try:
        await impostor.subscribe("trueup.rpc.gateway.place_order")
        await impostor.flush()
        await asyncio.sleep(0.1)
        assert any("permissions violation" in str(e).lower() for e in errors)
    finally:
        await impostor.close()


async def test_jetstream_usable_by_services(server: int) -> None:
    gateway = await _connect(server, "exchange-gateway")
    try:
        js = gateway.jetstream()
        await js.add_stream(name="TRUEUP_EVENTS", subjects=["trueup.evt.>"])
        ack = await js.publish("trueup.evt.fills.kalshi", b"fill")
        assert ack.seq == 1
    finally:
        await gateway.close()


async def test_every_service_may_raise_alerts(server: int) -> None:
    """A dead-lettering consumer raises an alert whichever service it runs in."""
    watcher = await _connect(server, "notifier")
    got: list[bytes] = []

    async def collect(msg) -> None:
        got.append(msg.data)

    await watcher.subscribe("trueup.evt.alerts", cb=collect)
    await watcher.flush()
    try:
        for user in USERS:
            errors: list[Exception] = []
            nc = await _connect(server, user, errors)
            try:
                await nc.publish("trueup.evt.alerts", user.encode())
                await nc.flush()
            finally:
                await nc.close()
            assert not errors, (user, errors)
        await asyncio.sleep(0.2)
        assert sorted(got) == sorted(u.encode() for u in USERS)
    finally:
        await watcher.close()
