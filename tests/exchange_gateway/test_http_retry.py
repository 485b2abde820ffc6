"""VenueHttp edge cases against a mocked transport (respx): retries, writes, errors, metrics."""

from __future__ import annotations

import random

import httpx
import pytest
import respx
from prometheus_client import REGISTRY

from services.exchange_gateway.adapters.http import RetryPolicy, VenueHttp, VenueUnknownOutcome
from services.exchange_gateway.adapters.venue import VenueError
from services.exchange_gateway.domain.rate_budget import RateBudget, TokenBucket

BASE = "https://venue.test/api/"
SECRET = "super-secret-signature-value"


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _http(client: httpx.AsyncClient, sleeps: Sleeps, attempts: int = 5, budget: RateBudget | None = None) -> VenueHttp:
    budget = budget or RateBudget({"read": (TokenBucket(1000, 1000),), "write": (TokenBucket(1000, 1000),)})
    return VenueHttp("kalshi", client, budget, auth=lambda r: {"X-Signature": SECRET},
                     retry=RetryPolicy(attempts=attempts, base_s=0.2, cap_s=5.0), rng=random.Random(1), sleep=sleeps)


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def client():
    async with httpx.AsyncClient(base_url=BASE) as c:
        yield c


@respx.mock
async def test_read_retries_429_5xx_timeouts_and_connection_errors_then_succeeds(client) -> None:
    route = respx.get(f"{BASE}thing").mock(side_effect=[
        httpx.Response(429, json={"error": "too many requests"}),
        httpx.Response(503, json={"error": {"code": "service_unavailable"}}),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.Response(200, text='{"price": "0.42", "n": 0.1}'),
    ])
    sleeps = Sleeps()
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
async def test_backoff_is_capped_and_attempts_are_bounded(client) -> None:
    route = respx.get(f"{BASE}down").mock(return_value=httpx.Response(500, json={"error": "boom"}))
    sleeps = Sleeps()
    with pytest.raises(VenueError) as err:
        await _http(client, sleeps, attempts=8).get("down")
    assert route.call_count == 8 and len(sleeps.calls) == 7
    assert max(sleeps.calls) <= 5.0 and sleeps.calls[-1] >= 2.5
    assert err.value.retryable and err.value.status == 500
    assert str(err.value).startswith("kalshi: GET /api/down: HTTP 500")


@respx.mock
@pytest.mark.parametrize("failure", [httpx.Response(500, json={}), httpx.Response(503, json={}),
                                     httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")])
async def test_writes_are_never_retried_and_an_ambiguous_failure_is_unknown_outcome(client, failure) -> None:
    route = respx.post(f"{BASE}orders").mock(side_effect=[failure, httpx.Response(201, json={"ok": True})])
    sleeps = Sleeps()
    with pytest.raises(VenueUnknownOutcome, match="outcome unknown"):
        await _http(client, sleeps).request("POST", "orders", json_body={"count": "1"})
    assert route.call_count == 1 and sleeps.calls == []


@respx.mock
async def test_write_refusals_are_plain_errors_not_retried(client) -> None:
    route = respx.delete(f"{BASE}orders/1").mock(side_effect=[httpx.Response(429, json={"error": "too many requests"}),
                                                             httpx.ConnectError("refused")])
    http = _http(client, Sleeps())
    with pytest.raises(VenueError) as err:
        await http.request("DELETE", "orders/1")
    assert not isinstance(err.value, VenueUnknownOutcome) and err.value.status == 429 and err.value.retryable
    with pytest.raises(VenueError) as err:
        await http.request("DELETE", "orders/1")
    assert not isinstance(err.value, VenueUnknownOutcome) and "cannot connect" in str(err.value)
    assert route.call_count == 2


@respx.mock
async def test_client_errors_are_not_retried_and_carry_no_secrets(client) -> None:
    route = respx.get(f"{BASE}private").mock(return_value=httpx.Response(
        401, json={"error": {"code": "authentication_error", "message": "authentication error", "details": "invalid signature"}}))
    with pytest.raises(VenueError) as err:
        await _http(client, Sleeps()).get("private", params={"token": "query-secret"})
    assert route.call_count == 1
    text = str(err.value)
    assert text.startswith("kalshi: GET /api/private: authentication failed (HTTP 401)")
    assert "invalid signature" in text and err.value.status == 401 and not err.value.retryable
    assert SECRET not in text and "query-secret" not in text and "X-Signature" not in text


@respx.mock
async def test_malformed_json_names_the_venue_and_is_not_retried(client) -> None:
    route = respx.get(f"{BASE}half").mock(return_value=httpx.Response(200, text='{"fills": [{"fill_id": "a'))
    with pytest.raises(VenueError, match=r"^kalshi: GET /api/half: malformed JSON"):
        await _http(client, Sleeps()).get("half")
    assert route.call_count == 1


@respx.mock
async def test_budget_wait_is_slept_before_sending_and_counted(client) -> None:
    respx.get(f"{BASE}x").mock(return_value=httpx.Response(200, json={}))
    sleeps = Sleeps()
    budget = RateBudget({"read": (TokenBucket(10, 1),)}, clock=lambda: 100.0)
    http = _http(client, sleeps, budget=budget)
    before = _metric("trueup_venue_budget_waits_total", venue="kalshi", cls="read")
    for _ in range(3):
        await http.get("x")
    assert sleeps.calls == pytest.approx([0.1, 0.2])
    assert _metric("trueup_venue_budget_waits_total", venue="kalshi", cls="read") == before + 2
    assert _metric("trueup_venue_requests_total", venue="kalshi", cls="read", status="200") >= 3
