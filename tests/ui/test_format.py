"""The one formatting module every page uses (static/format.js), run in the real browser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path

import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ui.test_holdings_page import CHROMIUM, require_browser

STATIC = Path(__file__).resolve().parents[2] / "services" / "api_gateway" / "static"
ORIGIN = "http://trueup.test"
TOKEN = "71240001122334455667788990011223344556677889900112233445566778899001122338841"
CONDITION = "0x5f1c2b7e8a9d0c3b4a5968f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3"
YEAR = datetime.now(UTC).year  # a date of this year is shown without its year

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
    # Every form Python's Decimal prints: a zero is $0.00 whatever its sign or exponent.
    ("formatUsd", ["0E-14"], "$0.00"),
    ("formatUsd", ["-0E-14"], "$0.00"),
    ("formatUsd", ["-0"], "$0.00"),
    ("formatUsd", ["0"], "$0.00"),
    ("formatUsd", ["-0.00"], "$0.00"),
    ("formatUsd", ["0E+2"], "$0.00"),
    ("formatUsd", ["0E-1000000"], "$0.00"),
    ("formatUsd", ["1E+3"], "$1,000.00"),
    ("formatUsd", ["1.5E+3"], "$1,500.00"),
    ("formatUsd", ["-1.23456E+2"], "\u2212$123.46"),
    ("formatUsd", ["5E-3"], "$0.01"),
    ("formatUsd", ["-4E-3"], "$0.00"),
    ("formatUsd", ["1e2"], "$100.00"),
    ("formatUsd", ["+2.5"], "$2.50"),
    ("formatUsd", [".5"], "$0.50"),
    ("formatUsd", ["5."], "$5.00"),
    ("formatUsd", [" 7.10 "], "$7.10"),
    ("formatUsd", ["NaN"], "—"),
    ("formatUsd", ["sNaN"], "—"),
    ("formatUsd", ["Infinity"], "—"),
    ("formatUsd", ["-Infinity"], "—"),
    ("formatUsd", ["1E+999999"], "—"),  # no amount: an exponent that large would hang the page
    ("formatUsd", ["E+3"], "—"),
    ("formatUsd", ["."], "—"),
    ("formatUsd", ["1.2.3"], "—"),
    ("formatPrice", ["kalshi", "0.56"], "56¢"),
    ("formatPrice", ["kalshi", "0.5600"], "56¢"),
    ("formatPrice", ["kalshi", "0.295556"], "29.56¢"),
    ("formatPrice", ["kalshi", "0.005"], "0.5¢"),
    ("formatPrice", ["kalshi", "1"], "100¢"),
    ("formatPrice", ["kalshi", "0E-14"], "0¢"),
    ("formatPrice", ["kalshi", "-0"], "0¢"),
    ("formatPrice", ["kalshi", "5.6E-1"], "56¢"),
    ("formatPrice", ["polymarket", "0.45"], "0.45"),
    ("formatPrice", ["polymarket", "0.5"], "0.50"),
    ("formatPrice", ["polymarket", "0.456789"], "0.4568"),
    ("formatPrice", ["polymarket", "0.123"], "0.123"),
    ("formatPrice", ["polymarket", "1"], "1.00"),
    ("formatPrice", ["polymarket", "0E-18"], "0.00"),
    ("formatPrice", ["polymarket", "4.5E-1"], "0.45"),
    ("formatContracts", ["1500"], "1,500"),
    ("formatContracts", ["10.500000"], "10.5"),
    ("formatContracts", ["0.000123"], "0.000123"),
    ("formatContracts", ["-0"], "0"),
    ("formatContracts", ["0E-14"], "0"),
    ("formatContracts", ["1.5E+3"], "1,500"),
    ("formatContracts", ["2.50E-4"], "0.00025"),
    ("formatContracts", ["-25.5"], "\u221225.5"),
    ("signClass", ["-0.004"], ""),
    ("signClass", ["-0.006"], "loss"),
    ("signClass", ["2.71"], "gain"),
    ("signClass", ["0E-14"], ""),
    ("signClass", ["-0"], ""),
    ("signClass", ["-1E-2"], "loss"),
    ("shortId", [TOKEN], "712400…8841"),
    ("shortId", [CONDITION], "0x5f1c…c4b3"),
    ("shortId", ["KXFEDDECISION-26DEC-C25"], "KXFEDDECISION-26DEC-C25"),
    # A slug reads as its words; a ticker, a token id or a 0x id is no slug.
    ("slugWords", ["will-the-fed-cut-rates-in-december"], "will the fed cut rates in december"),
    ("slugWords", ["fed-cut-dec-2026"], "fed cut dec 2026"),
    ("slugWords", ["KXFEDDECISION-26DEC-C25"], None),
    ("slugWords", [TOKEN], None),
    ("slugWords", [CONDITION], None),
    ("slugWords", ["vance"], None),
    ("slugWords", [None], None),
    # Times: the holdings page's style everywhere (here en-US, UTC), the day never repeated.
    ("formatTime", [f"{YEAR}-11-29T21:03:20Z"], "9:03:20 PM"),
    ("formatTime", [None], "—"),
    ("formatDateTime", [f"{YEAR}-11-29T21:03:20+00:00"], "Nov 29, 9:03 PM"),
    ("formatDateTime", [f"{YEAR}-11-29T21:03:20+00:00", {"seconds": True}], "Nov 29, 9:03:20 PM"),
    ("formatDateTime", ["2020-03-02T09:00:00Z"], "Mar 2, 2020, 9:00 AM"),
    ("formatDateTime", ["yesterday"], "—"),
    ("formatTimeRange", [f"{YEAR}-11-29T21:01:00Z", f"{YEAR}-11-29T21:05:30Z"], "Nov 29, 9:01 – 9:05 PM"),
    ("formatTimeRange", [f"{YEAR}-11-27T21:00:00Z", f"{YEAR}-11-29T21:05:00Z"], "Nov 27, 9:00 PM – Nov 29, 9:05 PM"),
    ("formatTimeRange", [f"{YEAR}-11-29T21:05:39Z", f"{YEAR}-11-29T21:05:50Z"], "Nov 29, 9:05:39 PM – 9:05:50 PM"),
    ("formatTimeRange", ["2020-12-31T12:00:00Z", "2021-01-02T12:00:00Z"], "Dec 31, 2020, 12:00 PM – Jan 2, 2021, 12:00 PM"),
]


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


MINUTE, DAY = 60_000, 86_400_000
TICKS = [
    # (tick times, step between them, the axis labels)
    ([f"{YEAR}-11-29T21:05:40Z", f"{YEAR}-11-29T21:05:50Z"], 10_000, ["9:05:40 PM\nNov 29", "9:05:50 PM"]),
    ([f"{YEAR}-11-29T23:30:00Z", f"{YEAR}-11-29T23:45:00Z", f"{YEAR}-11-30T00:00:00Z", f"{YEAR}-11-30T00:15:00Z"],
     15 * MINUTE, ["11:30 PM\nNov 29", "11:45 PM", "12:00 AM\nNov 30", "12:15 AM"]),
    ([f"{YEAR}-11-29T00:00:00Z", f"{YEAR}-11-30T00:00:00Z"], DAY, ["Nov 29", "Nov 30"]),
    (["2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"], 30 * DAY,
     ["Nov 2026", "Dec 2026", "Jan 2027"]),
]

# ICU separates some parts with narrow or thin spaces ("9:03\u202fPM"); a trader reads a space.
EVALUATE = """calls => calls.map(([fn, args]) => {
    const shown = window.format[fn](...args);
    return typeof shown === "string" ? shown.replace(/[\\u202f\\u2009\\u00a0]/g, " ") : shown;
})"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def page():
    """A blank page on a made-up origin serving the static files, with format.js as `window.format`;
    the browser reads en-US in UTC, so what it shows is known."""
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = await browser.new_page(locale="en-US", timezone_id="UTC")

        async def serve(route):
            name = route.request.url.removeprefix(f"{ORIGIN}/static/")
            if route.request.url == f"{ORIGIN}/":
                await route.fulfill(body="<!doctype html><title>t</title>", content_type="text/html")
            else:
                await route.fulfill(body=(STATIC / name).read_text(), content_type="text/javascript")

        await page.route(f"{ORIGIN}/**", serve)
        await page.goto(f"{ORIGIN}/")
        await page.evaluate("async () => { window.format = await import('/static/format.js'); }")
        yield page
        await browser.close()


async def shown(page, calls: list[tuple[str, list]]) -> list:
    return await page.evaluate(EVALUATE, [[fn, args] for fn, args in calls])


async def test_formatters_render_money_prices_quantities_ids_and_times_as_specified(page):
    results = await shown(page, [(fn, args) for fn, args, _ in CASES])
    mismatches = [(fn, args, want, got) for (fn, args, want), got in zip(CASES, results, strict=True) if got != want]
    assert mismatches == []


async def test_a_time_axis_reads_from_seconds_to_months(page):
    results = await shown(page, [("formatTimeTicks", [[ms(t) for t in ticks], step]) for ticks, step, _ in TICKS])
    assert results == [labels for _, _, labels in TICKS]


def dollars(amount: Decimal) -> str:
    """Cents rounded half away from zero; a minus only on what still shows as money: −$12.30, $0.00."""
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return ("\u2212" if cents < 0 else "") + f"${abs(cents):,}"


def contracts(amount: Decimal) -> str:
    """Exact, thousands separated, no trailing zeros, a real minus: 1,500 / 0.00025 / −25.5."""
    if amount.is_zero():
        return "0"
    text = f"{amount.copy_abs():,f}"  # every digit: abs() would round to the context's 28
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return ("\u2212" if amount < 0 else "") + text


# The string forms one Decimal can take on the wire: as it is, scientific, normalized (exactly:
# the default context would round a long one), plain digits.
EXACT = Context(prec=200)
FORMS: list[Callable[[Decimal], str]] = [
    str, lambda d: f"{d:E}", lambda d: str(d.normalize(EXACT)), lambda d: f"{d:f}",
]


@settings(max_examples=150, deadline=None)
@given(
    amount=st.decimals(min_value=-10**12, max_value=10**12, allow_nan=False, allow_infinity=False)
    .filter(lambda d: d.as_tuple().exponent >= -60),
    form=st.sampled_from(FORMS),
)
async def test_any_decimal_string_reads_as_its_amount(page, amount: Decimal, form):
    text = form(amount)
    assert await shown(page, [("formatUsd", [text]), ("formatContracts", [text])]) == [dollars(amount), contracts(amount)]


MARKET_LABELS = """labels => labels.map((label) => {
    const box = window.format.marketLabel(label);
    const head = box.querySelector(".market-title");
    return {
        head: head.textContent, untitled: head.classList.contains("untitled"),
        ids: [...box.querySelectorAll(".venue-id code")].map((code) => [code.textContent, code.title]),
        id_in_head: head.querySelector(".venue-id code")?.textContent ?? null,
    };
})"""


async def test_a_market_without_a_title_shows_its_instrument_id_as_an_id(page):
    labels = [
        {"title": "Fed holds rates in March?", "id": "KXFEDDECISION-26MAR-H0"},
        {"title": None, "id": "KXCPI-26FEB-T0.3"},
        {"title": "", "id": "KXCPI-26FEB-T0.3", "detailId": "KXCPI-26FEB-T0.3"},
        {"title": "Will the Lakers make the playoffs?", "id": TOKEN, "detailId": CONDITION},
        {"title": None, "id": TOKEN, "detailId": CONDITION},
    ]
    fed, cpi, cpi_same_market, lakers, untitled_token = await page.evaluate(MARKET_LABELS, labels)
    # A title leads; the id (shortened when long, whole on hover) sits beneath it.
    assert fed == {"head": "Fed holds rates in March?", "untitled": False, "id_in_head": None,
                   "ids": [["KXFEDDECISION-26MAR-H0", "KXFEDDECISION-26MAR-H0"]]}
    assert lakers["head"] == "Will the Lakers make the playoffs?" and lakers["ids"] == [["0x5f1c…c4b3", CONDITION]]
    # No title: the Kalshi ticker itself, whole, in the title's place, marked as an id, not repeated.
    for label in (cpi, cpi_same_market):
        assert label["untitled"] and label["id_in_head"] == "KXCPI-26FEB-T0.3", label
        assert label["ids"] == [["KXCPI-26FEB-T0.3", "KXCPI-26FEB-T0.3"]]
        assert "untitled" not in label["head"]
    # A Polymarket token id is shortened (whole on hover and copy); its market's id stays beneath.
    assert untitled_token["untitled"] and untitled_token["id_in_head"] == "712400…8841"
    assert untitled_token["ids"] == [["712400…8841", TOKEN], ["0x5f1c…c4b3", CONDITION]]


async def test_a_market_without_a_title_but_with_a_slug_reads_as_its_words(page):
    labels = [
        {"title": None, "slug": "will-the-lakers-make-the-playoffs", "id": TOKEN, "detailId": CONDITION},
        {"title": "Will the Lakers make the playoffs?", "slug": "will-the-lakers-make-the-playoffs", "id": TOKEN},
        {"title": None, "slug": CONDITION, "id": TOKEN},  # no slug: the id stands in
    ]
    from_slug, titled, not_a_slug = await page.evaluate(MARKET_LABELS, labels)
    assert from_slug == {"head": "will the lakers make the playoffs", "untitled": False, "id_in_head": None,
                         "ids": [["0x5f1c…c4b3", CONDITION]]}
    assert titled["head"] == "Will the Lakers make the playoffs?"
    assert not_a_slug["untitled"] and not_a_slug["id_in_head"] == "712400…8841"


CELLS = """() => {
    const { cell, moneyCell } = window.format;
    return [cell("KXFED"), cell(null), cell(document.createElement("b"), "market"),
            moneyCell("-12.3", { signed: true }), moneyCell("4")]
        .map((td) => [td.tagName, td.textContent, td.className, td.children.length]);
}"""


async def test_table_cells_show_text_elements_and_dollars(page):
    assert await page.evaluate(CELLS) == [
        ["TD", "KXFED", "", 0], ["TD", "\u2014", "", 0], ["TD", "", "market", 1],
        ["TD", "\u2212$12.30", "num loss", 0], ["TD", "$4.00", "num", 0]]
