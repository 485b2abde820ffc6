"""The one HTTP path both venue clients use: rate budget, auth hook, retries, JSON, errors.

- Every request first waits out its reservation on the venue key's `RateBudget` (one budget per
  key per process: `shared_budget`), so all callers together stay inside the venue's limits.
- A 429 holds the key's budget (every request class sharing the refused class's limiters) until
  the venue's `Retry-After` (seconds or HTTP-date) has passed; without one (Kalshi sends none)
  for the jittered backoff delay, so everyone slows a little, not only the refused caller.
- Reads (GET, and a POST that only reads: Polymarket's `POST /books`) are retried with jittered
  exponential backoff on 429, 5xx, timeouts and connection errors, within one overall deadline
  (`RetryPolicy.deadline_s`, set from VENUE_READ_DEADLINE_SECONDS) that covers every attempt and
  wait: a wait or retry that cannot finish before it is not started, and an attempt in flight is
  cut at it. The gateway checks at start that the deadline ends before its callers stop waiting.
- Writes are never retried. A write that may have been applied (timeout or dropped connection
  after sending, 5xx, a 2xx whose body cannot be read or parsed) raises `VenueUnknownOutcome`:
  the caller must look the order up, never simply send it again. A write that provably never
  left (connection refused, connect/pool timeout) or that the venue refused (4xx, 429) is a plain
  `VenueError`.
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
from datetime import datetime
from typing import Any

import httpx
from prometheus_client import Counter

from services.exchange_gateway.adapters.venue import VenueError
from services.exchange_gateway.domain.rate_budget import RateBudget, Seconds, retry_after_seconds
from shared.contracts import Venue, utcnow
from shared.logs import get_logger, redact_text
from shared.money import parse_venue_json

log = get_logger(__name__)

REQUESTS = Counter("trueup_venue_requests_total", "venue HTTP requests by outcome", ["venue", "cls", "status"])
BUDGET_WAITS = Counter("trueup_venue_budget_waits_total", "requests that waited for the rate budget", ["venue", "cls"])
BUDGET_WAIT_SECONDS = Counter("trueup_venue_budget_wait_seconds_total", "seconds spent waiting for the rate budget", ["venue", "cls"])
RETRIES = Counter("trueup_venue_retries_total", "read retries by reason", ["venue", "cls", "reason"])
RATE_LIMITED = Counter("trueup_venue_rate_limited_total", "429 answers, by whether the venue sent Retry-After",
                       ["venue", "cls", "retry_after"])
BUDGET_HOLD_SECONDS = Counter("trueup_venue_budget_hold_seconds_total",
                              "seconds of hold on a key's budget after each 429 (overlapping holds each count)",
                              ["venue", "cls"])
DEADLINES = Counter("trueup_venue_read_deadline_exceeded_total", "reads given up at their overall deadline",
                    ["venue", "cls"])
UNKNOWN_OUTCOMES = Counter("trueup_venue_unknown_outcomes_total", "writes whose outcome is unknown, by reason",
                           ["venue", "cls", "reason"])

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ERROR_TEXT_LIMIT = 300
# Failures that prove the request never left this process: nothing can have been applied.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Auth = Callable[[httpx.Request], Mapping[str, str]]


class VenueUnknownOutcome(VenueError):
    """A write may or may not have been applied (timeout, dropped connection, 5xx or unreadable
    answer after sending). Never retried; look the order up before doing anything else."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_s: Seconds = 0.2
    cap_s: Seconds = 5.0
    # Overall limit for one read, all attempts and waits included (None: none). The gateway sets
    # it from VENUE_READ_DEADLINE_SECONDS; this default is that setting's default.
    deadline_s: Seconds | None = 20.0
    # A wait is only started if at least this long is left after it for the attempt itself:
    # an attempt with less could not finish.
    min_attempt_s: Seconds = 0.5

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
    """A read attempt failed in a way another attempt may fix (with the venue's Retry-After, if any)."""

    def __init__(self, reason: str, error: VenueError, retry_after: Seconds | None = None) -> None:
        self.reason = reason
        self.error = error
        self.retry_after = retry_after


class _Deadline:
    """One read's overall deadline on the budget's clock (the key's one time line)."""

    def __init__(self, venue: Venue, cls: str, where: str, policy: RetryPolicy, clock: Callable[[], Seconds]) -> None:
        self.venue, self.cls, self.where = venue, cls, where
        self.seconds = policy.deadline_s
        self.min_attempt_s = policy.min_attempt_s
        self._clock = clock
        self.at = None if self.seconds is None else clock() + self.seconds

    def remaining(self) -> Seconds | None:
        return None if self.at is None else self.at - self._clock()

    def allow_wait(self, wait: Seconds, before: str, last_error: VenueError | None = None) -> None:
        """Raise unless an attempt started after `wait` seconds still has time to finish."""
        left = self.remaining()
        if left is None or wait + self.min_attempt_s <= left:
            return
        raise self.exceeded(f"{before} would need {wait:.2f}s with {max(0.0, left):.2f}s left", last_error)

    def exceeded(self, what: str, last_error: VenueError | None = None) -> VenueError:
        DEADLINES.labels(self.venue, self.cls).inc()
        last = f"; last error: {str(last_error).removeprefix(f'{self.venue}: ')}" if last_error else ""
        return VenueError(self.venue, f"{self.where}: read deadline of {self.seconds:g}s hit: {what}{last}",
                          retryable=True, status=last_error.status if last_error else None)


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
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Deadlines and budget holds are measured on `budget.clock`; `wall_clock` only dates an
        HTTP-date `Retry-After`."""
        self.venue = venue
        self.client = client
        self.budget = budget
        self.auth = auth
        self.retry = retry
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._wall_clock = wall_clock

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
        read: bool | None = None,
    ) -> Any:
        """Send, and return the parsed JSON body (numbers with fractions as Decimal). `read=True`
        marks a POST that only reads (Polymarket `POST /books`): retried like a GET, and never an
        unknown write outcome. By default the method decides."""
        method = method.upper()
        is_write = method in WRITE_METHODS if read is None else not read
        cls = cls or ("write" if is_write else "read")
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        request = self.client.build_request(method, path, params=clean_params or None, json=json_body, content=content)
        where = f"{method} {request.url.path}"
        if is_write:
            return await self._write(request, where, cls)
        return await self._read(request, where, cls)

    async def _read(self, request: httpx.Request, where: str, cls: str) -> Any:
        deadline = _Deadline(self.venue, cls, where, self.retry, self.budget.clock)
        attempts = max(1, self.retry.attempts)
        for attempt in range(1, attempts + 1):
            try:
                await self._wait_for_budget(cls, deadline)
                response = await self._send_read(request, where, cls, deadline)
                return self._parse(response, where)
            except _Retry as retry:
                delay = self.retry.backoff(attempt, self._rng)
                if retry.reason == "429":  # held even when this read gives up: the others must wait
                    delay = max(delay, self._hold_after_429(cls, retry.retry_after, delay))
                if attempt == attempts:
                    raise retry.error from None
                deadline.allow_wait(delay, f"retry {attempt + 1} of {attempts}", retry.error)
                RETRIES.labels(self.venue, cls, retry.reason).inc()
                log.info("venue_retry", venue=self.venue, where=where, reason=retry.reason, attempt=attempt,
                         delay_s=round(delay, 3))
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _write(self, request: httpx.Request, where: str, cls: str) -> Any:
        await self._wait_for_budget(cls, None)
        try:
            response = await self._send(request, cls)
        except _NOT_SENT as exc:
            raise VenueError(self.venue, f"{where}: cannot connect ({type(exc).__name__}); not sent",
                             retryable=True) from None
        except httpx.TimeoutException as exc:
            raise self._unknown(cls, "timeout", f"{where}: timed out after sending ({type(exc).__name__})") from None
        except httpx.RequestError as exc:
            raise self._unknown(cls, "transport_error",
                                f"{where}: connection failed after sending ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429:
            retry_after = self._retry_after(response, cls)
            held = self._hold_after_429(cls, retry_after, self.retry.backoff(1, self._rng))
            # Refused, so not applied: the caller may send it again once the hold is over.
            raise VenueError(self.venue, f"{where}: rate limited (HTTP 429){_error_detail(response)}; "
                             f"retry after {held:.2f}s", retryable=True, status=status)
        if status >= 500:
            raise self._unknown(cls, "5xx", f"{where}: HTTP {status}{_error_detail(response)}", status=status)
        if status >= 400:
            raise self._refused(where, response)
        try:
            return parse_venue_json(response.content)
        except ValueError:
            raise self._unknown(cls, "unreadable_2xx", f"{where}: HTTP {status} with a body that is not JSON "
                                f"({len(response.content)} bytes)", status=status) from None

    def _unknown(self, cls: str, reason: str, text: str, *, status: int | None = None) -> VenueUnknownOutcome:
        UNKNOWN_OUTCOMES.labels(self.venue, cls, reason).inc()
        return VenueUnknownOutcome(self.venue, f"{text}; outcome unknown, look the order up before retrying",
                                   retryable=False, status=status)

    async def _wait_for_budget(self, cls: str, deadline: _Deadline | None) -> None:
        """Sleep out this request's reservation, then any hold a 429 placed meanwhile."""
        if deadline is not None:
            # Checked before charging: a read that gives up must not spend a grant it won't use.
            deadline.allow_wait(self.budget.peek(cls), "waiting for the rate budget")
        wait = self.budget.reserve(cls)
        if wait > 0:
            await self._budget_sleep(cls, wait)
        held = self.budget.held_for(cls)
        if held > 0:
            if deadline is not None:
                deadline.allow_wait(held, "the venue's rate-limit hold")
            await self._budget_sleep(cls, held)

    async def _budget_sleep(self, cls: str, seconds: Seconds) -> None:
        BUDGET_WAITS.labels(self.venue, cls).inc()
        BUDGET_WAIT_SECONDS.labels(self.venue, cls).inc(seconds)
        await self._sleep(seconds)

    async def _send(self, request: httpx.Request, cls: str) -> httpx.Response:
        if self.auth is not None:
            request.headers.update(self.auth(request))
        try:
            response = await self.client.send(request)
        except httpx.RequestError as exc:
            outcome = ("connect_error" if isinstance(exc, _NOT_SENT)
                       else "timeout" if isinstance(exc, httpx.TimeoutException) else "transport_error")
            REQUESTS.labels(self.venue, cls, outcome).inc()
            raise
        REQUESTS.labels(self.venue, cls, str(response.status_code)).inc()
        return response

    async def _send_read(self, request: httpx.Request, where: str, cls: str, deadline: _Deadline) -> httpx.Response:
        left = deadline.remaining()
        try:
            async with asyncio.timeout(left):
                response = await self._send(request, cls)
        except TimeoutError:
            raise deadline.exceeded("an attempt was still waiting for the venue") from None
        except _NOT_SENT as exc:
            raise _Retry("connect_error", VenueError(self.venue, f"{where}: cannot connect ({type(exc).__name__})",
                                                     retryable=True)) from None
        except httpx.TimeoutException as exc:
            raise _Retry("timeout", VenueError(self.venue, f"{where}: timed out ({type(exc).__name__})",
                                               retryable=True)) from None
        except httpx.RequestError as exc:
            raise _Retry("transport_error", VenueError(self.venue, f"{where}: connection failed ({type(exc).__name__})",
                                                       retryable=True)) from None
        status = response.status_code
        if status == 429:
            retry_after = self._retry_after(response, cls)
            raise _Retry("429", VenueError(self.venue, f"{where}: rate limited (HTTP 429){_error_detail(response)}",
                                           retryable=True, status=status), retry_after=retry_after)
        if status >= 500:
            raise _Retry("5xx", VenueError(self.venue, f"{where}: HTTP {status}{_error_detail(response)}",
                                           retryable=True, status=status))
        if status >= 400:
            raise self._refused(where, response)
        return response

    def _parse(self, response: httpx.Response, where: str) -> Any:
        try:
            return parse_venue_json(response.content)
        except ValueError:
            raise VenueError(self.venue, f"{where}: malformed JSON in HTTP {response.status_code} response "
                             f"({len(response.content)} bytes)", status=response.status_code) from None

    def _retry_after(self, response: httpx.Response, cls: str) -> Seconds | None:
        seconds = retry_after_seconds(response.headers.get("Retry-After"), self._wall_clock())
        RATE_LIMITED.labels(self.venue, cls, "none" if seconds is None else "header").inc()
        return seconds

    def _hold_after_429(self, cls: str, retry_after: Seconds | None, backoff: Seconds) -> Seconds:
        """Hold the key's budget for the venue's Retry-After, or (none sent) for our backoff."""
        held = self.budget.hold(cls, retry_after if retry_after is not None else backoff)
        BUDGET_HOLD_SECONDS.labels(self.venue, cls).inc(held)
        log.info("venue_rate_limited", venue=self.venue, cls=cls, hold_s=round(held, 3),
                 retry_after_s=None if retry_after is None else round(retry_after, 3))
        return held

    def _refused(self, where: str, response: httpx.Response) -> VenueError:
        status = response.status_code
        detail = _error_detail(response)
        if status in (401, 403):
            return VenueError(self.venue, f"{where}: authentication failed (HTTP {status}){detail}; "
                              "check the API key id and private key", status=status)
        return VenueError(self.venue, f"{where}: HTTP {status}{detail}", status=status)


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
