"""The Overview page (the home page) in a real browser (Debian's Chromium) against the whole stack:
venue simulator (demo), exchange-gateway, ledger, reconciler and api-gateway, each a process.

Full-page screenshots are kept at build/screenshots/overview-page.png and, after an operator
acknowledged the ghost, adopted the drift and mapped the weather market, overview-after-actions.png
(or under $TRUEUP_SCREENSHOT_DIR) for a human to look at: markets with their legs and status badges,
the unmapped holdings, the reasons.
"""

from __future__ import annotations

import asyncio
import re

from services.api_gateway.login_link import mint_login_link
from tests.support.reconciled_stack import (
    FED_C25,
    FED_CUT_NO,
    FED_CUT_YES,
    FED_HOLD_NO,
    GNEW,
    NEWSOM_NO,
    NYC_WEATHER,
    VANCE_IDS,
    reconciled_stack,
)
from tests.ui.test_holdings_page import CHROMIUM, SCREENSHOTS, require_browser

# Newsom's Polymarket leg is mapped alone, by its slug and without a title: no side names that market
# (the ledger's NO 600 has no title, the venue holds none), so its slug is what a trader reads.
NEWSOM_SLUG = "will-gavin-newsom-win-the-2028-us-presidential-election"
MAPPINGS = {
    "vance-2028": ("JD Vance wins the 2028 presidency", VANCE_IDS),
    "newsom-2028": ("Gavin Newsom wins the 2028 presidency", {"kalshi_market_ticker": GNEW}),
    NEWSOM_SLUG: (None, {"poly_asset_no": NEWSOM_NO}),
    "fed-cut-dec-2026": ("Fed cuts 25 bps in December 2026", {"kalshi_market_ticker": FED_C25,
                                                               "poly_asset_yes": FED_CUT_YES, "poly_asset_no": FED_CUT_NO}),
}
GHOST_REASON = ("Polymarket NO: ghost, 600 in the ledger but none at the venue: sold, redeemed or moved outside "
                "trueup \u2014 acknowledge it, or adopt to close it in the ledger.")
ORPHAN_REASON = ("Polymarket NO: not mapped to a market; orphaned, 150 held at the venue but not in the ledger: "
                 "a manual trade or a fill the bot missed \u2014 map it, then adopt or acknowledge.")
# A venue id in a reason's words: a Polymarket token id (dozens of digits) or a 0x id.
LONG_ID = r"\d{20,}|0x[0-9a-fA-F]{20,}"
# The badges' colours (app.css): a trader reads the status before the words.
GREEN, RED, AMBER = "rgb(31, 157, 85)", "rgb(197, 48, 48)", "rgb(214, 158, 46)"


async def test_overview_shows_each_market_against_the_venues_and_acknowledges_a_difference(
        nats_users, database_factory, tmp_path):
    require_browser()
    from playwright.async_api import async_playwright

    async with reconciled_stack(nats_users, database_factory("trueup_overview_ui"), tmp_path) as rs:
        for market_id, (title, ids) in MAPPINGS.items():
            response = await rs.api.put(f"/api/v2/mappings/{market_id}", json={"external_ids": ids, "title": title,
                                                                               "reason": "demo pair"})
            assert response.status_code == 200, response.text
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM,
                                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
            page = await context.new_page()
            await page.goto(await asyncio.to_thread(mint_login_link, rs.stack.api, rs.stack.token))
            # The home page is the overview.
            assert page.url == rs.stack.api + "/"
            assert await page.get_attribute('nav a[data-page="overview"]', "aria-current") == "page"
            assert await page.locator("#holdings-section").is_hidden()

            markets = page.locator("#overview-markets")
            await markets.locator('tbody[data-market="vance-2028"]').wait_for(timeout=30000)
            badge = lambda scope: scope.locator(".badge.recon").first  # noqa: E731

            # Each mapped market: title first, its status, and a row per leg with both quantities.
            vance = markets.locator('tbody[data-market="vance-2028"]')
            assert (await vance.locator(".market-row .market-title").text_content()) == "JD Vance wins the 2028 presidency"
            assert await badge(vance.locator(".market-row")).text_content() == "match"
            assert await badge(vance.locator(".market-row")).evaluate("b => getComputedStyle(b).backgroundColor") == GREEN
            kalshi_yes = vance.locator(f'tr[data-item="kalshi:{VANCE_IDS["kalshi_market_ticker"]}:yes"] td')
            cells = await kalshi_yes.all_text_contents()
            assert cells[0] == "Kalshi YES" and cells[2:5] == ["900", "900", "0"], cells
            for column in range(2, 8):  # quantities, diffs and costs are right-aligned
                assert await kalshi_yes.nth(column).evaluate("td => getComputedStyle(td).textAlign") == "right"

            # Every reason is a sentence without venue ids; the leg's own numbers read as in its cells.
            reasons = await page.locator("td.reason").all_text_contents()
            assert reasons and not [r for r in reasons if re.search(LONG_ID, r) or len(r) > 220], reasons
            vance_poly = await vance.locator(f'tr[data-item="polymarket:{VANCE_IDS["poly_asset_yes"]}:yes"] td').all_text_contents()
            assert vance_poly[2] == "1,500" and vance_poly[9] == "Polymarket YES: both hold 1,500.", vance_poly
            assert await vance.locator(".market-row td.reason").text_content() == "Both legs agree with the venues."

            # The drift: the ledger holds YES 800, Polymarket 650. The market's reason sums its legs up; the
            # leg's says why and what to do, without the title its group already shows.
            fed = markets.locator('tbody[data-market="fed-cut-dec-2026"]')
            assert await fed.locator(".market-row td.reason").text_content() == (
                "1 of 2 legs differs: Polymarket YES drift (ledger 800, venue 650).")
            drift = await fed.locator(f'tr[data-item="polymarket:{FED_CUT_YES}:yes"] td').all_text_contents()
            assert drift[2:5] == ["800", "650", "\u2212150"], drift
            assert drift[9].startswith("Polymarket YES: drift, 800 in the ledger vs 650 at the venue (\u2212150): ")
            assert drift[9].endswith("\u2014 adopt the venue's 650 or acknowledge."), drift[9]

            # The ghost: the ledger holds NO 600, Polymarket none — a red mismatch with the reason why. No side
            # titles its market: the slug it was mapped by reads as words, the id beneath it.
            newsom = markets.locator(f'tbody[data-market="{NEWSOM_SLUG}"]')
            head = newsom.locator(".market-row .market-title")
            assert await head.text_content() == "will gavin newsom win the 2028 us presidential election"
            assert "from-slug" in await head.get_attribute("class")
            assert await newsom.locator(".market-row .venue-id code").get_attribute("title") == NEWSOM_SLUG
            assert await badge(newsom.locator(".market-row")).text_content() == "mismatch"
            assert await badge(newsom.locator(".market-row")).evaluate("b => getComputedStyle(b).backgroundColor") == RED
            assert await newsom.locator(".market-row td.reason").text_content() == (
                "Its one leg differs: Polymarket NO ghost (ledger 600, venue 0).")
            ghost = newsom.locator(f'tr[data-item="polymarket:{NEWSOM_NO}:no"]')
            ghost_cells = await ghost.locator("td").all_text_contents()
            assert ghost_cells[0] == "Polymarket NO" and ghost_cells[2:5] == ["600", "0", "\u2212600"], ghost_cells
            assert ghost_cells[9] == GHOST_REASON and await ghost.locator("td.diff").count() >= 1
            # The token id: its first 6 and last 4 digits, whole on hover.
            assert ghost_cells[1].startswith(f"{NEWSOM_NO[:6]}\u2026{NEWSOM_NO[-4:]}"), ghost_cells[1]
            assert await ghost.locator("td.instrument code").get_attribute("title") == NEWSOM_NO
            # The mismatched markets are listed before the matching ones.
            order = await markets.locator("tbody").evaluate_all("bodies => bodies.map(b => b.dataset.market)")
            assert order.index(NEWSOM_SLUG) < order.index("newsom-2028") and order.index(NEWSOM_SLUG) < order.index("vance-2028")

            # The orphan no mapping names: held at Polymarket only, titled by the venue.
            orphan = page.locator(f'#overview-unmapped tr[data-item="polymarket:{FED_HOLD_NO}:no"] td')
            orphan_cells = await orphan.all_text_contents()
            assert orphan_cells[0].startswith("Will there be no change in Fed interest rates"), orphan_cells
            assert orphan_cells[2:5] == ["0", "150", "+150"] and orphan_cells[9] == ORPHAN_REASON, orphan_cells

            # The Kalshi-only weather market has no mapping: an amber unknown mapping, title first.
            weather = page.locator(f'#overview-unmapped tr[data-item="kalshi:{NYC_WEATHER}:yes"]')
            await weather.wait_for()
            assert await badge(weather).text_content() == "unknown mapping"
            assert await badge(weather).get_attribute("data-recon") == "unknown_mapping"
            assert await badge(weather).evaluate("b => getComputedStyle(b).backgroundColor") == AMBER
            weather_cells = await weather.locator("td").all_text_contents()
            assert weather_cells[0].startswith("Will the high temp in NYC") and NYC_WEATHER in weather_cells[0]
            assert weather_cells[2:5] == ["75", "75", "0"]
            # Nothing differs but the mapping: it is mapped, not acknowledged or adopted.
            assert await weather.locator("button[data-action]").evaluate_all("bs => bs.map(b => b.dataset.action)") == ["map"]
            # Acknowledge is offered only where the quantities differ (the reconciler refuses it elsewhere).
            offered = await page.locator('tr.recon-item:has(button[data-action="acknowledge"])').evaluate_all(
                "rows => rows.map(r => [r.dataset.item, r.querySelector('td.diff') !== null])")
            assert offered and all(differs for _, differs in offered), offered

            summary = int(await page.locator('[data-summary="unknown_mapping"] strong').text_content())
            assert summary >= 1
            assert "venue snapshot" in await page.locator("#overview-snapshot").text_content()
            assert await page.locator("#overview-auto").is_checked()

            # The debug panel opens on the venues' raw rows.
            debug = page.locator("#overview-debug")
            assert await debug.locator('.debug-venue[data-venue="kalshi"] pre').is_hidden()
            await debug.locator("summary").click()
            raw = debug.locator('.debug-venue[data-venue="kalshi"] pre')
            assert await raw.is_visible() and NYC_WEATHER in await raw.text_content()

            # Map asks for the market; Cancel does nothing.
            await weather.locator('button[data-action="map"]').click()
            assert await page.locator("#action-market-id").is_visible()
            await page.click("#action-cancel")
            assert not await page.locator("#action-dialog").is_visible()

            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "overview-page.png"), full_page=True)

            # Acknowledge the ghost: the dialog needs a reason, then the row is marked acknowledged.
            await ghost.locator('button[data-action="acknowledge"]').click()
            dialog = page.locator("#action-dialog")
            assert await dialog.is_visible()
            # Which holding, as a trader names it: market, leg, the id shortened (whole on hover).
            assert await page.locator("#action-what").text_content() == (
                f"will gavin newsom win the 2028 us presidential election \u00b7 Polymarket NO \u00b7 "
                f"{NEWSOM_NO[:6]}\u2026{NEWSOM_NO[-4:]}")
            assert await page.locator("#action-what").get_attribute("title") == NEWSOM_NO
            await page.click("#action-confirm")
            assert await dialog.is_visible() and "reason is required" in await page.locator("#action-error").text_content()
            await page.fill("#action-reason", "moved to cold storage on purpose")
            await page.click("#action-confirm")
            await dialog.wait_for(state="hidden", timeout=30000)
            acknowledged = newsom.locator(f'tr[data-item="polymarket:{NEWSOM_NO}:no"][data-acknowledged="true"]')
            await acknowledged.wait_for(timeout=30000)
            assert await acknowledged.locator(".badge.recon-ack").text_content() == "acknowledged"
            assert await acknowledged.locator('button[data-action="acknowledge"]').count() == 0
            result = page.locator("#overview-action-result")
            assert "acknowledged" in await result.text_content() and await result.get_attribute("class") == "action-done"

            # Refresh reads both venues again; the acknowledgement holds.
            await page.click("#refresh-overview")
            await page.wait_for_function(
                "() => document.querySelector('#overview-status').textContent.startsWith('compared at')", timeout=30000)
            assert await acknowledged.count() == 1

            # Adopt the drift: the ledger books the venue's 650, and the leg turns to match.
            drift_row = fed.locator(f'tr[data-item="polymarket:{FED_CUT_YES}:yes"]')
            await drift_row.locator('button[data-action="adopt"]').click()
            await page.fill("#action-reason", "the venue's count is right")
            await page.click("#action-confirm")
            await dialog.wait_for(state="hidden", timeout=30000)
            await drift_row.locator('.badge.recon[data-recon="match"]').wait_for(timeout=30000)
            assert (await drift_row.locator("td").all_text_contents())[2:5] == ["650", "650", "0"]
            assert await badge(fed.locator(".market-row")).text_content() == "match"

            # Map the weather market: it leaves the unmapped holdings for a market of its own, matched.
            await weather.locator('button[data-action="map"]').click()
            await page.fill("#action-market-id", "nyc-weather")
            await page.fill("#action-reason", "Kalshi-only weather bet")
            await page.click("#action-confirm")
            await dialog.wait_for(state="hidden", timeout=30000)
            mapped = markets.locator('tbody[data-market="nyc-weather"]')
            await mapped.locator('.market-row .badge.recon[data-recon="match"]').wait_for(timeout=30000)
            assert await weather.count() == 0
            await page.screenshot(path=str(SCREENSHOTS / "overview-after-actions.png"), full_page=True)
            await browser.close()
