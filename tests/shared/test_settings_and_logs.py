import base64
import io
import json
import logging

import pytest

from shared.logs import configure_logging, get_logger, register_secret
from shared.settings import BaseServiceSettings, ConfigError, load_settings


def test_bad_variable_is_named_and_its_value_not_echoed(monkeypatch):
    monkeypatch.setenv("NATS_URL", "http://s3cr3t-host")
    with pytest.raises(ConfigError) as err:
        load_settings(BaseServiceSettings)
    assert "NATS_URL" in err.value.message
    assert "s3cr3t" not in err.value.message


def test_file_variables_supply_values(tmp_path, monkeypatch):
    secret_file = tmp_path / "db_url"
    secret_file.write_text("postgresql://u@h:5432/from_file\n")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL_FILE", str(secret_file))
    assert load_settings(BaseServiceSettings).database_url == "postgresql://u@h:5432/from_file"


def test_missing_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL_FILE", str(tmp_path / "nope"))
    with pytest.raises(ConfigError) as err:
        load_settings(BaseServiceSettings)
    assert "DATABASE_URL_FILE" in err.value.message


def test_logs_are_json_and_scrub_registered_secrets_and_secret_keys():
    configure_logging("test-svc")
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)
    secret = "pm-api-secret-AAECAwQFBgcI"
    register_secret(secret)
    log = get_logger("t")
    log.info("placing order", api_secret="plain-value-xyz", note=f"header was {secret}")
    log.info("b64 form %s", base64.b64encode(secret.encode()).decode())
    logging.getLogger("uvicorn").warning("third-party says %s", secret)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    assert secret not in text and "plain-value-xyz" not in text
    assert base64.b64encode(secret.encode()).decode() not in text
    assert lines[0]["service"] == "test-svc" and lines[0]["event"] == "placing order"
    assert lines[0]["api_secret"] == "[REDACTED]"


def test_any_mapping_is_redacted_by_key_and_text_pairs_by_name():
    from collections import OrderedDict
    from types import MappingProxyType

    from shared.logs import REDACTED, redaction_processor

    event = {
        "headers": MappingProxyType({"KALSHI-ACCESS-KEY": "kid-123456", "KALSHI-ACCESS-TIMESTAMP": "1700000000000"}),
        "ordered": OrderedDict(POLY_PASSPHRASE="pp-123456", POLY_ADDRESS="0x" + "1" * 40),
        "pairs": [("poly_signature", "sig-123456"), (b"POLY_API_KEY", b"ak-123456"), ("token_id", "7132")],
        "event": "sent Authorization: Bearer tok-123456 and {'kalshi-access-signature': 'c2lnbmF0dXJl=='}",
        "kalshi_private_key_file": "/run/secrets/kalshi.pem",
        "error": ValueError({"api_secret": "sec-123456"}),
    }
    out = redaction_processor(None, "info", event)
    text = str(out)
    for secret in ("kid-123456", "pp-123456", "sig-123456", "ak-123456", "tok-123456", "c2lnbmF0dXJl==", "sec-123456"):
        assert secret not in text
    assert out["headers"] == {"KALSHI-ACCESS-KEY": REDACTED, "KALSHI-ACCESS-TIMESTAMP": "1700000000000"}
    assert out["ordered"]["POLY_ADDRESS"] == "0x" + "1" * 40  # public on-chain: stays readable
    assert ["token_id", "7132"] in out["pairs"] and out["kalshi_private_key_file"] == "/run/secrets/kalshi.pem"


def test_registered_secret_forms_are_scrubbed():
    from shared.logs import redact_text

    pem_body = ["MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDx", "uyQbSZXwfdsXg5yBLIp2lgH4FOKHIUUi+q/y1JbCUMmgc10QZ+p"]
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(pem_body) + "\n-----END PRIVATE KEY-----\n"
    register_secret(pem)
    register_secret("0x" + "ab12" * 16)
    register_secret("q-_w" * 8)  # urlsafe base64, as Polymarket API secrets are
    text = redact_text(f"{pem_body[1]} {''.join(pem_body)} {'ab12' * 16} {'q+/w' * 8} "
                       f"{base64.b64encode(('0x' + 'ab12' * 16).encode()).decode()}")
    assert set(text.split()) == {"[REDACTED]"}
