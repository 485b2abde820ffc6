"""Kalshi request signing (RSA-PSS or Ed25519) and private-key loading.

Signed text = timestamp_ms + METHOD + URL path with `/trade-api/v2` and without the query. The
path is always derived from the full request URL, and a path without the `/trade-api/` prefix is
refused: signing the prefix-less path is the classic bug (the venue answers 401 for every call).
The key material and the key id are registered with the log redactor the moment they are read.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from shared.logs import register_secret

KEY_FILE_VAR = "KALSHI_PRIVATE_KEY_FILE"
KEY_VAR = "KALSHI_PRIVATE_KEY"
API_PREFIX = "/trade-api/"

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


class KalshiKeyError(ValueError):
    """The configured private key is missing, unreadable or not a key. Never contains key material."""


def load_private_key(pem: str | bytes | None = None, *, path: str | Path | None = None) -> PrivateKey:
    """From PEM text (`KALSHI_PRIVATE_KEY`) or a PEM file (`KALSHI_PRIVATE_KEY_FILE`)."""
    if pem is None and path is None:
        raise KalshiKeyError(f"no Kalshi private key: set {KEY_FILE_VAR} (or {KEY_VAR})")
    source = KEY_VAR
    if path is not None:
        source = f"{KEY_FILE_VAR} ({path})"
        try:
            pem = Path(path).read_bytes()
        except FileNotFoundError:
            raise KalshiKeyError(f"{source}: file not found") from None
        except OSError as exc:
            raise KalshiKeyError(f"{source}: cannot read ({exc.strerror or type(exc).__name__})") from None
    raw = pem.encode() if isinstance(pem, str) else pem
    register_secret(raw)
    if not raw or not raw.strip():
        raise KalshiKeyError(f"{source}: empty private key")
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError):
        # cryptography's message is dropped on purpose: never echo anything about the bytes.
        raise KalshiKeyError(f"{source}: not an unencrypted PEM private key (RSA or Ed25519)") from None
    except Exception:  # e.g. UnsupportedAlgorithm
        raise KalshiKeyError(f"{source}: unsupported private key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise KalshiKeyError(f"{source}: Kalshi keys are RSA or Ed25519, got {type(key).__name__}")
    return key


def signed_path(url: str) -> str:
    """The path Kalshi signs: from a full URL (or a path), without query, with `/trade-api/...`."""
    path = urlsplit(url).path
    if not path.startswith(API_PREFIX):
        raise ValueError(f"refusing to sign {path!r}: the signed path must include the /trade-api/v2 prefix")
    return path


def message(timestamp_ms: int | str, method: str, url: str) -> bytes:
    return f"{timestamp_ms}{method.upper()}{signed_path(url)}".encode()


class KalshiSigner:
    def __init__(self, key_id: str, private_key: PrivateKey) -> None:
        if not key_id:
            raise KalshiKeyError("no Kalshi API key id: set KALSHI_API_KEY_ID")
        # It travels in every request's KALSHI-ACCESS-KEY header: a credential, kept out of logs.
        register_secret(key_id)
        self.key_id = key_id
        self._key = private_key

    @classmethod
    def from_pem(cls, key_id: str, pem: str | bytes) -> KalshiSigner:
        return cls(key_id, load_private_key(pem))

    @classmethod
    def from_file(cls, key_id: str, path: str | Path) -> KalshiSigner:
        return cls(key_id, load_private_key(path=path))

    def __repr__(self) -> str:
        return f"KalshiSigner(key={type(self._key).__name__})"

    def sign(self, timestamp_ms: int | str, method: str, url: str) -> dict[str, str]:
        """The three auth headers for `method url` at `timestamp_ms`."""
        text = message(timestamp_ms, method, url)
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            signature = self._key.sign(text)
        else:
            signature = self._key.sign(text, _PSS, hashes.SHA256())
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": str(timestamp_ms),
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode(),
        }

    def __call__(self, request: httpx.Request) -> dict[str, str]:
        """The `VenueHttp` auth hook: signs the request's own URL with the current time."""
        return self.sign(time.time_ns() // 1_000_000, request.method, str(request.url))
