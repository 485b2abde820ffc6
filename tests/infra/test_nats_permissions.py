"""deploy/nats: the permission rules generated from the channel declarations are current and hold on a
real nats-server — every service confined to its channels, its own consumers and its own inbox."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

from shared.bus import Bus, BusConfig
from shared.bus.provision import provision_bus
from shared.contracts import Fill, HealthReply, HealthRequest, utcnow
from shared.contracts.channels import (
    ADMIN, EVENT_CHANNELS, EVENTS_STREAM, FILLS, HEALTH, SERVICES, inbox_prefix, stream_name,
)
from shared.contracts.permissions_gen import NAMESPACE, USERS, password_variable, render_permissions
from shared.devstack import embedded
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats"
STREAM = stream_name(NAMESPACE, EVENTS_STREAM)


def _password(user: str) -> str:
    return f"pw-{user}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The shipped nats-server.conf and permissions.conf, only with JetStream's data in a temp dir."""
    env = {**os.environ, **{password_variable(u): _password(u) for u in USERS}}
    port = embedded.free_port()
    store = tmp_path_factory.mktemp("nats-perm")
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
        asyncio.run(provision_bus(_url(port, ADMIN), NAMESPACE, BusConfig.defaults()))
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _url(port: int, user: str) -> str:
    return f"nats://{user}:{_password(user)}@127.0.0.1:{port}"


@dataclass
class Client:
    connection: nats.NATS
    errors: list[Exception]

    def denied(self) -> bool:
        return any("permissions violation" in str(e).lower() for e in self.errors)


async def _connect(port: int, user: str) -> Client:
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    # As the Bus connects: replies under the user's own inbox prefix.
    connection = await nats.connect(_url(port, user), inbox_prefix=inbox_prefix(NAMESPACE, user), error_cb=on_error,
                                    allow_reconnect=False)
    return Client(connection, errors)


@pytest.fixture
async def connect(server: int) -> AsyncIterator:
    opened: list[Client] = []

    async def open_as(user: str) -> Client:
        opened.append(await _connect(server, user))
        return opened[-1]

    yield open_as
    for client in opened:
        await client.connection.close()


def _fill(fill_id: str) -> Fill:
    return Fill(venue="kalshi", account="a", fill_id=fill_id, instrument_id="T", outcome="yes", side="buy",
                quantity="1.00", price="0.5000", fee="0.00", status="confirmed", executed_at=utcnow())


def test_permissions_file_matches_the_channel_declarations() -> None:
    """`make proto` writes it; declaring a channel or a consumer without regenerating fails here."""
    assert (DEPLOY / "permissions.conf").read_text() == render_permissions(), "run `make proto`"


def test_no_service_may_create_or_change_streams_or_consumers() -> None:
    """Only the admin user may use the JetStream API beyond its own consumers."""
    conf = render_permissions()
    services_part, admin_part = conf.split(f"user: {ADMIN}")
    assert '"$JS.API.>"' not in services_part and "_INBOX.>" not in services_part
    assert '"$JS.API.>"' in admin_part


async def test_config_is_valid_for_nats_server() -> None:
    env = {**os.environ, **{password_variable(u): "x" for u in USERS}}
    res = subprocess.run([str(embedded.nats_server_binary()), "-c", str(DEPLOY / "nats-server.conf"), "-t"],
                         env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("subject", ["trueup.evt.fills.kalshi", "trueup.evt.settlements.kalshi"])
async def test_only_gateway_publishes_venue_facts(connect, subject: str) -> None:
    watcher = await connect("ledger")
    got: list[bytes] = []

    async def collect(msg) -> None:
        got.append(msg.data)

    await watcher.connection.subscribe(subject.rsplit(".", 1)[0] + ".*", cb=collect)
    await watcher.connection.flush()
    gateway = await connect("exchange-gateway")
    for user in ("executor", "api-gateway"):
        intruder = await connect(user)
        await intruder.connection.publish(subject, b"forged")
        await intruder.connection.flush()
        await asyncio.sleep(0.1)
        assert intruder.denied(), user
    await gateway.connection.publish(subject, b"real")
    await gateway.connection.flush()
    await asyncio.sleep(0.2)
    assert got == [b"real"]


async def test_only_executor_may_ask_gateway_to_place_orders(connect) -> None:
    gateway = await connect("exchange-gateway")

    async def answer(msg) -> None:
        await msg.respond(b"placed")

    await gateway.connection.subscribe("trueup.rpc.gateway.place_order", cb=answer)
    await gateway.connection.flush()
    executor = await connect("executor")
    reply = await executor.connection.request("trueup.rpc.gateway.place_order", b"{}", timeout=2)
    assert reply.data == b"placed"
    for user in ("api-gateway", "reconciler", "risk", "ledger", "notifier"):
        other = await connect(user)
        with pytest.raises((NatsTimeout, NoRespondersError)):
            await other.connection.request("trueup.rpc.gateway.place_order", b"{}", timeout=0.3)


async def test_other_services_cannot_answer_place_order(connect) -> None:
    impostor = await connect("api-gateway")
    await impostor.connection.subscribe("trueup.rpc.gateway.place_order")
    await impostor.connection.flush()
    await asyncio.sleep(0.1)
    assert impostor.denied()


async def test_every_service_may_raise_alerts(connect) -> None:
    """A dead-lettering consumer raises an alert whichever service it runs in."""
    watcher = await connect("notifier")
    got: list[bytes] = []

    async def collect(msg) -> None:
        got.append(msg.data)

    await watcher.connection.subscribe("trueup.evt.alerts", cb=collect)
    await watcher.connection.flush()
    for user in SERVICES:
        client = await connect(user)
        await client.connection.publish("trueup.evt.alerts", user.encode())
        await client.connection.flush()
        assert not client.errors, (user, client.errors)
    await asyncio.sleep(0.2)
    assert sorted(got) == sorted(u.encode() for u in SERVICES)


# ---- the api-gateway, with its own credentials, confined -------------------------------------


async def test_api_gateway_cannot_publish_fills_even_through_jetstream(connect) -> None:
    api = await connect("api-gateway")
    with pytest.raises((NatsTimeout, NoRespondersError)):
        await api.connection.jetstream(timeout=1).publish("trueup.evt.fills.kalshi", b"forged", timeout=1)
    assert api.denied()


@pytest.mark.parametrize("operation", ["delete_stream", "purge_stream", "update_stream", "add_consumer",
                                       "delete_consumer", "consumer_info"])
async def test_api_gateway_cannot_touch_streams_or_another_services_consumer(connect, operation: str) -> None:
    api = await connect("api-gateway")
    manager = api.connection.jsm(timeout=1)
    calls = {
        "delete_stream": lambda: manager.delete_stream(STREAM),
        "purge_stream": lambda: manager.purge_stream(STREAM),
        "update_stream": lambda: manager.update_stream(config=nats.js.api.StreamConfig(name=STREAM, subjects=["x.>"])),
        "add_consumer": lambda: manager.add_consumer(STREAM, durable_name="api-gateway-sneaky"),
        "delete_consumer": lambda: manager.delete_consumer(STREAM, FILLS.durable("ledger")),
        "consumer_info": lambda: manager.consumer_info(STREAM, FILLS.durable("ledger")),
    }
    with pytest.raises((NatsTimeout, NoRespondersError)):
        await calls[operation]()
    assert api.denied()
    admin = await connect(ADMIN)
    info = await admin.connection.jetstream().consumer_info(STREAM, FILLS.durable("ledger"))
    assert info.config.filter_subject == "trueup.evt.fills.*"


async def test_api_gateway_cannot_ack_another_services_message(server: int, connect) -> None:
    gateway = Bus(_url(server, "exchange-gateway"), NAMESPACE, "exchange-gateway")
    await gateway.broker.connect()
    try:
        await gateway.publish(FILLS.subject(venue="kalshi"), _fill(f"f-{uuid.uuid4().hex[:8]}"))
    finally:
        await gateway.stop()
    ledger = await connect("ledger")
    pull = await ledger.connection.jetstream().pull_subscribe_bind(
        FILLS.durable("ledger"), stream=STREAM, inbox_prefix=f"{inbox_prefix(NAMESPACE, 'ledger')}.".encode())
    [delivered] = await pull.fetch(1, timeout=5)
    api = await connect("api-gateway")
    await api.connection.publish(delivered.reply, b"+ACK")
    await api.connection.flush()
    await asyncio.sleep(0.2)
    assert api.denied()
    info = await ledger.connection.jetstream().consumer_info(STREAM, FILLS.durable("ledger"))
    assert info.num_ack_pending >= 1  # still the ledger's to handle
    await delivered.ack()


async def test_api_gateway_cannot_read_another_services_replies(connect) -> None:
    api = await connect("api-gateway")
    for inbox in (f"{inbox_prefix(NAMESPACE, 'executor')}.>", "_INBOX.>", ">"):
        api.errors.clear()
        await api.connection.subscribe(inbox)
        await api.connection.flush()
        await asyncio.sleep(0.1)
        assert api.denied(), inbox


async def test_each_service_uses_only_its_own_consumers(connect) -> None:
    """The ledger may bind to and pull from ledger-fills, not from the executor's consumer of the same channel."""
    ledger = await connect("ledger")
    jetstream = ledger.connection.jetstream(timeout=1)
    assert (await jetstream.consumer_info(STREAM, FILLS.durable("ledger"))).name == "ledger-fills"
    with pytest.raises((NatsTimeout, NoRespondersError)):
        await jetstream.consumer_info(STREAM, FILLS.durable("executor"))
    assert ledger.denied()


async def test_the_gateway_does_its_job_end_to_end_with_its_own_credentials(server: int) -> None:
    """Facts go out through JetStream, a consumer binds to its provisioned consumer and gets them,
    questions are answered — each service as its own NATS user."""
    gateway = Bus(_url(server, "exchange-gateway"), NAMESPACE, "exchange-gateway")
    ledger = Bus(_url(server, "ledger"), NAMESPACE, "ledger")
    api = Bus(_url(server, "api-gateway"), NAMESPACE, "api-gateway")
    fill_id, seen = f"e2e-{uuid.uuid4().hex[:8]}", []

    async def journal(event: Fill) -> None:
        seen.append(event.fill_id)

    async def health(_request: HealthRequest) -> HealthReply:
        return HealthReply(service="exchange-gateway", status="ok", started_at=utcnow())

    ledger.consume(FILLS, journal)
    gateway.respond(HEALTH.subject(service="exchange-gateway"), health)
    try:
        for bus in (gateway, ledger, api):
            await bus.start()
        await gateway.publish(FILLS.subject(venue="kalshi"), _fill(fill_id))
        reply = await api.request(HEALTH.subject(service="exchange-gateway"), HealthRequest(), timeout=3)
        assert reply.status == "ok"
        deadline = asyncio.get_running_loop().time() + 10
        while fill_id not in seen and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert fill_id in seen
    finally:
        for bus in (gateway, ledger, api):
            await bus.stop()


def test_every_declared_consumer_is_provisioned_and_permitted() -> None:
    conf = render_permissions()
    for channel in EVENT_CHANNELS:
        for service in channel.consumers:
            assert f'"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{channel.durable(service)}"' in conf


def test_durable_names_are_unique_per_stream() -> None:
    """`<service>-<channel>`: two channels of a stream with the same last token would share a consumer."""
    durables = [(c.stream, c.durable(s)) for c in EVENT_CHANNELS for s in c.consumers]
    assert len(set(durables)) == len(durables)
