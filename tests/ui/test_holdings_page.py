"""The holdings page in a real browser (Debian's Chromium), against the real stack and simulator."""

from __future__ import annotations

import os
import shutil
from decimal import Decimal

import pytest

from services.venue_sim.testing import running_sim
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import get_external, start_stack

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def require_browser() -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("TRUEUP_REQUIRE_BROWSER") == "1":  # CI installs it: missing there is a failure
        pytest.fail(f"chromium not found at {CHROMIUM}")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


async def test_page_shows_both_venues_holdings_and_refreshes(nats_url, database_url, tmp_path):
    require_browser()
    from playwright.async_api import async_playwright

    async with running_sim(scenario="demo") as sim:
        stack = start_stack(nats_url, database_url, gateway_env(sim, tmp_path))
        try:
            import httpx

            async with httpx.AsyncClient(base_url=stack.api, timeout=40) as client:
                await get_external(client)  # the stack is up and has answered once
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                page = await browser.new_page()
                await page.goto(stack.api + "/")
                kalshi_rows = page.locator('article[data-venue="kalshi"] tbody tr')
                poly_rows = page.locator('article[data-venue="polymarket"] tbody tr')
                await kalshi_rows.first.wait_for(timeout=15000)
                await poly_rows.first.wait_for(timeout=15000)

                held_k = {t: p for t, p in sim.sim.kalshi.positions.items() if p.signed != 0}
                held_p = {a: s for a, s in sim.sim.polymarket.positions().items() if s.size != 0}
                assert await kalshi_rows.count() == len(held_k)
                assert await poly_rows.count() == len(held_p)

                # One row checked cell by cell: the exact decimal the venue holds, as text.
                ticker, position = next(iter(held_k.items()))
                row = page.locator(f'article[data-venue="kalshi"] tbody tr:has(td:text-is("{ticker}"))')
                cells = await row.locator("td").all_text_contents()
                assert Decimal(cells[3]) == abs(position.signed)
                assert cells[2] == ("yes" if position.signed > 0 else "no")
                cash = await page.locator('article[data-venue="kalshi"] [data-role="cash"]').text_content()
                assert Decimal(cash.lstrip("$")) == sim.sim.kalshi.balance
                assert await page.locator('article[data-venue="polymarket"] [data-role="error"]').is_hidden()

                # A trade made outside the bot shows after Refresh (which bypasses the cache).
                market = next(t for t in sim.sim.kalshi.markets if t not in held_k)
                sim.sim.kalshi.external_trade(market, "bid", Decimal("7"), Decimal("0.33"))
                await page.click("#refresh-holdings")
                await page.locator(f'article[data-venue="kalshi"] tbody tr:has(td:text-is("{market}"))').wait_for(timeout=15000)

                # A venue error is shown for that venue while the other keeps its holdings.
                sim.sim.faults.set("polymarket", malformed_json=True)
                await page.click("#refresh-holdings")
                error = page.locator('article[data-venue="polymarket"] [data-role="error"]')
                await error.wait_for(state="visible", timeout=15000)
                assert "polymarket" in (await error.text_content())
                assert await kalshi_rows.count() == len(held_k) + 1
                await browser.close()
        finally:
            sim.sim.faults.clear()
            stack.stop()
