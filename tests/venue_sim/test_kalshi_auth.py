"""Kalshi request signing as the simulator checks it, against the official SDK vectors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from services.venue_sim.adapters.kalshi_auth import load_public_key, verify_signature
from tests.support.venue_sim import TestCredentials, running_sim, vector_credentials

PREFIX = "/trade-api/v2"
VECTORS = json.loads((Path(__file__).parents[1] / "data" / "vectors.json").read_text())["kalshi"]
RSA = VECTORS["rsa_pss_vectors_sdk_3_2_0"]
ED = VECTORS["ed25519_vector_sdk_3_34_0"]


def _split(exact: str, ts: str) -> tuple[str, str]:
    rest = exact[len(ts):]
    method = next(m for m in ("DELETE", "POST", "GET") if rest.startswith(m))
    return method, rest[len(method):]


@pytest.mark.parametrize("vector", RSA["vectors"], ids=lambda v: v["exact_message_signed"][13:])
def test_every_official_rsa_vector_verifies(vector: dict) -> None:
    key = load_public_key(RSA["test_public_key_pem"].encode())
    h = vector["headers"]
    method, path = _split(vector["exact_message_signed"], vector["timestamp_ms"])
    assert verify_signature(key, h["KALSHI-ACCESS-TIMESTAMP"], method, path, h["KALSHI-ACCESS-SIGNATURE"])
    # ...and the same signature does not cover any other text.
    assert not verify_signature(key, h["KALSHI-ACCESS-TIMESTAMP"], method, path + "x", h["KALSHI-ACCESS-SIGNATURE"])


def test_prefixless_pitfall_vector_fails_against_the_real_path() -> None:
    pitfall = next(v for v in RSA["vectors"] if v["url_passed_to_sdk"].startswith("/portfolio"))
    key = load_public_key(RSA["test_public_key_pem"].encode())
    h = pitfall["headers"]
    assert not verify_signature(key, h["KALSHI-ACCESS-TIMESTAMP"], "GET", f"{PREFIX}/portfolio/fills",
                                h["KALSHI-ACCESS-SIGNATURE"])


def test_ed25519_vector_verifies() -> None:
    private = serialization.load_pem_private_key(ED["private_key_pem_pkcs8"].encode(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    public = private.public_key()
    assert public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex() == ED["public_key_raw_hex"]
    h = ED["headers"]
    method, path = _split(ED["exact_message_signed"], h["KALSHI-ACCESS-TIMESTAMP"])
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert verify_signature(load_public_key(pem), h["KALSHI-ACCESS-TIMESTAMP"], method, path, h["KALSHI-ACCESS-SIGNATURE"])


def _assert_401(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    err = resp.json()["error"]
    assert set(err) == {"code", "message", "details", "service"}
    assert err["code"] == "authentication_error"


async def test_signed_request_is_accepted_and_every_bad_signature_is_401(kalshi, signer) -> None:
    ok = await kalshi.get("/portfolio/balance")
    assert ok.status_code == 200 and isinstance(ok.json()["balance"], int)

    path = "/portfolio/fills"
    good = kalshi.headers("GET", path)
    # Signing without the /trade-api/v2 prefix (the classic bug).
    _assert_401(await kalshi.http.get(PREFIX + path, headers=kalshi.headers("GET", path, sign_path=path)))
    # Signing a different method.
    _assert_401(await kalshi.http.get(PREFIX + path, headers=kalshi.headers("POST", path)))
    # A stale timestamp (well outside the 60 s window), correctly signed.
    stale = time.time_ns() // 1_000_000 - 120_000
    _assert_401(await kalshi.http.get(PREFIX + path, headers=kalshi.headers("GET", path, ts_ms=stale)))
    # A timestamp from the future is just as bad.
    _assert_401(await kalshi.http.get(PREFIX + path, headers=kalshi.headers("GET", path, ts_ms=stale + 240_000)))
    # Each header missing in turn.
    for name in good:
        _assert_401(await kalshi.http.get(PREFIX + path, headers={k: v for k, v in good.items() if k != name}))
    # An unknown key id.
    _assert_401(await kalshi.http.get(PREFIX + path, headers={**good, "KALSHI-ACCESS-KEY": "someone-else"}))
    # Garbage instead of base64.
    _assert_401(await kalshi.http.get(PREFIX + path, headers={**good, "KALSHI-ACCESS-SIGNATURE": "not base64!"}))
    # Signed by a different RSA key under the right key id.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    impostor = signer(kalshi.http, kalshi.key_id, pem)
    _assert_401(await impostor.get(path))
    # The query string is not signed: the same signature works whatever the query.
    assert (await kalshi.http.get(PREFIX + path, params={"limit": 3}, headers=good)).status_code == 200


async def test_public_market_data_needs_no_signature(kalshi) -> None:
    resp = await kalshi.http.get(f"{PREFIX}/markets/KXSB-27-KC")
    assert resp.status_code == 200 and resp.json()["market"]["ticker"] == "KXSB-27-KC"


async def test_ed25519_key_when_configured(signer) -> None:
    private_pem = ED["private_key_pem_pkcs8"].encode()
    private = serialization.load_pem_private_key(private_pem, password=None)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    base = vector_credentials()
    creds = TestCredentials(**{**base.__dict__, "kalshi_private_key_pem": private_pem, "kalshi_public_key_pem": public_pem})
    async with running_sim(credentials=creds) as h, httpx.AsyncClient(base_url=h.kalshi_url) as http:
        client = signer(http, creds.kalshi_key_id, private_pem)
        assert (await client.get("/portfolio/balance")).status_code == 200
        rsa_client = signer(http, creds.kalshi_key_id, base.kalshi_private_key_pem)
        _assert_401(await rsa_client.get("/portfolio/balance"))
