"""Gateway settings: every venue secret is registered for redaction the moment settings load, and
the venue read deadline is checked against the API's wait for the gateway."""

from __future__ import annotations

import base64
import secrets

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.exchange_gateway.settings import GatewaySettings
from shared.contracts.channels import GATEWAY_REPLY_TIMEOUT_SECONDS
from shared.logs import redact_text
from shared.settings import ConfigError, load_settings

VENUE_VARS = ("KALSHI_API_KEY_ID", "KALSHI_PRIVATE_KEY", "KALSHI_PRIVATE_KEY_FILE", "POLYMARKET_ADDRESS",
              "POLYMARKET_PRIVATE_KEY", "POLYMARKET_API_KEY", "POLYMARKET_API_SECRET", "POLYMARKET_API_PASSPHRASE",
              "VENUE_READ_DEADLINE_SECONDS", "HTTP_TIMEOUT_SECONDS")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch) -> None:
    for name in VENUE_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_every_configured_secret_is_scrubbed_once_settings_load(monkeypatch, tmp_path) -> None:
    # Fresh values, so nothing registered them before this load.
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key_file = tmp_path / "kalshi.pem"
    key_file.write_text(pem)
    values = {
        "KALSHI_API_KEY_ID": f"kid-{secrets.token_hex(8)}",
        "POLYMARKET_PRIVATE_KEY": "0x" + secrets.token_hex(32),
        "POLYMARKET_API_KEY": f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-4000-8000-{secrets.token_hex(6)}",
        "POLYMARKET_API_SECRET": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "POLYMARKET_API_PASSPHRASE": secrets.token_hex(16),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KALSHI_PRIVATE_KEY_FILE", str(key_file))  # the operator's way: the key as a file
    monkeypatch.setenv("POLYMARKET_ADDRESS", "0x" + "ab" * 20)
    forms = [*values.values(), values["POLYMARKET_PRIVATE_KEY"].removeprefix("0x")]
    forms += [base64.b64encode(v.encode()).decode() for v in values.values()]
    body = [line for line in pem.splitlines() if "-----" not in line]
    forms += [*body[:-1], "".join(body)]  # the last body line may be short; every full one counts
    assert all(redact_text(form) == form for form in forms), "fresh values: nothing scrubs them before the load"

    settings = load_settings(GatewaySettings)

    assert settings.kalshi_configured and settings.polymarket_configured
    text = redact_text(f"config dump: {' | '.join(forms)} | {pem}")
    leaked = [form for form in forms if form in text]
    assert leaked == []
    assert "0x" + "ab" * 20 not in forms and "kid-" not in repr(settings)


def test_read_deadline_default_ends_inside_the_apis_wait() -> None:
    settings = load_settings(GatewaySettings)
    assert settings.http_timeout_seconds <= settings.venue_read_deadline_seconds < GATEWAY_REPLY_TIMEOUT_SECONDS


@pytest.mark.parametrize("deadline", [GATEWAY_REPLY_TIMEOUT_SECONDS, 45])
def test_a_read_deadline_not_shorter_than_the_apis_wait_is_refused_by_name(monkeypatch, deadline) -> None:
    monkeypatch.setenv("VENUE_READ_DEADLINE_SECONDS", str(deadline))
    with pytest.raises(ConfigError) as err:
        load_settings(GatewaySettings)
    message = err.value.message
    assert message.startswith(f"VENUE_READ_DEADLINE_SECONDS ({deadline:g}) must be shorter than the "
                              f"{GATEWAY_REPLY_TIMEOUT_SECONDS:g} s the API waits")


def test_an_http_timeout_longer_than_the_read_deadline_is_refused_by_name(monkeypatch) -> None:
    monkeypatch.setenv("VENUE_READ_DEADLINE_SECONDS", "8")
    monkeypatch.setenv("HTTP_TIMEOUT_SECONDS", "10")
    with pytest.raises(ConfigError, match=r"HTTP_TIMEOUT_SECONDS \(10\) must not exceed VENUE_READ_DEADLINE_SECONDS \(8\)"):
        load_settings(GatewaySettings)
    monkeypatch.setenv("HTTP_TIMEOUT_SECONDS", "5")
    assert load_settings(GatewaySettings).venue_read_deadline_seconds == 8
