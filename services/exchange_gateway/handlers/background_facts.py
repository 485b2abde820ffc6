"""Publishing facts without making the asker wait for JetStream's ack.

A trader's Refresh must not wait for the bus to store the snapshot it caused: the answer goes
out at once and the fact follows. Nothing is dropped for being slow: each fact is retried until
JetStream stores it (its event id makes a retry a duplicate the stream drops, never a second
fact), facts on one subject go out in the order they were handed in, and shutdown waits for the
ones still pending.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.bus import Bus
from shared.contracts.base import Message
from shared.contracts.channels import EventSubject
from shared.logs import get_logger

log = get_logger(__name__)

FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0


class BackgroundFacts:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._pending: set[asyncio.Task[None]] = set()
        # The newest task per subject: the next fact on that subject waits for it (order kept).
        self._last: dict[EventSubject[Any], asyncio.Task[None]] = {}

    def publish(self, subject: EventSubject[Any], event: Message) -> None:
        subject.check(event)  # a wrong event fails here, in the caller, not later in a background task
        before = self._last.get(subject)
        task = asyncio.create_task(self._publish_after(before, subject, event),
                                   name=f"publish {subject.relative} {event.event_id}")
        self._last[subject] = task
        self._pending.add(task)
        task.add_done_callback(lambda t: self._forget(subject, t))

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def drain(self, timeout: float = 10.0) -> None:
        """At shutdown: let pending facts go out (bounded), and say so loudly if some could not."""
        if not self._pending:
            return
        done, not_done = await asyncio.wait(set(self._pending), timeout=timeout)
        for task in not_done:
            task.cancel()
        if not_done:
            log.error("facts not published before shutdown", count=len(not_done))

    def _forget(self, subject: EventSubject[Any], task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if self._last.get(subject) is task:
            del self._last[subject]

    async def _publish_after(self, before: asyncio.Task[None] | None, subject: EventSubject[Any], event: Message) -> None:
        if before is not None:
            await asyncio.wait({before})  # its outcome is its own; we only wait for our turn
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                await self.bus.publish(subject, event)
                return
            except Exception as exc:  # the bus being slow or down must not lose the fact
                log.warning("fact publish failed; retrying", subject=subject.relative, event_id=event.event_id,
                            error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
