"""`make run`'s child environments: built from an allow-list; venue secrets reach the gateway only,
the API token the api-gateway only, each service its own database role."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

from deploy.devstack import launcher

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
    "LOG_FORMAT": "console",
    "KALSHI_PRIVATE_KEY": "leaked-from-shell",
    "POLYMARKET_PRIVATE_KEY": "leaked-from-shell",
    "AWS_SECRET_ACCESS_KEY": "unrelated-secret",
    "DISCORD_WEBHOOK_URL": "https://discord.example/hook",
    "API_HOST": "0.0.0.0",
    "API_TOKEN": "token-from-shell",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5433/trueup",
}
TOKEN = "t" * 43
DSNS = {launcher.display_name(name): f"postgresql://trueup_{name}:pw@127.0.0.1:2/trueup"
        for name in launcher.SERVICES if name != "api_gateway"}
NATS = {launcher.display_name(name): f"nats://{launcher.display_name(name)}:pw@127.0.0.1:1"
        for name in launcher.SERVICES}
STACK = launcher.Stack(nats_urls=NATS, database_urls=DSNS, creds=CREDS, api_token=TOKEN,
                       ports=launcher.Ports(api=18000, sim_kalshi=18100, sim_data_api=18101, sim_clob=18102))


def envs() -> dict[str, dict[str, str]]:
    return {name: launcher.service_env(name, PARENT, STACK) for name in launcher.SERVICES}


def test_only_the_gateway_gets_venue_settings() -> None:
    for name, env in envs().items():
        venue = {k for k in env if k.startswith(("KALSHI_", "POLYMARKET_"))}
        if name == "exchange_gateway":
            assert env["KALSHI_PRIVATE_KEY_FILE"] == "/creds/kalshi.pem"
            assert env["POLYMARKET_PRIVATE_KEY"] == "0xsecretkey"
            assert env["KALSHI_BASE_URL"] == "http://127.0.0.1:18100/trade-api/v2"
            assert env["POLYMARKET_CLOB_URL"] == "http://127.0.0.1:18102"
            assert env["POLYMARKET_DATA_API_URL"] == "http://127.0.0.1:18101"
        else:
            assert venue == set(), name
        assert "leaked-from-shell" not in env.values(), name
        assert "AWS_SECRET_ACCESS_KEY" not in env, name


def test_every_service_gets_its_own_nats_user_paper_mode_and_json_logs() -> None:
    for name, env in envs().items():
        assert env["NATS_URL"] == f"nats://{launcher.display_name(name)}:pw@127.0.0.1:1"
        assert env["TRADING_MODE"] == "paper"
        assert env["LOG_LEVEL"] == "DEBUG"
        # The launcher renders for the terminal; children always hand it JSON.
        assert env["LOG_FORMAT"] == "json"
        assert env["PATH"] == "/usr/bin"


def test_each_service_connects_as_its_own_role_and_the_api_gateway_not_at_all() -> None:
    e = envs()
    for name, env in e.items():
        if name == "api_gateway":
            assert "DATABASE_URL" not in env
        else:
            assert env["DATABASE_URL"] == DSNS[launcher.display_name(name)]


def test_the_api_token_reaches_the_api_gateway_only() -> None:
    e = envs()
    assert e["api_gateway"]["API_TOKEN"] == TOKEN
    assert e["api_gateway"]["API_PORT"] == "18000"
    assert all("API_TOKEN" not in env for n, env in e.items() if n != "api_gateway")
    assert "token-from-shell" not in {v for env in e.values() for v in env.values()}
    assert "API_TOKEN" not in launcher.sim_env(PARENT, STACK, Path("/sim"))


def test_operator_settings_reach_only_their_service() -> None:
    e = envs()
    assert e["api_gateway"]["API_HOST"] == "0.0.0.0"
    assert all("API_HOST" not in env for n, env in e.items() if n != "api_gateway")
    # Not implemented by any service yet, so every service would refuse it: never passed on.
    assert all("DISCORD_WEBHOOK_URL" not in env for env in e.values())


def test_the_ledger_snapshots_every_minute_unless_the_operator_says_otherwise() -> None:
    # A demo session's Portfolio chart gains a point a minute instead of one an hour.
    e = envs()
    assert e["ledger"]["PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS"] == "60"
    assert all("PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS" not in env for n, env in e.items() if n != "ledger")
    operator = {**PARENT, "PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS": "5"}
    chosen = {name: launcher.service_env(name, operator, STACK) for name in launcher.SERVICES}
    assert chosen["ledger"]["PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS"] == "5"
    assert all("PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS" not in env for n, env in chosen.items() if n != "ledger")


def test_sim_gets_public_half_ports_and_scenario(tmp_path: Path) -> None:
    env = launcher.sim_env(PARENT, STACK, tmp_path)
    assert env["SIM_KALSHI_PUBLIC_KEY_FILE"] == "/creds/kalshi.pub.pem"
    assert env["SIM_SCENARIO"] == "demo"
    assert (env["SIM_KALSHI_PORT"], env["SIM_DATA_API_PORT"], env["SIM_CLOB_PORT"]) == ("18100", "18101", "18102")
    assert "0xsecretkey" not in env.values()
    assert "NATS_URL" not in env and "DATABASE_URL" not in env


def test_api_token_is_generated_private_and_reused(tmp_path: Path) -> None:
    token = launcher.ensure_api_token(tmp_path)
    path = tmp_path / "api-token"
    assert len(token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert launcher.ensure_api_token(tmp_path) == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_too_short_token_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "api-token").write_text("short\n")
    assert len(launcher.ensure_api_token(tmp_path)) >= 32


def test_printed_urls_hide_passwords() -> None:
    assert launcher.without_password("postgresql://u:s3cret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert launcher.without_password("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"


def test_existing_services_follows_main_py(tmp_path: Path) -> None:
    for name in ("ledger", "risk"):
        (tmp_path / "services" / name).mkdir(parents=True)
        (tmp_path / "services" / name / "main.py").write_text("")
    (tmp_path / "services" / "notifier").mkdir()
    assert launcher.existing_services(tmp_path) == ["ledger", "risk"]


def test_without_an_answering_api_the_banner_still_names_the_ui(tmp_path: Path) -> None:
    from shared.devstack.embedded import free_port

    stack = launcher.Stack(nats_urls={}, database_urls={}, creds=CREDS, api_token=TOKEN,
                           ports=launcher.Ports(api=free_port()))
    [line] = launcher.login_lines(stack, tmp_path / "api-token")
    assert line.startswith(f"UI      http://127.0.0.1:{stack.ports.api}/  (no login link: URLError")


def test_compose_gets_each_nats_users_generated_password_and_url(tmp_path: Path) -> None:
    from deploy.devstack.__main__ import compose_nats_secrets
    from shared.contracts.permissions_gen import USERS

    secrets = compose_nats_secrets(tmp_path)
    assert compose_nats_secrets(tmp_path) == secrets  # generated once, reused (as `make run`'s)
    assert stat.S_IMODE((tmp_path / "nats-passwords.json").stat().st_mode) == 0o600
    passwords = {user: secrets[f"nats_password_{user.replace('-', '_')}"] for user in USERS}
    assert len(set(passwords.values())) == len(USERS) and all(len(p) >= 32 for p in passwords.values())
    for user, password in passwords.items():
        assert secrets[f"nats_url_{user.replace('-', '_')}"] == f"nats://{user}:{password}@nats:4222"
