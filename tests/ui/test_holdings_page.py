"""The holdings page in a real browser (Debian's Chromium), against the real stack and simulator.

A full-page screenshot is kept at build/screenshots/holdings-page.png (or under
$TRUEUP_SCREENSHOT_DIR) for a human to look at: titles before ids, money formatted, totals.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from services.api_gateway.login_link import mint_login_link
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import get_external, start_stack
from tests.support.venue_sim import running_sim

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("TRUEUP_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "build" / "screenshots"))
MONEY = re.compile(r"^\u2212?\$\d{1,3}(,\d{3})*\.\d{2}$")
KALSHI_PRICE = re.compile(r"^\d{1,3}(\.\d{1,2})?¢$")
POLYMARKET_PRICE = re.compile(r"^(0\.\d{2,4}|1\.00)$")
# Columns: market, outcome, contracts, avg price, mark, cost basis, market value, unrealized, realized.
MARKET, OUTCOME, CONTRACTS, AVG, MARK, COST, VALUE, UNREALIZED = range(8)


def require_browser() -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("TRUEUP_REQUIRE_BROWSER") == "1":  # CI installs it: missing there is a failure
        pytest.fail(f"chromium not found at {CHROMIUM}")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def contracts(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def usd(amount: Decimal) -> str:
    """How a trader expects to read an amount: $8,852.26, −$12.30 (rounded half away from zero)."""
    sign = "\u2212" if amount < 0 else ""
    return f"{sign}${abs(amount).quantize(Decimal('0.01'), rounding='ROUND_HALF_UP'):,}"


async def test_page_shows_both_venues_readably_and_refreshes(nats_users, database_url, tmp_path):
    require_browser()
    from playwright.async_api import async_playwright

    async with running_sim(scenario="demo") as sim:
        stack = start_stack(nats_users, database_url, gateway_env(sim, tmp_path))
        try:
            async with stack.client(timeout=40) as client:
                await get_external(client)  # the stack is up and has answered once
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                context = await browser.new_context(viewport={"width": 1440, "height": 900})
                await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.api)
                page = await context.new_page()
                # Without a session the console says how to get in, and shows no holdings.
                logged_out = await page.goto(stack.api + "/")
                assert logged_out is not None and logged_out.status == 401
                assert "login link" in await page.locator("body").inner_text()
                assert await page.locator("article.venue").count() == 0
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SCREENSHOTS / "logged-out.png"), full_page=True)
                # As a trader does: the one-time link (what `make run` prints) opens a cookie session.
                link = await asyncio.to_thread(mint_login_link, stack.api, stack.token)
                await page.goto(link)
                assert page.url == stack.api + "/"
                await page.click('nav a[data-page="holdings"]')  # the overview is the home page
                kalshi = page.locator('article[data-venue="kalshi"]')
                poly = page.locator('article[data-venue="polymarket"]')
                kalshi_rows, poly_rows = kalshi.locator("tbody tr"), poly.locator("tbody tr")
                await kalshi_rows.first.wait_for(timeout=15000)
                await poly_rows.first.wait_for(timeout=15000)

                held_k = {t: p for t, p in sim.sim.kalshi.positions.items() if p.signed != 0}
                held_p = {a: s for a, s in sim.sim.polymarket.positions().items() if s.size != 0}
                assert await kalshi_rows.count() == len(held_k)
                assert await poly_rows.count() == len(held_p)

                # Marks arrive within a round (1 s here): every holding gets a market value.
                await page.wait_for_function(
                    """() => [...document.querySelectorAll('article.venue tbody tr')]
                             .every(tr => tr.children[6].textContent.includes('$'))""", timeout=20000)

                # Kalshi: the market's title leads the row, then outcome; cents; dollars.
                for ticker, position in held_k.items():
                    cells = await kalshi.locator(f'tr[data-instrument="{ticker}"] td').all_text_contents()
                    assert cells[MARKET].startswith(sim.sim.kalshi.markets[ticker].title)
                    assert ticker in cells[MARKET]  # a Kalshi ticker is short enough to show whole
                    assert cells[OUTCOME] == ("yes" if position.signed > 0 else "no")
                    assert contracts(cells[CONTRACTS]) == abs(position.signed)
                    assert KALSHI_PRICE.match(cells[AVG]) and KALSHI_PRICE.match(cells[MARK]), cells
                    for money in cells[COST:UNREALIZED + 1]:
                        assert MONEY.match(money), cells

                # Polymarket: the question leads, the 77-digit token id is shortened, whole on hover.
                for asset, position in held_p.items():
                    row = poly.locator(f'tr[data-instrument="{asset}"]')
                    cells = await row.locator("td").all_text_contents()
                    assert cells[MARKET].startswith(sim.sim.polymarket.market_of(asset).question)
                    assert asset not in cells[MARKET] and f"{asset[:6]}…{asset[-4:]}" in cells[MARKET]
                    assert await row.locator("code").get_attribute("title") == asset
                    assert contracts(cells[CONTRACTS]) == position.size
                    assert POLYMARKET_PRICE.match(cells[AVG]), cells
                    # A resolved market has no book: its price is the venue's own (1 or 0), labelled so.
                    assert POLYMARKET_PRICE.match(cells[MARK].removesuffix(" (venue)")), cells
                    for money in cells[COST:UNREALIZED + 1]:
                        assert MONEY.match(money), cells

                # Totals per venue: cash as the venue holds it, and the sums the table shows.
                assert await kalshi.locator('[data-total="cash"]').text_content() == usd(sim.sim.kalshi.balance)
                for article in (kalshi, poly):
                    for name in ("cash", "cost_basis", "market_value", "unrealized_pnl"):
                        assert MONEY.match(await article.locator(f'[data-total="{name}"]').text_content())
                    foot = await article.locator("tfoot td").all_text_contents()
                    assert foot[VALUE] == await article.locator('[data-total="market_value"]').text_content()
                assert await poly.locator('[data-role="error"]').is_hidden()

                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SCREENSHOTS / "holdings-page.png"), full_page=True)

                # The copy button copies the whole id, not the shortened one.
                asset = next(iter(held_p))
                await poly.locator(f'tr[data-instrument="{asset}"] button.copy').click()
                assert await page.evaluate("navigator.clipboard.readText()") == asset

                # A trade made outside the bot shows after Refresh (which bypasses the cache).
                market = next(t for t in sim.sim.kalshi.markets if t not in held_k)
                sim.sim.kalshi.external_trade(market, "bid", Decimal("7"), Decimal("0.33"))
                await page.click("#refresh-holdings")
                await kalshi.locator(f'tr[data-instrument="{market}"]').wait_for(timeout=15000)

                # A venue error is shown for that venue while the other keeps its holdings.
                sim.sim.faults.set("polymarket", malformed_json=True)
                await page.click("#refresh-holdings")
                error = poly.locator('[data-role="error"]')
                await error.wait_for(state="visible", timeout=15000)
                assert "polymarket" in (await error.text_content())
                assert await kalshi_rows.count() == len(held_k) + 1
                await browser.close()
        finally:
            sim.sim.faults.clear()
            stack.stop()
