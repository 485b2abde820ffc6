"""Rate budgets: grants never exceed a limiter's allowance in any window, whatever the arrivals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.exchange_gateway.domain.rate_budget import (
    KALSHI_TIERS,
    POLYMARKET_LIMITS,
    MAX_RETRY_AFTER_S,
    RateBudget,
    SlidingWindow,
    TokenBucket,
    kalshi_budget,
    retry_after_seconds,
    sliding_budget,
)

EPS = 1e-9


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _grant_times(budget: RateBudget, clock: FakeClock, gaps: list[float], cls: str) -> list[float]:
    grants = []
    for gap in gaps:
        clock.now += gap
        grants.append(clock.now + budget.reserve(cls))
    return grants


def _max_in_window(grants: list[float], width: float) -> int:
    """Most grants in any half-open window [t, t + width)."""
    ordered = sorted(grants)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - width + EPS:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


gaps = st.lists(st.floats(min_value=0, max_value=0.3, allow_nan=False), min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(tier=st.sampled_from(sorted(KALSHI_TIERS)), cls=st.sampled_from(["read", "write"]), gaps=gaps)
def test_kalshi_grants_in_any_second_stay_within_tier(tier: str, cls: str, gaps: list[float]) -> None:
    clock = FakeClock()
    budget = kalshi_budget(tier, clock=clock)
    grants = _grant_times(budget, clock, gaps, cls)
    per_s = KALSHI_TIERS[tier][0 if cls == "read" else 1]
    # Our budget: 90% of the tier's rate plus half a second of burst (+1 for the window's edges),
    # well inside the venue's own bucket (the tier's rate plus a full second of burst).
    assert _max_in_window(grants, 1.0) <= per_s * 0.9 * 1.5 + 1 <= 2 * per_s
    assert grants == sorted(grants), "grants are FIFO"
    assert all(g >= t for g, t in zip(grants, _arrivals(gaps)))


def _arrivals(gaps: list[float]) -> list[float]:
    out, now = [], 0.0
    for g in gaps:
        now += g
        out.append(now)
    return out


@settings(max_examples=150, deadline=None)
@given(rate=st.integers(1, 50), capacity=st.integers(1, 50), width=st.floats(0.05, 3), gaps=gaps)
def test_token_bucket_never_exceeds_capacity_plus_rate_times_width(rate: int, capacity: int, width: float, gaps: list[float]) -> None:
    clock = FakeClock()
    budget = RateBudget({"r": (TokenBucket(rate, capacity),)}, clock=clock)
    grants = _grant_times(budget, clock, gaps, "r")
    assert _max_in_window(grants, width) <= capacity + rate * width + EPS


@settings(max_examples=150, deadline=None)
@given(limit=st.integers(1, 20), window=st.floats(0.1, 5), gaps=gaps)
def test_sliding_window_never_exceeds_limit(limit: int, window: float, gaps: list[float]) -> None:
    clock = FakeClock()
    budget = RateBudget({"w": (SlidingWindow(limit, window),)}, clock=clock)
    grants = _grant_times(budget, clock, gaps, "w")
    assert _max_in_window(grants, window) <= limit


@settings(max_examples=100, deadline=None)
@given(choices=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.floats(0, 0.05)), min_size=1, max_size=300))
def test_shared_overall_window_holds_across_classes(choices: list[tuple[str, float]]) -> None:
    clock = FakeClock()
    budget = sliding_budget({"overall": 12, "a": 5, "b": 8}, {"a": ["overall", "a"], "b": ["overall", "b"]},
                            window_s=1.0, clock=clock)
    grants: dict[str, list[float]] = {"a": [], "b": []}
    for cls, gap in choices:
        clock.now += gap
        grants[cls].append(clock.now + budget.reserve(cls))
    assert _max_in_window(grants["a"], 1.0) <= 5
    assert _max_in_window(grants["b"], 1.0) <= 8
    assert _max_in_window(grants["a"] + grants["b"], 1.0) <= 12


def test_burst_then_steady_rate_and_counters() -> None:
    clock = FakeClock()
    budget = RateBudget({"read": (TokenBucket(10, 5),)}, clock=clock)
    waits = [budget.reserve("read") for _ in range(8)]
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert waits[5:] == pytest.approx([0.1, 0.2, 0.3])
    stats = budget.stats["read"]
    assert (stats.granted, stats.waited) == (8, 3) and stats.wait_seconds == pytest.approx(0.6)
    clock.now = 10.0  # idle long enough: the bucket is full again
    assert [budget.reserve("read") for _ in range(5)] == [0, 0, 0, 0, 0]


def test_polymarket_windows_and_errors() -> None:
    clock = FakeClock()
    budget = sliding_budget(POLYMARKET_LIMITS, {"data:/positions": ["data:overall", "data:/positions"]}, clock=clock)
    waits = [budget.reserve("data:/positions") for _ in range(151)]
    assert waits[:150] == [0] * 150 and waits[150] == pytest.approx(10.0)
    with pytest.raises(KeyError, match="no rate budget"):
        budget.reserve("clob:/book")
    with pytest.raises(ValueError, match="undefined windows"):
        sliding_budget({"x": 1}, {"c": ["y"]})
    with pytest.raises(ValueError, match="unknown Kalshi tier"):
        kalshi_budget("gold")


def test_a_hold_stops_every_class_sharing_a_limiter_and_never_shrinks() -> None:
    clock = FakeClock()
    budget = sliding_budget({"overall": 50, "a": 50, "b": 50, "c": 50},
                            {"a": ["overall", "a"], "b": ["overall", "b"], "c": ["c"]}, clock=clock)
    assert budget.hold("a", 5.0) == 5.0
    assert budget.hold("b", 2.0) == 5.0  # a shorter hold on a shared window keeps the longer one
    assert (budget.peek("a"), budget.peek("b"), budget.peek("c")) == (5.0, 5.0, 0.0)
    assert budget.reserve("b") == 5.0 and budget.reserve("c") == 0.0
    clock.now = 3.0
    assert budget.held_for("a") == 2.0 and budget.held_for("c") == 0.0
    clock.now = 5.0
    assert budget.reserve("a") == 0.0 and budget.held_for("b") == 0.0


@settings(max_examples=100, deadline=None)
@given(hold=st.floats(0, 20), gaps=gaps)
def test_no_grant_falls_inside_a_hold_and_limits_still_hold(hold: float, gaps: list[float]) -> None:
    clock = FakeClock()
    budget = kalshi_budget("basic", clock=clock)
    budget.hold("read", hold)
    grants = _grant_times(budget, clock, gaps, "read")
    assert all(g >= hold - EPS for g in grants)
    assert _max_in_window(grants, 1.0) <= 20 * 0.9 * 1.5 + 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(" 1.5 ", now) == 1.5
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=42), usegmt=True), now) == 42.0
    assert retry_after_seconds("Sun, 29 Nov 2026 12:00:09 -0000", now) == 9.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert retry_after_seconds("-3", now) == 0.0
    assert retry_after_seconds("99999999", now) == MAX_RETRY_AFTER_S
    for unreadable in (None, "", "soon", "nan", "Sun, 99 Foo"):
        assert retry_after_seconds(unreadable, now) is None
