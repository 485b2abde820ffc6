import asyncio
from dataclasses import replace

import pytest
from structlog.testing import capture_logs

from shared.bus import Bus, BusConfig, BusError, BusTimeout, RemoteError
from shared.contracts import Fill, HealthReply, HealthRequest, Mark, PositionsRequest, utcnow
from shared.contracts.channels import (
    ALERTS,
    DEAD_LETTER_STREAM,
    DEAD_LETTERS,
    EVENTS_STREAM,
    FILLS,
    GATEWAY_POSITIONS,
    HEALTH,
)

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
async def buses(nats_url, namespace):
    consumer = Bus(nats_url, namespace, "ledger", QUICK)
    producer = Bus(nats_url, namespace, "exchange-gateway", QUICK)
    yield consumer, producer
    await consumer.stop()
    await producer.stop()


class Recorder:
    def __init__(self) -> None:
        self.fills, self.letters, self.alerts = [], [], []

    async def fill(self, event):
        self.fills.append(event.fill_id)

    async def letter(self, letter):
        self.letters.append(letter)

    async def alert(self, alert):
        self.alerts.append(alert)


async def stored(bus: Bus, stream) -> int:
    return (await bus.jetstream.stream_info(bus.stream_name(stream))).state.messages


async def test_invalid_message_is_dead_lettered_with_alert_and_next_is_processed(buses):
    consumer, producer = buses
    seen = Recorder()
    consumer.consume(FILLS.every(), "fills", seen.fill)
    consumer.consume(DEAD_LETTERS.every(), "dead-letters", seen.letter)
    consumer.consume(ALERTS.every(), "alerts", seen.alert)
    await consumer.start()
    await producer.start()

    await producer.broker.publish(
        b'{"venue": "kalshi", "price": 0.5}',
        producer.address(FILLS.subject(venue="kalshi")),
        stream=producer.stream_name(EVENTS_STREAM),
    )
    await producer.publish(FILLS.subject(venue="kalshi"), fill("after-poison"))

    await wait_for(lambda: seen.fills and seen.letters and seen.alerts)
    assert seen.fills == ["after-poison"]
    letter = seen.letters[0]
    assert letter.original_subject == "evt.fills.kalshi" and letter.consumer == "ledger-fills"
    assert '"price": 0.5' in letter.payload and "price" in letter.error
    alert = seen.alerts[0]
    assert alert.code == "bus.dead_letter" and alert.source == "ledger" and alert.severity == "warning"
    assert alert.details["dead_letter_id"] == letter.event_id


async def test_a_handler_that_always_fails_ends_in_one_dead_letter_and_one_alert_and_the_rest_flows(buses):
    consumer, producer = buses
    seen = Recorder()
    attempts: list[float] = []

    async def journal(event):
        if event.fill_id == "poison":
            attempts.append(asyncio.get_running_loop().time())
            raise RuntimeError("cannot journal this one")
        seen.fills.append(event.fill_id)

    consumer.consume(FILLS.every(), "fills", journal)
    consumer.consume(DEAD_LETTERS.every(), "dead-letters", seen.letter)
    consumer.consume(ALERTS.every(), "alerts", seen.alert)
    await consumer.start()
    await producer.start()

    poison = fill("poison")
    with capture_logs() as logs:
        await producer.publish(FILLS.subject(venue="kalshi"), poison)
        for n in range(5):
            await producer.publish(FILLS.subject(venue="kalshi"), fill(f"behind-{n}"))

        # The messages behind the failing one are handled while it waits out its backoff.
        await wait_for(lambda: len(seen.fills) == 5)
        assert len(attempts) < QUICK.max_deliver
        await wait_for(lambda: seen.letters and seen.alerts)
        await asyncio.sleep(1.0)  # a second letter or alert, or another attempt, would show by now

    failures = [e for e in logs if e["event"].startswith("handler failed")]
    assert [e["attempt"] for e in failures] == [1, 2, 3]
    assert all(e["event_id"] == poison.event_id and e["subject"].endswith("evt.fills.kalshi") for e in failures)

    assert len(attempts) == QUICK.max_deliver
    waits = [round(b - a, 1) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert waits[0] >= 0.1 and waits[1] >= 0.2
    assert len(seen.letters) == 1 and len(seen.alerts) == 1
    assert await stored(producer, DEAD_LETTER_STREAM) == 1
    letter, alert = seen.letters[0], seen.alerts[0]
    assert letter.consumer == "ledger-fills" and letter.original_subject == "evt.fills.kalshi"
    assert f"failed {QUICK.max_deliver} times" in letter.error and "cannot journal this one" in letter.error
    assert '"poison"' in letter.payload
    assert alert.severity == "critical" and alert.source == "ledger"
    assert alert.details == {"dead_letter_id": letter.event_id, "event_id": poison.event_id, "stream_sequence": 1}
    assert sorted(seen.fills) == [f"behind-{n}" for n in range(5)]  # FastStream handles a batch concurrently


async def test_dead_lettering_the_same_message_again_stores_nothing_new(buses):
    """A consumer that crashed after dead-lettering, before its ack, dead-letters the message again
    on redelivery: the letter and the alert carry ids derived from the message, so both are duplicates."""
    consumer, producer = buses
    await producer.start()
    await consumer.start()
    await producer.publish(FILLS.subject(venue="kalshi"), fill("poison"))
    pull = await consumer.jetstream.pull_subscribe(consumer.address(FILLS.every()), durable=None,
                                                   stream=consumer.stream_name(EVENTS_STREAM))
    for _ in range(2):
        [delivered] = await pull.fetch(1, timeout=5)
        await consumer._dead_letter(delivered, "ledger-fills", "handler failed 5 times; last: RuntimeError")
        await delivered.nak()
    assert await stored(producer, DEAD_LETTER_STREAM) == 1
    assert await stored(producer, EVENTS_STREAM) == 2  # the fill and one alert


async def test_republished_fact_is_delivered_once_and_failed_handler_gets_redelivery(buses):
    consumer, producer = buses
    attempts: list[str] = []

    async def flaky(event):
        attempts.append(event.fill_id)
        if event.fill_id == "flaky" and attempts.count("flaky") == 1:
            raise RuntimeError("database hiccup")

    consumer.consume(FILLS.every(), "fills", flaky)
    await consumer.start()
    await producer.start()
    same = fill("dup", event_id="fixed-event-id")
    await producer.publish(FILLS.subject(venue="kalshi"), same)
    await producer.publish(FILLS.subject(venue="kalshi"), same)
    await producer.publish(FILLS.subject(venue="kalshi"), fill("flaky"))
    await wait_for(lambda: attempts.count("flaky") == 2)
    await asyncio.sleep(0.5)
    assert attempts.count("dup") == 1
    assert await stored(producer, DEAD_LETTER_STREAM) == 0


async def test_a_wrong_model_or_subject_fails_before_anything_is_sent(buses):
    _, producer = buses
    await producer.start()
    with pytest.raises(TypeError, match="carries Fill, not Mark"):
        await producer.publish(FILLS.subject(venue="kalshi"), Mark(venue="kalshi", instrument_id="T", as_of=utcnow()))
    with pytest.raises(ValueError, match="does not belong on evt.fills.polymarket"):
        await producer.publish(FILLS.subject(venue="polymarket"), fill("kalshi-fill"))
    with pytest.raises(TypeError, match="takes HealthRequest"):
        await producer.request(HEALTH.subject(service="ledger"), PositionsRequest(), timeout=0.3)
    assert await stored(producer, EVENTS_STREAM) == 0


async def test_request_reply_timeout_invalid_request_and_failing_responder(buses):
    consumer, producer = buses

    async def health(_req):
        return HealthReply(service="ledger", status="ok", started_at=utcnow())

    async def broken(_req):
        raise RuntimeError("positions store unreachable")

    consumer.respond(HEALTH.subject(service="ledger"), health)
    consumer.respond(GATEWAY_POSITIONS.subject(), broken)
    await consumer.start()
    await producer.start()
    reply = await producer.request(HEALTH.subject(service="ledger"), HealthRequest(), timeout=2)
    assert reply.service == "ledger" and reply.status == "ok"

    with pytest.raises(BusTimeout):
        await producer.request(HEALTH.subject(service="risk"), HealthRequest(), timeout=0.3)

    class Bogus(HealthRequest):
        model_config = {"extra": "allow"}

    with pytest.raises(RemoteError) as err:
        await producer.request(HEALTH.subject(service="ledger"), Bogus(extra_field=1), timeout=2)
    assert err.value.error.code == "invalid_request"

    # A responder that raises answers at once with what failed, instead of leaving the asker to
    # time out, and its service's log says which request on which subject.
    started = asyncio.get_running_loop().time()
    asked = PositionsRequest()
    with capture_logs() as logs, pytest.raises(RemoteError) as err:
        await producer.request(GATEWAY_POSITIONS.subject(), asked, timeout=5)
    assert err.value.error.code == "responder_failed" and "RuntimeError" in err.value.error.message
    assert asyncio.get_running_loop().time() - started < 2
    [logged] = [e for e in logs if e["event"] == "responder failed"]
    assert logged["subject"] == consumer.address(GATEWAY_POSITIONS.subject()) and logged["event_id"] == asked.event_id
    assert logged["log_level"] == "error"


async def test_streams_and_consumers_follow_the_settings_on_the_next_start(nats_url, namespace):
    async def start_with(config: BusConfig) -> Bus:
        bus = Bus(nats_url, namespace, "ledger", config)

        async def ignore(_event):
            pass

        bus.consume(FILLS.every(), "fills", ignore)
        await bus.start()
        return bus

    first = await start_with(replace(QUICK, events_max_age_seconds=3600.0, max_deliver=3))
    await first.stop()
    second = await start_with(replace(QUICK, events_max_age_seconds=7200.0, dead_letter_max_age_seconds=9000.0,
                                      max_deliver=7))
    try:
        events = await second.jetstream.stream_info(second.stream_name(EVENTS_STREAM))
        letters = await second.jetstream.stream_info(second.stream_name(DEAD_LETTER_STREAM))
        assert events.config.max_age == 7200.0 and letters.config.max_age == 9000.0
        assert events.config.num_replicas == 1
        consumer = await second.jetstream.consumer_info(second.stream_name(EVENTS_STREAM), "ledger-fills")
        assert consumer.config.max_deliver == 7 + 1  # one delivery kept for the dead letter
    finally:
        await second.stop()


async def test_more_replicas_than_the_server_has_fails_at_start_naming_the_setting(nats_url, namespace):
    bus = Bus(nats_url, namespace, "ledger", replace(QUICK, stream_replicas=3))
    try:
        with pytest.raises(BusError, match="BUS_STREAM_REPLICAS=3"):
            await bus.start()
    finally:
        await bus.stop()
