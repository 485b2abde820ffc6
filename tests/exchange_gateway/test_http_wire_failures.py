"""Write outcomes against a real socket on 127.0.0.1 that misbehaves the way networks do: the
request arrives and then the connection drops, the 2xx answer is cut short or is not JSON, or
nothing is listening at all. Only the last one provably never reached the venue."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from services.exchange_gateway.adapters.http import RetryPolicy, VenueHttp, VenueUnknownOutcome
from services.exchange_gateway.adapters.venue import VenueError
from services.exchange_gateway.domain.rate_budget import RateBudget, TokenBucket

Behaviour = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0)
    return head + await reader.readexactly(length)


class FlakyVenue:
    """A one-behaviour HTTP/1.1 server; counts the requests that fully arrived."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.received: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.received.append(await _read_request(reader))
            await self.behaviour(writer)
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Behaviour], Awaitable[tuple[str, FlakyVenue]]]]:
    servers: list[asyncio.Server] = []

    async def start(behaviour: Behaviour) -> tuple[str, FlakyVenue]:
        venue = FlakyVenue(behaviour)
        server = await asyncio.start_server(venue.handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", venue

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _post(base_url: str) -> object:
    async def no_sleep(_: float) -> None:
        raise AssertionError("a write never waits to retry")

    budget = RateBudget({"write": (TokenBucket(100, 100),), "read": (TokenBucket(100, 100),)})
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        http = VenueHttp("polymarket", client, budget, retry=RetryPolicy(), sleep=no_sleep)
        return await http.request("POST", "/order", json_body={"order": {"size": "10"}})


async def _drop(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    sock = transport.get_extra_info("socket")
    # RST rather than FIN: "connection reset by peer" after the venue had the whole order.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    transport.abort()


async def _truncated_2xx(writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 80\r\n\r\n{"orderID": "0xab')
    await writer.drain()


async def _html_2xx(writer: asyncio.StreamWriter) -> None:
    body = b"<html>gateway says hi</html>"
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()


async def _server_error(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


@pytest.mark.parametrize("behaviour", [_drop, _truncated_2xx, _html_2xx, _server_error],
                         ids=["reset-after-request", "2xx-cut-short", "2xx-not-json", "502"])
async def test_a_write_the_venue_received_but_did_not_answer_clearly_is_unknown(serve, behaviour) -> None:
    url, venue = await serve(behaviour)
    with pytest.raises(VenueUnknownOutcome, match="outcome unknown, look the order up before retrying") as err:
        await _post(url)
    assert len(venue.received) == 1 and venue.received[0].endswith(b'{"order":{"size":"10"}}')
    assert not err.value.retryable and str(err.value).startswith("polymarket: POST /order: ")


async def test_a_write_to_a_closed_port_never_left_and_is_a_plain_retryable_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on: connect is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(VenueError) as err:
        await _post(f"http://127.0.0.1:{port}")
    assert not isinstance(err.value, VenueUnknownOutcome)
    assert err.value.retryable and "cannot connect" in str(err.value) and "not sent" in str(err.value)
