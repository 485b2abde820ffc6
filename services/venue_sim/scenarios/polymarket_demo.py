"""Deterministic Polymarket demo account: positions, several pages of history, live-looking books.

Events (the Kalshi leg, where there is one, is the same real-world question):
- 2028 US presidential election: "Will JD Vance win ...?" YES 1500 (Kalshi counterpart),
  "Will Gavin Newsom win ...?" NO 600 bought by hand on the website (its trades are in the
  account's history all the same), then all 600 transferred out: the GHOST below.
- Fed decision, December 2026 (a negative-risk event): "25 bps cut" YES 800 bought, 150 of them
  transferred out (the DRIFT below); "No change" YES was bought and fully sold (a CLOSED
  position in /v2/positions), and 150 "No change" NO were transferred in (the ORPHAN below).
- Super Bowl LXI: "Will the Kansas City Chiefs win?" YES 400, plus one recent 10-share buy
  whose settlement FAILED (visible in /data/trades, absent from positions).
- No Kalshi counterpart: "Will Taylor Swift release a new studio album in 2026?" YES 250.
- Dust: "Will Bitcoin reach $150,000 by December 31, 2026?" YES 0.42 shares, hidden by the
  Data API's default sizeThreshold=1.
- Resolved: "Will US CPI inflation be above 3.0% for October 2026?" NO 300, resolved No (the
  Kalshi demo's settled KXCPIYOY-26OCT-T3.0 is the same question): redeemable at 1 a share.
- One resting GTC bid (Vance YES, 200 @ 0.25) placed outside the bot: an orphaned open order.

History trades are forced to settle CONFIRMED (except the one FAILED buy) so the positions
above do not depend on `failed_share`. Roughly 240 trades: three CLOB pages of 100.

Deliberate differences between the trade history (all a fills-fed ledger can know) and the Data
API's /positions ("venue"): ERC-1155 transfers, not trades (TRANSFERS), 3 days, 36 h and 18 h ago,
after every history trade. The orphan's shares came in valued at 0.68; those that left keep the
holding's average.

| case   | token                                                                  | traded | venue | transfer    |
|--------|------------------------------------------------------------------------|--------|-------|-------------|
| ORPHAN | no-change-in-fed-interest-rates-after-december-2026-meeting NO         | 0      | 150   | +150 @ 0.68 |
| GHOST  | will-gavin-newsom-win-the-2028-us-presidential-election NO             | 600    | 0     | -600        |
| DRIFT  | fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting YES | 800    | 650   | -150        |

Every other holding's /positions size is its trades' net.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from decimal import Decimal

from services.venue_sim.domain.polymarket import Market, OrderIntent, PolymarketExchange, Token
from services.venue_sim.domain.polymarket_math import order_amounts

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DemoMarket:
    slug: str
    question: str
    event_slug: str
    event_id: int
    end_date: str
    yes_mid: Decimal
    neg_risk: bool = False
    winner: str | None = None  # the outcome it resolved to, for a market already decided


ELECTION = "presidential-election-winner-2028"
FED = "fed-decision-in-december-2026"
SUPER_BOWL = "super-bowl-champion-2027"

MARKETS = (
    DemoMarket("will-jd-vance-win-the-2028-us-presidential-election",
               "Will JD Vance win the 2028 US Presidential Election?", ELECTION, 31552, "2028-11-07",
               Decimal("0.29"), neg_risk=True),
    DemoMarket("will-gavin-newsom-win-the-2028-us-presidential-election",
               "Will Gavin Newsom win the 2028 US Presidential Election?", ELECTION, 31552, "2028-11-07",
               Decimal("0.19"), neg_risk=True),
    DemoMarket("fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting",
               "Will the Fed decrease interest rates by 25 bps after the December 2026 meeting?", FED, 40211,
               "2026-12-16", Decimal("0.64"), neg_risk=True),
    DemoMarket("no-change-in-fed-interest-rates-after-december-2026-meeting",
               "Will there be no change in Fed interest rates after the December 2026 meeting?", FED, 40211,
               "2026-12-16", Decimal("0.31"), neg_risk=True),
    DemoMarket("will-the-kansas-city-chiefs-win-super-bowl-lxi",
               "Will the Kansas City Chiefs win Super Bowl LXI?", SUPER_BOWL, 38870, "2027-02-14",
               Decimal("0.16"), neg_risk=True),
    DemoMarket("will-taylor-swift-release-a-new-studio-album-in-2026",
               "Will Taylor Swift release a new studio album in 2026?", "taylor-swift-new-album-2026", 41877,
               "2026-12-31", Decimal("0.42")),
    DemoMarket("will-bitcoin-reach-150000-by-december-31-2026",
               "Will Bitcoin reach $150,000 by December 31, 2026?", "what-price-will-bitcoin-hit-in-2026", 39904,
               "2026-12-31", Decimal("0.23")),
    DemoMarket("will-us-cpi-inflation-be-above-3pt0-for-october-2026",
               "Will US CPI inflation be above 3.0% for October 2026?", "us-cpi-inflation-october-2026", 42310,
               "2026-11-12", Decimal("0.38"), winner="No"),
)

# (market slug, outcome, shares the trades net to, number of history trades, buy price anchor)
HOLDINGS = (
    ("will-jd-vance-win-the-2028-us-presidential-election", "Yes", Decimal("1500"), 60, Decimal("0.31")),
    ("will-gavin-newsom-win-the-2028-us-presidential-election", "No", Decimal("600"), 24, Decimal("0.80")),
    ("fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting", "Yes", Decimal("800"), 50, Decimal("0.58")),
    ("no-change-in-fed-interest-rates-after-december-2026-meeting", "Yes", Decimal("0"), 16, Decimal("0.35")),
    ("will-the-kansas-city-chiefs-win-super-bowl-lxi", "Yes", Decimal("400"), 40, Decimal("0.18")),
    ("will-taylor-swift-release-a-new-studio-album-in-2026", "Yes", Decimal("250"), 30, Decimal("0.37")),
    ("will-bitcoin-reach-150000-by-december-31-2026", "Yes", Decimal("0.42"), 20, Decimal("0.21")),
    ("will-us-cpi-inflation-be-above-3pt0-for-october-2026", "No", Decimal("300"), 12, Decimal("0.62")),
)


# (market slug, outcome, signed shares, avg price of shares received, how long ago)
TRANSFERS = (
    ("no-change-in-fed-interest-rates-after-december-2026-meeting", "No", Decimal("150"), Decimal("0.68"),
     3 * DAY_MS),
    ("will-gavin-newsom-win-the-2028-us-presidential-election", "No", Decimal("-600"), None, 36 * HOUR_MS),
    ("fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting", "Yes", Decimal("-150"), None,
     18 * HOUR_MS),
)


def condition_id_for(slug: str) -> str:
    return "0x" + hashlib.sha256(f"condition:{slug}".encode()).hexdigest()


def token_id_for(slug: str, outcome: str) -> str:
    # 256-bit decimal strings like real CTF position ids (never in the protocol-v2 id range).
    return str(int.from_bytes(hashlib.sha256(f"token:{slug}:{outcome}".encode()).digest(), "big"))


def load_polymarket_demo(exchange: PolymarketExchange, seed: int) -> None:
    rng = random.Random(seed)
    now = exchange.clock.now_ms()
    for m in MARKETS:
        market = Market(
            condition_id=condition_id_for(m.slug), question=m.question, slug=m.slug,
            event_slug=m.event_slug, event_id=m.event_id, end_date=m.end_date,
            tokens=(Token(token_id_for(m.slug, "Yes"), "Yes", 0), Token(token_id_for(m.slug, "No"), "No", 1)),
            neg_risk=m.neg_risk,
        )
        exchange.add_market(market)
        if m.winner is None:  # a resolved market's book is gone
            _seed_books(exchange, market, m.yes_mid, rng)

    start = now - 30 * DAY_MS
    for slug, outcome, final, count, anchor in HOLDINGS:
        token_id = token_id_for(slug, outcome)
        for i, (side, size, price) in enumerate(_history(final, count, anchor, rng)):
            when = start + (i * 28 * DAY_MS) // count + rng.randrange(HOUR_MS)
            exchange.record_external_trade(token_id, side, size, price, match_ms=when, will_fail=False)
    exchange.record_external_trade(
        token_id_for("will-the-kansas-city-chiefs-win-super-bowl-lxi", "Yes"), "BUY", Decimal("10"),
        Decimal("0.17"), match_ms=now - 2 * HOUR_MS, will_fail=True,
    )
    # Resolved after its history was traded (resolving clears the market's book).
    for m in MARKETS:
        if m.winner is not None:
            exchange.resolve_market(condition_id_for(m.slug), m.winner)
    # Leave about 2,500 USDC free whatever the history cost (transfers move no USDC).
    exchange.set_collateral(Decimal("2500") - (exchange.collateral() - exchange.starting_collateral))
    for slug, outcome, size, avg_price, ago_ms in TRANSFERS:
        exchange.record_transfer(token_id_for(slug, outcome), size, avg_price, at_ms=now - ago_ms)
    _orphan_order(exchange, token_id_for(MARKETS[0].slug, "Yes"), now)


def _history(final: Decimal, count: int, anchor: Decimal, rng: random.Random) -> list[tuple[str, Decimal, Decimal]]:
    """`count` fills netting to `final` shares: buys, with a few partial sells after them."""
    sells = count // 4
    buys = count - sells
    sold = [Decimal(rng.randrange(5, 40)) for _ in range(sells)]
    target_bought = final + sum(sold, Decimal(0))
    weights = [rng.randrange(1, 10) for _ in range(buys)]
    bought = [(target_bought * w / sum(weights)).quantize(CENT) for w in weights]
    bought[-1] += target_bought - sum(bought, Decimal(0))
    fills: list[tuple[str, Decimal, Decimal]] = []
    held = Decimal(0)
    pending = list(sold)
    for size in bought:
        fills.append(("BUY", size, _price_near(anchor, rng)))
        held += size
        # Sell once holdings comfortably cover it, so the running position never goes short.
        if pending and held - pending[0] > final and rng.random() < 0.5:
            fills.append(("SELL", pending[0], _price_near(anchor + CENT * 2, rng)))
            held -= pending.pop(0)
    fills.extend(("SELL", size, _price_near(anchor + CENT * 2, rng)) for size in pending)
    return fills


def _price_near(anchor: Decimal, rng: random.Random) -> Decimal:
    return min(max(anchor + CENT * rng.randint(-4, 4), CENT), 1 - CENT)


def _seed_books(exchange: PolymarketExchange, market: Market, yes_mid: Decimal, rng: random.Random) -> None:
    """Five levels a side around `yes_mid`; the NO book mirrors YES (NO bid = 1 - YES ask)."""
    best_bid, best_ask = yes_mid - CENT, yes_mid + CENT
    bids = [(best_bid - CENT * i, Decimal(rng.randrange(50, 2000))) for i in range(5)]
    asks = [(best_ask + CENT * i, Decimal(rng.randrange(50, 2000))) for i in range(5)]
    yes, no = market.tokens
    exchange.set_book(yes.token_id, bids, asks)
    exchange.set_book(no.token_id, [(1 - p, s) for p, s in asks], [(1 - p, s) for p, s in bids])


def _orphan_order(exchange: PolymarketExchange, token_id: str, now_ms: int) -> None:
    maker_amount, taker_amount = order_amounts("BUY", Decimal("0.25"), Decimal("200"))
    exchange.place_order(OrderIntent(
        order_hash="0x" + hashlib.sha256(b"demo-orphan-order").hexdigest(), salt=1, maker=exchange.config.address,
        signer=exchange.config.address, token_id=token_id, maker_amount=maker_amount, taker_amount=taker_amount,
        side="BUY", signature_type=0, timestamp_ms=now_ms - DAY_MS, expiration=0, order_type="GTC",
        post_only=False, owner=exchange.config.api_key,
    ))
