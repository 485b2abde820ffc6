"""Polymarket CLOB L2 authentication: the five `POLY_*` headers on every private call.

The HMAC itself is the official `polymarket-client` (0.14.0, pinned) primitive
`build_hmac_signature`; we only add the header set and our own transport, because the package's
clients can target production hosts only (README "What the official clients expect").
It signs the exact body bytes we send — unlike py-clob-client, which rewrites `'` to `"` before
signing (vectors.json apostrophe case); the venue accepts both, so ours is the exact-bytes one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from polymarket._internal.hmac import build_hmac_signature
from polymarket.errors import SigningError

from shared.logs import register_secret


class PolymarketAuthError(ValueError):
    """Credentials that cannot sign (bad secret encoding). Never carries the secret."""


@dataclass(frozen=True)
class PolymarketCredentials:
    """L2 API credentials. `address` is the signer wallet that owns the API key (POLY_ADDRESS);
    it is public on-chain, the other three are secrets."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    api_passphrase: str = field(repr=False)
    address: str

    def __post_init__(self) -> None:
        # Scrubbed from every log line from now on, with their base64 forms.
        register_secret(self.api_key)
        register_secret(self.api_secret)
        register_secret(self.api_passphrase)


def l2_signature(secret: str, timestamp: int | str, method: str, path: str, body: str | None) -> str:
    """urlsafe-b64(HMAC-SHA256(urlsafe-b64-decode(secret), ts + METHOD + path + body)).

    `path` must exclude the query string; `body` is the exact compact JSON sent (None/"" = none).
    """
    try:
        return build_hmac_signature(
            secret=secret, timestamp=int(timestamp), method=method.upper(), path=path, body=body or None
        )
    except SigningError:
        # The library's message may quote the secret's decoding error; keep it out.
        raise PolymarketAuthError("polymarket: API secret is not valid urlsafe base64") from None


def l2_headers(
    creds: PolymarketCredentials, method: str, path: str, body: str | None = None, *, timestamp: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "POLY_ADDRESS": creds.address,
        "POLY_SIGNATURE": l2_signature(creds.api_secret, ts, method, path, body),
        "POLY_TIMESTAMP": str(ts),
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.api_passphrase,
    }
