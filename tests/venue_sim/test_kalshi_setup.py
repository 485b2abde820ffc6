"""Simulator configuration and the throwaway demo credentials."""

from __future__ import annotations

import base64
import stat

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from eth_account import Account

from services.venue_sim.adapters.kalshi_auth import load_public_key, verify_signature
from services.venue_sim.config import ConfigError, load_settings
from services.venue_sim.demo_credentials import ensure_demo_credentials


def test_demo_credentials_are_generated_once_private_and_consistent(tmp_path) -> None:
    first = ensure_demo_credentials(tmp_path / "sim")
    again = ensure_demo_credentials(tmp_path / "sim")
    assert first == again
    for path in (tmp_path / "sim").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # The Kalshi halves belong together: a signature by the private key verifies with the public.
    private = serialization.load_pem_private_key(first.kalshi_private_key_file.read_bytes(), password=None)
    text = "1700000000000GET/trade-api/v2/portfolio/balance"
    sig = private.sign(text.encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    public = load_public_key(first.kalshi_public_key_file.read_bytes())
    assert verify_signature(public, "1700000000000", "GET", "/trade-api/v2/portfolio/balance", base64.b64encode(sig).decode())
    assert Account.from_key(first.polymarket_private_key).address == first.polymarket_address
    assert len(base64.urlsafe_b64decode(first.polymarket_api_secret)) == 32
    assert ensure_demo_credentials(tmp_path / "other").kalshi_key_id != first.kalshi_key_id


def test_bad_settings_name_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("SIM_CLOB_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="SIM_CLOB_PORT"):
        load_settings()
    monkeypatch.setenv("SIM_CLOB_PORT", "8102")
    monkeypatch.setenv("SIM_KALSHI_TIER", "platinum")
    with pytest.raises(ConfigError, match="SIM_KALSHI_TIER"):
        load_settings()
    monkeypatch.delenv("SIM_KALSHI_TIER")
    settings = load_settings()
    assert (settings.kalshi_port, settings.data_api_port, settings.clob_port) == (8100, 8101, 8102)
    assert str(settings.data_dir) == ".data/sim" and settings.scenario == "demo"
