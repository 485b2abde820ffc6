"""The Portfolio page in a real browser (Debian's Chromium) against the real api-gateway and the
ledger's real responders on a seeded book.

A full-page screenshot is kept at build/screenshots/portfolio-page.png (or under
$TRUEUP_SCREENSHOT_DIR) for a human to look at: KPI cards, the net-value chart, the table.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from services.api_gateway.login_link import mint_login_link
from tests.ledger.ledger_seed import (
    POLY_CONDITION,
    add_position,
    api_gateway,
    ledger_responders,
    seed_demo_book,
)
from tests.ui.test_holdings_page import CHROMIUM, KALSHI_PRICE, MONEY, SCREENSHOTS, require_browser

NOW = datetime.now(UTC).replace(microsecond=0)
EXTRA_CLOSED = 52  # with the demo's two closed: more than a page (50) of closed positions
# Columns: market, venue, outcome, qty, avg entry, mark, cost basis, market value, unrealized, realized,
# strategy, origin, status, opened.
MARKET, VENUE, OUTCOME, QTY, AVG, MARK, COST, VALUE, UNREALIZED, REALIZED, STRATEGY, ORIGIN, STATUS, OPENED = range(14)
# The holdings page's time style (en-US here), on this page too: "9:03:20 PM", "Nov 29, 9:03 PM".
TIME = r"\d{1,2}:\d{2}:\d{2} [AP]M"
DAY_TIME = r"[A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d{2} [AP]M"
CPI = "KXCPI-26FEB-T0.3"


def spaced(text: str | None) -> str:
    """ICU puts a narrow space before AM/PM and thin ones around a range's dash; a trader reads spaces."""
    return re.sub("[\u202f\u2009\u00a0]", " ", text or "")


async def row_ids(page) -> list[str]:
    return await page.eval_on_selector_all("#ledger-positions tbody tr", "rows => rows.map(r => r.dataset.position)")


async def rows_become(page, expected: list[str]) -> None:
    await page.wait_for_function(
        "expected => JSON.stringify([...document.querySelectorAll('#ledger-positions tbody tr')]"
        ".map(r => r.dataset.position)) === JSON.stringify(expected)", arg=expected, timeout=10000)


async def test_portfolio_page_reads_like_a_trader_expects(nats_users, provision_bus, database_factory):
    require_browser()
    from playwright.async_api import async_playwright

    namespace = f"u{uuid.uuid4().hex[:10]}"
    await provision_bus(namespace)
    async with ledger_responders(nats_users["ledger"], namespace, database_factory("trueup_ledger_ui")) as pool:
        await seed_demo_book(pool, NOW)
        # A market the venue has not named yet.
        await pool.execute("UPDATE instruments SET title = NULL WHERE instrument_id = $1", CPI)
        for i in range(EXTRA_CLOSED):
            await add_position(pool, f"old-{i:02}", instrument_id=f"KXOLD-{i:02}", quantity=D(0), cost_basis=D(0),
                               opened_at=NOW - timedelta(days=30, hours=i), closed_at=NOW - timedelta(days=20))
        async with api_gateway(nats_users, namespace) as client, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM,
                                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
            page = await context.new_page()
            # No CDN: every request the page makes stays on the API's origin.
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            token = client.headers["authorization"].removeprefix("Bearer ")
            await page.goto(await asyncio.to_thread(mint_login_link, str(client.base_url), token))
            await page.click('nav a[data-page="portfolio"]')
            assert page.url.endswith("#portfolio")
            assert await page.locator("#holdings-section").is_hidden()

            # KPI cards: the book's totals, as money.
            kpi = lambda name: page.locator(f'[data-kpi="{name}"] .kpi-value')  # noqa: E731
            await page.wait_for_function(
                "() => document.querySelector('[data-kpi=\"net_liquidation\"] .kpi-value').textContent.includes('$')",
                timeout=15000)
            assert await kpi("open_positions").text_content() == "4"
            shown = {name: await kpi(name).text_content() for name in
                     ("total_cost_basis", "total_market_value", "unrealized_pnl", "realized_pnl", "net_liquidation")}
            assert all(MONEY.match(value) for value in shown.values()), shown
            assert shown == {"total_cost_basis": "$210.48", "total_market_value": "$206.11",
                             "unrealized_pnl": "\u2212$4.37", "realized_pnl": "$2.65", "net_liquidation": "$1,767.06"}
            assert await kpi("unrealized_pnl").get_attribute("class") == "kpi-value loss"
            assert "1 without a mark" in await page.locator('[data-kpi="total_market_value"] .kpi-note').text_content()

            # The net-value chart, from the 48 hourly snapshots: its range names the first day once
            # per day, its legend the latest point; times read as on the holdings page.
            await page.locator("#net-chart canvas").first.wait_for(timeout=10000)
            assert await page.locator("#chart-empty").is_hidden()
            assert re.fullmatch(f"{DAY_TIME} – {DAY_TIME}", spaced(await page.locator("#chart-range").text_content()))
            legend_time = spaced(await page.locator(".u-legend .u-series").first.locator(".u-value").text_content())
            assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, " + TIME, legend_time), legend_time
            assert re.fullmatch(f"as of {TIME}", spaced(await page.locator("#portfolio-status").text_content()))

            # Open positions, newest first; titles lead, the long Polymarket condition id is shortened.
            await rows_become(page, ["p-cpi", "p-rain", "p-fed", "p-lakers"])
            fed = await page.locator('tr[data-position="p-fed"] td').all_text_contents()
            assert fed[MARKET].startswith("Fed holds rates in March?") and "KXFEDDECISION-26MAR-H0" in fed[MARKET]
            assert (fed[VENUE], fed[OUTCOME], fed[QTY], fed[STATUS]) == ("Kalshi", "yes", "120", "open")
            assert fed[AVG] == "55¢" and fed[MARK] == "62¢" and KALSHI_PRICE.match(fed[MARK])
            assert (fed[COST], fed[VALUE], fed[UNREALIZED], fed[REALIZED]) == ("$66.00", "$74.40", "$8.40", "\u2212$1.20")
            assert (fed[STRATEGY], fed[ORIGIN]) == ("fed-momentum", "own")
            rain = await page.locator('tr[data-position="p-rain"] td').all_text_contents()
            assert (rain[OUTCOME], rain[MARK], rain[UNREALIZED]) == ("no", "65¢", "\u2212$2.00")  # 1 − the YES mark
            lakers = await page.locator('tr[data-position="p-lakers"] td').all_text_contents()
            assert lakers[MARKET].startswith("Will the Lakers make the playoffs?")
            assert POLY_CONDITION not in lakers[MARKET] and f"{POLY_CONDITION[:6]}…{POLY_CONDITION[-4:]}" in lakers[MARKET]
            assert (lakers[AVG], lakers[MARK], lakers[QTY]) == ("0.453", "0.41", "250.5")
            cpi = page.locator('tr[data-position="p-cpi"] td')
            assert (await cpi.all_text_contents())[MARK] == "—"
            # No title yet: the ticker stands in its place, as an id (not as a made-up title), once.
            untitled = cpi.nth(MARKET).locator(".market-title.untitled")
            assert await untitled.locator("code").text_content() == CPI
            assert await cpi.nth(MARKET).locator("code").count() == 1
            assert "untitled" not in (await cpi.nth(MARKET).text_content())
            assert await untitled.locator("code").evaluate("c => getComputedStyle(c).fontFamily") == "monospace"
            assert re.fullmatch(DAY_TIME, spaced((await cpi.all_text_contents())[OPENED]))
            # Numbers are right-aligned.
            for column in (QTY, AVG, MARK, COST, VALUE, UNREALIZED, REALIZED):
                cell = page.locator('tr[data-position="p-fed"] td').nth(column)
                assert await cell.evaluate("td => getComputedStyle(td).textAlign") == "right"

            # Every column fits a laptop screen: no sideways scrolling to find a position's status.
            table_card = page.locator("article.card", has=page.locator("#ledger-positions"))
            assert await table_card.evaluate("card => card.scrollWidth <= card.clientWidth")
            assert await page.locator("#positions-pager").is_hidden()  # one page only

            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "portfolio-page.png"), full_page=True)

            # Sorting is the server's: best unrealized first, then worst first; no mark last either way.
            await page.click('th[data-sort="unrealized_pnl"]')
            await rows_become(page, ["p-fed", "p-rain", "p-lakers", "p-cpi"])
            assert await page.get_attribute('th[data-sort="unrealized_pnl"]', "aria-sort") == "descending"
            await page.click('th[data-sort="unrealized_pnl"]')
            await rows_become(page, ["p-lakers", "p-rain", "p-fed", "p-cpi"])
            await page.click('th[data-sort="cost_basis"]')
            await rows_become(page, ["p-lakers", "p-fed", "p-rain", "p-cpi"])

            # Closed: 54, paged by 50.
            await page.click('[data-status-filter="closed"]')
            await page.wait_for_function("() => document.querySelectorAll('#ledger-positions tbody tr').length === 50")
            pager = page.locator("#positions-pager")
            assert await pager.is_visible() and await pager.locator('[data-role="range"]').text_content() == "1–50 of 54"
            statuses = await page.locator("#ledger-positions tbody td.status").all_text_contents()
            assert all(s == "closed" or s.startswith("settled") for s in statuses)
            await pager.locator('[data-page-step="1"]').click()
            await page.wait_for_function("() => document.querySelectorAll('#ledger-positions tbody tr').length === 4")
            assert await pager.locator('[data-role="range"]').text_content() == "51–54 of 54"
            await page.click('[data-status-filter=""]')  # all: both kinds, from the first page again
            await page.wait_for_function(
                "() => document.querySelector('#positions-count').textContent === '58 positions'")
            assert await pager.locator('[data-role="range"]').text_content() == "1–50 of 58"

            # Fewer than two snapshots: a friendly note instead of a one-point chart.
            await pool.execute("DELETE FROM portfolio_snapshots WHERE snapshot_at < $1", NOW)
            await page.click("#refresh-portfolio")
            await page.locator("#chart-empty").wait_for(state="visible", timeout=10000)
            assert "(1 so far)" in await page.locator("#chart-empty").text_content()
            assert await page.locator("#net-chart canvas").count() == 0

            assert all(url.startswith(str(client.base_url).rstrip("/")) for url in requested), requested
            await browser.close()
