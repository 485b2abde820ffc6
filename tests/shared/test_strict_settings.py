"""No silently ignored settings: a service given a trueup setting it does not implement refuses to start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.api_gateway.settings import ApiSettings
from services.exchange_gateway.settings import GatewaySettings
from services.ledger.settings import LedgerSettings
from services.reconciler.settings import ReconcilerSettings
from services.venue_sim.config import SimSettings
from shared.settings import (
    RESERVED_PREFIXES,
    SERVICE_SETTINGS,
    BaseServiceSettings,
    ConfigError,
    env_names,
    load_settings,
    undeclared_settings,
)

BASE = env_names(BaseServiceSettings)
TOKEN = "t" * 40


def test_the_list_of_service_settings_is_the_union_of_every_settings_class():
    specific = (env_names(ApiSettings) | env_names(GatewaySettings) | env_names(LedgerSettings)
                | env_names(ReconcilerSettings)) - BASE
    unreserved = {name for name in specific if not name.startswith(RESERVED_PREFIXES)}
    not_built_yet = {"DISCORD_WEBHOOK_URL", "SLACK_WEBHOOK_URL", "ALERT_WEBHOOK_URL"}
    assert SERVICE_SETTINGS == unreserved | not_built_yet
    assert all(name.startswith("SIM_") for name in env_names(SimSettings))


@pytest.mark.parametrize(
    ("given", "refused"),
    [
        (["NATS_URL", "DATABASE_URL_FILE", "PATH", "HOME", "AWS_SECRET_ACCESS_KEY"], []),  # own or not trueup's
        (["API_TOKEN"], ["API_TOKEN"]),  # another service's setting
        (["API_TOKEN_FILE"], ["API_TOKEN_FILE"]),  # *_FILE is judged as its base name
        (["KALSHI_API_KEY_ID", "POLYMARKET_WHATEVER"], ["KALSHI_API_KEY_ID", "POLYMARKET_WHATEVER"]),  # reserved
        (["SIM_SEED", "sim_scenario"], ["SIM_SEED", "SIM_SCENARIO"]),  # the sim's namespace, any case
        (["DISCORD_WEBHOOK_URL"], ["DISCORD_WEBHOOK_URL"]),  # documented, not built: never silently taken
    ],
)
def test_a_plain_service_refuses_what_it_does_not_declare(given, refused):
    assert undeclared_settings(BASE, given) == refused


def test_each_service_accepts_its_own_settings_and_file_forms():
    assert undeclared_settings(env_names(ApiSettings), ["API_TOKEN_FILE", "API_PORT", "NATS_URL"]) == []
    gateway = env_names(GatewaySettings)
    assert undeclared_settings(gateway, ["KALSHI_PRIVATE_KEY_FILE", "POLYMARKET_API_SECRET_FILE"]) == []
    assert undeclared_settings(gateway, ["API_TOKEN", "KALSHI_TYPO"]) == ["API_TOKEN", "KALSHI_TYPO"]


def test_the_simulator_judges_only_its_own_namespace():
    sim = env_names(SimSettings)
    assert undeclared_settings(sim, ["LOG_LEVEL", "NATS_URL", "SIM_KALSHI_KEY_ID_FILE"], "SIM_") == []
    assert undeclared_settings(sim, ["SIM_TYPO"], "SIM_") == ["SIM_TYPO"]


def test_start_is_refused_naming_the_variable_never_its_value(monkeypatch):
    monkeypatch.setenv("API_TOKEN", TOKEN)
    with pytest.raises(ConfigError) as exc:
        load_settings(BaseServiceSettings, service="ledger")
    assert exc.value.message == "API_TOKEN is not a setting of ledger; remove it"
    assert TOKEN not in str(exc.value)
    # The service's name comes from its settings class when not given.
    monkeypatch.setenv("KALSHI_API_KEY_ID", "kid")
    with pytest.raises(ConfigError, match="KALSHI_API_KEY_ID is not a setting of api-gateway"):
        load_settings(ApiSettings)
    # A tool reading only the bus settings inside a service's environment is not that service.
    assert load_settings(BaseServiceSettings, strict=False).nats_url


def test_dotenv_entries_count_and_overrides_must_be_fields(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LOG_LEVEL=DEBUG\nSLACK_WEBHOOK_URL=https://hooks.example/x\n")
    with pytest.raises(ConfigError, match="^configuration error: SLACK_WEBHOOK_URL is not a setting of risk; remove it$"):
        load_settings(BaseServiceSettings, service="risk")
    (tmp_path / ".env").write_text("LOG_LEVEL=DEBUG\n")
    assert load_settings(BaseServiceSettings).log_level == "DEBUG"
    with pytest.raises(ConfigError, match="API_PORT is not a setting of ledger"):
        load_settings(BaseServiceSettings, service="ledger", api_port=1)


def test_a_real_service_process_refuses_to_start(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "API_TOKEN": TOKEN, "NATS_URL": "nats://127.0.0.1:1"}
    result = subprocess.run([sys.executable, "-m", "services.ledger"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "API_TOKEN is not a setting of ledger; remove it" in result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
