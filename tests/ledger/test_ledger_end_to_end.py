"""The whole chain on the demo account, every service a real process: venue simulator ->
exchange-gateway (fills, settlements, marks, balances) -> bus -> ledger -> api-gateway.

Which demo holdings the ledger must reproduce (services/venue_sim/scenarios/): the ledger is
built from the trades the account's fills feed serves, the whole history of each instrument
included — the "by hand" ones too (Kalshi KXPRESPERSON-28-GNEW, Polymarket's Newsom NO: made
outside the bot, but a venue lists an account's every fill), so each open position's quantity
must equal what the venue reports — except where the demo deliberately changed a holding without
a trade (polymarket_demo.TRANSFERS: outcome tokens moved in or out of the wallet): the ORPHAN
(the venue holds it, the ledger does not), the GHOST (the ledger holds it, the venue does not)
and the DRIFT (both hold it, the venue by the transferred amount less). Markets already decided
differ too, by design: the ledger closes them at settlement while Polymarket keeps listing the
resolved (unredeemed) shares.

A full-page screenshot of the Portfolio page on this stack is kept at
build/screenshots/portfolio-demo.png (or under $TRUEUP_SCREENSHOT_DIR).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from services.api_gateway.login_link import mint_login_link
from services.venue_sim.domain import kalshi as kalshi_sim
from services.venue_sim.scenarios import demo, polymarket_demo
from services.venue_sim.scenarios.polymarket_demo import token_id_for
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import Stack, get_external, start_stack
from tests.support.venue_sim import RunningSim, running_sim
from tests.ui.test_holdings_page import CHROMIUM, MONEY, SCREENSHOTS, require_browser
from tests.support.polling import eventually

ZERO = Decimal(0)
ONE = Decimal(1)

Key = tuple[str, str, str]  # (venue, instrument, outcome as held)

# The demo's deliberate differences: Polymarket tokens transferred in or out without a trade.
ORPHAN: Key = ("polymarket", token_id_for("no-change-in-fed-interest-rates-after-december-2026-meeting", "No"), "no")
GHOST: Key = ("polymarket", token_id_for("will-gavin-newsom-win-the-2028-us-presidential-election", "No"), "no")
DRIFT: Key = ("polymarket", token_id_for("fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting", "Yes"),
              "yes")
TRANSFERRED = {("polymarket", token_id_for(slug, outcome), outcome.lower()): size
               for slug, outcome, size, _, _ in polymarket_demo.TRANSFERS}


@dataclass
class Demo:
    sim: RunningSim
    stack: Stack
    api: httpx.AsyncClient
    admin: httpx.AsyncClient


@pytest.fixture(scope="module")
async def demo_stack(nats_users, database_factory, tmp_path_factory) -> AsyncIterator[Demo]:
    # A database of its own: the gateway's fill checkpoints and the ledger's book must start
    # empty, and the session's database may hold another test's run of the same demo.
    database_url = database_factory("trueup_ledger_e2e")
    async with running_sim(scenario="demo") as sim:
        env = {**gateway_env(sim, tmp_path_factory.mktemp("ledger-e2e")),
               # The demo's settled markets are read at the first poll either way; a short interval
               # only keeps a slow first poll from costing the test 30 s.
               "SETTLEMENT_POLL_INTERVAL_SECONDS": "1"}
        # Snapshots every 2 s: the history chart has points within seconds.
        stack = start_stack(nats_users, database_url, env, ledger={"PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS": "2"})
        try:
            async with (stack.client(timeout=40) as api,
                        httpx.AsyncClient(base_url=f"{sim.admin_url}/_sim", timeout=10) as admin):
                await get_external(api)  # the gateway is up and has read both venues once
                yield Demo(sim, stack, api, admin)
        finally:
            # Shown by pytest only when a test failed: what each service said.
            for name, log in stack.stop().items():
                print(f"----- {name} -----\n{log[-20000:]}")


async def ledger_positions(api: httpx.AsyncClient, **params: str) -> list[dict]:
    response = await api.get("/api/v2/positions", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["positions"])  # one page holds the whole demo book
    return page["positions"]


def key(position: dict) -> Key:
    return position["venue"], position["instrument_id"], position["outcome"]


def resolved_tokens(sim: RunningSim) -> set[str]:
    """Polymarket tokens of markets already decided: the Data API keeps listing them (redeemable)."""
    return {token.token_id for market in sim.sim.polymarket.markets.values() if market.winner_index is not None
            for token in market.tokens}


def kalshi_cash_flow(sim: RunningSim, ticker: str) -> Decimal:
    """The account's net cash from a Kalshi ticker, straight from the simulator's fills and
    settlement: YES bought at the YES price, NO at 1 − it (a YES sell beyond the YES holding buys
    NO), fees paid, the settlement's payout received."""
    held, cash = ZERO, ZERO  # held: signed YES contracts
    for fill in sorted((f for f in sim.sim.kalshi.fills if isinstance(f, kalshi_sim.Fill) and f.ticker == ticker),
                       key=lambda f: f.seq):
        yes, no = fill.yes_price, ONE - fill.yes_price
        if fill.book_side == "bid":  # buys YES: first sells back NO held, then buys YES
            closing = min(fill.count, max(-held, ZERO))
            cash += closing * no - (fill.count - closing) * yes
            held += fill.count
        else:  # sells YES: first sells YES held, then buys NO
            closing = min(fill.count, max(held, ZERO))
            cash += closing * yes - (fill.count - closing) * no
            held -= fill.count
        cash -= fill.fee
    market = sim.sim.kalshi.markets[ticker]
    if market.result in ("yes", "no"):
        yes_value = ONE if market.result == "yes" else ZERO
        cash += held * yes_value if held > 0 else -held * (ONE - yes_value)
    return cash


def polymarket_cash_flow(sim: RunningSim, token_id: str) -> Decimal:
    """The account's net USDC from a token: trades that did not fail (no fees on the demo's
    markets), plus 1 a share for a winning token once its market resolved."""
    exchange = sim.sim.polymarket
    cash = ZERO
    for trade in exchange.effective_trades():
        if trade.token_id == token_id:
            cash += trade.size * trade.price * (1 if trade.side == "SELL" else -1)
    market = exchange.market_of(token_id)
    if market.winner_index is not None and market.token(token_id).outcome_index == market.winner_index:
        cash += exchange.position(token_id).size
    return cash


def polymarket_traded(sim: RunningSim, resolved: set[str]) -> dict[Key, Decimal]:
    """Each open Polymarket token's shares as its trades (not FAILED) net out: what a ledger fed
    by the trade history can hold."""
    exchange = sim.sim.polymarket
    net: dict[str, Decimal] = {}
    for trade in exchange.effective_trades():
        net[trade.token_id] = net.get(trade.token_id, ZERO) + (trade.size if trade.side == "BUY" else -trade.size)
    return {("polymarket", token, exchange.market_of(token).token(token).outcome.lower()): size
            for token, size in net.items() if size != 0 and token not in resolved}


async def test_open_positions_are_what_the_venues_hold(demo_stack: Demo):
    sim, api = demo_stack.sim, demo_stack.api
    resolved = resolved_tokens(sim)
    assert {ORPHAN, GHOST, DRIFT} == TRANSFERRED.keys()

    async def books_agree() -> tuple[dict[Key, Decimal], dict[Key, Decimal]]:
        external = (await api.get("/api/positions/external", params={"refresh": "1"})).json()["external"]
        venue = {(p["venue"], p["instrument_id"], p["outcome"]): Decimal(p["quantity"])
                 for name in ("kalshi", "polymarket") for p in external[name]["positions"]
                 if p["instrument_id"] not in resolved}
        ledger = {key(p): Decimal(p["quantity"]) for p in await ledger_positions(api, status="open")}
        assert {k: q for k, q in ledger.items() if k not in TRANSFERRED} == \
            {k: q for k, q in venue.items() if k not in TRANSFERRED}
        # The deliberate cases, each exactly: the orphan only at the venue, the ghost only in
        # the ledger, the drift in both, apart by the transferred amount.
        assert ORPHAN not in ledger and venue[ORPHAN] == TRANSFERRED[ORPHAN] == Decimal("150")
        assert GHOST not in venue and ledger[GHOST] == -TRANSFERRED[GHOST] == Decimal("600")
        assert (ledger[DRIFT], venue[DRIFT]) == (Decimal("800"), Decimal("650"))
        assert venue[DRIFT] - ledger[DRIFT] == TRANSFERRED[DRIFT]
        return ledger, venue

    held, venue = await eventually(books_agree, "the ledger's open positions equal the venues' holdings "
                                                "but for the demo's orphan, ghost and drift")
    # And the holdings are the demo's (not two empty books agreeing): Kalshi's six netted tickers
    # as YES/NO holdings, Polymarket's tokens including the 0.42-share dust and the Chiefs YES at
    # 400, the later 10-share buy whose settlement FAILED reversed — in the ledger as the trades
    # net out, at the venue as the simulator holds them (the transfers included).
    kalshi = {("kalshi", ticker, "yes" if position.signed > 0 else "no"): abs(position.signed)
              for ticker, position in sim.sim.kalshi.positions.items() if position.signed != 0 and not position.settled}
    exchange = sim.sim.polymarket
    polymarket = {("polymarket", token, exchange.market_of(token).token(token).outcome.lower()): position.size
                  for token, position in exchange.positions().items() if position.size != 0 and token not in resolved}
    assert held == kalshi | polymarket_traded(sim, resolved)
    assert venue == kalshi | polymarket
    # (`held` may hold more than the demo when another test of this module traded first.)
    assert {("kalshi", m.ticker) for m in demo.MARKETS if m.target and m.ticker not in demo.SETTLED} <= \
        {(venue, instrument) for venue, instrument, _ in held}
    chiefs = token_id_for("will-the-kansas-city-chiefs-win-super-bowl-lxi", "Yes")
    assert held[("polymarket", chiefs, "yes")] == Decimal("400")
    dust = token_id_for("will-bitcoin-reach-150000-by-december-31-2026", "Yes")
    assert held[("polymarket", dust, "yes")] == Decimal("0.42")

    # Every fill reached the book, not just the right net quantity: for each instrument, what the
    # ledger says was realized minus what it still carries at cost is the account's net cash
    # from it (the position math's invariant), exact to the last digit.
    everything = await ledger_positions(api)
    for venue, instrument in {(p["venue"], p["instrument_id"]) for p in everything}:
        lifecycles = [p for p in everything if (p["venue"], p["instrument_id"]) == (venue, instrument)]
        booked = sum((Decimal(p["realized_pnl"]) - Decimal(p["cost_basis"]) for p in lifecycles), ZERO)
        cash = kalshi_cash_flow(sim, instrument) if venue == "kalshi" else polymarket_cash_flow(sim, instrument)
        assert booked == cash, (venue, instrument)


async def test_settled_markets_are_closed_with_their_realized_pnl(demo_stack: Demo):
    sim, api = demo_stack.sim, demo_stack.api
    # The demo settles Kalshi's CPI market NO (the account held 120 YES) and resolves
    # Polymarket's CPI market No (the account held 300 NO).
    (kalshi_ticker,) = demo.SETTLED
    cpi_no = token_id_for("will-us-cpi-inflation-be-above-3pt0-for-october-2026", "No")

    async def settled() -> dict[Key, dict]:
        closed = {key(p): p for p in await ledger_positions(api, status="closed")}
        assert {("kalshi", kalshi_ticker, "yes"), ("polymarket", cpi_no, "no")} <= closed.keys()
        assert all(closed[k]["settlement_result"] == "no"
                   for k in (("kalshi", kalshi_ticker, "yes"), ("polymarket", cpi_no, "no")))
        return closed

    closed = await eventually(settled, "the settled markets' positions are closed")
    kalshi = closed[("kalshi", kalshi_ticker, "yes")]
    assert Decimal(kalshi["quantity"]) == 0 and Decimal(kalshi["cost_basis"]) == 0
    assert kalshi["closed_at"] is not None and kalshi["mark_price"] is None
    # YES settled at 0: everything paid for it (and its fees) is lost; realized is the net cash.
    assert Decimal(kalshi["realized_pnl"]) == kalshi_cash_flow(sim, kalshi_ticker) < 0
    poly = closed[("polymarket", cpi_no, "no")]
    assert Decimal(poly["quantity"]) == 0
    # NO won: 300 shares paid 1 each, well above what they cost.
    assert Decimal(poly["realized_pnl"]) == polymarket_cash_flow(sim, cpi_no) > 0
    # Fully sold before any settlement (Polymarket's Fed "no change"): closed, and not settled.
    no_change = token_id_for("no-change-in-fed-interest-rates-after-december-2026-meeting", "Yes")
    sold = closed[("polymarket", no_change, "yes")]
    assert sold["settlement_result"] is None and Decimal(sold["quantity"]) == 0


async def test_an_external_trade_shows_within_seconds(demo_stack: Demo):
    api, admin = demo_stack.api, demo_stack.admin
    # Instruments the account does not hold, so each trade opens a position of its own.
    ticker = "KXBTCMAXY-26-150000"  # flat in the demo
    response = await admin.post("/kalshi/external-trades",
                                json={"ticker": ticker, "side": "yes", "action": "buy", "count": "7", "price": "0.24"})
    assert response.status_code == 201, response.text
    album_no = token_id_for("will-taylor-swift-release-a-new-studio-album-in-2026", "No")  # the demo holds YES
    response = await admin.post("/polymarket/external-trades",
                                json={"asset": album_no, "side": "BUY", "size": "25.5", "price": "0.57",
                                      "will_fail": False})
    assert response.status_code == 201, response.text

    async def shown() -> dict[Key, dict]:
        found = {key(p): p for p in await ledger_positions(api, status="open")}
        assert {("kalshi", ticker, "yes"), ("polymarket", album_no, "no")} <= found.keys()
        return found

    found = await eventually(shown, "the injected trades show in /api/v2/positions")
    for k, quantity, price in ((("kalshi", ticker, "yes"), Decimal("7"), Decimal("0.24")),
                               (("polymarket", album_no, "no"), Decimal("25.5"), Decimal("0.57"))):
        position = found[k]
        assert position["origin"] == "external" and position["strategy_name"] is None
        assert Decimal(position["quantity"]) == quantity
        assert Decimal(position["avg_price"]) == price
        assert Decimal(position["cost_basis"]) == quantity * price

    # Its title follows with the gateway's next holdings snapshot (the ledger learns titles only
    # from those): a trader reads markets by name.
    async def titled() -> None:
        found = {key(p): p for p in await ledger_positions(api, status="open")}
        assert found[("kalshi", ticker, "yes")]["title"] == demo_stack.sim.sim.kalshi.markets[ticker].title
        assert found[("polymarket", album_no, "no")]["title"] == \
            demo_stack.sim.sim.polymarket.market_of(album_no).question

    await eventually(titled, "the new positions' titles")


async def test_the_summary_adds_up_the_listed_positions(demo_stack: Demo):
    api = demo_stack.api

    async def consistent() -> tuple[dict, list[dict]]:
        # Marks and balances keep arriving: read the book twice around the summary and use a
        # moment when it held still.
        before = await ledger_positions(api)
        response = await api.get("/api/v2/positions/summary")
        assert response.status_code == 200, response.text
        after = await ledger_positions(api)
        assert before == after
        return response.json()["totals"], after

    totals, positions = await eventually(consistent, "a quiet moment to compare the summary with the book")
    open_ = [p for p in positions if p["status"] == "open"]
    total = lambda values: sum((Decimal(v) for v in values), ZERO)  # noqa: E731
    assert totals["open_positions"] == len(open_) > 0
    assert Decimal(totals["total_cost_basis"]) == total(p["cost_basis"] for p in open_)
    # A position without a mark counts at cost, with no unrealized PnL.
    assert Decimal(totals["total_market_value"]) == total(p["market_value"] or p["cost_basis"] for p in open_)
    assert Decimal(totals["unrealized_pnl"]) == total(p["unrealized_pnl"] or "0" for p in open_)
    assert totals["unvalued_positions"] == sum(1 for p in open_ if p["mark_price"] is None)
    # Realized PnL and fees count every position, closed ones included.
    assert Decimal(totals["realized_pnl"]) == total(p["realized_pnl"] for p in positions)
    assert Decimal(totals["fees"]) == total(p["fees"] for p in positions)
    assert Decimal(totals["net_liquidation"]) == Decimal(totals["cash"]) + Decimal(totals["total_market_value"])

    # Cash is the two venues' own balances (refreshed by the ledger at every snapshot).
    async def cash_is_the_venues() -> None:
        external = (await api.get("/api/positions/external", params={"refresh": "1"})).json()["external"]
        venues = total(external[name]["balance"]["cash"] for name in ("kalshi", "polymarket"))
        summary = (await api.get("/api/v2/positions/summary")).json()["totals"]
        assert Decimal(summary["cash"]) == venues

    await eventually(cash_is_the_venues, "the summary's cash equals the venues' balances")


async def test_marks_value_the_open_positions(demo_stack: Demo):
    api = demo_stack.api
    # The demo's books are seeded around these mids (a two-cent spread): the mark of the held
    # outcome is the mid, or 1 − the YES mid for a NO holding.
    yes_mids = {("kalshi", m.ticker): m.mid for m in demo.MARKETS}
    for m in polymarket_demo.MARKETS:
        yes_mids[("polymarket", token_id_for(m.slug, "Yes"))] = m.yes_mid
        yes_mids[("polymarket", token_id_for(m.slug, "No"))] = ONE - m.yes_mid  # that token's own book

    # The gateway marks what the venue holds and what the ledger holds: the ghost, gone from the
    # venue, is valued too.
    async def valued() -> list[dict]:
        held = await ledger_positions(api, status="open")
        assert GHOST in {key(p) for p in held} and all(p["mark_price"] is not None for p in held)
        return held

    for position in await eventually(valued, "every open position has a mark"):
        venue, instrument, outcome = key(position)
        mid = yes_mids[(venue, instrument)]
        mark, quantity = Decimal(position["mark_price"]), Decimal(position["quantity"])
        assert mark == (ONE - mid if venue == "kalshi" and outcome == "no" else mid), position
        assert position["mark_as_of"] is not None
        assert Decimal(position["market_value"]) == mark * quantity
        assert Decimal(position["unrealized_pnl"]) == (mark - Decimal(position["avg_price"])) * quantity


async def test_the_portfolio_page_shows_the_demo_book(demo_stack: Demo):
    require_browser()
    from playwright.async_api import async_playwright

    api, stack = demo_stack.api, demo_stack.stack

    # The chart needs two snapshots; wait for two of the whole book (the very first, taken as the
    # ledger started, may predate every fill), everything valued (the ghost too).
    async def charted() -> None:
        history = (await api.get("/api/v2/portfolio/history")).json()["snapshots"]
        full = [s for s in history if s["totals"]["open_positions"] > 0 and s["totals"]["unvalued_positions"] == 0]
        assert len(full) >= 2

    await eventually(charted, "two portfolio snapshots")
    open_count = len(await ledger_positions(api, status="open"))

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM,
                                           args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
        # As a trader does: the one-time link `make run` prints, then the Portfolio tab.
        await page.goto(await asyncio.to_thread(mint_login_link, stack.api, stack.token))
        await page.click('nav a[data-page="portfolio"]')
        await page.wait_for_function(
            "() => document.querySelector('[data-kpi=\"net_liquidation\"] .kpi-value').textContent.includes('$')",
            timeout=15000)
        await page.locator("#net-chart canvas").first.wait_for(timeout=15000)
        await page.wait_for_function("n => document.querySelectorAll('#ledger-positions tbody tr').length === n",
                                     arg=open_count, timeout=15000)
        kpi = lambda name: page.locator(f'[data-kpi="{name}"] .kpi-value')  # noqa: E731
        assert await kpi("open_positions").text_content() == str(open_count)
        for name in ("total_cost_basis", "total_market_value", "unrealized_pnl", "realized_pnl", "net_liquidation"):
            assert MONEY.match(await kpi(name).text_content()), name
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "portfolio-demo.png"), full_page=True)
        # The closed ones too: the demo's settled markets and the fully sold position.
        closed_count = len(await ledger_positions(api, status="closed"))
        await page.click('[data-status-filter="closed"]')
        await page.wait_for_function("n => document.querySelectorAll('#ledger-positions tbody tr').length === n",
                                     arg=closed_count, timeout=15000)
        statuses = await page.locator("#ledger-positions tbody td.status").all_text_contents()
        assert sum(1 for status in statuses if status.startswith("settled")) == 2, statuses
        await page.screenshot(path=str(SCREENSHOTS / "portfolio-demo-closed.png"), full_page=True)
        await browser.close()
