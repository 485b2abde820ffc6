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
