"""`make run`'s demo mappings, built from the venue sim's demo scenario: each cross-venue pair names
the right Kalshi ticker and Polymarket ids, and the Kalshi-only weather market stays unmapped."""

from __future__ import annotations

import pytest

from deploy.devstack import demo_mappings
from deploy.devstack.demo_mappings import REASON, UNMAPPED_ON_PURPOSE, demo_mappings as build
from services.venue_sim.domain.clock import ManualClock
from services.venue_sim.domain.polymarket import PolymarketExchange, PolymarketSimConfig
from services.venue_sim.scenarios import demo as kalshi_demo
from services.venue_sim.scenarios import polymarket_demo
from services.venue_sim.scenarios.polymarket_demo import condition_id_for, token_id_for
from shared.contracts.reconciler import ExternalIds

# The docstring tables' pairs, written out here so a wrong pairing in the launcher is caught.
EXPECTED = {
    "KXPRESPERSON-28-JVAN": "will-jd-vance-win-the-2028-us-presidential-election",
    "KXPRESPERSON-28-GNEW": "will-gavin-newsom-win-the-2028-us-presidential-election",
    "KXFEDDECISION-26DEC-C25": "fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting",
    "KXFEDDECISION-26DEC-H0": "no-change-in-fed-interest-rates-after-december-2026-meeting",
    "KXSB-27-KC": "will-the-kansas-city-chiefs-win-super-bowl-lxi",
    "KXBTCMAXY-26-150000": "will-bitcoin-reach-150000-by-december-31-2026",
    "KXCPIYOY-26OCT-T3.0": "will-us-cpi-inflation-be-above-3pt0-for-october-2026",
}
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
T0 = 1_800_000_000_000
SWIFT = "will-taylor-swift-release-a-new-studio-album-in-2026"


def by_market() -> dict[str, demo_mappings.DemoMapping]:
    return {m.market_id: m for m in build()}


def test_every_cross_venue_pair_names_its_ticker_and_the_slugs_tokens_and_condition() -> None:
    mappings = by_market()
    for ticker, slug in EXPECTED.items():
        assert mappings[ticker].external_ids == {
            "kalshi_market_ticker": ticker,
            "poly_asset_yes": token_id_for(slug, "Yes"),
            "poly_asset_no": token_id_for(slug, "No"),
            "poly_condition_id": condition_id_for(slug),
            "poly_market_slug": slug,
        }


def test_the_ids_are_those_the_demo_account_holds() -> None:
    """The demo scenario loaded into an exchange as the simulator loads it: every Polymarket
    market it serves, its tokens and condition, is the one a mapping names by that slug."""
    exchange = PolymarketExchange(PolymarketSimConfig("key", "c2VjcmV0", "pass", ADDRESS, mined_after_ms=2_000,
                                                      confirmed_after_ms=10_000, failed_share="0"),
                                  ManualClock(T0))
    polymarket_demo.load_polymarket_demo(exchange, seed=0)
    served = {m.slug: (m.tokens[0].token_id, m.tokens[1].token_id, m.condition_id) for m in exchange.markets.values()}
    named = {m.external_ids["poly_market_slug"]: (m.external_ids["poly_asset_yes"], m.external_ids["poly_asset_no"],
                                                  m.external_ids["poly_condition_id"]) for m in build()}
    assert named == served


def test_the_weather_market_is_the_one_left_unmapped() -> None:
    kalshi_tickers = {m.ticker for m in kalshi_demo.MARKETS}
    mapped = {m.external_ids.get("kalshi_market_ticker") for m in build()} - {None}
    assert kalshi_tickers - mapped == {UNMAPPED_ON_PURPOSE}
    assert all(UNMAPPED_ON_PURPOSE not in m.external_ids.values() for m in build())


def test_every_polymarket_market_is_mapped_the_polymarket_only_one_by_its_slug() -> None:
    mapped_slugs = [m.external_ids["poly_market_slug"] for m in build()]
    assert sorted(mapped_slugs) == sorted(m.slug for m in polymarket_demo.MARKETS)
    swift = by_market()[SWIFT]
    assert "kalshi_market_ticker" not in swift.external_ids
    assert swift.external_ids["poly_asset_yes"] == token_id_for(SWIFT, "Yes")


def test_each_body_is_a_valid_mapping_put_with_the_demo_reason() -> None:
    for mapping in build():
        body = mapping.body()
        assert ExternalIds.model_validate(body["external_ids"])  # the API's own model: no unknown key
        assert body["reason"] == REASON
        assert body["title"]


def test_a_pair_the_scenario_no_longer_has_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_mappings, "PAIRS", (("KXGONE-1", EXPECTED["KXSB-27-KC"]),))
    with pytest.raises(ValueError, match="KXGONE-1"):
        build()


def test_the_summary_line_lists_the_statuses_present_in_order() -> None:
    assert demo_mappings.summary_text({"unknown_mapping": 1, "match": 5, "mismatch": 3, "api_error": 0}) == \
        "5 match, 3 mismatch, 1 unknown_mapping"
