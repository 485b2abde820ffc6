from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NotFoundError
from pydantic import BaseModel, ValidationError

from shared.bus.config import BusConfig
from shared.bus.replies import MalformedReply, ReplyAssembler, ReplyTooLarge, reply_parts
from shared.contracts import Alert, DeadLetter, ErrorInfo, Message, deterministic_id
from shared.contracts.channels import (
    ALERTS,
    DEAD_LETTERS,
    EventChannel,
    EventSubject,
    EventT,
    ReplyT,
    RequestT,
    RpcSubject,
    Stream,
    inbox_prefix,
    stream_name,
)
from shared.contracts.events import Severity
from shared.logs import get_logger

log = get_logger(__name__)

_MAX_DEAD_LETTER_PAYLOAD = 64 * 1024

# FastStream's own errors (a subscriber that cannot fetch, a message that escaped our handlers)
# reach the service's log; its chatter (a line per message, task callbacks at stop) does not.
_FASTSTREAM_LOG = logging.getLogger("trueup.bus.faststream")
_FASTSTREAM_LOG.setLevel(logging.WARNING)


class BusError(RuntimeError):
    pass


class BusTimeout(BusError):
    """No reply in time. For a write this is an *unknown* outcome, never a failure."""


class RemoteError(BusError):
    """The responder rejected the request (`invalid_request`) or failed answering it
    (`responder_failed`: for a write, an *unknown* outcome, never a failure)."""

    def __init__(self, error: ErrorInfo) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error


class _ErrorReply(BaseModel):
    error: ErrorInfo


def _published_id(raw: Msg) -> str | None:
    """The event id a publisher gave an unreadable message (`Bus.publish` sets it as Nats-Msg-Id)."""
    return (raw.headers or {}).get("Nats-Msg-Id")


async def _collect_reply(replies: Subscription, timeout: float) -> bytes:
    """The reply's body, joined from its parts when it came in several messages."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    assembler = ReplyAssembler()
    while True:
        message = await replies.next_msg(timeout=max(deadline - loop.time(), 0.001))
        if message.headers and message.headers.get("Status") == "503":
            raise NoRespondersError
        body = assembler.add(message.data, message.headers)
        if body is not None:
            return body


def _error_reply(code: str, message: str) -> bytes:
    return _ErrorReply(error=ErrorInfo(code=code, message=message)).model_dump_json().encode()


class Bus:
    """The bus as one service sees it: `nats_url` carries that service's own NATS user, which may
    touch only the service's channels, its own consumers and its own inbox."""

    def __init__(self, nats_url: str, namespace: str, service: str, config: BusConfig | None = None) -> None:
        self.namespace = namespace
        self.service = service
        self.config = config or BusConfig.defaults()
        self._inbox = inbox_prefix(namespace, service)
        self.broker = NatsBroker(
            nats_url,
            name=f"{namespace}-{service}",
            inbox_prefix=self._inbox,
            graceful_timeout=10.0,
            max_reconnect_attempts=-1,
            logger=_FASTSTREAM_LOG,
            log_level=logging.DEBUG,
        )
        self._consumers: list[tuple[str, str]] = []
        self._batch_readers: list[Callable[[], Awaitable[None]]] = []
        self._batch_tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    # ---- naming -------------------------------------------------------------------------

    def address(self, subject: EventSubject[Any] | RpcSubject[Any, Any]) -> str:
        """The subject on the wire: the channel's subject under this deployment's namespace."""
        return f"{self.namespace}.{subject.relative}"

    def stream_name(self, stream: Stream) -> str:
        return stream_name(self.namespace, stream)

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, check that this service's consumers exist, then start consuming. Streams and
        consumers are the admin step's (`shared.bus.provision`): a service may not create them."""
        await self.broker.connect()
        for stream, consumer in self._consumers:
            try:
                await self.jetstream.consumer_info(stream, consumer)
            except NotFoundError as exc:
                raise BusError(f"consumer {consumer} on stream {stream} does not exist: provision the bus "
                               f"first (python -m shared.bus.provision)") from exc
        await self.broker.start()
        self._stopping.clear()
        self._batch_tasks = [asyncio.create_task(reader()) for reader in self._batch_readers]

    async def stop(self) -> None:
        # Batch readers finish the batch in hand (commit, ack) before the connection drains.
        self._stopping.set()
        if self._batch_tasks:
            await asyncio.gather(*self._batch_tasks, return_exceptions=True)
        await self.broker.stop()

    @property
    def jetstream(self) -> Any:
        return self.broker.config.connection_state.stream

    # ---- events (JetStream) ---------------------------------------------------------------

    async def publish(self, subject: EventSubject[EventT], event: EventT) -> None:
        """Durably publish a fact; returns once JetStream has stored it (or already had it)."""
        subject.check(event)
        await self.broker.publish(
            event.model_dump_json().encode(),
            self.address(subject),
            headers={"Nats-Msg-Id": event.event_id, "content-type": "application/json"},
            stream=self.stream_name(subject.channel.stream),
            timeout=5.0,
        )

    def consume(
        self,
        channel: EventChannel[EventT],
        handler: Callable[[EventT], Awaitable[None]],
        *,
        batch_size: int = 16,
    ) -> None:
        """Read a channel through this service's durable consumer (`channel.durable(service)`,
        created by the admin step); must be called before `start()`.

        A message is acked only after `handler` returns. A handler that raises is retried after
        the configured backoff, `max_deliver` attempts in all; then the message goes to the
        dead-letter stream with one alert, as does a message that fails validation (at once).
        Either way the consumer moves on to the messages behind it.
        """
        address = self.address(channel.every())
        consumer = channel.durable(self.service)
        stream = self.stream_name(channel.stream)
        model = channel.model
        attempts = self.config.max_deliver
        self._consumers.append((stream, consumer))

        async def on_message(msg: NatsMessage) -> None:
            raw: Msg = msg.raw_message
            delivery = raw.metadata.num_delivered
            try:
                event = model.model_validate_json(msg.body)
            except ValidationError as exc:
                log.warning("message failed validation; dead-lettered", subject=raw.subject, consumer=consumer,
                            event_id=_published_id(raw), error=str(exc).splitlines()[0])
                await self._dead_letter(raw, consumer, f"not a valid {model.__name__}: {exc}", _published_id(raw),
                                        severity="warning")
                await msg.ack()
                return
            if delivery > attempts:
                await self._dead_letter(raw, consumer, f"delivered {delivery} times without an ack", event.event_id)
                await msg.ack()
                return
            try:
                await handler(event)
            except Exception as exc:
                if await self._retry_later(raw, event, consumer, exc, msg.nack):
                    return
            await msg.ack()

        self.broker.subscriber(
            address,
            stream=JStream(stream, declare=False),
            durable=consumer,
            pull_sub=PullSub(batch_size=batch_size, timeout=1.0),
            # FastStream's pull subscriptions take their own prefix (default `_INBOX.`), not the connection's.
            inbox_prefix=f"{self._inbox}.".encode(),
            ack_policy=AckPolicy.MANUAL,
        )(on_message)

    def consume_batches(
        self,
        channel: EventChannel[EventT],
        handler: Callable[[list[EventT]], Awaitable[None]],
        *,
        max_messages: int = 500,
        max_wait_seconds: float = 0.05,
    ) -> None:
        """Read a channel in batches through this service's durable consumer: `handler` gets up to
        `max_messages` events (whatever arrived within `max_wait_seconds` of the first), in stream
        order, and every message of the batch is acked only after it returns — one commit per batch.

        A message that fails validation is dead-lettered (with an alert) and the rest of the
        batch goes on. If the handler raises, the batch is split: each message is handled alone,
        so the good ones commit and only the failing one is retried after the backoff, then
        dead-lettered after `max_deliver` attempts, as `consume` does.
        """
        stream = self.stream_name(channel.stream)
        consumer = channel.durable(self.service)
        self._consumers.append((stream, consumer))

        async def read_batches() -> None:
            subscription = await self.jetstream.pull_subscribe_bind(
                durable=consumer, stream=stream, inbox_prefix=f"{self._inbox}.".encode(),
                pending_msgs_limit=max(max_messages * 4, 4096))
            # The next batch is fetched and validated while the handler commits this one (its
            # time is mostly waiting on the database); batches are still handled one at a time,
            # in stream order.
            ready: asyncio.Queue[list[tuple[Msg, EventT]]] = asyncio.Queue(maxsize=1)

            async def fetch_and_validate() -> None:
                while not self._stopping.is_set():
                    try:
                        messages = await self._next_batch(subscription, max_messages, max_wait_seconds)
                        accepted = await self._accept(channel, consumer, messages)
                    except Exception:
                        # A dropped connection: unacked messages come back after ack_wait,
                        # so keep reading rather than let the consumer die quietly.
                        log.exception("batch reader failed; retrying in 1 s", consumer=consumer)
                        await asyncio.sleep(1.0)
                        continue
                    if accepted:
                        await ready.put(accepted)

            reader = asyncio.create_task(fetch_and_validate())
            try:
                while True:
                    try:
                        accepted = await asyncio.wait_for(ready.get(), timeout=0.5)
                    except TimeoutError:
                        if reader.done() and ready.empty():
                            break
                        continue
                    try:
                        await self._handle_batch(consumer, handler, accepted)
                    except Exception:
                        log.exception("acking a batch failed; it will be redelivered", consumer=consumer)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                await subscription.unsubscribe()

        self._batch_readers.append(read_batches)

    async def _next_batch(self, subscription: Any, max_messages: int, max_wait_seconds: float) -> list[Msg]:
        try:
            batch: list[Msg] = await subscription.fetch(max_messages, timeout=1.0)
        except (NatsTimeoutError, asyncio.TimeoutError):
            return []
        deadline = asyncio.get_running_loop().time() + max_wait_seconds
        while len(batch) < max_messages:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch += await subscription.fetch(max_messages - len(batch), timeout=remaining)
            except (NatsTimeoutError, asyncio.TimeoutError):
                break
        return batch

    async def _accept(self, channel: EventChannel[EventT], consumer: str, messages: list[Msg]) -> list[tuple[Msg, EventT]]:
        """The batch's messages that may be handled; the others are dead-lettered and acked."""
        attempts = self.config.max_deliver
        accepted: list[tuple[Msg, EventT]] = []
        for raw in messages:
            try:
                event = channel.model.model_validate_json(raw.data)
            except ValidationError as exc:
                log.warning("message failed validation; dead-lettered", subject=raw.subject, consumer=consumer,
                            event_id=_published_id(raw), error=str(exc).splitlines()[0])
                await self._dead_letter(raw, consumer, f"not a valid {channel.model.__name__}: {exc}",
                                        _published_id(raw), severity="warning")
                await raw.ack()
                continue
            if raw.metadata.num_delivered > attempts:
                await self._dead_letter(raw, consumer, f"delivered {raw.metadata.num_delivered} times without an ack",
                                        event.event_id)
                await raw.ack()
                continue
            accepted.append((raw, event))
        return accepted

    async def _handle_batch(self, consumer: str, handler: Callable[[list[EventT]], Awaitable[None]],
                            accepted: list[tuple[Msg, EventT]]) -> None:
        try:
            await handler([event for _, event in accepted])
        except Exception:
            log.exception("batch failed; handling its messages one by one", consumer=consumer, size=len(accepted))
        else:
            for raw, _ in accepted:
                await raw.ack()
            return
        for raw, event in accepted:
            try:
                await handler([event])
            except Exception as exc:
                if await self._retry_later(raw, event, consumer, exc, raw.nak):
                    continue
            await raw.ack()

    async def _retry_later(self, raw: Msg, event: Message, consumer: str, exc: Exception,
                           nak: Callable[..., Awaitable[None]]) -> bool:
        """After a handler failed on `event`: ask for redelivery after the backoff (True: the
        caller must not ack), or, on the last attempt, dead-letter it (False: the caller acks)."""
        delivery = raw.metadata.num_delivered
        attempts = self.config.max_deliver
        context = dict(subject=raw.subject, event_id=event.event_id, consumer=consumer, attempt=delivery,
                       max_deliver=attempts)
        if delivery < attempts:
            retry_in = self.config.backoff_before(delivery + 1)
            log.exception("handler failed; will retry", retry_in=retry_in, **context)
            await nak(delay=retry_in)
            return True
        log.exception("handler failed on its last attempt; dead-lettered", **context)
        await self._dead_letter(raw, consumer, f"handler failed {delivery} times; last: {type(exc).__name__}: {exc}",
                                event.event_id)
        return False

    async def _dead_letter(self, raw: Msg, consumer: str, error: str, event_id: str | None = None, *,
                           severity: Severity = "critical") -> None:
        """Keep the message with the reason and raise one alert. Both ids are derived from the
        message (its stream and sequence; a request's bytes), so doing this again after a crash
        stores nothing new: JetStream drops the duplicates."""
        original = raw.subject.removeprefix(f"{self.namespace}.")
        if raw.reply.startswith("$JS.ACK."):
            sequence: object = raw.metadata.sequence.stream
            origin: tuple[object, ...] = (raw.metadata.stream, sequence)
        else:
            sequence = None
            origin = ("request", hashlib.sha256(raw.data).hexdigest())
        error = error[:4000]
        letter = DeadLetter(
            event_id=deterministic_id("dead-letter", consumer, *origin),
            original_subject=original,
            consumer=consumer,
            error=error,
            payload=raw.data[:_MAX_DEAD_LETTER_PAYLOAD].decode(errors="replace"),
        )
        await self.publish(DEAD_LETTERS.subject(original_subject=original), letter)
        await self.publish(
            ALERTS.subject(),
            Alert(
                event_id=deterministic_id("dead-letter-alert", letter.event_id),
                severity=severity,
                source=self.service,
                code="bus.dead_letter",
                message=f"{consumer} gave up on a message on {original}: {error.splitlines()[0]}",
                dedup_key=f"dead_letter:{consumer}:{original}",
                details={"dead_letter_id": letter.event_id, "event_id": event_id, "stream_sequence": sequence},
            ),
        )

    # ---- questions (core request/reply) -------------------------------------------------

    def respond(
        self,
        subject: RpcSubject[RequestT, ReplyT],
        handler: Callable[[RequestT], Awaitable[ReplyT]],
        *,
        queue: str | None = None,
    ) -> None:
        """Answer requests on a subject; replicas share the load through a queue group. A handler
        that raises is logged and the asker gets a `responder_failed` error at once, not a timeout."""
        address = self.address(subject)
        model, reply_model = subject.channel.request, subject.channel.reply
        responder = f"{self.service}-responder"

        async def answer(raw: Msg) -> bytes:
            try:
                request = model.model_validate_json(raw.data)
            except ValidationError as exc:
                log.warning("request failed validation; dead-lettered", subject=address, error=str(exc).splitlines()[0])
                await self._dead_letter(raw, responder, f"not a valid {model.__name__}: {exc}", severity="warning")
                return _error_reply("invalid_request", str(exc).splitlines()[0])
            try:
                reply = await handler(request)
                if not isinstance(reply, reply_model):
                    raise TypeError(f"{subject.relative} answers {reply_model.__name__}, not {type(reply).__name__}")
            except Exception as exc:
                log.exception("responder failed", subject=address, event_id=request.event_id)
                return _error_reply("responder_failed", f"{self.service} failed answering {subject.relative}: "
                                                        f"{type(exc).__name__}")
            return reply.model_dump_json().encode()

        async def on_request(msg: NatsMessage) -> None:
            raw: Msg = msg.raw_message
            body = await answer(raw)
            if not raw.reply:
                return
            connection = self.broker.config.connection_state.connection
            try:
                parts = reply_parts(body, connection.max_payload)
            except ReplyTooLarge as exc:
                log.error("reply too large to send", subject=address, error=str(exc))
                parts = reply_parts(_error_reply("reply_too_large", f"{self.service}: {exc}"), connection.max_payload)
            for data, headers in parts:
                await connection.publish(raw.reply, data, headers=headers)

        # Replies are sent here, not by FastStream, so that one too big for a message goes in parts.
        self.broker.subscriber(address, queue=queue or self.service, no_reply=True)(on_request)

    async def request(
        self, subject: RpcSubject[RequestT, ReplyT], request: RequestT, *, timeout: float = 5.0
    ) -> ReplyT:
        subject.check(request)
        # The nats client directly, not the broker: a "no responders" status tells the caller a
        # service is down at once instead of after the whole timeout. An inbox of its own per
        # question, because a big reply arrives as several messages (shared/bus/replies.py).
        connection = self.broker.config.connection_state.connection
        inbox = connection.new_inbox()
        replies = await connection.subscribe(inbox)
        try:
            await connection.publish(self.address(subject), request.model_dump_json().encode(), reply=inbox)
            body = await _collect_reply(replies, timeout)
        except NoRespondersError as exc:
            raise BusTimeout(f"no service answers {subject.relative}") from exc
        except (NatsTimeoutError, asyncio.TimeoutError, TimeoutError) as exc:
            raise BusTimeout(f"no reply on {subject.relative} within {timeout}s") from exc
        except MalformedReply as exc:
            raise BusError(f"malformed reply on {subject.relative}: {exc}") from None
        finally:
            await replies.unsubscribe()
        try:
            return subject.channel.reply.model_validate_json(body)
        except ValidationError:
            try:
                raise RemoteError(_ErrorReply.model_validate_json(body).error) from None
            except ValidationError:
                raise BusError(f"malformed reply on {subject.relative}") from None
