"""Every route needs the API token (scripts: `Authorization: Bearer`) or a browser session opened by
a one-time login link; a route marked `public` (only `GET /api/health`, and `/login` itself) does not.
A handler learns which of the two let its request in from `credential(request)`."""

from __future__ import annotations

import json
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, Headers
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect
from litestar.status_codes import HTTP_201_CREATED, HTTP_401_UNAUTHORIZED
from litestar.types import ASGIApp, Receive, Scope, Send
from pydantic import BaseModel, SecretStr

from services.api_gateway.domain.sessions import SESSION_TTL, Sessions, token_matches
from shared.contracts import utcnow

SESSION_COOKIE = "trueup_session"
# Route `opt` keys: no credentials needed / only the token will do (a session cannot mint logins).
PUBLIC = "public"
BEARER_ONLY = "bearer_only"

# Which credential authenticated a request, kept in its connection state under this key.
Credential = Literal["api-token", "browser"]
API_TOKEN: Credential = "api-token"
BROWSER: Credential = "browser"
_CREDENTIAL_STATE = "credential"

_HTML = "text/html; charset=utf-8"
# Self-contained (the app's stylesheet is behind the login too), in the console's own look.
_LOGIN_NEEDED = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>trueup: log in</title>
<style>body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{padding:.75rem 1.5rem;background:#1d2330;color:#fff;font-weight:700;font-size:1.25rem}
main{padding:1.5rem;max-width:52rem}code{background:#e9ecf1;padding:.1rem .3rem;border-radius:.2rem}</style></head>
<body><header>trueup</header><main><h2>Log in</h2>
<p>Open the login link that <code>make run</code> printed (it works once, for 10 minutes).</p>
<p>No link, or it expired? Mint one with the API token:
<code>curl -X POST -H "Authorization: Bearer $(cat .data/api-token)" http://&lt;this host&gt;/api/auth/login-link</code></p>
</main></body></html>"""


def _bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _session(headers: Headers) -> str | None:
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = cookies.get(SESSION_COOKIE)
    return morsel.value if morsel else None


class RequireCredentials(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    exclude_opt_key = PUBLIC

    def __init__(self, token: SecretStr, sessions: Sessions) -> None:
        self.token = token
        self.sessions = sessions

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = Headers.from_scope(scope)
        bearer = _bearer(headers)
        if bearer is not None and token_matches(bearer, self.token.get_secret_value()):
            await _let_in(API_TOKEN, scope, receive, send, next_app)
            return
        session = _session(headers)
        bearer_only = scope["route_handler"].opt.get(BEARER_ONLY, False)
        if session is not None and not bearer_only and self.sessions.is_open(session, utcnow()):
            await _let_in(BROWSER, scope, receive, send, next_app)
            return
        await _unauthorized(scope["path"], send)


async def _let_in(by: Credential, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
    # Recorded where the request's handler reads it (`request.state`), so that nothing past this
    # middleware looks at the credentials again.
    scope.setdefault("state", {})[_CREDENTIAL_STATE] = by
    await next_app(scope, receive, send)


def credential(request: Request) -> Credential:
    """The credential that authenticated `request`: "api-token" (a script's bearer token) or
    "browser" (a login-link session). Only on a protected route: a public one has none."""
    return request.state[_CREDENTIAL_STATE]


async def _unauthorized(path: str, send: Send) -> None:
    if path.startswith("/api/"):
        body = json.dumps({"error": "missing or invalid credentials: send Authorization: Bearer <API_TOKEN>"}).encode()
        media_type = "application/json"
    else:
        body, media_type = _LOGIN_NEEDED, _HTML
    await send({"type": "http.response.start", "status": HTTP_401_UNAUTHORIZED, "headers": [
        (b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="trueup"'), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


class LoginLinkOut(BaseModel):
    url: str
    expires_at: datetime


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post("/login-link", status_code=HTTP_201_CREATED, opt={BEARER_ONLY: True},
          summary="A one-time browser login link (works once, for 10 minutes); needs the bearer token")
    async def login_link(self, request: Request, sessions: Sessions) -> LoginLinkOut:
        code, expires_at = sessions.mint_code(utcnow())
        return LoginLinkOut(url=f"{str(request.base_url).rstrip('/')}/login?code={code}", expires_at=expires_at)


@get("/login", opt={PUBLIC: True}, include_in_schema=False)
async def login(sessions: Sessions, code: str = "") -> Response[bytes]:
    session = sessions.redeem(code, utcnow())
    if session is None:
        return Response(_LOGIN_NEEDED.replace(b"Open the login link", b"That link is used, expired or unknown. Open a new login link"),
                        status_code=HTTP_401_UNAUTHORIZED, media_type=_HTML, headers={"cache-control": "no-store"})
    cookie = Cookie(key=SESSION_COOKIE, value=session, httponly=True, samesite="strict", path="/",
                    max_age=int(SESSION_TTL.total_seconds()))
    return Redirect("/", cookies=[cookie])
