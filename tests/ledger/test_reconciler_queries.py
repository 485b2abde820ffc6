"""The ledger answers the reconciler: the venue ids an import loaded, and adoptions of venue
holdings booked once as external adjustments — a real ledger process on real Postgres and NATS,
asked as the reconciler's NATS user."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.cli import main
from services.ledger.domain.positions import Position
from services.ledger.domain.reconciliation import AdoptionRefused, adjustment_fill, check_adoptable, venue_ids
from shared.bus import Bus, BusTimeout
from shared.contracts import utcnow
from shared.contracts.channels import LEDGER_ADOPT, LEDGER_IMPORTED_MARKETS, RECONCILER
from shared.contracts.reconciler import AdoptionRequest, ExternalIds, ImportedMarketsRequest
from tests.ledger.harness import Ledger, running_ledger

DATA = Path(__file__).parents[1] / "data"
NEW = DATA / "positions_new.json"
FED, BTC, NBA, NYC = ("KXFEDDECISION-25DEC-H0", "KXBTCD-25DEC0517-T98000", "KXNBAGAME-25DEC02LALBOS-LAL",
                      "KXHIGHNY-25NOV30-B48")
FED_IDS = ExternalIds(
    kalshi_market_ticker=FED,
    poly_asset_yes="48331043336612883890938759509493159234755048973500640148014422747788308965732",
    poly_asset_no="101669189743438912873361127612589311253202068363959436125443545768924463212474",
    poly_condition_id="0x1e6c5a9a3b1d8f0e2c4b6a8d0f2e4c6a8b0d2f4e6c8a0b2d4f6e8c0a2b4d6f8e",
    poly_market_slug="fed-decision-in-december",
)
# An older bot's file names Polymarket tokens `poly_token_id_*`: they stand in for the asset ids.
BTC_IDS = ExternalIds(
    kalshi_market_ticker=BTC,
    poly_asset_yes="71321045679252212594626385532706912750332728571942532289631379312455583992563",
    poly_asset_no="52114319501245915516055106046884209969926127482827954674443846427813813222426",
)
NBA_IDS = ExternalIds(
    kalshi_market_ticker=NBA,
    poly_asset_yes="23780453928401127775542936148023150211290651036651306917337011419924306123185",
    poly_asset_no="86954014331112349020187046734529316512298432591830040102345637284858127104491",
    poly_market_slug="nba-lal-bos-2025-12-02",
)


# ---- pure rules ---------------------------------------------------------------------------------

def adoption(**fields) -> AdoptionRequest:
    defaults = dict(venue="kalshi", account="default", instrument_id="KX-T", outcome="yes", quantity=D(5),
                    price=D("0.4"), actor="ops@example.com", reason="held at the venue, missing in the ledger")
    return AdoptionRequest(**(defaults | fields))


def held(outcome: str, quantity: str, venue: str = "kalshi", instrument_id: str = "KX-T") -> Position:
    return Position(venue, instrument_id, outcome, utcnow(), quantity=D(quantity))


def test_venue_ids_map_the_import_keys_and_ignore_account_ids():
    assert venue_ids({"poly_token_id_yes": "t1", "poly_asset_no": "a2", "poly_token_id_no": "t2",
                      "account_ids": {"poly_address": "0x5b"}, "unknown": "x"}) == \
        ExternalIds(poly_asset_yes="t1", poly_asset_no="a2")
    assert venue_ids({"account_ids": {"poly_address": "0x5b"}, "poly_market_slug": "  "}) is None
    with pytest.raises(ValueError):
        venue_ids({"kalshi_market_ticker": "K" * 257})


def test_an_adoption_is_a_fill_of_the_held_outcome_with_who_and_why():
    request = adoption(outcome="no", quantity=D("-3.5"))
    fill = adjustment_fill(request, at=utcnow())
    assert (fill.outcome, fill.side, fill.quantity, fill.price, fill.fee) == ("no", "sell", D("3.5"), D("0.4"), 0)
    assert fill.fill_id == f"adjust-{request.event_id}" and fill.client_order_id is None
    assert fill.raw["actor"] == "ops@example.com" and fill.raw["adjustment"] is True
    assert adjustment_fill(request, at=utcnow()).event_id == fill.event_id  # a retry is the same fill
    with pytest.raises(AdoptionRefused, match="quantity is 0"):
        adjustment_fill(adoption(quantity=D(0)), at=utcnow())


def test_an_adoption_that_cannot_land_on_the_requested_outcome_is_refused():
    check_adoptable(adoption(quantity=D(-5)), [held("yes", "5")])  # removes all of it
    check_adoptable(adoption(venue="polymarket", outcome="no", quantity=D(2)), [
        held("yes", "5", venue="polymarket")])  # Polymarket holds the two tokens apart
    with pytest.raises(AdoptionRefused, match="cannot remove 6"):
        check_adoptable(adoption(quantity=D(-6)), [held("yes", "5")])
    with pytest.raises(AdoptionRefused, match="holds 5 NO"):
        check_adoptable(adoption(outcome="yes", quantity=D(1)), [held("no", "5")])


# ---- the real ledger ----------------------------------------------------------------------------

async def trueup_import(ledger: Ledger, path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", ledger.env["DATABASE_URL"])  # the ledger's own role, as an operator runs it
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, ["import", str(path)], out=out, err=err)
    assert code == 0, err.getvalue()


@asynccontextmanager
async def as_reconciler(nats_users: dict[str, str], ledger: Ledger) -> AsyncIterator[Bus]:
    bus = Bus(nats_users[RECONCILER], ledger.namespace, RECONCILER)
    await bus.start()
    try:
        # The ledger makes its schema before it answers on the bus: wait for its responders.
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            try:
                await bus.request(LEDGER_IMPORTED_MARKETS.subject(), ImportedMarketsRequest(), timeout=2)
                break
            except BusTimeout:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
        yield bus
    finally:
        await bus.stop()


async def open_position(ledger: Ledger, venue: str, instrument_id: str) -> dict | None:
    conn = await ledger.connect()
    try:
        row = await conn.fetchrow("SELECT outcome, quantity, avg_price, cost_basis, origin, opened_by FROM positions "
                                  "WHERE venue = $1 AND instrument_id = $2 AND closed_at IS NULL",
                                  venue, instrument_id)
    finally:
        await conn.close()
    return None if row is None else dict(row)


async def test_imported_markets_are_the_latest_import_s_external_ids(nats_users, database_factory, monkeypatch,
                                                                    tmp_path):
    async with running_ledger(nats_users, database_factory) as ledger, as_reconciler(nats_users, ledger) as bus:
        assert (await bus.request(LEDGER_IMPORTED_MARKETS.subject(), ImportedMarketsRequest())).markets == ()
        await trueup_import(ledger, NEW, monkeypatch)
        reply = await bus.request(LEDGER_IMPORTED_MARKETS.subject(), ImportedMarketsRequest())
        by_market = {m.market_id: m for m in reply.markets}
        # NYC's record carried no external ids: the reconciler learns nothing of it here.
        assert {m: i.external_ids for m, i in by_market.items()} == {FED: FED_IDS, BTC: BTC_IDS, NBA: NBA_IDS}
        assert by_market[FED].description == "Fed holds rates at the December 2025 meeting"

        # A later file (a holding changed, so it is written) renames the Fed market's slug.
        document = json.loads(NEW.read_text())
        document["positions"][FED]["external_ids"]["poly_market_slug"] = "fed-december-2025"
        document["positions"][FED]["kalshi_no"]["contracts"] = 30
        later = tmp_path / "positions_later.json"
        later.write_text(json.dumps(document))
        await trueup_import(ledger, later, monkeypatch)
        reply = await bus.request(LEDGER_IMPORTED_MARKETS.subject(), ImportedMarketsRequest())
        by_market = {m.market_id: m.external_ids for m in reply.markets}
        assert by_market == {FED: FED_IDS.model_copy(update={"poly_market_slug": "fed-december-2025"}),
                             BTC: BTC_IDS, NBA: NBA_IDS}


async def test_adoptions_book_once_as_external_adjustments(nats_users, database_factory, monkeypatch):
    async with running_ledger(nats_users, database_factory) as ledger, as_reconciler(nats_users, ledger) as bus:
        await trueup_import(ledger, NEW, monkeypatch)

        async def adopt(request: AdoptionRequest):
            return await bus.request(LEDGER_ADOPT.subject(), request)

        # An orphaned Polymarket token: the ledger holds none, the venue 12 at 0.4.
        orphan = adoption(venue="polymarket", instrument_id="tok-orphan", outcome="yes", quantity=D(12),
                          price=D("0.4"))
        assert (await adopt(orphan)).booked
        assert (await adopt(orphan)).booked  # the reconciler retried: booked once
        position = await open_position(ledger, "polymarket", "tok-orphan")
        assert (position["outcome"], position["quantity"], position["avg_price"], position["cost_basis"],
                position["origin"]) == ("yes", D(12), D("0.4"), D("4.8"), "external")
        assert position["opened_by"] == f"adjust-{orphan.event_id}"
        conn = await ledger.connect()
        try:
            rows = await conn.fetch("SELECT * FROM journal_fills WHERE fill_id = $1", f"adjust-{orphan.event_id}")
        finally:
            await conn.close()
        assert len(rows) == 1
        assert (rows[0]["side"], rows[0]["fee"], rows[0]["status"], rows[0]["origin"]) == (
            "buy", D(0), "confirmed", "external")
        raw = json.loads(rows[0]["raw"])
        assert raw["adjustment"] is True and raw["actor"] == orphan.actor and raw["reason"] == orphan.reason

        # Kalshi NO: a ticker the ledger lacks, and more NO on one it holds (imported: 25 NO at 0.62).
        assert (await adopt(adoption(instrument_id="KX-NEW", outcome="no", quantity=D(7), price=D("0.3")))).booked
        position = await open_position(ledger, "kalshi", "KX-NEW")
        assert (position["outcome"], position["quantity"], position["avg_price"], position["origin"]) == (
            "no", D(7), D("0.3"), "external")
        assert (await adopt(adoption(instrument_id=FED, outcome="no", quantity=D(5), price=D("0.5")))).booked
        position = await open_position(ledger, "kalshi", FED)
        assert (position["outcome"], position["quantity"], position["cost_basis"]) == ("no", D(30), D("18"))
        # The ledger held 10 YES of BTC; the venue holds 6.
        assert (await adopt(adoption(instrument_id=BTC, quantity=D(-4), price=D("0.47")))).booked
        assert (await open_position(ledger, "kalshi", BTC))["quantity"] == D(6)

        refused = await adopt(adoption(instrument_id=BTC, quantity=D(0)))
        assert not refused.booked and refused.error.code == "invalid_request"
        refused = await adopt(adoption(instrument_id=BTC, quantity=D(-7)))
        assert not refused.booked and refused.error.code == "not_adoptable"
        assert "cannot remove 7" in refused.error.message
        refused = await adopt(adoption(instrument_id=FED, outcome="yes", quantity=D(1)))
        assert not refused.booked and refused.error.code == "not_adoptable"
        reused = orphan.model_copy(update={"quantity": D(13)})
        refused = await adopt(reused)
        assert not refused.booked and refused.error.code == "conflict"
        assert (await open_position(ledger, "polymarket", "tok-orphan"))["quantity"] == D(12)
        assert (await open_position(ledger, "kalshi", BTC))["quantity"] == D(6)
