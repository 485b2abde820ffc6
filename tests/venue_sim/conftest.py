"""Fixtures for the simulator tests: a running sim and a tiny Kalshi request signer.

The signer is written here from the protocol notes (not the production client, which is someone
else's): RSA-PSS/SHA-256, MGF1, salt = digest length, over timestamp + METHOD + full path.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

from services.venue_sim.scenarios.demo import load_scenario
from tests.support.venue_sim import RunningSim, running_sim

PREFIX = "/trade-api/v2"


def sign(private_key, text: str) -> str:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return base64.b64encode(private_key.sign(text.encode())).decode()
    raw = private_key.sign(
        text.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
        hashes.SHA256(),
    )
    return base64.b64encode(raw).decode()


class SignedKalshi:
    """httpx against the sim's /trade-api/v2 with Kalshi's three auth headers."""

    def __init__(self, http: httpx.AsyncClient, key_id: str, private_key_pem: bytes) -> None:
        self.http = http
        self.key_id = key_id
        self.private_key = serialization.load_pem_private_key(private_key_pem, password=None)

    def headers(self, method: str, path: str, *, ts_ms: int | None = None, sign_path: str | None = None) -> dict:
        ts = str(ts_ms if ts_ms is not None else time.time_ns() // 1_000_000)
        signed = sign(self.private_key, f"{ts}{method}{sign_path if sign_path is not None else PREFIX + path}")
        return {"KALSHI-ACCESS-KEY": self.key_id, "KALSHI-ACCESS-TIMESTAMP": ts, "KALSHI-ACCESS-SIGNATURE": signed}

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {**self.headers(method, path), **kwargs.pop("headers", {})}
        return await self.http.request(method, PREFIX + path, headers=headers, **kwargs)

    async def get(self, path: str, **params) -> httpx.Response:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: dict) -> httpx.Response:
        return await self.request("POST", path, json=body)

    async def delete(self, path: str, **params) -> httpx.Response:
        return await self.request("DELETE", path, params=params)


@pytest.fixture(scope="module")
async def _module_sim() -> AsyncIterator[RunningSim]:
    # "prime" so that tests which page a lot are not throttled; the rate-limit test uses basic.
    async with running_sim(scenario="demo", seed=7, kalshi_tier="prime") as handle:
        yield handle


@pytest.fixture
async def demo_sim(_module_sim: RunningSim) -> RunningSim:
    """One server per module; each test starts from a freshly loaded demo state."""
    sim = _module_sim.sim
    load_scenario(sim, "demo", 7)
    sim.faults.clear()
    sim.kalshi_limiter.set_tier("prime")
    return _module_sim


@pytest.fixture
async def kalshi(demo_sim: RunningSim) -> AsyncIterator[SignedKalshi]:
    async with httpx.AsyncClient(base_url=demo_sim.kalshi_url, timeout=10) as http:
        yield SignedKalshi(http, demo_sim.credentials.kalshi_key_id, demo_sim.credentials.kalshi_private_key_pem)


@pytest.fixture
async def admin(demo_sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{demo_sim.admin_url}/_sim", timeout=10) as http:
        yield http


@pytest.fixture
def signer() -> type[SignedKalshi]:
    """The signing client class, for tests that build their own (other keys, other sims)."""
    return SignedKalshi
