"""Mint a one-time browser login link from outside the API (what `make run` prints).

Standard library only, so a launcher can call it without importing the web stack.
"""

from __future__ import annotations

import json
import urllib.request


def mint_login_link(api_base_url: str, token: str) -> str:
    """POST /api/auth/login-link with the bearer token; the URL works once, for 10 minutes."""
    request = urllib.request.Request(
        f"{api_base_url.rstrip('/')}/api/auth/login-link", method="POST", data=b"",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["url"])
