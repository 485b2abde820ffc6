"""Who may use the API: the bearer token, one-time login codes, and the browser sessions they open.

Codes and session ids are random and kept only as SHA-256 digests, so a lookup compares digests
(nothing an attacker learns from its timing) and a memory dump holds nothing replayable. Sessions
live in this process: a restart logs the browser out, and `make run` prints a fresh link.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

LOGIN_CODE_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def token_matches(given: str, token: str) -> bool:
    """Constant-time: how long the comparison takes says nothing about how much of `given` was right."""
    return hmac.compare_digest(_digest(given), _digest(token))


@dataclass
class Sessions:
    """One-time login codes (10 minutes) and the sessions they open (12 hours)."""

    _codes: dict[bytes, datetime] = field(default_factory=dict)
    _sessions: dict[bytes, datetime] = field(default_factory=dict)

    def mint_code(self, now: datetime) -> tuple[str, datetime]:
        self._forget_expired(now)
        code = secrets.token_urlsafe(32)
        expires_at = now + LOGIN_CODE_TTL
        self._codes[_digest(code)] = expires_at
        return code, expires_at

    def redeem(self, code: str, now: datetime) -> str | None:
        """A new session id for a code that is known and unexpired, once; None otherwise."""
        expires_at = self._codes.pop(_digest(code), None)
        if expires_at is None or now >= expires_at:
            return None
        session = secrets.token_urlsafe(32)
        self._sessions[_digest(session)] = now + SESSION_TTL
        return session

    def is_open(self, session: str, now: datetime) -> bool:
        expires_at = self._sessions.get(_digest(session))
        return expires_at is not None and now < expires_at

    def _forget_expired(self, now: datetime) -> None:
        for store in (self._codes, self._sessions):
            for key in [k for k, expires_at in store.items() if now >= expires_at]:
                del store[key]
