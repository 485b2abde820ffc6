import asyncio
from dataclasses import replace

import pytest
from structlog.testing import capture_logs

from shared.bus import Bus, BusConfig, BusError, BusTimeout, RemoteError
from shared.contracts import (
    ExternalPosition,
    ExternalPositionsSnapshot,
    Fill,
    HealthReply,
    HealthRequest,
    Mark,
    PositionsReply,
    PositionsRequest,
    utcnow,
)
from shared.bus.provision import ProvisionError
from shared.contracts import DeadLetter
from shared.contracts.channels import (
    ALERTS,
    DEAD_LETTER_STREAM,
    EVENTS_STREAM,
    FILLS,
    GATEWAY_POSITIONS,
    HEALTH,
)
from tests.support import jetstream

def fill(fill_id: str, event_id: str | None = None) -> Fill:
    kwargs = {"event_id": event_id} if event_id else {}
    return Fill(
        venue="kalshi", account="a", fill_id=fill_id, instrument_id="T", outcome="yes", side="buy",
        quantity="1.00", price="0.5000", fee="0.00", status="confirmed", executed_at=utcnow(), **kwargs,
    )


# Quick retries, so a test sees a handler give up in well under a second.
QUICK = replace(BusConfig.defaults(), max_deliver=3, redelivery_backoff_seconds=(0.1, 0.2))


async def wait_for(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def namespace(bus_namespace, request):
    # A namespace per test keeps durable consumers from one test out of the next.
    return f"{bus_namespace}{request.node.name[-6:].replace('[', '').replace(']', '')}x"[:32]


@pytest.fixture
async def buses(nats_users, namespace, provision_bus):
    """The ledger consuming what the exchange-gateway publishes, each as its own NATS user."""
    await provision_bus(namespace, QUICK)
    consumer = Bus(nats_users["ledger"], namespace, "ledger", QUICK)
    producer = Bus(nats_users["exchange-gateway"], namespace, "exchange-gateway", QUICK)
    yield consumer, producer
    await consumer.stop()
    await producer.stop()


@pytest.fixture
async def notifier(nats_users, namespace):
    """The notifier, reading the alerts (it is their only consumer)."""
    bus = Bus(nats_users["notifier"], namespace, "notifier", QUICK)
    yield bus
    await bus.stop()


class Recorder:
    def __init__(self) -> None:
        self.fills, self.letters, self.alerts = [], [], []

    async def fill(self, event):
        self.fills.append(event.fill_id)

    async def letter(self, letter):
        self.letters.append(letter)

    async def alert(self, alert):
        self.alerts.append(alert)


@pytest.fixture
def stored(nats_users, namespace):
    async def count(stream) -> int:
        return len(await jetstream.stored(nats_users["admin"], namespace, stream))

    return count


@pytest.fixture
def dead_letters(nats_users, namespace):
    """The dead-letter stream's contents (no service consumes it: an operator reads it)."""
    async def read() -> list[DeadLetter]:
        stored = await jetstream.stored(nats_users["admin"], namespace, DEAD_LETTER_STREAM)
        return [DeadLetter.model_validate_json(m.data) for m in stored]

    return read


async def wait_for_letters(dead_letters, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (letters := await dead_letters()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("no dead letter in time")
        await asyncio.sleep(0.1)
    return letters


async def test_invalid_message_is_dead_lettered_with_alert_and_next_is_processed(buses, notifier, dead_letters):
    consumer, producer = buses
    seen = Recorder()
    consumer.consume(FILLS, seen.fill)
    notifier.consume(ALERTS, seen.alert)
    await consumer.start()
    await producer.start()
    await notifier.start()

    await producer.broker.publish(
        b'{"venue": "kalshi", "price": 0.5}',
        producer.address(FILLS.subject(venue="kalshi")),
        stream=producer.stream_name(EVENTS_STREAM),
    )
    await producer.publish(FILLS.subject(venue="kalshi"), fill("after-poison"))

    await wait_for(lambda: seen.fills and seen.alerts)
    assert seen.fills == ["after-poison"]
    [letter] = await wait_for_letters(dead_letters)
    assert letter.original_subject == "evt.fills.kalshi" and letter.consumer == "ledger-fills"
    assert '"price": 0.5' in letter.payload and "price" in letter.error
    alert = seen.alerts[0]
    assert alert.code == "bus.dead_letter" and alert.source == "ledger" and alert.severity == "warning"
    assert alert.details["dead_letter_id"] == letter.event_id


async def test_a_handler_that_always_fails_ends_in_one_dead_letter_and_one_alert_and_the_rest_flows(
        buses, notifier, stored, dead_letters):
    consumer, producer = buses
    seen = Recorder()
    attempts: list[float] = []

    async def journal(event):
        if event.fill_id == "poison":
            attempts.append(asyncio.get_running_loop().time())
            raise RuntimeError("cannot journal this one")
        seen.fills.append(event.fill_id)

    consumer.consume(FILLS, journal)
    notifier.consume(ALERTS, seen.alert)
    await consumer.start()
    await producer.start()
    await notifier.start()

    poison = fill("poison")
    with capture_logs() as logs:
        await producer.publish(FILLS.subject(venue="kalshi"), poison)
        for n in range(5):
            await producer.publish(FILLS.subject(venue="kalshi"), fill(f"behind-{n}"))

        # The messages behind the failing one are handled while it waits out its backoff.
        await wait_for(lambda: len(seen.fills) == 5)
        assert len(attempts) < QUICK.max_deliver
        await wait_for(lambda: seen.alerts)
        await asyncio.sleep(1.0)  # a second letter or alert, or another attempt, would show by now
        seen.letters = await dead_letters()

    failures = [e for e in logs if e["event"].startswith("handler failed")]
    assert [e["attempt"] for e in failures] == [1, 2, 3]
    assert all(e["event_id"] == poison.event_id and e["subject"].endswith("evt.fills.kalshi") for e in failures)

    assert len(attempts) == QUICK.max_deliver
    waits = [round(b - a, 1) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert waits[0] >= 0.1 and waits[1] >= 0.2
    assert len(seen.letters) == 1 and len(seen.alerts) == 1
    assert await stored(DEAD_LETTER_STREAM) == 1
    letter, alert = seen.letters[0], seen.alerts[0]
    assert letter.consumer == "ledger-fills" and letter.original_subject == "evt.fills.kalshi"
    assert f"failed {QUICK.max_deliver} times" in letter.error and "cannot journal this one" in letter.error
    assert '"poison"' in letter.payload
    assert alert.severity == "critical" and alert.source == "ledger"
    assert alert.details == {"dead_letter_id": letter.event_id, "event_id": poison.event_id, "stream_sequence": 1}
    assert sorted(seen.fills) == [f"behind-{n}" for n in range(5)]  # FastStream handles a batch concurrently


async def test_dead_lettering_the_same_message_again_stores_nothing_new(buses, stored):
    """A consumer that crashed after dead-lettering, before its ack, dead-letters the message again
    on redelivery: the letter and the alert carry ids derived from the message, so both are duplicates."""
    consumer, producer = buses
    await producer.start()
    await consumer.start()
    await producer.publish(FILLS.subject(venue="kalshi"), fill("poison"))
    # The ledger's own consumer, pulled by hand (its user may use no other).
    pull = await consumer.jetstream.pull_subscribe_bind(
        FILLS.durable("ledger"), stream=consumer.stream_name(EVENTS_STREAM),
        inbox_prefix=f"_INBOX.{consumer.namespace}.ledger.".encode())
    for _ in range(2):
        [delivered] = await pull.fetch(1, timeout=5)
        await consumer._dead_letter(delivered, "ledger-fills", "handler failed 5 times; last: RuntimeError")
        await delivered.nak()
    assert await stored(DEAD_LETTER_STREAM) == 1
    assert await stored(EVENTS_STREAM) == 2  # the fill and one alert


async def test_republished_fact_is_delivered_once_and_failed_handler_gets_redelivery(buses, stored):
    consumer, producer = buses
    attempts: list[str] = []

    async def flaky(event):
        attempts.append(event.fill_id)
        if event.fill_id == "flaky" and attempts.count("flaky") == 1:
            raise RuntimeError("database hiccup")

    consumer.consume(FILLS, flaky)
    await consumer.start()
    await producer.start()
    same = fill("dup", event_id="fixed-event-id")
    await producer.publish(FILLS.subject(venue="kalshi"), same)
    await producer.publish(FILLS.subject(venue="kalshi"), same)
    await producer.publish(FILLS.subject(venue="kalshi"), fill("flaky"))
    await wait_for(lambda: attempts.count("flaky") == 2)
    await asyncio.sleep(0.5)
    assert attempts.count("dup") == 1
    assert await stored(DEAD_LETTER_STREAM) == 0


async def test_a_wrong_model_or_subject_fails_before_anything_is_sent(buses, stored):
    _, producer = buses
    await producer.start()
    with pytest.raises(TypeError, match="carries Fill, not Mark"):
        await producer.publish(FILLS.subject(venue="kalshi"), Mark(venue="kalshi", instrument_id="T", as_of=utcnow()))
    with pytest.raises(ValueError, match="does not belong on evt.fills.polymarket"):
        await producer.publish(FILLS.subject(venue="polymarket"), fill("kalshi-fill"))
    with pytest.raises(TypeError, match="takes HealthRequest"):
        await producer.request(HEALTH.subject(service="ledger"), PositionsRequest(), timeout=0.3)
    assert await stored(EVENTS_STREAM) == 0


async def test_request_reply_timeout_invalid_request_and_failing_responder(buses, nats_users, namespace):
    # The exchange-gateway answers; the api-gateway asks (each as its own user).
    _, gateway = buses
    asker = Bus(nats_users["api-gateway"], namespace, "api-gateway", QUICK)

    async def health(_req):
        return HealthReply(service="exchange-gateway", status="ok", started_at=utcnow())

    async def broken(_req):
        raise RuntimeError("positions store unreachable")

    gateway.respond(HEALTH.subject(service="exchange-gateway"), health)
    gateway.respond(GATEWAY_POSITIONS.subject(), broken)
    await gateway.start()
    await asker.start()
    try:
        await ask(asker, gateway)
    finally:
        await asker.stop()


async def ask(asker: Bus, gateway: Bus) -> None:
    reply = await asker.request(HEALTH.subject(service="exchange-gateway"), HealthRequest(), timeout=2)
    assert reply.service == "exchange-gateway" and reply.status == "ok"

    with pytest.raises(BusTimeout):
        await asker.request(HEALTH.subject(service="risk"), HealthRequest(), timeout=0.3)

    class Bogus(HealthRequest):
        model_config = {"extra": "allow"}

    with pytest.raises(RemoteError) as err:
        await asker.request(HEALTH.subject(service="exchange-gateway"), Bogus(extra_field=1), timeout=2)
    assert err.value.error.code == "invalid_request"

    # A responder that raises answers at once with what failed, instead of leaving the asker to
    # time out, and its service's log says which request on which subject.
    started = asyncio.get_running_loop().time()
    asked = PositionsRequest()
    with capture_logs() as logs, pytest.raises(RemoteError) as err:
        await asker.request(GATEWAY_POSITIONS.subject(), asked, timeout=5)
    assert err.value.error.code == "responder_failed" and "RuntimeError" in err.value.error.message
    assert asyncio.get_running_loop().time() - started < 2
    [logged] = [e for e in logs if e["event"] == "responder failed"]
    assert logged["subject"] == gateway.address(GATEWAY_POSITIONS.subject()) and logged["event_id"] == asked.event_id
    assert logged["log_level"] == "error"


async def test_a_reply_bigger_than_one_nats_message_arrives_whole(buses, nats_users, namespace):
    # A big account's holdings: several megabytes, past the server's 1 MB max_payload.
    _, gateway = buses
    asker = Bus(nats_users["reconciler"], namespace, "reconciler", QUICK)
    holdings = tuple(
        ExternalPosition(venue="kalshi", account="a", instrument_id=f"KXBIG-{i:05d}", outcome="yes", quantity=f"{i}.00",
                         cost_basis=f"{i}.25", title=f"Big market {i}", raw={"ticker": f"KXBIG-{i:05d}", "pad": "x" * 400})
        for i in range(6000))
    big = PositionsReply(snapshots=(ExternalPositionsSnapshot(
        venue="kalshi", account="a", snapshot_time=utcnow(), complete=True, positions=holdings),))

    async def positions(_req):
        return big

    gateway.respond(GATEWAY_POSITIONS.subject(), positions)
    await gateway.start()
    await asker.start()
    try:
        connection = gateway.broker.config.connection_state.connection
        assert len(big.model_dump_json()) > 2 * connection.max_payload
        reply = await asker.request(GATEWAY_POSITIONS.subject(), PositionsRequest(), timeout=10)
        assert reply == big
        # and the next question, small, still gets its own answer
        small = await asker.request(GATEWAY_POSITIONS.subject(), PositionsRequest(), timeout=10)
        assert len(small.snapshots[0].positions) == 6000
    finally:
        await asker.stop()


async def test_streams_and_consumers_follow_the_settings_on_the_next_provisioning(nats_users, namespace, provision_bus):
    admin = Bus(nats_users["admin"], namespace, "admin")
    await provision_bus(namespace, replace(QUICK, events_max_age_seconds=3600.0, max_deliver=3))
    await provision_bus(namespace, replace(QUICK, events_max_age_seconds=7200.0, dead_letter_max_age_seconds=9000.0,
                                           max_deliver=7))
    await admin.broker.connect()
    try:
        events = await admin.jetstream.stream_info(admin.stream_name(EVENTS_STREAM))
        letters = await admin.jetstream.stream_info(admin.stream_name(DEAD_LETTER_STREAM))
        assert events.config.max_age == 7200.0 and letters.config.max_age == 9000.0
        assert events.config.num_replicas == 1
        consumer = await admin.jetstream.consumer_info(admin.stream_name(EVENTS_STREAM), "ledger-fills")
        assert consumer.config.max_deliver == 7 + 1  # one delivery kept for the dead letter
    finally:
        await admin.stop()


async def test_more_replicas_than_the_server_has_fails_provisioning_naming_the_setting(namespace, provision_bus):
    with pytest.raises(ProvisionError, match="BUS_STREAM_REPLICAS=3"):
        await provision_bus(namespace, replace(QUICK, stream_replicas=3))


async def test_a_service_whose_consumer_was_not_provisioned_refuses_to_start(nats_users, namespace):
    bus = Bus(nats_users["ledger"], namespace, "ledger", QUICK)

    async def ignore(_event):
        pass

    bus.consume(FILLS, ignore)
    try:
        with pytest.raises(BusError, match="ledger-fills .* does not exist: provision the bus"):
            await bus.start()
    finally:
        await bus.stop()


def test_a_service_may_consume_only_what_it_is_declared_to_consume(nats_users, namespace):
    bus = Bus(nats_users["api-gateway"], namespace, "api-gateway", QUICK)

    async def ignore(_event):
        pass

    with pytest.raises(ValueError, match="api-gateway does not consume evt.fills"):
        bus.consume(FILLS, ignore)
