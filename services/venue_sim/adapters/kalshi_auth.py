"""Verification of Kalshi's request signatures.

Signed text = timestamp_ms + METHOD + path (with `/trade-api/v2`, without the query). RSA keys
verify RSA-PSS / SHA-256 / MGF1(SHA-256) with salt length 32 (= digest length, exactly what the
official SDK signs with); Ed25519 keys verify the same text. Errors use Kalshi's error body.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from services.venue_sim.domain.kalshi_units import KalshiError

KEY_HEADER = "kalshi-access-key"
TIMESTAMP_HEADER = "kalshi-access-timestamp"
SIGNATURE_HEADER = "kalshi-access-signature"

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def load_public_key(pem: bytes) -> PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise ValueError("Kalshi keys are RSA or Ed25519")
    return key


def signed_text(timestamp_ms: str, method: str, path: str) -> bytes:
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


def verify_signature(key: PublicKey, timestamp_ms: str, method: str, path: str, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    message = signed_text(timestamp_ms, method, path)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(
                signature,
                message,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
                hashes.SHA256(),
            )
    except InvalidSignature:
        return False
    return True


def _unauthorized(details: str) -> KalshiError:
    return KalshiError(401, "authentication_error", "authentication error", details)


@dataclass
class KalshiAuthenticator:
    key_id: str
    public_key: PublicKey
    skew_ms: int
    # Wall-clock ms: clients sign with their own real clock, whatever the sim's market clock says.
    now_ms: Callable[[], int]

    def authenticate(self, headers: Mapping[str, str], method: str, path: str) -> str:
        """Returns the key id, or raises a 401 KalshiError."""
        key_id = headers.get(KEY_HEADER)
        timestamp = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not key_id or not timestamp or not signature:
            missing = [h for h, v in ((KEY_HEADER, key_id), (TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)) if not v]
            raise _unauthorized(f"missing header(s): {', '.join(h.upper() for h in missing)}")
        if key_id != self.key_id:
            raise _unauthorized("unknown API key")
        if not timestamp.isdigit():
            raise _unauthorized("timestamp must be Unix milliseconds")
        if abs(self.now_ms() - int(timestamp)) > self.skew_ms:
            raise _unauthorized("request timestamp is outside the allowed window")
        if not verify_signature(self.public_key, timestamp, method, path, signature):
            raise _unauthorized("invalid signature")
        return key_id
