"""Waiting in tests for what other processes do, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from shared.bus import BusTimeout

# Generous: services poll every second or so in tests, and a busy CI box is slow.
DEADLINE_SECONDS = 30.0


async def eventually(check: Callable[[], Awaitable[Any]], what: str, deadline_s: float = DEADLINE_SECONDS) -> Any:
    """`check()`'s result once it stops failing (an assertion, or the bus timing out while a service
    starts); an AssertionError naming `what` after `deadline_s`."""
    deadline = asyncio.get_running_loop().time() + deadline_s
    while True:
        try:
            return await check()
        except (AssertionError, BusTimeout) as failed:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{what}: not within {deadline_s:.0f} s: {failed}") from None
        await asyncio.sleep(0.3)
