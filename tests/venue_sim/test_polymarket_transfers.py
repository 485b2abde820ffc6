"""Outcome-token transfers on the simulated Polymarket venue: holdings that change without a trade.

The Data API (the chain) counts a transfer; the CLOB trade history never shows one, and no USDC
moves. Domain first, then `POST /_sim/polymarket/transfers` over HTTP, then the demo's three
deliberate cases (orphan, ghost, drift) that a fills-fed ledger cannot explain.
"""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.venue_sim.adapters.polymarket_auth import ApiCredentials, l2_headers
from services.venue_sim.domain import polymarket_queries as queries
from services.venue_sim.domain.clock import ManualClock
from services.venue_sim.domain.polymarket import Market, PolymarketExchange, PolymarketSimConfig, Token
from services.venue_sim.scenarios import polymarket_demo
from services.venue_sim.scenarios.polymarket_demo import token_id_for
from tests.support.venue_sim import RunningSim, running_sim

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
T0 = 1_800_000_000_000
RAIN = "0x" + "ab" * 32
RAIN_YES, RAIN_NO = "11" * 35, "12" * 35
ZERO = Decimal(0)


CONFIG = PolymarketSimConfig("key", "c2VjcmV0", "pass", ADDRESS, mined_after_ms=2_000,
                             confirmed_after_ms=10_000, failed_share="0")


def _exchange() -> PolymarketExchange:
    """One market, books around a 0.45 YES mid, 1000 USDC, no trades."""
    ex = PolymarketExchange(CONFIG, ManualClock(T0))
    ex.add_market(Market(RAIN, "Will it rain?", "rain", "weather", 1, "2027-01-01",
                         (Token(RAIN_YES, "Yes", 0), Token(RAIN_NO, "No", 1))))
    ex.set_book(RAIN_YES, bids=[(Decimal("0.40"), Decimal("10"))], asks=[(Decimal("0.50"), Decimal("10"))])
    ex.set_collateral(Decimal("1000"))
    return ex


# ---- domain ------------------------------------------------------------------------------


def test_a_transfer_in_is_a_holding_without_a_trade_or_cash() -> None:
    ex = _exchange()
    ex.record_transfer(RAIN_YES, Decimal("150"), Decimal("0.68"), at_ms=T0 - 60_000)
    held = ex.position(RAIN_YES)
    assert (held.size, held.avg_price, held.total_bought, held.realized_pnl) == (150, Decimal("0.68"), 0, 0)
    assert ex.trades == [] and ex.collateral() == Decimal("1000")
    [row] = queries.positions_v1(ex, queries.parse_positions_v1({})).items
    assert (row.token_id, row.first_ms, row.last_ms) == (RAIN_YES, T0 - 60_000, T0 - 60_000)
    assert row.initial_value == Decimal("102.00") and row.cur_price == Decimal("0.45")
    assert ex.state()["transfers"] == [{"asset": RAIN_YES, "size": "150", "avg_price": "0.68",
                                        "at_ms": T0 - 60_000}]


def test_a_transfer_out_keeps_the_average_and_realises_nothing() -> None:
    ex = _exchange()
    ex.record_external_trade(RAIN_YES, "BUY", Decimal("100"), Decimal("0.30"), match_ms=T0 - 120_000)
    ex.record_external_trade(RAIN_YES, "BUY", Decimal("100"), Decimal("0.40"), match_ms=T0 - 110_000)
    cash = ex.collateral()
    out = ex.record_transfer(RAIN_YES, Decimal("-60"))
    assert (out.size, out.avg_price, out.at_ms) == (-60, Decimal("0.35"), T0)  # left at the average
    held = ex.position(RAIN_YES)
    assert (held.size, held.avg_price, held.total_bought, held.realized_pnl) == (140, Decimal("0.35"), 200, 0)
    assert len(ex.trades) == 2 and ex.collateral() == cash

    ex.record_transfer(RAIN_YES, Decimal("-140"))
    gone = ex.position(RAIN_YES)
    assert (gone.size, gone.avg_price, gone.realized_pnl) == (0, 0, 0)
    assert queries.positions_v1(ex, queries.parse_positions_v1({"sizeThreshold": "0"})).items == []
    [closed] = queries.positions_v2(ex, queries.parse_positions_v2({"status": "CLOSED"})).items
    assert closed.token_id == RAIN_YES and closed.last_ms == T0


def test_a_transfer_in_blends_into_the_average_and_defaults_to_it() -> None:
    ex = _exchange()
    ex.record_external_trade(RAIN_YES, "BUY", Decimal("100"), Decimal("0.30"), match_ms=T0 - 120_000)
    ex.record_transfer(RAIN_YES, Decimal("50"), Decimal("0.60"))
    assert (ex.position(RAIN_YES).size, ex.position(RAIN_YES).avg_price) == (150, Decimal("0.4"))
    same = ex.record_transfer(RAIN_YES, Decimal("10"))  # no price: at the holding's average
    assert same.avg_price == Decimal("0.4") and ex.position(RAIN_YES).avg_price == Decimal("0.4")
    fresh = ex.record_transfer(RAIN_NO, Decimal("5"))  # nothing held: at the current price
    assert fresh.avg_price == ex.current_price(RAIN_NO)


def test_refused_transfers_change_nothing() -> None:
    ex = _exchange()
    ex.record_external_trade(RAIN_YES, "BUY", Decimal("10"), Decimal("0.30"), match_ms=T0 - 60_000)
    refused = [
        (RAIN_YES, Decimal("0"), None, None, "non-zero"),
        (RAIN_YES, Decimal("-10.5"), None, None, "cannot transfer out"),
        (RAIN_YES, Decimal("1.0000001"), None, None, "6 decimals"),
        (RAIN_YES, Decimal("5"), Decimal("1.01"), None, "between 0 and 1"),
        (RAIN_YES, Decimal("5"), Decimal("-0.01"), None, "between 0 and 1"),
        (RAIN_YES, Decimal("-5"), Decimal("0.3"), None, "transfer in"),
        # Dated before the shares arrived: nothing to send then.
        (RAIN_YES, Decimal("-5"), None, T0 - 120_000, "cannot transfer out"),
    ]
    for token, size, price, at_ms, message in refused:
        with pytest.raises(ValueError, match=message):
            ex.record_transfer(token, size, price, at_ms=at_ms)
    with pytest.raises(KeyError):
        ex.record_transfer("99" * 35, Decimal("5"))
    assert ex.transfers == [] and ex.position(RAIN_YES).size == 10


def test_transferred_in_shares_can_be_sold() -> None:
    ex = _exchange()
    ex.record_transfer(RAIN_YES, Decimal("20"), Decimal("0.50"), at_ms=T0 - 60_000)
    ex.record_external_trade(RAIN_YES, "SELL", Decimal("5"), Decimal("0.60"))
    held = ex.position(RAIN_YES)
    assert (held.size, held.realized_pnl) == (15, Decimal("0.50"))
    assert ex.collateral() == Decimal("1003.00")


_moves = st.lists(
    st.tuples(st.sampled_from(["BUY", "SELL", "IN", "OUT"]),
              st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("500"), places=6),
              st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.99"), places=2)),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(_moves)
def test_size_is_trades_net_plus_transfers_and_transfers_move_no_cash(moves) -> None:
    ex = _exchange()
    traded = transferred = ZERO
    for i, (kind, size, price) in enumerate(moves):
        held = ex.position(RAIN_YES).size
        at_ms = T0 - 100_000 + i
        if kind in ("SELL", "OUT"):
            size = min(size, held)
            if size == 0:
                continue
        if kind in ("BUY", "SELL"):
            ex.record_external_trade(RAIN_YES, kind, size, price, match_ms=at_ms, will_fail=False)
            traded += size if kind == "BUY" else -size
        else:
            ex.record_transfer(RAIN_YES, size if kind == "IN" else -size, price if kind == "IN" else None,
                               at_ms=at_ms)
            transferred += size if kind == "IN" else -size
    held = ex.position(RAIN_YES)
    assert held.size == traded + transferred >= 0
    assert ZERO <= held.avg_price <= 1 and (held.size > 0 or held.avg_price == 0)
    cash = sum(((t.price * t.size) * (1 if t.side == "SELL" else -1) for t in ex.trades), ZERO)
    assert ex.collateral() == Decimal("1000") + cash  # exact: no transfer touched it


# ---- the admin route ---------------------------------------------------------------------


def _l2(h: RunningSim, path: str) -> dict[str, str]:
    c = h.sim.polymarket.config
    return l2_headers(ApiCredentials(c.api_key, c.api_secret, c.api_passphrase, c.address), int(time.time()),
                      "GET", path, None)


async def _clob_trades(h: RunningSim, http: httpx.AsyncClient) -> list[dict]:
    rows, cursor = [], "MA=="
    while cursor != "LTE=":
        resp = await http.get(f"{h.clob_url}/data/trades", params={"next_cursor": cursor},
                              headers=_l2(h, "/data/trades"))
        assert resp.status_code == 200, resp.text
        rows += resp.json()["data"]
        cursor = resp.json()["next_cursor"]
    return rows


async def _positions(h: RunningSim, http: httpx.AsyncClient) -> dict[str, dict]:
    resp = await http.get(f"{h.data_api_url}/positions", params={"user": h.sim.polymarket.config.address,
                                                                  "sizeThreshold": "0", "limit": "500"})
    assert resp.status_code == 200, resp.text
    return {row["asset"]: row for row in resp.json(parse_float=Decimal)}


def _trades_net(rows: list[dict]) -> dict[str, Decimal]:
    """Each asset's shares as its CLOB trade history explains them (FAILED ones undone)."""
    net: dict[str, Decimal] = {}
    for row in rows:
        if row["status"] != "FAILED":
            size = Decimal(row["size"])
            net[row["asset_id"]] = net.get(row["asset_id"], ZERO) + (size if row["side"] == "BUY" else -size)
    return net


async def test_the_admin_route_moves_tokens_that_only_the_data_api_sees() -> None:
    async with running_sim(scenario="demo", seed=3) as h, httpx.AsyncClient(timeout=10) as http:
        admin = f"{h.admin_url}/_sim/polymarket/transfers"
        album_no = token_id_for("will-taylor-swift-release-a-new-studio-album-in-2026", "No")
        album_yes = token_id_for("will-taylor-swift-release-a-new-studio-album-in-2026", "Yes")
        trades_before, cash_before = await _clob_trades(h, http), h.sim.polymarket.collateral()
        data_trades_before = (await http.get(f"{h.data_api_url}/trades", params={
            "user": h.sim.polymarket.config.address, "limit": "500"})).json()
        held_yes = (await _positions(h, http))[album_yes]

        into = await http.post(admin, json={"asset": album_no, "size": "40.5", "avg_price": "0.55"})
        assert into.status_code == 201, into.text
        assert into.json()["position"] == {"size": "40.5", "avg_price": "0.55"}  # decimal strings
        out = await http.post(admin, json={"asset": album_yes, "size": "-50"})
        assert out.status_code == 201, out.text
        assert Decimal(out.json()["avg_price"]) == held_yes["avgPrice"]

        after = await _positions(h, http)
        assert (after[album_no]["size"], after[album_no]["avgPrice"], after[album_no]["totalBought"]) == \
            (Decimal("40.5"), Decimal("0.55"), 0)
        assert after[album_yes]["size"] == held_yes["size"] - 50
        assert after[album_yes]["avgPrice"] == held_yes["avgPrice"]
        assert after[album_yes]["realizedPnl"] == held_yes["realizedPnl"]
        # No trade anywhere, no cash moved.
        assert await _clob_trades(h, http) == trades_before
        assert (await http.get(f"{h.data_api_url}/trades", params={
            "user": h.sim.polymarket.config.address, "limit": "500"})).json() == data_trades_before
        assert h.sim.polymarket.collateral() == cash_before
        state = (await http.get(f"{h.admin_url}/_sim/polymarket/state")).json()
        assert [t["size"] for t in state["transfers"][-2:]] == ["40.5", "-50"]

        for body, status in (({"asset": album_no, "size": 5}, 201),  # an integer is exact too
                             ({"asset": album_no, "size": 5.5}, 201),  # JSON numbers are read as Decimal
                             ({"asset": album_no, "size": "-1000"}, 400),
                             ({"asset": album_no, "size": "-1", "avg_price": "0.5"}, 400),
                             ({"asset": album_no, "size": "1", "avg_price": "2"}, 400),
                             ({"asset": album_no, "size": "abc"}, 400),
                             ({"asset": album_no}, 400),
                             ({"asset": "123", "size": "1"}, 404)):
            resp = await http.post(admin, json=body)
            assert resp.status_code == status, (body, resp.text)
            assert status == 201 or "error" in resp.json()
        assert (await http.post(admin, json=[1])).status_code == 400
        assert (await _positions(h, http))[album_no]["size"] == Decimal("51")


# ---- the demo's deliberate cases ---------------------------------------------------------

ORPHAN = token_id_for("no-change-in-fed-interest-rates-after-december-2026-meeting", "No")
GHOST = token_id_for("will-gavin-newsom-win-the-2028-us-presidential-election", "No")
DRIFT = token_id_for("fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting", "Yes")


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_the_demo_has_an_orphan_a_ghost_and_a_drift_whatever_the_seed(seed: int) -> None:
    ex = PolymarketExchange(CONFIG, ManualClock(T0))
    polymarket_demo.load_polymarket_demo(ex, seed)
    traded: dict[str, Decimal] = {}
    for trade in ex.effective_trades():
        traded[trade.token_id] = traded.get(trade.token_id, ZERO) + (trade.size if trade.side == "BUY"
                                                                     else -trade.size)
    held = {token: state.size for token, state in ex.positions().items()}
    assert (traded.get(ORPHAN), held[ORPHAN], ex.position(ORPHAN).avg_price) == (None, 150, Decimal("0.68"))
    assert (traded[GHOST], held[GHOST]) == (600, 0)
    assert (traded[DRIFT], held[DRIFT]) == (800, 650)
    assert {t: s for t, s in held.items() if t not in (ORPHAN, GHOST, DRIFT)} == \
        {t: s for t, s in traded.items() if t not in (GHOST, DRIFT)}
    # Each transfer is dated after every trade of its token: the history is never re-folded.
    for transfer in ex.transfers:
        assert all(t.match_ms < transfer.at_ms for t in ex.trades if t.token_id == transfer.token_id)
    assert [(t.token_id, t.size) for t in ex.transfers] == [
        (token_id_for(slug, outcome), size) for slug, outcome, size, _, _ in polymarket_demo.TRANSFERS]


async def test_the_demo_data_api_differs_from_the_trade_history_in_exactly_three_places() -> None:
    async with running_sim(scenario="demo", seed=5) as h, httpx.AsyncClient(timeout=10) as http:
        venue = {asset: row["size"] for asset, row in (await _positions(h, http)).items()}
        traded = {asset: net for asset, net in _trades_net(await _clob_trades(h, http)).items() if net != 0}
        assert ORPHAN in venue and ORPHAN not in traded and venue[ORPHAN] == 150
        assert GHOST in traded and GHOST not in venue and traded[GHOST] == 600
        assert (traded[DRIFT], venue[DRIFT]) == (800, 650)
        others = lambda sizes: {a: s for a, s in sizes.items() if a not in (ORPHAN, GHOST, DRIFT)}  # noqa: E731
        assert others(venue) == others(traded) and len(others(venue)) >= 5

