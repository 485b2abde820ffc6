import asyncio

import pytest

from shared.bus import Bus, BusTimeout, RemoteError
from shared.contracts import Alert, DeadLetter, Fill, HealthReply, HealthRequest, subjects, utcnow


def fill(fill_id: str, event_id: str | None = None) -> Fill:
    kwargs = {"event_id": event_id} if event_id else {}
    return Fill(
        venue="kalshi", account="a", fill_id=fill_id, instrument_id="T", outcome="yes", side="buy",
        quantity="1.00", price="0.5000", fee="0.00", status="confirmed", executed_at=utcnow(), **kwargs,
    )


async def wait_for(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def buses(nats_url, bus_namespace, request):
    # A namespace per test keeps durable consumers from one test out of the next.
    namespace = f"{bus_namespace}{request.node.name[-6:].replace('[', '').replace(']', '')}x"[:32]
    consumer = Bus(nats_url, namespace, "ledger")
    producer = Bus(nats_url, namespace, "exchange-gateway")
    yield consumer, producer
    await consumer.stop()
    await producer.stop()


async def test_invalid_message_is_dead_lettered_with_alert_and_next_is_processed(buses):
    consumer, producer = buses
    received, letters, alerts = [], [], []

    async def on_fill(event):
        received.append(event.fill_id)

    async def on_letter(letter):
        letters.append(letter)

    async def on_alert(alert):
        alerts.append(alert)

    consumer.consume(subjects.FILLS + ".>", Fill, "fills", on_fill)
    consumer.consume(subjects.DEAD_LETTER + ".>", DeadLetter, "dead-letters", on_letter)
    consumer.consume(subjects.ALERTS, Alert, "alerts", on_alert)
    await consumer.start()
    await producer.start()

    await producer.broker.publish(
        b'{"venue": "kalshi", "price": 0.5}',
        producer.subject(subjects.per_venue(subjects.FILLS, "kalshi")),
        stream=producer.stream_name(subjects.EVENTS_STREAM),
    )
    await producer.publish(subjects.per_venue(subjects.FILLS, "kalshi"), fill("after-poison"))

    await wait_for(lambda: received and letters and alerts)
    assert received == ["after-poison"]
    assert letters[0].original_subject == "evt.fills.kalshi"
    assert '"price": 0.5' in letters[0].payload and "price" in letters[0].error
    assert alerts[0].code == "bus.dead_letter" and alerts[0].source == "ledger"


async def test_republished_fact_is_delivered_once_and_failed_handler_gets_redelivery(buses):
    consumer, producer = buses
    attempts: list[str] = []

    async def flaky(event):
        attempts.append(event.fill_id)
        if event.fill_id == "flaky" and attempts.count("flaky") == 1:
            raise RuntimeError("database hiccup")

    consumer.consume(subjects.FILLS + ".>", Fill, "fills", flaky)
    await consumer.start()
    await producer.start()
    same = fill("dup", event_id="fixed-event-id")
    await producer.publish(subjects.per_venue(subjects.FILLS, "kalshi"), same)
    await producer.publish(subjects.per_venue(subjects.FILLS, "kalshi"), same)
    await producer.publish(subjects.per_venue(subjects.FILLS, "kalshi"), fill("flaky"))
    await wait_for(lambda: attempts.count("flaky") == 2)
    await asyncio.sleep(0.5)
    assert attempts.count("dup") == 1


async def test_request_reply_timeout_and_invalid_request(buses):
    consumer, producer = buses

    async def health(_req):
        return HealthReply(service="ledger", status="ok", started_at=utcnow())

    consumer.respond(subjects.health_subject("ledger"), HealthRequest, health)
    await consumer.start()
    await producer.start()
    reply = await producer.request(subjects.health_subject("ledger"), HealthRequest(), HealthReply, timeout=2)
    assert reply.service == "ledger" and reply.status == "ok"

    with pytest.raises(BusTimeout):
        await producer.request(subjects.health_subject("nobody"), HealthRequest(), HealthReply, timeout=0.3)

    class Bogus(HealthRequest):
        model_config = {"extra": "allow"}

    with pytest.raises(RemoteError) as err:
        await producer.request(subjects.health_subject("ledger"), Bogus(extra_field=1), HealthReply, timeout=2)
    assert err.value.error.code == "invalid_request"
