"""A large synthetic account for benchmarks: `load_bulk_account(sim, n)` gives each venue n open positions.

Kalshi: n markets of one event, each held YES by one trade made on the website (`external_trade`),
whose executed order `/portfolio/orders` lists; nothing rests.
Polymarket: n binary markets, each held YES by one confirmed trade made outside the API key, matched
over a day ago so its settlement is final. Called in-process on an empty simulator before the gateway starts,
so the gateway backfills every fill and the ledger holds what the venues report.
"""

from __future__ import annotations

from decimal import Decimal

from services.venue_sim.domain import kalshi_market, polymarket
from services.venue_sim.domain.simulator import Simulator

DAY_MS = 86_400_000
EVENT = "KXBENCH"


def kalshi_ticker(i: int) -> str:
    return f"{EVENT}-{i:06d}"


def polymarket_token(i: int) -> str:
    return f"{10**40 + 2 * i}"  # a decimal token id like the venue's; the NO token is the next number


def traded_at(now_ms: int, i: int, n: int) -> int:
    """The i-th of n positions' trade: spread evenly over the day before yesterday, as an account
    built up over time. Not all within seconds: the gateway's fill feed re-reads the last minute
    before its newest fill on every poll, so a burst of 10k fills would be re-read at every poll."""
    return now_ms - 2 * DAY_MS + i * (DAY_MS // max(n, 1))


def quantity(i: int) -> Decimal:
    return Decimal(1 + i % 250)


def load_bulk_account(sim: Simulator, positions_per_venue: int) -> None:
    now = sim.clock.now_ms()
    price = Decimal("0.40")
    kalshi = sim.kalshi
    kalshi.add_event(kalshi_market.Event(EVENT, EVENT, "Benchmark event", "synthetic", "Benchmark"))
    for i in range(positions_per_venue):
        ticker = kalshi_ticker(i)
        kalshi.add_market(kalshi_market.Market(ticker, EVENT, f"Benchmark market {i}", "Yes", "No",
                                               open_time_ms=now - 60 * DAY_MS, close_time_ms=now + 60 * DAY_MS))
        kalshi.external_trade(ticker, "bid", quantity(i), price, ts_ms=traded_at(now, i, positions_per_venue))
    poly = sim.polymarket
    for i in range(positions_per_venue):
        yes, no = polymarket_token(i), f"{10**40 + 2 * i + 1}"
        poly.add_market(polymarket.Market(
            condition_id=f"0x{i:064x}", question=f"Benchmark market {i}?", slug=f"bench-{i}", event_slug="bench",
            event_id=1, end_date="2027-01-01",
            tokens=(polymarket.Token(yes, "Yes", 0), polymarket.Token(no, "No", 1))))
        poly.record_external_trade(yes, "BUY", quantity(i), price, match_ms=traded_at(now, i, positions_per_venue),
                                   will_fail=False)
