"""Polymarket's sliding-window throttle delays (queues) requests past the limit."""

from __future__ import annotations

from services.venue_sim.domain.polymarket_ratelimit import SlidingWindowThrottle


def test_requests_over_the_window_limit_wait_for_the_oldest_to_expire() -> None:
    throttle = SlidingWindowThrottle({"all": 100, "positions": 3}, window_s=10.0)
    delays = [throttle.reserve(["all", "positions"], now_s=100.0 + i * 0.1) for i in range(5)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    # The 4th may start when the 1st leaves the window (t=110.0), the 5th when the 2nd does.
    assert round(delays[3], 6) == round(110.0 - 100.3, 6)
    assert round(delays[4], 6) == round(110.1 - 100.4, 6)
    assert throttle.reserve(["all"], now_s=100.5) == 0.0  # other families are unaffected
    assert throttle.reserve(["all", "positions"], now_s=125.0) == 0.0  # the window has slid past
