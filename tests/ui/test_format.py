"""The one formatting module every page uses (static/format.js), run in the real browser."""

from __future__ import annotations

from pathlib import Path

from tests.ui.test_holdings_page import CHROMIUM, require_browser

STATIC = Path(__file__).resolve().parents[2] / "services" / "api_gateway" / "static"
ORIGIN = "http://trueup.test"
TOKEN = "71240001122334455667788990011223344556677889900112233445566778899001122338841"

CASES = [
    # (function, arguments, what the trader reads)
    ("formatUsd", ["8852.26"], "$8,852.26"),
    ("formatUsd", ["8852.2600"], "$8,852.26"),
    ("formatUsd", ["-12.3"], "\u2212$12.30"),
    ("formatUsd", ["1234567.891"], "$1,234,567.89"),
    ("formatUsd", ["0.005"], "$0.01"),  # half away from zero
    ("formatUsd", ["-0.005"], "\u2212$0.01"),
    ("formatUsd", ["-0.004"], "$0.00"),  # no "−$0.00"
    ("formatUsd", ["999.995"], "$1,000.00"),
    ("formatUsd", [None], "—"),
    ("formatUsd", ["not a number"], "—"),
    ("formatPrice", ["kalshi", "0.56"], "56¢"),
    ("formatPrice", ["kalshi", "0.5600"], "56¢"),
    ("formatPrice", ["kalshi", "0.295556"], "29.56¢"),
    ("formatPrice", ["kalshi", "0.005"], "0.5¢"),
    ("formatPrice", ["kalshi", "1"], "100¢"),
    ("formatPrice", ["polymarket", "0.45"], "0.45"),
    ("formatPrice", ["polymarket", "0.5"], "0.50"),
    ("formatPrice", ["polymarket", "0.456789"], "0.4568"),
    ("formatPrice", ["polymarket", "0.123"], "0.123"),
    ("formatPrice", ["polymarket", "1"], "1.00"),
    ("formatContracts", ["1500"], "1,500"),
    ("formatContracts", ["10.500000"], "10.5"),
    ("formatContracts", ["0.000123"], "0.000123"),
    ("signClass", ["-0.004"], ""),
    ("signClass", ["-0.006"], "loss"),
    ("signClass", ["2.71"], "gain"),
    ("shortId", [TOKEN], "7124…8841"),
    ("shortId", ["KXFEDDECISION-26DEC-C25"], "KXFEDDECISION-26DEC-C25"),
]


async def test_formatters_render_money_prices_quantities_and_ids_as_specified():
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = await browser.new_page()

        async def serve(route):
            name = route.request.url.removeprefix(f"{ORIGIN}/static/")
            if route.request.url == f"{ORIGIN}/":
                await route.fulfill(body="<!doctype html><title>t</title>", content_type="text/html")
            else:
                await route.fulfill(body=(STATIC / name).read_text(), content_type="text/javascript")

        await page.route(f"{ORIGIN}/**", serve)
        await page.goto(f"{ORIGIN}/")
        results = await page.evaluate(
            """async (cases) => {
                const format = await import("/static/format.js");
                return cases.map(([fn, args]) => format[fn](...args));
            }""",
            [[fn, args] for fn, args, _ in CASES],
        )
        await browser.close()
    assert results == [expected for _, _, expected in CASES]
