"""Scenarios: "empty" (nothing), "markets" (Kalshi markets and books, a fresh account) and
"demo" (both venues' deterministic demo accounts).

Kalshi demo (seeded; same seed -> same ids, prices, times), aligned with polymarket_demo.py:

| Kalshi market           | position | Polymarket leg              | its /positions        | case            |
|-------------------------|----------|-----------------------------|-----------------------|-----------------|
| KXPRESPERSON-28-JVAN    | +900     | Vance 2028                  | YES 1500              |                 |
| KXPRESPERSON-28-GNEW    | -150     | Newsom 2028                 | none (NO 600 traded)  | GHOST           |
| KXFEDDECISION-26DEC-C25 | +500     | Fed 25 bps cut, Dec 2026    | YES 650 (800 traded)  | DRIFT           |
| KXFEDDECISION-26DEC-H0  | -200     | Fed no change, Dec 2026     | NO 150 (never traded) | ORPHAN          |
| KXSB-27-KC              | -250     | Chiefs win Super Bowl LXI   | YES 400               |                 |
| KXHIGHNY-26DEC01-B45    | +75      | none (Kalshi-only weather)  | -                     | UNKNOWN MAPPING |
| KXBTCMAXY-26-150000     | flat     | Bitcoin $150k in 2026       | YES 0.42 (dust)       |                 |
| KXCPIYOY-26OCT-T3.0     | settled  | US CPI above 3.0%, Oct 2026 | NO 300, resolved No   |                 |

The Polymarket legs' slugs and outcomes are in polymarket_demo.py. KXCPIYOY-26OCT-T3.0: Kalshi
held +120 YES, settled NO (a settlement row). Every Kalshi position is its fills' net (the fills
feed lists them all), so a fills-fed ledger agrees with Kalshi everywhere. The deliberate
differences from the trade history are Polymarket token transfers (polymarket_demo.TRANSFERS;
no trade history shows them): ORPHAN (held at the venue, never traded), GHOST (traded, then all
transferred out), DRIFT (partly transferred out). KXHIGHNY has no cross-venue mapping by design:
the UNKNOWN MAPPING case.

Bot-made orders carry client_order_id "trueup-demo-<n>"; GNEW's were made by hand ("").
One resting bot order: KXFEDDECISION-26DEC-C25 bid 50 @ 0.6000 GTC. 267 fills over 30 days
(three pages at limit=100).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from services.venue_sim.domain.kalshi import KalshiExchange
from services.venue_sim.domain.kalshi_market import Event, Market
from services.venue_sim.domain.kalshi_units import CENT, ONE
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.scenarios.polymarket_demo import load_polymarket_demo

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class DemoMarket:
    ticker: str
    event_ticker: str
    title: str
    yes_sub_title: str
    mid: Decimal
    close_days: int
    target: int  # final signed position (+YES / -NO)
    fills: int  # fills in the history
    rules_primary: str
    by_hand: bool = False  # traded outside the bot (client_order_id ""; still in the fills feed)


# One winner per election, meeting, season and temperature bracket (mutually exclusive); the
# Bitcoin and CPI thresholds nest, so several of their markets can resolve yes together.
EVENTS = (
    Event("KXPRESPERSON-28", "KXPRESPERSON", "2028 U.S. presidential election winner", "Who will win?", "Elections",
          True, ("Certified results of the 2028 U.S. presidential election",
                 "https://www.archives.gov/electoral-college")),
    Event("KXFEDDECISION-26DEC", "KXFEDDECISION", "Fed decision in December 2026", "Dec 16, 2026", "Economics",
          True, ("Federal Reserve FOMC statement", "https://www.federalreserve.gov/monetarypolicy/fomccalendars.htm")),
    Event("KXSB-27", "KXSB", "Super Bowl LXI champion", "Pro football", "Sports",
          True, ("NFL official results", "https://www.nfl.com/")),
    Event("KXHIGHNY-26DEC01", "KXHIGHNY", "Highest temperature in NYC on Dec 1, 2026", "Central Park", "Climate",
          True, ("National Weather Service Daily Climate Report, Central Park", "https://www.weather.gov/okx/")),
    Event("KXBTCMAXY-26", "KXBTCMAXY", "How high will Bitcoin get in 2026?", "Before Jan 1, 2027", "Crypto",
          False, ("CF Benchmarks Bitcoin Real Time Index", "https://www.cfbenchmarks.com/")),
    Event("KXCPIYOY-26OCT", "KXCPIYOY", "CPI year-over-year in October 2026", "BLS release", "Economics",
          False, ("Bureau of Labor Statistics CPI release", "https://www.bls.gov/cpi/")),
)

MARKETS = (
    DemoMarket("KXPRESPERSON-28-JVAN", "KXPRESPERSON-28", "Will JD Vance win the 2028 presidential election?",
               "JD Vance", Decimal("0.30"), 720, 900, 70,
               "If JD Vance wins the 2028 U.S. presidential election, then the market resolves to Yes."),
    DemoMarket("KXPRESPERSON-28-GNEW", "KXPRESPERSON-28", "Will Gavin Newsom win the 2028 presidential election?",
               "Gavin Newsom", Decimal("0.19"), 720, -150, 12,
               "If Gavin Newsom wins the 2028 U.S. presidential election, then the market resolves to Yes.",
               by_hand=True),
    DemoMarket("KXFEDDECISION-26DEC-C25", "KXFEDDECISION-26DEC", "Will the Fed cut rates by 25 bps in December 2026?",
               "Cut 25bps", Decimal("0.63"), 24, 500, 60,
               "If the Federal Reserve cuts the upper bound of the federal funds target range by exactly 25 bps "
               "at its December 2026 meeting, then the market resolves to Yes."),
    DemoMarket("KXFEDDECISION-26DEC-H0", "KXFEDDECISION-26DEC", "Will the Fed hold rates in December 2026?",
               "Hold", Decimal("0.32"), 24, -200, 40,
               "If the Federal Reserve leaves the federal funds target range unchanged at its December 2026 "
               "meeting, then the market resolves to Yes."),
    DemoMarket("KXSB-27-KC", "KXSB-27", "Will Kansas City win Super Bowl LXI?", "Kansas City", Decimal("0.17"),
               84, -250, 40, "If the Kansas City Chiefs win Super Bowl LXI, then the market resolves to Yes."),
    DemoMarket("KXHIGHNY-26DEC01-B45", "KXHIGHNY-26DEC01", "Will the high temp in NYC be 44-45° on Dec 1, 2026?",
               "44° to 45°", Decimal("0.22"), 9, 75, 20,
               "If the highest temperature recorded in Central Park, New York on Dec 1, 2026 is between 44° and "
               "45° Fahrenheit inclusive, then the market resolves to Yes."),
    DemoMarket("KXBTCMAXY-26-150000", "KXBTCMAXY-26", "Will Bitcoin reach $150,000 in 2026?", "Above $150,000",
               Decimal("0.24"), 39, 0, 0,
               "If the price of Bitcoin is above $150,000.00 at any time before Jan 1, 2027, then the market "
               "resolves to Yes."),
    DemoMarket("KXCPIYOY-26OCT-T3.0", "KXCPIYOY-26OCT", "Will CPI YoY be above 3.0% for October 2026?",
               "Above 3.0%", Decimal("0.41"), -5, 120, 25,
               "If the year-over-year change in the CPI-U for October 2026 is above 3.0%, then the market resolves "
               "to Yes."),
)
# Settled markets: result and the observed value it was decided on.
SETTLED = {"KXCPIYOY-26OCT-T3.0": ("no", "2.9%")}
RESTING = ("KXFEDDECISION-26DEC-C25", "bid", Decimal("50"), Decimal("0.60"))


def load_markets(x: KalshiExchange, rng: random.Random) -> None:
    now = x.clock.now_ms()
    for event in EVENTS:
        x.add_event(event)
    for m in MARKETS:
        source, url = x.events[m.event_ticker].settlement_source or ("", "")
        x.add_market(Market(m.ticker, m.event_ticker, m.title, m.yes_sub_title, f"Not {m.yes_sub_title}",
                            open_time_ms=now - 60 * DAY_MS, close_time_ms=now + m.close_days * DAY_MS,
                            created_ms=now - 61 * DAY_MS, rules_primary=m.rules_primary,
                            rules_secondary=f"The result is taken from the {source} ({url})."))
        _seed_book(x, m.ticker, m.mid, rng)


def _seed_book(x: KalshiExchange, ticker: str, mid: Decimal, rng: random.Random) -> None:
    """Five levels of other participants' bids each side, one cent apart, a two-cent spread."""
    for level in range(1, 6):
        yes_price = mid - CENT * level
        no_price = ONE - mid - CENT * level
        for side, price in (("yes", yes_price), ("no", no_price)):
            if price > 0:
                x.add_liquidity(ticker, side, price, Decimal(rng.randrange(50, 800)))


def load_kalshi_demo(x: KalshiExchange, seed: int) -> None:
    rng = random.Random(seed)
    load_markets(x, rng)
    now = x.clock.now_ms()
    start = now - 30 * DAY_MS
    trades: list[tuple[int, str, str, Decimal, Decimal, bool]] = []
    for m in MARKETS:
        if not m.fills:
            continue
        span = 20 * DAY_MS if m.ticker in SETTLED else 28 * DAY_MS
        for i, (side, count, price) in enumerate(_history(m.target, m.fills, m.mid, rng)):
            ts = start + (i * span) // m.fills + rng.randrange(HOUR_MS)
            trades.append((ts, m.ticker, side, count, price, m.by_hand))
    for n, (ts, ticker, side, count, price, by_hand) in enumerate(sorted(trades, key=lambda t: (t[0], t[1]))):
        x.external_trade(ticker, side, count, price, ts_ms=ts, is_taker=rng.random() < 0.7,
                         client_order_id="" if by_hand else f"trueup-demo-{n:04d}")
    for ticker, (result, observed) in SETTLED.items():
        x.settle(ticker, result, expiration_value=observed)
    ticker, side, count, price = RESTING
    x.place_order(ticker=ticker, client_order_id="trueup-demo-resting-0001", side=side, count=count, price=price,
                  time_in_force="good_till_canceled")


def _history(target: int, n: int, mid: Decimal, rng: random.Random) -> list[tuple[str, Decimal, Decimal]]:
    """`n` fills netting to `target`: buys of the target side with a few partial sells between,
    never crossing zero. Returns (book side, count, YES price)."""
    sells = n // 5
    sold = [rng.randrange(1, 6) for _ in range(sells)]
    buys = n - sells
    total_bought = abs(target) + sum(sold)
    cuts = sorted(rng.sample(range(1, total_bought), buys - 1))
    bought = [b - a for a, b in zip([0, *cuts], [*cuts, total_bought])]
    buy_side, sell_side = ("bid", "ask") if target > 0 else ("ask", "bid")
    out: list[tuple[str, Decimal, Decimal]] = []
    held = 0
    pending = list(sold)
    for i, size in enumerate(bought):
        out.append((buy_side, Decimal(size), _near(mid, rng)))
        held += size
        remaining_buys = len(bought) - i - 1
        while pending and held - pending[0] >= 1 and (rng.random() < 0.3 or remaining_buys < len(pending)):
            out.append((sell_side, Decimal(pending[0]), _near(mid, rng)))
            held -= pending.pop(0)
    return out


def _near(mid: Decimal, rng: random.Random) -> Decimal:
    return min(max(mid + CENT * rng.randrange(-4, 5), Decimal("0.02")), Decimal("0.98"))


def _empty(sim: Simulator, seed: int) -> None:
    sim.reset(seed)


def _markets(sim: Simulator, seed: int) -> None:
    sim.reset(seed)
    load_markets(sim.kalshi, random.Random(seed))


def _demo(sim: Simulator, seed: int) -> None:
    sim.reset(seed)
    load_kalshi_demo(sim.kalshi, seed)
    load_polymarket_demo(sim.polymarket, seed)


SCENARIOS: dict[str, Callable[[Simulator, int], None]] = {"empty": _empty, "markets": _markets, "demo": _demo}


def load_scenario(sim: Simulator, name: str, seed: int) -> None:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; expected one of {sorted(SCENARIOS)}")
    SCENARIOS[name](sim, seed)
    sim.scenario = name
