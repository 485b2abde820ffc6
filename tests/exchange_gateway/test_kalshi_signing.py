"""Kalshi signing against the official SDK vectors (tests/data/vectors.json) and key loading."""

from __future__ import annotations

import base64
import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from services.exchange_gateway.adapters.kalshi_signing import (
    KalshiKeyError,
    KalshiSigner,
    load_private_key,
    message,
)
from shared.logs import redact_text

PSS_32 = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def _rsa(signing_vectors: dict) -> dict:
    return signing_vectors["kalshi"]["rsa_pss_vectors_sdk_3_2_0"]


def _proper_rsa_vectors(signing_vectors: dict) -> list[dict]:
    # The vector whose URL lacks /trade-api/v2 documents the pitfall; it is tested separately.
    return [v for v in _rsa(signing_vectors)["vectors"] if "/trade-api/v2" in v["url_passed_to_sdk"]]


def test_rsa_vectors_verify_for_the_message_our_signer_builds(signing_vectors: dict) -> None:
    rsa = _rsa(signing_vectors)
    public = serialization.load_pem_public_key(rsa["test_public_key_pem"].encode())
    signer = KalshiSigner.from_pem("test-key-id", rsa["test_private_key_pem_pkcs8"])
    vectors = _proper_rsa_vectors(signing_vectors)
    assert len(vectors) >= 4
    for v in vectors:
        ours = message(v["timestamp_ms"], v["method"], v["url_passed_to_sdk"])
        assert ours == v["exact_message_signed"].encode()
        # The official signature verifies (salt = digest length) over the text we would sign...
        public.verify(base64.b64decode(v["headers"]["KALSHI-ACCESS-SIGNATURE"]), ours, PSS_32, hashes.SHA256())
        # ...and our own (randomized) signature verifies the same way, with the same headers.
        headers = signer.sign(v["timestamp_ms"], v["method"], v["url_passed_to_sdk"])
        assert headers["KALSHI-ACCESS-KEY"] == v["headers"]["KALSHI-ACCESS-KEY"]
        assert headers["KALSHI-ACCESS-TIMESTAMP"] == v["headers"]["KALSHI-ACCESS-TIMESTAMP"]
        public.verify(base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"]), ours, PSS_32, hashes.SHA256())


def test_ed25519_vector_matches_byte_for_byte(signing_vectors: dict) -> None:
    v = signing_vectors["kalshi"]["ed25519_vector_sdk_3_34_0"]
    signer = KalshiSigner.from_pem(v["headers"]["KALSHI-ACCESS-KEY"], v["private_key_pem_pkcs8"])
    assert message(1700000000000, v["method"], v["url_passed_to_sdk"]) == v["exact_message_signed"].encode()
    assert signer.sign(v["headers"]["KALSHI-ACCESS-TIMESTAMP"], v["method"], v["url_passed_to_sdk"]) == v["headers"]


def test_prefixless_path_is_never_signed(signing_vectors: dict) -> None:
    pitfalls = [v for v in _rsa(signing_vectors)["vectors"] if "/trade-api/v2" not in v["url_passed_to_sdk"]]
    assert pitfalls, "vectors.json should carry the prefix-less pitfall case"
    signer = KalshiSigner.from_pem("test-key-id", _rsa(signing_vectors)["test_private_key_pem_pkcs8"])
    for bad in pitfalls:
        with pytest.raises(ValueError, match="/trade-api/v2"):
            signer.sign(bad["timestamp_ms"], bad["method"], bad["url_passed_to_sdk"])
        for good in _proper_rsa_vectors(signing_vectors):
            assert message(good["timestamp_ms"], good["method"], good["url_passed_to_sdk"]) != bad["exact_message_signed"].encode()


def test_auth_hook_signs_the_full_request_path_without_query(signing_vectors: dict) -> None:
    rsa = _rsa(signing_vectors)
    public = serialization.load_pem_public_key(rsa["test_public_key_pem"].encode())
    signer = KalshiSigner.from_pem("test-key-id", rsa["test_private_key_pem_pkcs8"])
    # A client whose base URL carries the prefix, called with a relative path: the hook sees the merged URL.
    client = httpx.AsyncClient(base_url="https://example.test/trade-api/v2/")
    request = client.build_request("GET", "portfolio/fills", params={"limit": 5, "cursor": "abc"})
    headers = signer(request)
    text = f"{headers['KALSHI-ACCESS-TIMESTAMP']}GET/trade-api/v2/portfolio/fills".encode()
    public.verify(base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"]), text, PSS_32, hashes.SHA256())


def test_key_loading_errors_name_the_setting_and_never_the_key(tmp_path, signing_vectors: dict) -> None:
    with pytest.raises(KalshiKeyError, match="KALSHI_PRIVATE_KEY_FILE.*not found"):
        load_private_key(path=tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KalshiKeyError, match="KALSHI_PRIVATE_KEY_FILE") as err:
        load_private_key(path=junk)
    assert "bm90IGEga2V5" not in str(err.value)
    directory = tmp_path / "dir.pem"
    directory.mkdir()
    with pytest.raises(KalshiKeyError, match="KALSHI_PRIVATE_KEY_FILE.*cannot read"):
        load_private_key(path=directory)
    with pytest.raises(KalshiKeyError, match="KALSHI_PRIVATE_KEY_FILE"):
        load_private_key()
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(KalshiKeyError, match="RSA or Ed25519"):
        load_private_key(ec_pem)


def test_loaded_key_is_registered_for_redaction(tmp_path, signing_vectors: dict) -> None:
    pem = _rsa(signing_vectors)["test_private_key_pem_pkcs8"]
    path = tmp_path / "k.pem"
    path.write_text(pem)
    signer = KalshiSigner.from_file("test-key-id", path)
    body_line = pem.splitlines()[1]
    assert body_line not in redact_text(f"oops {pem}")
    assert body_line not in repr(signer)


def test_key_id_is_a_registered_secret_and_not_in_the_signers_repr(signing_vectors: dict) -> None:
    key_id = "kid-registered-by-the-signer"
    signer = KalshiSigner.from_pem(key_id, _rsa(signing_vectors)["test_private_key_pem_pkcs8"])
    assert key_id not in repr(signer)
    assert key_id not in redact_text(f"KALSHI-ACCESS-KEY was {key_id}")
