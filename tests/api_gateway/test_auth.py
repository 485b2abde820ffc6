"""The API token on every route but /api/health; one-time login links that open a cookie session."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.api_gateway.domain.sessions import LOGIN_CODE_TTL, Sessions
from services.api_gateway.login_link import mint_login_link
from tests.api_gateway.conftest import wait_until

PROTECTED = ["/api/positions/external", "/schema/openapi.json", "/schema", "/metrics", "/", "/static/app.js"]


async def _ready(client: httpx.AsyncClient) -> None:
    await wait_until(lambda: _answers(client, "/api/positions/external"), timeout=40)


async def _answers(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200


@pytest.fixture
async def anonymous(stack):
    client, _, _ = stack
    await _ready(client)
    async with httpx.AsyncClient(base_url=client.base_url, timeout=5) as anon:
        yield anon


def _token(client: httpx.AsyncClient) -> str:
    return client.headers["authorization"].removeprefix("Bearer ")


async def test_every_route_but_health_needs_the_token(stack, anonymous):
    client, _, logs = stack
    for path in PROTECTED:
        response = await anonymous.get(path)
        assert response.status_code == 401, path
        if path.startswith("/api/"):
            assert "error" in response.json()
        else:
            assert "login link" in response.text and response.headers["content-type"].startswith("text/html")
        wrong = await anonymous.get(path, headers={"Authorization": "Bearer " + "x" * 43})
        assert wrong.status_code == 401, path
        assert (await client.get(path)).status_code == 200, path
    assert (await anonymous.get("/api/health")).status_code in (200, 503)  # open: its verdict, not a 401
    # The token is never echoed: not in a response, not in the service's log.
    token = _token(client)
    for path in ("/", "/api/positions/external", "/schema/openapi.json", "/api/health"):
        assert token not in (await client.get(path)).text
    assert token not in logs["api_gateway"].read_text()


async def test_a_login_link_works_once_and_its_cookie_opens_the_ui_and_api(stack, anonymous):
    client, _, _ = stack
    # Minting needs the bearer token itself: a session (or nobody) cannot mint.
    assert (await anonymous.post("/api/auth/login-link")).status_code == 401
    minted = await client.post("/api/auth/login-link")
    assert minted.status_code == 201
    expires_at = datetime.fromisoformat(minted.json()["expires_at"])
    assert timedelta(minutes=9) < expires_at - datetime.now(UTC) <= timedelta(minutes=10)
    link = httpx.URL(minted.json()["url"])
    assert link.path == "/login" and str(link).startswith(str(client.base_url).rstrip("/"))

    async with httpx.AsyncClient(base_url=client.base_url, timeout=5) as browser:
        opened = await browser.get(link.raw_path.decode())
        assert opened.status_code in (302, 303) and opened.headers["location"] == "/"
        cookie = opened.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert (await browser.get("/")).status_code == 200
        assert (await browser.get("/api/positions/external")).status_code == 200
        assert (await browser.post("/api/auth/login-link")).status_code == 401  # a session cannot mint more
        # The same link a second time: refused, for anyone.
        async with httpx.AsyncClient(base_url=client.base_url, timeout=5) as second:
            again = await second.get(link.raw_path.decode())
            assert again.status_code == 401 and "login link" in again.text
            assert "set-cookie" not in again.headers
        assert (await anonymous.get("/login", params={"code": "made-up"})).status_code == 401
        assert (await anonymous.get("/login")).status_code == 401
        forged = await anonymous.get("/", cookies={"trueup_session": "forged"})
        assert forged.status_code == 401


async def test_the_launcher_helper_mints_a_working_link(stack, anonymous):
    client, _, _ = stack
    url = await asyncio.to_thread(mint_login_link, str(client.base_url), _token(client))
    assert (await anonymous.get(httpx.URL(url).raw_path.decode())).status_code in (302, 303)


def test_a_code_expires_after_ten_minutes_and_works_once():
    sessions, now = Sessions(), datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    late, _ = sessions.mint_code(now)
    assert sessions.redeem(late, now + LOGIN_CODE_TTL) is None
    code, _ = sessions.mint_code(now)
    session = sessions.redeem(code, now + LOGIN_CODE_TTL - timedelta(seconds=1))
    assert session and sessions.is_open(session, now)
    assert sessions.redeem(code, now) is None
    assert not sessions.is_open("unknown", now)


@pytest.mark.parametrize("token", [None, "too-short-to-be-safe"])
def test_the_api_refuses_to_start_without_a_long_token(token, monkeypatch, tmp_path):
    from services.api_gateway.settings import ApiSettings
    from shared.settings import ConfigError, load_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("API_TOKEN", raising=False)
    if token:
        monkeypatch.setenv("API_TOKEN", token)
    with pytest.raises(ConfigError, match="^configuration error: API_TOKEN: ") as exc:
        load_settings(ApiSettings)
    assert token is None or token not in str(exc.value)
    token_file = tmp_path / "api_token"
    token_file.write_text("f" * 40 + "\n")
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.setenv("API_TOKEN_FILE", str(token_file))
    assert load_settings(ApiSettings).api_token.get_secret_value() == "f" * 40


async def test_the_middleware_records_which_credential_let_a_request_in():
    """What a handler reads (`credential(request)`) to tell a script's token from a browser session:
    the credential the middleware accepted, never a header it re-reads."""
    from litestar import Litestar, Request, get
    from litestar.testing import AsyncTestClient
    from pydantic import SecretStr

    from services.api_gateway.handlers.auth import SESSION_COOKIE, RequireCredentials, credential
    from shared.contracts import utcnow

    @get("/who")
    async def who(request: Request) -> str:
        return credential(request)

    token, sessions = "t" * 43, Sessions()
    code, _ = sessions.mint_code(utcnow())
    session = sessions.redeem(code, utcnow())
    app = Litestar([who], middleware=[RequireCredentials(SecretStr(token), sessions)])
    async with AsyncTestClient(app) as client:
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/who", headers=bearer)).text == "api-token"
        client.cookies.set(SESSION_COOKIE, session)
        assert (await client.get("/who")).text == "browser"
        assert (await client.get("/who", headers=bearer)).text == "api-token"  # the token wins
        # A wrong token beside a valid session: let in by the session, so a browser's.
        assert (await client.get("/who", headers={"Authorization": "Bearer " + "x" * 43})).text == "browser"
        client.cookies.clear()
        assert (await client.get("/who")).status_code == 401
