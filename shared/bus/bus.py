from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError
from pydantic import BaseModel, ValidationError

from shared.contracts import Alert, DeadLetter, ErrorInfo, Message, subjects
from shared.logs import get_logger

log = get_logger(__name__)

EventT = TypeVar("EventT", bound=Message)
ReplyT = TypeVar("ReplyT", bound=Message)

_MAX_DEAD_LETTER_PAYLOAD = 64 * 1024
# Redelivery delay after a handler failure: long enough not to spin on a broken dependency.
_NACK_DELAY_SECONDS = 1.0
# Duplicate window for Nats-Msg-Id de-duplication of re-published facts.
_DUPLICATE_WINDOW_SECONDS = 600.0


class BusError(RuntimeError):
    pass


class BusTimeout(BusError):
    """No reply in time. For a write this is an *unknown* outcome, never a failure."""


class RemoteError(BusError):
    """The responder rejected the request (e.g. it failed validation there)."""

    def __init__(self, error: ErrorInfo) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error


class _ErrorReply(BaseModel):
    error: ErrorInfo


class Bus:
    def __init__(self, nats_url: str, namespace: str, service: str) -> None:
        self.namespace = namespace
        self.service = service
        self.broker = NatsBroker(
            nats_url,
            name=f"{namespace}-{service}",
            graceful_timeout=10.0,
            max_reconnect_attempts=-1,
            logger=None,
        )

    # ---- naming -------------------------------------------------------------------------

    def subject(self, relative: str) -> str:
        return f"{self.namespace}.{relative}"

    def stream_name(self, relative: str) -> str:
        return f"{self.namespace}_{relative}".upper().replace("-", "_")

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, make sure the streams exist, then start every registered consumer."""
        await self.broker.connect()
        await self.ensure_streams()
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    @property
    def jetstream(self) -> Any:
        return self.broker.config.connection_state.stream

    async def ensure_streams(self) -> None:
        await self._ensure_stream(
            subjects.EVENTS_STREAM, subjects.EVENTS_STREAM_SUBJECTS, max_age_seconds=30 * 24 * 3600.0
        )
        await self._ensure_stream(
            subjects.DEAD_LETTER_STREAM, subjects.DEAD_LETTER_STREAM_SUBJECTS, max_age_seconds=90 * 24 * 3600.0
        )

    async def _ensure_stream(self, name: str, relative_subjects: tuple[str, ...], max_age_seconds: float) -> None:
        config = StreamConfig(
            name=self.stream_name(name),
            subjects=[self.subject(s) for s in relative_subjects],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=max_age_seconds,
            duplicate_window=_DUPLICATE_WINDOW_SECONDS,
        )
        try:
            await self.jetstream.add_stream(config=config)
        except BadRequestError:
            # Another service created it first, possibly with an older config: converge on ours.
            await self.jetstream.update_stream(config=config)

    # ---- events (JetStream) ---------------------------------------------------------------

    @staticmethod
    def _stream_for(relative_subject: str) -> str:
        if relative_subject.startswith(subjects.DEAD_LETTER + "."):
            return subjects.DEAD_LETTER_STREAM
        return subjects.EVENTS_STREAM

    async def publish(self, relative_subject: str, event: Message) -> None:
        """Durably publish a fact; returns once JetStream has stored it (or already had it)."""
        await self.broker.publish(
            event.model_dump_json().encode(),
            self.subject(relative_subject),
            headers={"Nats-Msg-Id": event.event_id, "content-type": "application/json"},
            stream=self.stream_name(self._stream_for(relative_subject)),
            timeout=5.0,
        )

    def consume(
        self,
        relative_subject: str,
        model: type[EventT],
        durable: str,
        handler: Callable[[EventT], Awaitable[None]],
        *,
        batch_size: int = 16,
    ) -> None:
        """Register a durable pull consumer; must be called before `start()`."""
        subject = self.subject(relative_subject)
        consumer = f"{self.service}-{durable}"
        stream = self._stream_for(relative_subject)

        async def on_message(msg: NatsMessage) -> None:
            raw: bytes = msg.body
            try:
                event = model.model_validate_json(raw)
            except ValidationError as exc:
                await self._dead_letter(msg.raw_message.subject, consumer, raw, exc)
                await msg.ack()
                return
            try:
                await handler(event)
            except Exception:
                log.exception("handler failed; message will be redelivered", subject=subject, consumer=consumer)
                await msg.nack(delay=_NACK_DELAY_SECONDS)
                return
            await msg.ack()

        self.broker.subscriber(
            subject,
            stream=JStream(self.stream_name(stream), declare=False),
            durable=consumer.replace(".", "_"),
            pull_sub=PullSub(batch_size=batch_size, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
        )(on_message)

    async def _dead_letter(self, subject: str, consumer: str, raw: bytes, exc: Exception) -> None:
        relative = subject.removeprefix(f"{self.namespace}.")
        error = str(exc)[:4000]
        log.warning("message failed validation; dead-lettered", subject=subject, consumer=consumer, error=error)
        letter = DeadLetter(
            original_subject=relative,
            consumer=consumer,
            error=error,
            payload=raw[:_MAX_DEAD_LETTER_PAYLOAD].decode(errors="replace"),
        )
        await self.publish(subjects.dead_letter_subject(relative), letter)
        await self.publish(
            subjects.ALERTS,
            Alert(
                severity="warning",
                source=self.service,
                code="bus.dead_letter",
                message=f"{consumer} rejected a message on {relative}: {error.splitlines()[0]}",
                dedup_key=f"dead_letter:{consumer}:{relative}",
                details={"dead_letter_id": letter.event_id},
            ),
        )

    # ---- questions (core request/reply) -------------------------------------------------

    def respond(
        self,
        relative_subject: str,
        model: type[EventT],
        handler: Callable[[EventT], Awaitable[Message]],
        *,
        queue: str | None = None,
    ) -> None:
        """Answer requests on a subject; replicas share the load through a queue group."""

        async def on_request(msg: NatsMessage) -> bytes:
            try:
                request = model.model_validate_json(msg.body)
            except ValidationError as exc:
                await self._dead_letter(msg.raw_message.subject, f"{self.service}-responder", msg.body, exc)
                return _ErrorReply(
                    error=ErrorInfo(code="invalid_request", message=str(exc).splitlines()[0])
                ).model_dump_json().encode()
            reply = await handler(request)
            return reply.model_dump_json().encode()

        self.broker.subscriber(self.subject(relative_subject), queue=queue or self.service)(on_request)

    async def request(
        self, relative_subject: str, request: Message, reply_model: type[ReplyT], *, timeout: float = 5.0
    ) -> ReplyT:
        # The nats client directly, not the broker: it reports "no responders" at once, so a
        # caller learns a service is down immediately instead of after the whole timeout.
        connection = self.broker.config.connection_state.connection
        try:
            response = await connection.request(
                self.subject(relative_subject), request.model_dump_json().encode(), timeout=timeout
            )
        except NoRespondersError as exc:
            raise BusTimeout(f"no service answers {relative_subject}") from exc
        except (NatsTimeoutError, asyncio.TimeoutError, TimeoutError) as exc:
            raise BusTimeout(f"no reply on {relative_subject} within {timeout}s") from exc
        body = response.data
        try:
            return reply_model.model_validate_json(body)
        except ValidationError:
            try:
                raise RemoteError(_ErrorReply.model_validate_json(body).error) from None
            except ValidationError:
                raise BusError(f"malformed reply on {relative_subject}") from None
