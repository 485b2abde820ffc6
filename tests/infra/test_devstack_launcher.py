"""`make run`'s child environments: built from an allow-list; venue secrets reach the gateway only."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from shared.devstack import launcher

CREDS = SimpleNamespace(
    kalshi_key_id="kid-1",
    kalshi_private_key_file=Path("/creds/kalshi.pem"),
    kalshi_public_key_file=Path("/creds/kalshi.pub.pem"),
    polymarket_address="0xabc",
    polymarket_private_key="0xsecretkey",
    polymarket_api_key="pk",
    polymarket_api_secret="psecret",
    polymarket_api_passphrase="pphrase",
)
PARENT = {
    "PATH": "/usr/bin",
    "HOME": "/home/dev",
    "LOG_LEVEL": "DEBUG",
    "KALSHI_PRIVATE_KEY": "leaked-from-shell",
    "POLYMARKET_PRIVATE_KEY": "leaked-from-shell",
    "AWS_SECRET_ACCESS_KEY": "unrelated-secret",
    "DISCORD_WEBHOOK_URL": "https://discord.example/hook",
    "API_TOKEN": "ui-token",
}


def envs() -> dict[str, dict[str, str]]:
    common = launcher.common_env(PARENT, "nats://127.0.0.1:1", "postgresql://p@127.0.0.1:2/trueup")
    return {name: launcher.service_env(name, PARENT, common, CREDS) for name in launcher.SERVICES}


def test_only_the_gateway_gets_venue_settings() -> None:
    for name, env in envs().items():
        venue = {k for k in env if k.startswith(("KALSHI_", "POLYMARKET_"))}
        if name == "exchange_gateway":
            assert env["KALSHI_PRIVATE_KEY_FILE"] == "/creds/kalshi.pem"
            assert env["POLYMARKET_PRIVATE_KEY"] == "0xsecretkey"
            assert env["KALSHI_BASE_URL"] == "http://127.0.0.1:8100/trade-api/v2"
            assert env["POLYMARKET_CLOB_URL"] == "http://127.0.0.1:8102"
            assert env["POLYMARKET_DATA_API_URL"] == "http://127.0.0.1:8101"
        else:
            assert venue == set(), name
        assert "leaked-from-shell" not in env.values(), name
        assert "AWS_SECRET_ACCESS_KEY" not in env, name


def test_every_service_gets_the_bus_db_and_paper_mode() -> None:
    for env in envs().values():
        assert env["NATS_URL"] == "nats://127.0.0.1:1"
        assert env["DATABASE_URL"].endswith("/trueup")
        assert env["TRADING_MODE"] == "paper"
        assert env["LOG_LEVEL"] == "DEBUG"
        assert env["PATH"] == "/usr/bin"


def test_operator_settings_reach_only_their_service() -> None:
    e = envs()
    assert e["notifier"]["DISCORD_WEBHOOK_URL"] == "https://discord.example/hook"
    assert e["api_gateway"]["API_TOKEN"] == "ui-token"
    assert all("DISCORD_WEBHOOK_URL" not in env for n, env in e.items() if n != "notifier")
    assert all("API_TOKEN" not in env for n, env in e.items() if n != "api_gateway")


def test_sim_gets_public_half_and_scenario(tmp_path: Path) -> None:
    env = launcher.sim_env(CREDS, tmp_path)
    assert env["SIM_KALSHI_PUBLIC_KEY_FILE"] == "/creds/kalshi.pub.pem"
    assert env["SIM_SCENARIO"] == "demo"
    assert "0xsecretkey" not in env.values()


def test_existing_services_follows_main_py(tmp_path: Path) -> None:
    for name in ("ledger", "risk"):
        (tmp_path / "services" / name).mkdir(parents=True)
        (tmp_path / "services" / name / "main.py").write_text("")
    (tmp_path / "services" / "notifier").mkdir()
    assert launcher.existing_services(tmp_path) == ["ledger", "risk"]
