"""Polymarket CLOB authentication as the venue checks it: L1 (EIP-712 ClobAuth), L2 (HMAC) and
V2 signed orders (EIP-712 "Polymarket CTF Exchange" version "2").

Written from the wire description in shared/protocols/README.md, independently of the client
SDK's signing code, so that the vectors in tests/data/vectors.json test both sides. Only the
wallet-address derivations (CREATE2 arithmetic for proxy / Safe / deposit wallets) are reused
from polymarket-client, because they are on-chain constants rather than protocol logic.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from services.venue_sim.domain.polymarket import OrderIntent

# Exchange contracts orders are signed for (Polygon mainnet; polymarket.environments.PRODUCTION).
STANDARD_EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"
# A request signed more than this far from the server's clock is refused as stale or replayed.
MAX_TIMESTAMP_SKEW_S = 300
L2_HEADERS = ("POLY_ADDRESS", "POLY_SIGNATURE", "POLY_TIMESTAMP", "POLY_API_KEY", "POLY_PASSPHRASE")
ZERO_BYTES32 = "0x" + "00" * 32

SIG_EOA, SIG_POLY_PROXY, SIG_GNOSIS_SAFE, SIG_POLY_1271 = 0, 1, 2, 3

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]
# Deposit wallets (signatureType 3) validate via ERC-1271 over an ERC-7739 "TypedDataSign"
# envelope whose inner domain is the wallet itself.
_TYPED_DATA_SIGN_FIELDS = [
    {"name": "contents", "type": "Order"},
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
    {"name": "salt", "type": "bytes32"},
]
_V1_ONLY_FIELDS = ("taker", "nonce", "feeRateBps")
_V2_FIELDS = ("salt", "maker", "signer", "tokenId", "makerAmount", "takerAmount", "side",
              "signatureType", "timestamp", "metadata", "builder", "signature")


class AuthError(Exception):
    """Authentication failed: answered 401 `{"error": message}`."""


class BadOrder(Exception):
    """The order payload is malformed, V1, or its signature does not hold: answered 400."""


# ---- L2 HMAC -----------------------------------------------------------------------------


def hmac_signature(secret: str, timestamp: str | int, method: str, path: str, body: str | bytes | None) -> str:
    """POLY_SIGNATURE: urlsafe-b64(HMAC-SHA256(urlsafe-b64-decoded secret, ts+METHOD+path+body))."""
    message = f"{timestamp}{method.upper()}{path}".encode()
    if body:
        message += body.encode() if isinstance(body, str) else body
    key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class ApiCredentials:
    api_key: str
    secret: str
    passphrase: str
    address: str


def verify_l2(
    headers: Mapping[str, str], method: str, path: str, body: bytes, creds: ApiCredentials, now_s: int
) -> None:
    """Raise AuthError unless the request carries valid L2 headers for `creds`.

    The body is verified as the exact bytes received. py-clob-client (v1 and v2) rewrites every
    `'` in the body to `"` before signing but sends the original bytes, so a signature over that
    rewrite is accepted too (vectors.json, apostrophe case).
    """
    values = {name: headers.get(name) or headers.get(name.lower()) for name in L2_HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise AuthError(f"Unauthorized/Invalid api key: missing {', '.join(missing)}")
    if values["POLY_API_KEY"] != creds.api_key or values["POLY_PASSPHRASE"] != creds.passphrase:
        raise AuthError("Unauthorized/Invalid api key")
    if values["POLY_ADDRESS"].lower() != creds.address.lower():
        raise AuthError("Unauthorized/Invalid api key: address does not own this key")
    timestamp = values["POLY_TIMESTAMP"]
    if not timestamp.isdigit() or abs(int(timestamp) - now_s) > MAX_TIMESTAMP_SKEW_S:
        raise AuthError("Unauthorized: POLY_TIMESTAMP is stale or invalid")
    candidates = {hmac_signature(creds.secret, timestamp, method, path, body)}
    if b"'" in body:
        candidates.add(hmac_signature(creds.secret, timestamp, method, path, body.replace(b"'", b'"')))
    given = values["POLY_SIGNATURE"]
    if not any(hmac.compare_digest(given, expected) for expected in candidates):
        raise AuthError("Unauthorized: invalid POLY_SIGNATURE")


def l2_headers(creds: ApiCredentials, timestamp: int, method: str, path: str, body: str | bytes | None) -> dict[str, str]:
    """Build L2 headers (used by tests and scripted clients of the simulator)."""
    return {
        "POLY_ADDRESS": creds.address,
        "POLY_SIGNATURE": hmac_signature(creds.secret, timestamp, method, path, body),
        "POLY_TIMESTAMP": str(timestamp),
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.passphrase,
    }


# ---- L1 ClobAuth -------------------------------------------------------------------------

CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"


def clob_auth_typed_data(address: str, timestamp: str, nonce: int, chain_id: int) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "ClobAuth": [
                {"name": "address", "type": "address"},
                {"name": "timestamp", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "message", "type": "string"},
            ],
        },
        "primaryType": "ClobAuth",
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        "message": {"address": address, "timestamp": timestamp, "nonce": nonce, "message": CLOB_AUTH_MESSAGE},
    }


def verify_l1(headers: Mapping[str, str], chain_id: int, now_s: int) -> str:
    """Return the checksummed address proven by L1 headers, or raise AuthError."""
    get = lambda name: headers.get(name) or headers.get(name.lower())  # noqa: E731
    address, signature, timestamp, nonce = (get(n) for n in ("POLY_ADDRESS", "POLY_SIGNATURE", "POLY_TIMESTAMP", "POLY_NONCE"))
    if not (address and signature and timestamp and (nonce or "0").isdigit() and timestamp.isdigit()):
        raise AuthError("Invalid L1 Request headers")
    if abs(int(timestamp) - now_s) > MAX_TIMESTAMP_SKEW_S:
        raise AuthError("Invalid L1 Request headers: stale timestamp")
    try:
        typed = clob_auth_typed_data(to_checksum_address(address), timestamp, int(nonce or "0"), chain_id)
        recovered = Account.recover_message(encode_typed_data(full_message=typed), signature=signature)
    except (ValueError, TypeError, binascii.Error):
        raise AuthError("Invalid L1 Request headers") from None
    if recovered.lower() != address.lower():
        raise AuthError("Invalid L1 Request headers")
    return recovered


# ---- V2 signed orders --------------------------------------------------------------------


def order_typed_data(order: Mapping[str, Any], chain_id: int, exchange: str) -> dict[str, Any]:
    """EIP-712 typed data of a V2 order, from its wire form (as POSTed in `order`)."""
    message = {
        "salt": int(order["salt"]),
        "maker": to_checksum_address(order["maker"]),
        "signer": to_checksum_address(order["signer"]),
        "tokenId": int(order["tokenId"]),
        "makerAmount": int(order["makerAmount"]),
        "takerAmount": int(order["takerAmount"]),
        "side": _side_code(order["side"]),
        "signatureType": int(order["signatureType"]),
        "timestamp": int(order["timestamp"]),
        "metadata": order["metadata"],
        "builder": order["builder"],
    }
    domain = {"name": "Polymarket CTF Exchange", "version": "2", "chainId": chain_id, "verifyingContract": exchange}
    standard = {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "Order": _ORDER_FIELDS},
        "primaryType": "Order",
        "domain": domain,
        "message": message,
    }
    if message["signatureType"] != SIG_POLY_1271:
        return standard
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "Order": _ORDER_FIELDS, "TypedDataSign": _TYPED_DATA_SIGN_FIELDS},
        "primaryType": "TypedDataSign",
        "domain": domain,
        "message": {
            "contents": message,
            "name": "DepositWallet",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": message["signer"],
            "salt": ZERO_BYTES32,
        },
    }


def order_hash(order: Mapping[str, Any], chain_id: int, exchange: str) -> str:
    """The order's EIP-712 digest (what the CLOB uses as the order ID)."""
    standard = order_typed_data({**order, "signatureType": SIG_EOA}, chain_id, exchange)
    standard["message"]["signatureType"] = int(order["signatureType"])
    signable = encode_typed_data(full_message=standard)
    return "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()


def recover_order_signer(order: Mapping[str, Any], chain_id: int, exchange: str) -> str:
    """The EOA whose key produced the order's signature (ECDSA part for deposit wallets)."""
    signature = bytes.fromhex(str(order["signature"]).removeprefix("0x"))
    if int(order["signatureType"]) == SIG_POLY_1271:
        # Owner-signed ERC-7739 signature: 65-byte ECDSA followed by the envelope trailer.
        signature = signature[:65]
    if len(signature) != 65:
        raise BadOrder("invalid signature")
    signable = encode_typed_data(full_message=order_typed_data(order, chain_id, exchange))
    return Account.recover_message(signable, signature=signature)


def wallets_of(owner: str) -> dict[str, int]:
    """Addresses that may be an order's maker for an EOA owner, with their signature type."""
    from polymarket.environments import PRODUCTION
    from polymarket._internal import wallet as sdk_wallet

    derivation = PRODUCTION._config.wallet_derivation  # noqa: SLF001 - on-chain constants
    owner = to_checksum_address(owner)
    return {
        owner: SIG_EOA,
        to_checksum_address(sdk_wallet.derive_proxy_wallet_address(owner, derivation)): SIG_POLY_PROXY,
        to_checksum_address(sdk_wallet.derive_safe_wallet_address(owner, derivation)): SIG_GNOSIS_SAFE,
        to_checksum_address(sdk_wallet.derive_beacon_deposit_wallet_address(owner, derivation)): SIG_POLY_1271,
        to_checksum_address(sdk_wallet.derive_uups_deposit_wallet_address(owner, derivation)): SIG_POLY_1271,
    }


def require_v2(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload's order if it is a V2 order; V1 orders (taker/nonce/feeRateBps) are refused."""
    order = payload.get("order")
    if not isinstance(order, dict):
        raise BadOrder("Invalid order payload")
    if any(name in order for name in _V1_ONLY_FIELDS) or not all(name in order for name in _V2_FIELDS):
        raise BadOrder("order_version_mismatch")
    return order


def verify_order(
    payload: Mapping[str, Any], *, owner_address: str, api_key: str, chain_id: int, neg_risk: bool
) -> OrderIntent:
    """Check a POST /order payload's signed order; return it as a domain OrderIntent.

    Rejects V1 orders, signatures that do not recover to `signer`, and makers / signers that do
    not belong to the API key's address (EOA, its Polymarket proxy, Safe or deposit wallet).
    """
    order = require_v2(payload)
    if payload.get("owner") != api_key:
        raise BadOrder("the order owner has to be the owner of the API KEY")
    exchange = NEG_RISK_EXCHANGE if neg_risk else STANDARD_EXCHANGE
    try:
        signature_type = int(order["signatureType"])
        recovered = recover_order_signer(order, chain_id, exchange)
        digest = order_hash(order, chain_id, exchange)
        maker, signer = to_checksum_address(order["maker"]), to_checksum_address(order["signer"])
        expiration = int(order.get("expiration") or 0)
        side = order["side"]
        _side_code(side)
    except (KeyError, ValueError, TypeError) as error:
        raise BadOrder(f"Invalid order payload: {error}") from None
    wallets = wallets_of(owner_address)
    if wallets.get(maker) != signature_type:
        raise BadOrder("maker address not allowed for this API key and signature type")
    expected_signer = maker if signature_type == SIG_POLY_1271 else to_checksum_address(owner_address)
    if signer != expected_signer:
        raise BadOrder("invalid signer for this API key")
    if recovered.lower() != to_checksum_address(owner_address).lower():
        raise BadOrder("invalid signature")
    return OrderIntent(
        order_hash=digest,
        salt=int(order["salt"]),
        maker=maker,
        signer=signer,
        token_id=str(order["tokenId"]),
        maker_amount=int(order["makerAmount"]),
        taker_amount=int(order["takerAmount"]),
        side="BUY" if _side_code(side) == 0 else "SELL",
        signature_type=signature_type,
        timestamp_ms=int(order["timestamp"]),
        expiration=expiration,
        order_type=str(payload.get("orderType") or "GTC"),
        post_only=bool(payload.get("postOnly", False)),
        owner=api_key,
    )


def _side_code(side: object) -> int:
    if side in ("BUY", 0, "0"):
        return 0
    if side in ("SELL", 1, "1"):
        return 1
    raise ValueError(f"invalid side {side!r}")
