"""The venue simulator in-process for tests and benchmarks: `async with running_sim() as sim: ...`.

Binds free 127.0.0.1 ports itself (no races), serves all three hosts on the running event loop,
and by default authenticates with the official test vectors' keys (tests/data/vectors.json):
Kalshi key id "test-key-id" with the vectors' RSA key, Polymarket L2 creds and address from
`l2_headers_GET_data_orders` — so tests sign exactly like the official SDKs do.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from services.venue_sim.config import load_settings
from services.venue_sim.domain.clock import Clock, ManualClock
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.main import SimCredentials, build_apps, build_simulator, make_server

VECTORS = Path(__file__).resolve().parents[1] / "data" / "vectors.json"


def vectors() -> dict:
    return json.loads(VECTORS.read_text())


@dataclass(frozen=True)
class TestCredentials:
    __test__ = False  # not a pytest class

    kalshi_key_id: str
    kalshi_private_key_pem: bytes
    kalshi_public_key_pem: bytes
    polymarket_api_key: str
    polymarket_api_secret: str
    polymarket_api_passphrase: str
    polymarket_address: str
    polymarket_private_key: str


def vector_credentials() -> TestCredentials:
    v = vectors()
    rsa_keys = v["kalshi"]["rsa_pss_vectors_sdk_3_2_0"]
    l2 = v["polymarket"]["l2_headers_GET_data_orders"]
    return TestCredentials(
        kalshi_key_id=rsa_keys["vectors"][0]["headers"]["KALSHI-ACCESS-KEY"],
        kalshi_private_key_pem=rsa_keys["test_private_key_pem_pkcs8"].encode(),
        kalshi_public_key_pem=rsa_keys["test_public_key_pem"].encode(),
        polymarket_api_key=l2["api_key"],
        polymarket_api_secret=l2["api_secret"],
        polymarket_api_passphrase=l2["api_passphrase"],
        polymarket_address=l2["headers"]["POLY_ADDRESS"],
        polymarket_private_key=l2["signer_private_key"],
    )


@dataclass
class RunningSim:
    __test__ = False  # not a pytest class

    sim: Simulator
    credentials: TestCredentials
    kalshi_url: str  # host root
    data_api_url: str
    clob_url: str

    @property
    def kalshi_base_url(self) -> str:
        return f"{self.kalshi_url}/trade-api/v2"

    @property
    def admin_url(self) -> str:
        """Host root of the admin API: routes are `{admin_url}/_sim/...` (any sim host works)."""
        return self.kalshi_url


def _free_socket() -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def running_sim(
    *,
    clock: Clock | None = None,
    manual_clock: bool = False,
    credentials: TestCredentials | None = None,
    **config_overrides: object,
) -> AsyncIterator[RunningSim]:
    """`config_overrides` are SimSettings fields (scenario, seed, kalshi_tier, ...); the default
    scenario here is "empty". `manual_clock=True` uses a ManualClock starting now."""
    creds = credentials or vector_credentials()
    settings = load_settings(**{"scenario": "empty", **config_overrides})
    sim_creds = SimCredentials(creds.kalshi_key_id, creds.kalshi_public_key_pem, creds.polymarket_api_key,
                               creds.polymarket_api_secret, creds.polymarket_api_passphrase,
                               creds.polymarket_address)
    sim = build_simulator(settings, sim_creds, clock or (ManualClock() if manual_clock else None))
    apps = build_apps(sim, sim_creds, settings.kalshi_auth_skew_ms)
    sockets = [_free_socket() for _ in range(3)]
    servers = [make_server(app, "127.0.0.1", 0) for app in (apps.kalshi, apps.data_api, apps.clob)]
    for s in servers:
        s.config.timeout_graceful_shutdown = 1
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(servers, sockets)]
    try:
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                for t in tasks:
                    if t.done() and t.exception():
                        raise t.exception()  # type: ignore[misc]
                raise RuntimeError("simulator server exited during startup")
            await asyncio.sleep(0.01)
        urls = [f"http://127.0.0.1:{sock.getsockname()[1]}" for sock in sockets]
        yield RunningSim(sim, creds, *urls)
    finally:
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in sockets:
            sock.close()
