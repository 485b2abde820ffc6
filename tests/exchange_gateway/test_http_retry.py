"""VenueHttp edge cases against a mocked transport (respx): retries, Retry-After and the key's
budget, read deadlines, write outcomes, errors, metrics.

Time is a fake clock shared by the budget and the injected sleep, so every wait is asserted
exactly and nothing depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from prometheus_client import REGISTRY

from services.exchange_gateway.adapters.http import RetryPolicy, VenueHttp, VenueUnknownOutcome
from services.exchange_gateway.adapters.venue import VenueError
from services.exchange_gateway.domain.rate_budget import RateBudget, TokenBucket, sliding_budget

BASE = "https://venue.test/api/"
SECRET = "super-secret-signature-value"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """The injected sleep: records each wait and moves the shared clock by it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.now += seconds


def _roomy_budget(clock: Clock) -> RateBudget:
    return RateBudget({"read": (TokenBucket(1000, 1000),), "write": (TokenBucket(1000, 1000),)}, clock=clock)


def _http(client: httpx.AsyncClient, sleeps: Sleeps, budget: RateBudget | None = None, **policy) -> VenueHttp:
    budget = budget or _roomy_budget(sleeps.clock)
    retry = RetryPolicy(**{"attempts": 5, "base_s": 0.2, "cap_s": 5.0, **policy})
    return VenueHttp("kalshi", client, budget, auth=lambda r: {"X-Signature": SECRET}, retry=retry,
                     rng=random.Random(1), sleep=sleeps, wall_clock=lambda: NOW)


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def client():
    async with httpx.AsyncClient(base_url=BASE) as c:
        yield c


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps(Clock())


# -- reads: retries ------------------------------------------------------------------------------

@respx.mock
async def test_read_retries_429_5xx_timeouts_and_connection_errors_then_succeeds(client, sleeps) -> None:
    route = respx.get(f"{BASE}thing").mock(side_effect=[
        httpx.Response(429, json={"error": "too many requests"}),
        httpx.Response(503, json={"error": {"code": "service_unavailable"}}),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.Response(200, text='{"price": "0.42", "n": 0.1}'),
    ])
    before = _metric("trueup_venue_retries_total", venue="kalshi", cls="read", reason="429")
    body = await _http(client, sleeps).get("thing", params={"a": 1, "skip": None})
    assert route.call_count == 5
    assert str(body["n"]) == "0.1" and body["price"] == "0.42"  # fractions parsed as Decimal, never float
    assert "skip" not in str(route.calls[0].request.url)
    # Jittered exponential backoff: retry k waits within [c/2, c] for c = min(5, 0.2 * 2**(k-1)).
    assert len(sleeps.calls) == 4
    for k, delay in enumerate(sleeps.calls, start=1):
        ceiling = min(5.0, 0.2 * 2 ** (k - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert _metric("trueup_venue_retries_total", venue="kalshi", cls="read", reason="429") == before + 1


@respx.mock
async def test_backoff_is_capped_and_attempts_are_bounded(client, sleeps) -> None:
    route = respx.get(f"{BASE}down").mock(return_value=httpx.Response(500, json={"error": "boom"}))
    with pytest.raises(VenueError) as err:
        await _http(client, sleeps, attempts=8, deadline_s=None).get("down")
    assert route.call_count == 8 and len(sleeps.calls) == 7
    assert max(sleeps.calls) <= 5.0 and sleeps.calls[-1] >= 2.5
    assert err.value.retryable and err.value.status == 500
    assert str(err.value).startswith("kalshi: GET /api/down: HTTP 500")


# -- reads: Retry-After and the key's budget -----------------------------------------------------

@respx.mock
async def test_retry_after_seconds_is_waited_and_holds_every_class_sharing_the_window(client, sleeps) -> None:
    # Polymarket's shape: two endpoint windows under one overall window; "other" shares nothing.
    budget = sliding_budget({"overall": 100, "a": 100, "b": 100, "other": 100},
                            {"a": ["overall", "a"], "b": ["overall", "b"], "other": ["other"]},
                            window_s=10.0, clock=sleeps.clock)
    route = respx.get(f"{BASE}a").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow down"}),
        httpx.Response(200, json={"ok": True}),
    ])
    http = _http(client, sleeps, budget)
    seen: dict[str, float] = {}
    real_sleep = sleeps.__call__

    async def sleep_and_look(seconds: float) -> None:
        # While the refused read waits, what would every other caller of this key wait?
        seen.setdefault("b", budget.peek("b"))
        seen.setdefault("other", budget.peek("other"))
        await real_sleep(seconds)

    http._sleep = sleep_and_look
    before = _metric("trueup_venue_rate_limited_total", venue="kalshi", cls="a", retry_after="header")
    assert await http.get("a", cls="a") == {"ok": True}
    assert route.call_count == 2
    assert sleeps.calls == [7.0], "the retry waited exactly the venue's Retry-After, and no budget wait on top"
    assert seen == {"b": 7.0, "other": 0.0}
    assert _metric("trueup_venue_rate_limited_total", venue="kalshi", cls="a", retry_after="header") == before + 1
    assert budget.stats["a"].held == 1


@respx.mock
async def test_http_date_retry_after_is_honoured(client, sleeps) -> None:
    later = format_datetime(NOW + timedelta(seconds=12), usegmt=True)
    respx.get(f"{BASE}x").mock(side_effect=[httpx.Response(429, headers={"Retry-After": later}),
                                            httpx.Response(200, json={})])
    await _http(client, sleeps).get("x")
    assert sleeps.calls == [12.0]


@respx.mock
async def test_a_read_that_gives_up_on_429_still_holds_the_key_for_others(client, sleeps) -> None:
    budget = _roomy_budget(sleeps.clock)
    respx.get(f"{BASE}x").mock(return_value=httpx.Response(429, headers={"Retry-After": "3"}))
    respx.get(f"{BASE}y").mock(return_value=httpx.Response(200, json={}))
    http = _http(client, sleeps, budget, attempts=1)
    with pytest.raises(VenueError, match="rate limited"):
        await http.get("x")
    assert sleeps.calls == []
    await http.get("y")  # another caller of the same key and class
    assert sleeps.calls == [3.0]
    assert budget.peek("write") == 0.0, "Kalshi's write bucket is not the one that refused"


@respx.mock
async def test_without_retry_after_the_backoff_also_slows_the_budget(client, sleeps) -> None:
    budget = _roomy_budget(sleeps.clock)
    respx.get(f"{BASE}x").mock(return_value=httpx.Response(429, json={"error": "too many requests"}))
    before = _metric("trueup_venue_rate_limited_total", venue="kalshi", cls="read", retry_after="none")
    with pytest.raises(VenueError, match="rate limited"):
        await _http(client, sleeps, budget, attempts=1).get("x")
    # First retry's jittered backoff: within [0.1, 0.2]; every read of the key waits it out.
    assert 0.1 <= budget.peek("read") <= 0.2
    assert _metric("trueup_venue_rate_limited_total", venue="kalshi", cls="read", retry_after="none") == before + 1
    assert _metric("trueup_venue_budget_hold_seconds_total", venue="kalshi", cls="read") > 0


# -- reads: the overall deadline ------------------------------------------------------------------

@respx.mock
async def test_retries_stop_before_the_read_deadline_and_say_so(client, sleeps) -> None:
    route = respx.get(f"{BASE}down").mock(return_value=httpx.Response(500, json={"error": "boom"}))
    started = sleeps.clock.now
    before = _metric("trueup_venue_read_deadline_exceeded_total", venue="kalshi", cls="read")
    with pytest.raises(VenueError) as err:
        await _http(client, sleeps, attempts=50, base_s=1.0, deadline_s=8.0).get("down")
    text = str(err.value)
    assert text.startswith("kalshi: GET /api/down: read deadline of 8s hit") and "last error: GET /api/down: HTTP 500" in text
    assert err.value.retryable and err.value.status == 500
    # No wait was started that would have left less than min_attempt_s (0.5 s) for its attempt.
    assert sleeps.clock.now - started + 0.5 <= 8.0
    assert 2 <= route.call_count < 50
    assert _metric("trueup_venue_read_deadline_exceeded_total", venue="kalshi", cls="read") == before + 1


@respx.mock
async def test_a_retry_after_beyond_the_deadline_is_not_waited_for(client, sleeps) -> None:
    route = respx.get(f"{BASE}x").mock(return_value=httpx.Response(429, headers={"Retry-After": "30"}))
    with pytest.raises(VenueError, match=r"read deadline of 20s hit: retry 2 of 5 would need 30\.00s"):
        await _http(client, sleeps, deadline_s=20.0).get("x")
    assert route.call_count == 1 and sleeps.calls == []


@respx.mock
async def test_a_read_held_past_its_deadline_fails_at_once_without_spending_a_grant(client, sleeps) -> None:
    budget = _roomy_budget(sleeps.clock)
    budget.hold("read", 60.0)  # a 429 with Retry-After: 60 seen by another caller
    route = respx.get(f"{BASE}x").mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(VenueError, match="read deadline of 20s hit: waiting for the rate budget"):
        await _http(client, sleeps, budget, deadline_s=20.0).get("x")
    assert route.call_count == 0 and sleeps.calls == []
    assert "read" not in budget.stats or budget.stats["read"].granted == 0


@respx.mock
async def test_an_attempt_in_flight_is_cut_at_the_deadline(client, sleeps) -> None:
    never = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("unreachable")

    respx.get(f"{BASE}slow").mock(side_effect=hang)
    with pytest.raises(VenueError, match="read deadline of 0.3s hit: an attempt was still waiting for the venue"):
        await _http(client, sleeps, deadline_s=0.3, min_attempt_s=0.1).get("slow")


# -- writes ---------------------------------------------------------------------------------------

@respx.mock
@pytest.mark.parametrize("failure", [
    httpx.Response(500, json={}),
    httpx.Response(503, json={}),
    httpx.ReadTimeout("slow"),
    httpx.WriteTimeout("stalled mid-body"),
    httpx.RemoteProtocolError("dropped"),
    httpx.ReadError("connection reset by peer"),
    httpx.Response(201, text='{"order": {"order_id": "a'),  # 2xx cut short
    httpx.Response(200, text="<html>upstream proxy</html>"),  # 2xx that is not JSON
], ids=["500", "503", "read-timeout", "write-timeout", "dropped", "reset", "2xx-truncated", "2xx-html"])
async def test_writes_are_never_retried_and_an_ambiguous_failure_is_unknown_outcome(client, sleeps, failure) -> None:
    route = respx.post(f"{BASE}orders").mock(side_effect=[failure, httpx.Response(201, json={"ok": True})])
    with pytest.raises(VenueUnknownOutcome, match="outcome unknown, look the order up") as err:
        await _http(client, sleeps).request("POST", "orders", json_body={"count": "1"})
    assert route.call_count == 1 and sleeps.calls == []
    assert not err.value.retryable


@respx.mock
async def test_a_post_that_only_reads_is_retried_like_a_read_never_an_unknown_write(client, sleeps) -> None:
    route = respx.post(f"{BASE}books").mock(side_effect=[httpx.Response(503), httpx.ReadTimeout("slow"),
                                                         httpx.Response(200, json=[{"asset_id": "1"}])])
    body = await _http(client, sleeps).request("POST", "books", json_body=[{"token_id": "1"}], read=True)
    assert body == [{"asset_id": "1"}] and route.call_count == 3 and len(sleeps.calls) == 2


@respx.mock
@pytest.mark.parametrize("never_sent", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no SYN-ACK"),
                                        httpx.PoolTimeout("no free connection")],
                         ids=["refused", "connect-timeout", "pool-timeout"])
async def test_a_write_that_never_left_is_a_plain_retryable_error(client, sleeps, never_sent) -> None:
    route = respx.post(f"{BASE}orders").mock(side_effect=[never_sent, httpx.Response(201, json={"ok": True})])
    with pytest.raises(VenueError) as err:
        await _http(client, sleeps).request("POST", "orders", json_body={"count": "1"})
    assert not isinstance(err.value, VenueUnknownOutcome)
    assert err.value.retryable and "not sent" in str(err.value)
    assert route.call_count == 1


@respx.mock
@pytest.mark.parametrize("status", [400, 404, 409, 422])
async def test_write_refusals_are_plain_errors_not_retried(client, sleeps, status) -> None:
    route = respx.delete(f"{BASE}orders/1").mock(return_value=httpx.Response(status, json={"error": {"code": "nope"}}))
    with pytest.raises(VenueError) as err:
        await _http(client, sleeps).request("DELETE", "orders/1")
    assert not isinstance(err.value, VenueUnknownOutcome) and err.value.status == status and not err.value.retryable
    assert route.call_count == 1


@respx.mock
async def test_a_rate_limited_write_is_a_plain_error_and_holds_the_write_budget(client, sleeps) -> None:
    budget = _roomy_budget(sleeps.clock)
    route = respx.post(f"{BASE}orders").mock(return_value=httpx.Response(429, headers={"Retry-After": "2"},
                                                                        json={"error": "too many requests"}))
    with pytest.raises(VenueError) as err:
        await _http(client, sleeps, budget).request("POST", "orders", json_body={})
    assert not isinstance(err.value, VenueUnknownOutcome) and err.value.status == 429 and err.value.retryable
    assert "retry after 2.00s" in str(err.value)
    assert route.call_count == 1 and budget.peek("write") == 2.0 and budget.peek("read") == 0.0


# -- errors and budget waits ----------------------------------------------------------------------

@respx.mock
async def test_client_errors_are_not_retried_and_carry_no_secrets(client, sleeps) -> None:
    route = respx.get(f"{BASE}private").mock(return_value=httpx.Response(
        401, json={"error": {"code": "authentication_error", "message": "authentication error", "details": "invalid signature"}}))
    with pytest.raises(VenueError) as err:
        await _http(client, sleeps).get("private", params={"token": "query-secret"})
    assert route.call_count == 1
    text = str(err.value)
    assert text.startswith("kalshi: GET /api/private: authentication failed (HTTP 401)")
    assert "invalid signature" in text and err.value.status == 401 and not err.value.retryable
    assert SECRET not in text and "query-secret" not in text and "X-Signature" not in text


@respx.mock
async def test_malformed_json_names_the_venue_and_is_not_retried(client, sleeps) -> None:
    route = respx.get(f"{BASE}half").mock(return_value=httpx.Response(200, text='{"fills": [{"fill_id": "a'))
    with pytest.raises(VenueError, match=r"^kalshi: GET /api/half: malformed JSON"):
        await _http(client, sleeps).get("half")
    assert route.call_count == 1


@respx.mock
async def test_budget_wait_is_slept_before_sending_and_counted(client, sleeps) -> None:
    respx.get(f"{BASE}x").mock(return_value=httpx.Response(200, json={}))
    budget = RateBudget({"read": (TokenBucket(10, 1),)}, clock=lambda: 100.0)
    http = _http(client, sleeps, budget=budget)
    before = _metric("trueup_venue_budget_waits_total", venue="kalshi", cls="read")
    for _ in range(3):
        await http.get("x")
    assert sleeps.calls == pytest.approx([0.1, 0.2])
    assert _metric("trueup_venue_budget_waits_total", venue="kalshi", cls="read") == before + 2
    assert _metric("trueup_venue_requests_total", venue="kalshi", cls="read", status="200") >= 3
