"""ASGI middleware that applies a venue's injected faults to its protocol routes.

Latency and random 5xx happen before the handler runs (so a failed request changed nothing);
malformed JSON truncates a finished response body. `/_sim` admin routes are never faulted.
Page failures and timeout-after-accept live in the handlers, which know pages and writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from services.venue_sim.domain.faults import SimFaults

_ERROR_BODIES = {
    "kalshi": lambda status: {
        "error": {
            "code": "internal_server_error" if status == 500 else "service_unavailable",
            "message": "internal server error" if status == 500 else "service unavailable",
            "details": "simulated fault",
            "service": "exchange",
        }
    },
    "polymarket": lambda status: {"error": "Internal Server Error" if status == 500 else "Service Unavailable"},
}


def fault_middleware(faults: SimFaults, venue: str) -> Callable[[ASGIApp], ASGIApp]:
    faults.for_venue(venue)  # fail fast on an unknown venue name

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"].startswith("/_sim"):
                await app(scope, receive, send)
                return
            current = faults.for_venue(venue)
            if current.latency_ms:
                await asyncio.sleep(current.latency_ms / 1000)
            if current.error_rate and faults.rng.random() < current.error_rate:
                status = faults.rng.choice((500, 503))
                await _send_json(send, status, _ERROR_BODIES[venue](status))
                return
            if current.malformed_json:
                await app(scope, receive, _truncating(send))
                return
            await app(scope, receive, send)

        return middleware

    return factory


async def _send_json(send: Send, status: int, body: object) -> None:
    raw = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
    })
    await send({"type": "http.response.body", "body": raw, "more_body": False})


def _truncating(send: Send) -> Send:
    """Buffers a JSON response and sends only its first half (invalid JSON, correct length)."""
    start: dict = {}
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        is_json = any(k.lower() == b"content-type" and b"json" in v for k, v in headers)
        if is_json and body:
            body = body[: max(1, len(body) // 2)]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return wrapped
