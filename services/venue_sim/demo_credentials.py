"""Throwaway venue credentials for local runs (never real accounts).

Generated once into `data_dir` (files 0600, directory 0700) and reused: a Kalshi RSA key pair
and key id, and a Polymarket wallet with L2 API credentials. `make run` hands the public halves
to the sim and the secret halves to the exchange-gateway.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account

STORE = "demo_credentials.json"
PRIVATE_PEM = "kalshi_private_key.pem"
PUBLIC_PEM = "kalshi_public_key.pem"


@dataclass(frozen=True)
class DemoCredentials:
    kalshi_key_id: str
    kalshi_private_key_file: Path
    kalshi_public_key_file: Path
    polymarket_private_key: str
    polymarket_address: str
    polymarket_api_key: str
    polymarket_api_secret: str
    polymarket_api_passphrase: str


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def ensure_demo_credentials(data_dir: Path) -> DemoCredentials:
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store, private_pem, public_pem = data_dir / STORE, data_dir / PRIVATE_PEM, data_dir / PUBLIC_PEM
    if store.exists() and private_pem.exists() and public_pem.exists():
        raw = json.loads(store.read_text())
        return DemoCredentials(**{**raw, "kalshi_private_key_file": private_pem, "kalshi_public_key_file": public_pem})

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(private_pem, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    _write_private(public_pem, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    wallet = Account.create()
    creds = DemoCredentials(
        kalshi_key_id=str(uuid.uuid4()),
        kalshi_private_key_file=private_pem,
        kalshi_public_key_file=public_pem,
        polymarket_private_key="0x" + bytes(wallet.key).hex(),
        polymarket_address=wallet.address,
        polymarket_api_key=str(uuid.uuid4()),
        polymarket_api_secret=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        polymarket_api_passphrase=secrets.token_hex(16),
    )
    stored = {k: v for k, v in asdict(creds).items() if not k.endswith("_file")}
    _write_private(store, json.dumps(stored, indent=2).encode())
    return creds
