"""The bus's sizing and retry settings, as an operator writes them."""

import pytest

from shared.bus import BusConfig
from shared.settings import BaseServiceSettings, ConfigError, load_settings


def test_bus_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("BUS_STREAM_REPLICAS", "3")
    monkeypatch.setenv("BUS_EVENTS_MAX_AGE_DAYS", "7")
    monkeypatch.setenv("BUS_DEAD_LETTER_MAX_AGE_DAYS", "0.5")
    monkeypatch.setenv("BUS_MAX_DELIVER", "4")
    monkeypatch.setenv("BUS_REDELIVERY_BACKOFF_SECONDS", "2, 10")
    config = BusConfig.from_settings(load_settings(BaseServiceSettings))
    assert config == BusConfig(stream_replicas=3, events_max_age_seconds=7 * 86400, dead_letter_max_age_seconds=43200,
                               max_deliver=4, redelivery_backoff_seconds=(2.0, 10.0))
    # Waits before the 2nd, 3rd and 4th attempts: the last value repeats past the list.
    assert [config.backoff_before(n) for n in (2, 3, 4)] == [2.0, 10.0, 10.0]


def test_defaults_are_the_documented_ones():
    config = BusConfig.defaults()
    assert (config.stream_replicas, config.max_deliver, config.redelivery_backoff_seconds) == (1, 5, (1, 5, 30, 60))
    assert (config.events_max_age_seconds, config.dead_letter_max_age_seconds) == (30 * 86400, 90 * 86400)


@pytest.mark.parametrize(("name", "value"), [
    ("BUS_REDELIVERY_BACKOFF_SECONDS", "1,0"), ("BUS_REDELIVERY_BACKOFF_SECONDS", "soon"),
    ("BUS_STREAM_REPLICAS", "0"), ("BUS_MAX_DELIVER", "0"), ("BUS_EVENTS_MAX_AGE_DAYS", "0"),
])
def test_bad_bus_settings_stop_the_service_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings(BaseServiceSettings)


def test_the_nats_password_in_nats_url_never_reaches_a_log_line(monkeypatch, tmp_path):
    """Each service's NATS_URL (usually NATS_URL_FILE, a secret) carries its own user's password."""
    from shared.logs import redact_text

    secret = tmp_path / "nats_url_ledger"
    secret.write_text("nats://ledger:Zq8-generated-password_1@nats:4222\n")
    monkeypatch.setenv("NATS_URL_FILE", str(secret))
    monkeypatch.delenv("NATS_URL", raising=False)
    assert load_settings(BaseServiceSettings).nats_url == "nats://ledger:Zq8-generated-password_1@nats:4222"
    logged = redact_text("connecting to nats://ledger:Zq8-generated-password_1@nats:4222")
    assert "Zq8-generated-password_1" not in logged
