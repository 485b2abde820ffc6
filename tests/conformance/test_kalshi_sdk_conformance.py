"""venue-sim's Kalshi API through Kalshi's official SDK (kalshi-python-async, pinned in
kalshi_sdk_requirements.txt): every endpoint the sim serves parses into the SDK's models with
no error, and the values are the ones the sim holds.

The SDK needs Python >= 3.13, so it lives in its own venv (`make kalshi-sdk` builds
.venv-kalshi-sdk; `make test` does it first) and kalshi_sdk_driver.py runs there as a
subprocess against a sim started here. Without that venv the test skips and says why, except
where TRUEUP_REQUIRE_KALSHI_SDK=1 (CI): there a missing SDK is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from services.venue_sim.domain.kalshi import KalshiExchange
from tests.support.venue_sim import RunningSim, running_sim

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SDK_PYTHON = ROOT / ".venv-kalshi-sdk" / "bin" / "python"
SDK_STAMP = ROOT / ".venv-kalshi-sdk" / ".installed"
PIN = (HERE / "kalshi_sdk_requirements.txt").read_text().strip()
DRIVER = HERE / "kalshi_sdk_driver.py"
TICKER = "KXBTCMAXY-26-150000"  # the demo account holds nothing here: the driver's trades stand alone
PAGE_LIMIT = 2  # positions pages of two: several pages even for a handful of markets
D = Decimal


def _why_no_sdk() -> str:
    if shutil.which("python3.13") or shutil.which("python3.14") or list(Path.home().glob(".pyenv/versions/3.1[3-9]*")):
        return f"{SDK_PYTHON.parent.parent.name} is not built: run `make kalshi-sdk` (installs {PIN})"
    return f"no Python >= 3.13 on this machine ({PIN} requires it): install one (e.g. pyenv install 3.13)"


def require_sdk() -> None:
    if SDK_STAMP.exists() and SDK_PYTHON.exists():
        return
    reason = _why_no_sdk()
    if os.environ.get("TRUEUP_REQUIRE_KALSHI_SDK") == "1":  # CI builds it: missing there is a failure
        pytest.fail(reason)
    pytest.skip(reason)


async def _drive(sim: RunningSim) -> dict:
    args = {"base_url": sim.kalshi_base_url, "key_id": sim.credentials.kalshi_key_id,
            "private_key_pem": sim.credentials.kalshi_private_key_pem.decode(), "ticker": TICKER,
            "event_ticker": sim.sim.kalshi.markets[TICKER].event_ticker, "page_limit": PAGE_LIMIT}
    # Async subprocess: the sim serves from this very event loop while the driver runs.
    proc = await asyncio.create_subprocess_exec(
        str(SDK_PYTHON), str(DRIVER), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(args).encode()), timeout=90)
    assert proc.returncode == 0, err.decode()[-3000:]
    return json.loads(out)


@pytest.fixture(scope="module")
async def driven() -> tuple[KalshiExchange, dict]:
    require_sdk()
    async with running_sim(scenario="demo", seed=7, kalshi_tier="prime") as sim:
        report = await _drive(sim)
        return sim.sim.kalshi, report


def _call(report: dict, name: str):
    return report["calls"][name]["value"]


def _rows(report: dict, name: str, key: str) -> list[dict]:
    return [row for page in _call(report, name) for row in page[key]]


def test_the_pinned_sdk_parses_every_endpoint_without_a_model_error(driven) -> None:
    _, report = driven
    assert f"kalshi-python-async=={report['sdk_version']}" == PIN
    failed = {name: call["error"] for name, call in report["calls"].items() if not call["ok"]}
    assert failed == {}, "\n".join(f"{name}: {err}" for name, err in failed.items())
    assert set(report["calls"]) == {
        "create_order", "get_order_resting", "cancel_order", "get_order_canceled", "create_order_ioc_ask",
        "get_order_ioc_ask", "balance", "positions", "positions_settled", "fills", "orders", "settlements",
        "markets", "market", "orderbook", "trades", "event", "exchange_status", "account_limits"}


def test_balance_positions_and_settlements_are_the_sims(driven) -> None:
    x, report = driven
    balance = _call(report, "balance")
    assert D(balance["balance_dollars"]) == x.balance and balance["balance"] == int(x.balance * 100)
    open_positions = {p.ticker: p for p in x.positions.values() if not p.settled}
    assert len(_call(report, "positions")) == -(-len(open_positions) // PAGE_LIMIT) > 1  # really paged
    rows = _rows(report, "positions", "market_positions")
    assert sorted(r["ticker"] for r in rows) == sorted(open_positions)  # each exactly once
    for row in rows:
        venue = open_positions[row["ticker"]]
        assert (D(row["position_fp"]), row["exchange_index"]) == (venue.signed, 0)
        assert D(row["market_exposure_dollars"]) == venue.exposure and D(row["fees_paid_dollars"]) == venue.fees_paid
    events = {r["event_ticker"] for r in _call(report, "positions")[0]["event_positions"]}
    assert events == {p.event_ticker for p in open_positions.values()}
    settled = _rows(report, "positions_settled", "market_positions")
    assert sorted(r["ticker"] for r in settled) == sorted(p.ticker for p in x.positions.values() if p.settled)

    rows = _rows(report, "settlements", "settlements")
    assert [r["ticker"] for r in rows] == [s.ticker for s in reversed(x.settlements)] != []
    for row, s in zip(rows, reversed(x.settlements)):
        assert (row["market_result"], row["event_ticker"], row["exchange_index"]) == (s.result, s.event_ticker, 0)
        assert (D(row["yes_count_fp"]), D(row["no_count_fp"])) == (s.yes_count, s.no_count)
        assert (D(row["yes_total_cost_dollars"]), D(row["no_total_cost_dollars"])) == (s.yes_cost, s.no_cost)
        assert row["revenue"] == int(s.revenue * 100) and row["value"] == (100 if s.result == "yes" else 0)


def test_fills_orders_and_trades_are_the_sims_with_direction_on_both_fields(driven) -> None:
    x, report = driven
    fills = _rows(report, "fills", "fills")
    expected = sorted(x.fills, key=lambda f: (-f.ts_ms, -f.seq))
    assert len(_call(report, "fills")) > 1
    assert [f["fill_id"] for f in fills] == [f.fill_id for f in expected]
    for row, fill in zip(fills, expected):
        assert (D(row["count_fp"]), D(row["yes_price_dollars"]), D(row["fee_cost"])) == (
            fill.count, fill.yes_price, fill.fee)
        assert (row["book_side"], row["outcome_side"], row["exchange_index"]) == (
            fill.book_side, "yes" if fill.book_side == "bid" else "no", 0)
    assert {f["book_side"] for f in fills} == {"bid", "ask"}

    orders = _rows(report, "orders", "orders")
    assert sorted(o["order_id"] for o in orders) == sorted(x.orders)
    for row in orders:
        venue = x.orders[row["order_id"]]
        assert (row["status"], D(row["fill_count_fp"]), row["book_side"]) == (venue.status, venue.filled, venue.side)
        assert row["outcome_side"] == ("yes" if venue.side == "bid" else "no")

    trades = _rows(report, "trades", "trades")
    assert sorted(t["trade_id"] for t in trades) == sorted(t.trade_id for t in x.trades)
    volume = Counter()
    for row in trades:
        volume[row["ticker"]] += D(row["count_fp"])
        assert row["taker_outcome_side"] == ("yes" if row["taker_book_side"] == "bid" else "no")
    assert dict(volume) == {m.ticker: m.volume for m in x.markets.values() if m.volume}


def test_v2_create_cancel_and_get_order_round_trip(driven) -> None:
    x, report = driven
    created = _call(report, "create_order")
    venue = x.orders[created["order_id"]]
    assert (venue.client_order_id, created["remaining_count"], created["fill_count"]) == (
        "sdk-conformance-rest", "3.00", "0.00")
    resting = _call(report, "get_order_resting")["order"]
    assert (resting["order_id"], resting["status"], resting["outcome_side"]) == (venue.order_id, "resting", "yes")
    cancel = _call(report, "cancel_order")
    assert (cancel["order_id"], cancel["reduced_by"]) == (venue.order_id, "3.00")
    assert abs(cancel["ts_ms"] - venue.updated_ms) < 1000
    canceled = _call(report, "get_order_canceled")["order"]
    assert (canceled["status"], venue.status, canceled["remaining_count_fp"]) == ("canceled", "canceled", "0.00")

    ask = _call(report, "create_order_ioc_ask")
    venue_ask = x.orders[ask["order_id"]]
    assert D(ask["fill_count"]) == venue_ask.filled == 2
    order = _call(report, "get_order_ioc_ask")["order"]
    assert (order["book_side"], order["outcome_side"], order["status"]) == ("ask", "no", venue_ask.status)
    ask_fills = [f for f in x.fills if f.order_id == venue_ask.order_id]
    assert sum(f.count for f in ask_fills) == 2 and x.positions[TICKER].signed == -2


def test_markets_market_and_orderbook_match_the_book_and_the_tape(driven) -> None:
    x, report = driven
    rows = _rows(report, "markets", "markets")
    assert sorted(r["ticker"] for r in rows) == sorted(x.markets)
    for row in [*rows, _call(report, "market")["market"]]:
        m = x.markets[row["ticker"]]
        yes_levels, no_levels = m.levels("yes"), m.levels("no")
        assert D(row["yes_bid_size_fp"]) == (yes_levels[-1][1] if yes_levels else 0)
        assert D(row["yes_ask_size_fp"]) == (no_levels[-1][1] if no_levels else 0)
        if no_levels:
            assert D(row["yes_ask_dollars"]) == 1 - no_levels[-1][0]
        assert D(row["volume_fp"]) == m.volume == sum((t.count for t in x.trades if t.ticker == m.ticker), D(0))
        assert D(row["volume_24h_fp"]) <= m.volume and D(row["open_interest_fp"]) == m.open_interest
        held = x.positions.get(m.ticker)
        if m.status == "active" and held is not None:
            assert m.open_interest >= held.held  # at least what this one account holds
        assert (row["rules_primary"], row["status"], row["result"]) == (m.rules_primary, m.status, m.result)
        assert row["rules_primary"] and row["rules_secondary"]
        assert row["price_ranges"] == [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]
    settled = next(r for r in rows if r["status"] == "finalized")
    assert settled["expiration_value"] and settled["settlement_value_dollars"] in ("0.0000", "1.0000")
    book = _call(report, "orderbook")["orderbook_fp"]
    m = x.markets[TICKER]
    assert [[D(p), D(c)] for p, c in book["yes_dollars"]] == [[p, c] for p, c in m.levels("yes")]
    assert [[D(p), D(c)] for p, c in book["no_dollars"]] == [[p, c] for p, c in m.levels("no")]


def test_event_exchange_status_and_account_limits(driven) -> None:
    x, report = driven
    event = _call(report, "event")
    venue = x.events[x.markets[TICKER].event_ticker]
    assert (event["event"]["event_ticker"], event["event"]["mutually_exclusive"]) == (
        venue.event_ticker, venue.mutually_exclusive)
    name, url = venue.settlement_source
    assert event["event"]["settlement_sources"] == [{"name": name, "url": url}]
    assert [m["ticker"] for m in event["markets"]] == sorted(
        m.ticker for m in x.markets.values() if m.event_ticker == venue.event_ticker)
    assert _call(report, "exchange_status")["trading_active"] is True
    assert _call(report, "account_limits")["usage_tier"] == "prime"
