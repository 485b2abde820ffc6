"""The one HTTP path both venue clients use: rate budget, auth hook, retries, JSON, errors.

- Every request first waits out its reservation on the venue key's `RateBudget` (one budget per
  key per process: `shared_budget`), so all callers together stay inside the venue's limits.
- Reads (GET) are retried with jittered exponential backoff on 429, 5xx, timeouts and
  connection errors. Writes are never retried: a write that may have reached the venue raises
  `VenueUnknownOutcome`, and the caller must look the order up before doing anything else.
- The auth hook runs per attempt (Kalshi signs a fresh timestamp each time) and gets the built
  request, so it signs exactly the path, method and body that are sent.
- Errors are `VenueError`s naming the venue, method and path; never headers, query strings,
  keys or signatures.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter

from services.exchange_gateway.adapters.venue import VenueError
from services.exchange_gateway.domain.rate_budget import RateBudget, Seconds
from shared.contracts import Venue
from shared.logs import get_logger, redact_text
from shared.money import parse_venue_json

log = get_logger(__name__)

REQUESTS = Counter("trueup_venue_requests_total", "venue HTTP requests by outcome", ["venue", "cls", "status"])
BUDGET_WAITS = Counter("trueup_venue_budget_waits_total", "requests that waited for the rate budget", ["venue", "cls"])
BUDGET_WAIT_SECONDS = Counter("trueup_venue_budget_wait_seconds_total", "seconds spent waiting for the rate budget", ["venue", "cls"])
RETRIES = Counter("trueup_venue_retries_total", "read retries by reason", ["venue", "cls", "reason"])

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ERROR_TEXT_LIMIT = 300

Auth = Callable[[httpx.Request], Mapping[str, str]]


class VenueUnknownOutcome(VenueError):
    """A write may or may not have been applied (timeout, dropped connection, 5xx after sending)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_s: Seconds = 0.2
    cap_s: Seconds = 5.0

    def backoff(self, attempt: int, rng: random.Random) -> Seconds:
        """Delay before retry number `attempt` (1-based): half fixed, half jitter, capped."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)


_budgets: dict[tuple[str, str], RateBudget] = {}


def shared_budget(venue: Venue, key_id: str, factory: Callable[[], RateBudget]) -> RateBudget:
    """The process-wide budget for one venue key, created on first use."""
    budget = _budgets.get((venue, key_id))
    if budget is None:
        budget = _budgets[(venue, key_id)] = factory()
    return budget


class _Retry(Exception):
    def __init__(self, reason: str, error: VenueError) -> None:
        self.reason = reason
        self.error = error


class VenueHttp:
    def __init__(
        self,
        venue: Venue,
        client: httpx.AsyncClient,
        budget: RateBudget,
        *,
        auth: Auth | None = None,
        retry: RetryPolicy = RetryPolicy(),
        rng: random.Random | None = None,
        sleep: Callable[[Seconds], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.venue = venue
        self.client = client
        self.budget = budget
        self.auth = auth
        self.retry = retry
        self._rng = rng or random.Random()
        self._sleep = sleep

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None, cls: str | None = None) -> Any:
        return await self.request("GET", path, params=params, cls=cls)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        cls: str | None = None,
    ) -> Any:
        """Send, and return the parsed JSON body (numbers with fractions as Decimal)."""
        method = method.upper()
        is_write = method in WRITE_METHODS
        cls = cls or ("write" if is_write else "read")
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        attempts = 1 if is_write else max(1, self.retry.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return await self._once(method, path, clean_params, json_body, content, cls, is_write)
            except _Retry as retry:
                if attempt == attempts:
                    raise retry.error from None
                RETRIES.labels(self.venue, cls, retry.reason).inc()
                delay = self.retry.backoff(attempt, self._rng)
                log.info("venue_retry", venue=self.venue, method=method, path=path, reason=retry.reason,
                         attempt=attempt, delay_s=round(delay, 3))
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _once(self, method: str, path: str, params: dict, json_body: Any, content: bytes | None,
                    cls: str, is_write: bool) -> Any:
        wait = self.budget.reserve(cls)
        if wait > 0:
            BUDGET_WAITS.labels(self.venue, cls).inc()
            BUDGET_WAIT_SECONDS.labels(self.venue, cls).inc(wait)
            await self._sleep(wait)
        request = self.client.build_request(method, path, params=params or None, json=json_body, content=content)
        if self.auth is not None:
            request.headers.update(self.auth(request))
        where = f"{method} {request.url.path}"
        try:
            response = await self.client.send(request)
        except httpx.ConnectError as exc:  # includes ConnectTimeout: nothing reached the venue
            REQUESTS.labels(self.venue, cls, "connect_error").inc()
            error = VenueError(self.venue, f"{where}: cannot connect ({type(exc).__name__})", retryable=True)
            if is_write:
                raise error from None
            raise _Retry("connect_error", error) from None
        except httpx.TimeoutException as exc:
            REQUESTS.labels(self.venue, cls, "timeout").inc()
            if is_write:
                raise VenueUnknownOutcome(self.venue, f"{where}: timed out after sending ({type(exc).__name__}); "
                                          "outcome unknown, look the order up before retrying") from None
            raise _Retry("timeout", VenueError(self.venue, f"{where}: timed out ({type(exc).__name__})",
                                               retryable=True)) from None
        except httpx.TransportError as exc:
            REQUESTS.labels(self.venue, cls, "transport_error").inc()
            if is_write:
                raise VenueUnknownOutcome(self.venue, f"{where}: connection failed after sending "
                                          f"({type(exc).__name__}); outcome unknown") from None
            raise _Retry("transport_error", VenueError(self.venue, f"{where}: connection failed ({type(exc).__name__})",
                                                       retryable=True)) from None
        status = response.status_code
        REQUESTS.labels(self.venue, cls, str(status)).inc()
        if status >= 400:
            self._fail(where, response, is_write)
        try:
            return parse_venue_json(response.content)
        except ValueError:
            raise VenueError(self.venue, f"{where}: malformed JSON in HTTP {status} response "
                             f"({len(response.content)} bytes)", status=status) from None

    def _fail(self, where: str, response: httpx.Response, is_write: bool) -> None:
        status = response.status_code
        detail = _error_detail(response)
        if status == 429:
            error = VenueError(self.venue, f"{where}: rate limited (HTTP 429){detail}", retryable=True, status=status)
            if is_write:
                raise error  # refused, so not applied: the caller may try again later
            raise _Retry("429", error)
        if status >= 500:
            if is_write:
                raise VenueUnknownOutcome(self.venue, f"{where}: HTTP {status}{detail}; outcome unknown",
                                          retryable=False, status=status)
            raise _Retry("5xx", VenueError(self.venue, f"{where}: HTTP {status}{detail}", retryable=True, status=status))
        if status in (401, 403):
            raise VenueError(self.venue, f"{where}: authentication failed (HTTP {status}){detail}; "
                             "check the API key id and private key", status=status)
        raise VenueError(self.venue, f"{where}: HTTP {status}{detail}", status=status)


def _error_detail(response: httpx.Response) -> str:
    """The venue's own error code/message, short and scrubbed; never our request's headers."""
    try:
        body = parse_venue_json(response.content)
    except ValueError:
        return ""
    inner = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(inner, dict):
        parts = [str(inner[k]) for k in ("code", "message", "details") if inner.get(k)]
        text = " / ".join(parts)
    else:
        text = str(inner)
    return f": {redact_text(text)[:_ERROR_TEXT_LIMIT]}" if text else ""
