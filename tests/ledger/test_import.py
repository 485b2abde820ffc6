"""`trueup import positions.json`: the pure mapping (units and cash properties), then the real
thing against Postgres — old and new files, corrupt and invalid ones, re-imports — via the CLI."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cli import main
from services.ledger.domain.fold import fold_history
from services.ledger.domain.imports import (
    ImportFileError,
    PositionLeg,
    holding,
    json_text,
    net_kalshi,
    parse_positions_file,
)
from services.ledger.domain.positions import AVG_QUANTUM
from services.ledger.handlers.import_positions import ImportConflict, import_plan
from tests.exchange_gateway.stack import free_port
from tests.support.db_roles import service_database_urls

DATA = Path(__file__).parents[1] / "data"
OLD, NEW = DATA / "positions_old.json", DATA / "positions_new.json"
T1 = datetime(2025, 12, 3, 12, 0, tzinfo=UTC)
T2 = T1 + timedelta(hours=1)

FED, BTC, NBA, NYC = ("KXFEDDECISION-25DEC-H0", "KXBTCD-25DEC0517-T98000", "KXNBAGAME-25DEC02LALBOS-LAL",
                      "KXHIGHNY-25NOV30-B48")
FED_ASSET_YES = "48331043336612883890938759509493159234755048973500640148014422747788308965732"
BTC_TOKEN_NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
NBA_ASSET_NO = "86954014331112349020187046734529316512298432591830040102345637284858127104491"

# What the sample files hold, worked out by hand (the bot's float sums are read as printed):
# (venue, instrument) -> (outcome, quantity, avg_price, cost_basis, realized_pnl, fees)
KALSHI_EXPECTED = {
    ("kalshi", FED): ("no", D(25), D("0.62"), D("15.5"), D("-0.41"), D("0.41")),
    # 10 @ 4.699999999999999: the average rounds to 0.47, the 1e-15 residual is realized; fees 0.17.
    ("kalshi", BTC): ("yes", D(10), D("0.47"), D("4.7"), D("0.000000000000001") - D("0.17"), D("0.17")),
    # YES 20 for 11.080000000000002 against NO 5 for 2.0: 5 pairs pay $5; 15 YES remain at 0.554;
    # realized = 8.31 − (11.080000000000002 + 2.0 − 5) − fees 0.35.
    ("kalshi", NBA): ("yes", D(15), D("0.554"), D("8.31"), D("0.229999999999998") - D("0.35"), D("0.35")),
    # Resolved: the bot's realized PnL (already net of fees) and a closed holding.
    ("kalshi", NYC): ("yes", D(0), D(0), D(0), D("0.379999999999999"), D("0.52")),
}


def poly_expected(fed_yes: str, btc_no: str, nba_no: str) -> dict:
    return {
        ("polymarket", fed_yes): ("yes", D(25), D("0.35"), D("8.75"), D(0), D(0)),
        ("polymarket", btc_no): ("no", D(10), D("0.49"), D("4.9"), D(0), D(0)),
        ("polymarket", nba_no): ("no", D(26), D("0.475"), D("12.35"), D(0), D(0)),
        ("polymarket", f"unmapped:{NYC}:no"): ("no", D(0), D(0), D(0), D(0), D(0)),
    }


OLD_EXPECTED = KALSHI_EXPECTED | poly_expected(f"unmapped:{FED}:yes", f"unmapped:{BTC}:no", f"unmapped:{NBA}:no")
NEW_EXPECTED = KALSHI_EXPECTED | poly_expected(FED_ASSET_YES, BTC_TOKEN_NO, NBA_ASSET_NO)
LEDGER_TABLES = ("journal_openings", "positions", "instruments", "instrument_cursors", "imports", "import_records")


def plan_of(path: Path, as_of: datetime = T1, **kwargs):
    return parse_positions_file(path.read_bytes(), file_name=path.name, as_of=as_of, **kwargs)


def numbers(opening) -> tuple:
    return (opening.outcome, opening.quantity, opening.avg_price, opening.cost_basis, opening.realized_pnl,
            opening.fees)


def errors_of(data: bytes) -> list[str]:
    with pytest.raises(ImportFileError) as exc:
        parse_positions_file(data, file_name="positions.json", as_of=T1)
    return exc.value.errors


def edited(path: Path, edit) -> bytes:
    document = json.loads(path.read_text())
    edit(document["positions"])
    return json.dumps(document).encode()


# ---- the mapping, pure ------------------------------------------------------------------------

def test_old_file_maps_kalshi_to_tickers_and_polymarket_to_placeholders():
    plan = plan_of(OLD)
    assert {(o.venue, o.instrument_id): numbers(o) for o in plan.openings} == OLD_EXPECTED
    for opening in plan.openings:
        assert opening.cost_basis == opening.avg_price * opening.quantity  # the ledger's identity, exactly
        assert opening.as_of == T1 and opening.strategy_name is None
    fed = next(r for r in plan.records if r.market_id == FED)
    # chrono's nanoseconds are truncated to Postgres' microseconds.
    assert fed.openings[0].opened_at == datetime(2025, 11, 28, 14, 3, 11, 123456, tzinfo=UTC)
    assert fed.external_ids is None and fed.raw["total_fees"] == D("0.41")  # numbers stay exact decimals
    assert {i.market_id for i in fed.instruments} == {FED}
    assert {i.title for i in fed.instruments} == {"Fed holds rates at the December 2025 meeting"}
    assert plan.warnings == ()


def test_new_file_maps_polymarket_legs_to_asset_then_token_ids_and_keeps_unknown_keys():
    plan = plan_of(NEW, strategy_name="arb")
    assert {(o.venue, o.instrument_id): numbers(o) for o in plan.openings} == NEW_EXPECTED
    assert {o.strategy_name for o in plan.openings} == {"arb"}
    fed = next(r for r in plan.records if r.market_id == FED)
    assert fed.external_ids["account_ids"]["kalshi_member_id"] == "a4f3c2e1-0b9d-4c8e-9f7a-6e5d4c3b2a10"
    assert fed.raw["bot_version"] == "2.3.1" and len(fed.raw["trades"]) == 2
    # Mapped legs retire the placeholders an old import of the same market would have left.
    assert [r.instrument_id for r in fed.retirements] == [f"unmapped:{FED}:yes", f"unmapped:{FED}:no"]
    assert next(r for r in plan.records if r.market_id == NYC).retirements == ()


def test_the_same_file_plans_the_same_ids_and_a_later_import_new_ones():
    first, again, later = plan_of(OLD), plan_of(OLD), plan_of(OLD, as_of=T2)
    assert [o.source_id for o in first.openings] == [o.source_id for o in again.openings]
    assert not {o.source_id for o in first.openings} & {o.source_id for o in later.openings}


def test_a_closed_record_without_realized_pnl_is_imported_at_zero_with_a_warning():
    plan = parse_positions_file(edited(OLD, lambda p: p[NYC].update(realized_pnl=None)),
                                file_name="positions.json", as_of=T1)
    nyc = next(o for o in plan.openings if o.instrument_id == NYC)
    assert (nyc.quantity, nyc.realized_pnl, nyc.fees) == (0, 0, D("0.52"))
    assert plan.warnings == (f"positions.json: record '{NYC}': status resolved without realized_pnl; "
                             "imported with realized PnL 0",)


def test_corrupt_json_is_one_error_with_line_and_column():
    text = OLD.read_bytes().replace(b'"total_fees": 0.17,', b'"total_fees": 0.17', 1)
    assert errors_of(text) == ["positions.json: not valid JSON: Expecting ',' delimiter at line 55 column 7"]
    assert errors_of(b"\xff\xfe{}") == ["positions.json: not UTF-8 text (byte 0)"]
    assert errors_of(b'{"position": {}}') == [
        'positions.json: expected an object with a "positions" map of market id to position']


def test_every_invalid_record_is_listed_with_its_field():
    def damage(positions):
        positions[FED]["kalshi_no"]["contracts"] = -3
        positions[FED]["status"] = "pending"
        positions[BTC]["poly_no"]["cost_basis"] = "4.9"
        del positions[BTC]["opened_at"]
        positions[NBA]["opened_at"] = "2025-12-02 23:30"
        positions[NYC]["market_id"] = "KXHIGHNY-25NOV30-B50"

    errors = errors_of(edited(OLD, damage))
    assert errors == [
        f"positions.json: record '{FED}': kalshi_no.contracts: -3 is negative",
        f"positions.json: record '{FED}': status: 'pending' is not one of open, closed, resolved",
        f"positions.json: record '{BTC}': poly_no.cost_basis: '4.9' is not a number",
        f"positions.json: record '{BTC}': opened_at: missing",
        f"positions.json: record '{NBA}': opened_at: '2025-12-02 23:30' is not an RFC 3339 time with an offset",
        f"positions.json: record '{NYC}': market_id: 'KXHIGHNY-25NOV30-B50' differs from the record's key",
    ]


def test_nan_two_records_on_one_instrument_and_a_bad_strategy_are_refused():
    nan = OLD.read_bytes().replace(b'"total_fees": 0.41', b'"total_fees": NaN', 1)
    assert errors_of(nan) == [f"positions.json: record '{FED}': total_fees: NaN is not a number"]

    def share_ticker(positions):
        positions[BTC]["external_ids"] = {"kalshi_market_ticker": FED}

    assert errors_of(edited(OLD, share_ticker)) == [
        f"positions.json: record '{BTC}': kalshi instrument '{FED}' is also held by record '{FED}'; "
        "an instrument takes one opening, merge the records"]
    with pytest.raises(ImportFileError, match="strategy name 'Arb Bot' must be"):
        plan_of(OLD, strategy_name="Arb Bot")


def test_kalshi_netting_unit():
    yes = PositionLeg(contracts=D(20), cost_basis=D("11.00"), avg_price=D("0.55"))
    no = PositionLeg(contracts=D(5), cost_basis=D("2.00"), avg_price=D("0.40"))
    held = net_kalshi(yes, no)
    # 5 pairs: $5 back for 5 × 0.55 + 2.00; 15 YES keep 0.55.
    assert (held.outcome, held.quantity, held.avg_price, held.cost_basis) == ("yes", 15, D("0.55"), D("8.25"))
    assert held.realized_pnl == D(5) - D("2.75") - D("2.00")
    flat = net_kalshi(no, no)
    assert (flat.quantity, flat.cost_basis, flat.realized_pnl) == (0, 0, D(5) - D(4))
    assert net_kalshi(no, yes).outcome == "no"


def test_a_leg_partly_sold_keeps_its_price_within_zero_and_one():
    profit = holding("yes", D(5), D("-0.5"))  # sold more than it cost: the profit is realized
    assert (profit.avg_price, profit.cost_basis, profit.realized_pnl) == (0, 0, D("0.5"))
    loss = holding("no", D(2), D("8.2"))  # paid 4.10 a contract for what pays at most 1
    assert (loss.avg_price, loss.cost_basis, loss.realized_pnl) == (1, 2, D("-6.2"))
    round_trip = holding("yes", D(0), D("-1"))
    assert (round_trip.quantity, round_trip.realized_pnl) == (0, 1)


# ---- cash properties --------------------------------------------------------------------------

contracts = st.integers(0, 500).map(D) | st.integers(0, 5000).map(lambda n: D(n) / 10)
# Net cash of a leg as serde prints float sums (15+ decimals), sells included (below zero).
net_costs = st.decimals(min_value=-50, max_value=600, places=15, allow_nan=False, allow_infinity=False)


@st.composite
def legs(draw):
    return PositionLeg(contracts=draw(contracts), cost_basis=draw(net_costs), avg_price=D(0))


@settings(max_examples=300, deadline=None)
@given(legs(), legs())
def test_netting_conserves_cash_and_keeps_the_ledger_identity(yes, no):
    held = net_kalshi(yes, no)
    pairs = min(yes.contracts, no.contracts)
    # Realized less what the holding still carries is exactly the cash the legs imply: the pairs'
    # $1 each in, both legs' net cost out.
    assert held.realized_pnl - held.cost_basis == pairs - yes.cost_basis - no.cost_basis
    assert held.quantity == abs(yes.contracts - no.contracts)
    assert held.cost_basis == held.avg_price * held.quantity
    assert held.avg_price == held.avg_price.quantize(AVG_QUANTUM) and 0 <= held.avg_price <= 1
    if held.quantity:
        assert held.outcome == ("yes" if yes.contracts > no.contracts else "no")
        larger = yes if held.outcome == "yes" else no
        carried = larger.cost_basis * held.quantity / larger.contracts  # its own average, pro rata
        if 0 <= carried <= held.quantity:
            assert abs(held.cost_basis - carried) <= AVG_QUANTUM * held.quantity / 2


def _record(market, ky, kn, py, pn, fees, status, pnl):
    def leg(x):
        return {"contracts": x.contracts, "cost_basis": x.cost_basis, "avg_price": 0}
    return {"market_id": market, "description": "", "kalshi_yes": leg(ky), "kalshi_no": leg(kn),
            "poly_yes": leg(py), "poly_no": leg(pn), "total_fees": fees, "opened_at": "2025-11-01T00:00:00Z",
            "status": status, "realized_pnl": pnl}


@settings(max_examples=150, deadline=None)
@given(legs(), legs(), legs(), legs(), st.decimals(min_value=0, max_value=5, places=4),
       st.sampled_from(["open", "resolved"]), st.decimals(min_value=-100, max_value=100, places=12))
def test_a_record_imports_the_cash_its_legs_imply_and_folds_as_imported(ky, kn, py, pn, fees, status, pnl):
    document = {"positions": {"M": _record("M", ky, kn, py, pn, fees, status, pnl)}}
    plan = parse_positions_file(json_text(document).encode(), file_name="p.json", as_of=T1)
    openings = list(plan.openings)
    realized = sum((o.realized_pnl for o in openings), D(0))
    carried = sum((o.cost_basis for o in openings), D(0))
    if status == "open":
        implied = min(ky.contracts, kn.contracts) - ky.cost_basis - kn.cost_basis - py.cost_basis - pn.cost_basis - fees
        assert realized - carried == implied
    else:
        assert carried == 0 and realized == (pnl if openings else 0)
    assert sum((o.fees for o in openings), D(0)) == (fees if openings else 0)
    folded = {(p.venue, p.instrument_id): (p.quantity, p.cost_basis, p.realized_pnl, p.origin)
              for p in fold_history(openings)}
    assert folded == {(o.venue, o.instrument_id): (o.quantity, o.cost_basis, o.realized_pnl, "imported")
                      for o in openings}


# ---- against Postgres -------------------------------------------------------------------------

@pytest.fixture
def ledger_db(database_factory) -> str:
    return database_factory("trueup_import")


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, server_settings={"search_path": "ledger"})


async def positions(url: str) -> dict:
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT * FROM positions")
    finally:
        await conn.close()
    return {(r["venue"], r["instrument_id"]): r for r in rows}


async def table_counts(url: str) -> dict[str, int]:
    conn = await connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('ledger.positions') IS NOT NULL"):
            return {}
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in LEDGER_TABLES}
    finally:
        await conn.close()


async def trueup(url: str, monkeypatch, *argv: str) -> tuple[int, str, str]:
    """The `trueup` command in-process (its own event loop, in a worker thread, as a script has)."""
    monkeypatch.setenv("DATABASE_URL", url)
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def assert_book(rows: dict, expected: dict) -> None:
    assert {key: (r["outcome"], r["quantity"], r["avg_price"], r["cost_basis"], r["realized_pnl"], r["fees"])
            for key, r in rows.items()} == expected
    for row in rows.values():
        assert row["origin"] == "imported" and row["opened_by"].startswith("import:")
        assert (row["closed_at"] is None) == (row["quantity"] > 0)


async def test_old_file_loads_as_imported_positions(ledger_db, monkeypatch):
    # As the ledger's own role, in its environment: the schema is made by the import itself.
    role_url = await asyncio.to_thread(lambda: service_database_urls(ledger_db)["ledger"])
    code, out, err = await trueup(role_url, monkeypatch, "import", str(OLD), "--progress")
    assert code == 0, err
    assert out.startswith("imported positions_old.json: 4 records, 8 holdings written, 0 already imported")
    assert "[##############################] 4/4 records\n" in err
    assert "warning: 4 Polymarket leg(s) have no asset id" in err
    rows = await positions(ledger_db)
    assert_book(rows, OLD_EXPECTED)
    assert rows[("kalshi", FED)]["opened_at"] == datetime(2025, 11, 28, 14, 3, 11, 123456, tzinfo=UTC)
    assert rows[("kalshi", FED)]["strategy_name"] is None
    conn = await connect(ledger_db)
    try:
        titles = {(r["venue"], r["instrument_id"]): (r["market_id"], r["title"])
                  for r in await conn.fetch("SELECT * FROM instruments")}
        assert titles[("polymarket", f"unmapped:{NBA}:no")] == (NBA, "Lakers at Celtics (Dec 2): Lakers win")
        assert len(titles) == 8
        record = await conn.fetchrow("SELECT * FROM import_records WHERE market_id = $1", NYC)
        assert record["status"] == "resolved" and record["external_ids"] is None
        # The raw record keeps the bot's digits (jsonb numbers, never through a float).
        assert '"realized_pnl": 0.379999999999999' in record["raw"]
        assert '"avg_price": 0.49000000000000005' in await conn.fetchval(
            "SELECT raw FROM import_records WHERE market_id = $1", BTC)
        imported = await conn.fetchrow("SELECT * FROM imports")
        assert (imported["file_name"], imported["records"]) == ("positions_old.json", 4)
    finally:
        await conn.close()


async def test_new_file_with_external_ids_maps_instruments_to_asset_ids(ledger_db, monkeypatch):
    code, out, err = await trueup(ledger_db, monkeypatch, "import", str(NEW), "--strategy", "arb")
    assert code == 0, err
    assert "[#" not in err  # no progress bar when stderr is not a terminal (and not asked for)
    rows = await positions(ledger_db)
    assert_book(rows, NEW_EXPECTED)
    assert {r["strategy_name"] for r in rows.values()} == {"arb"}
    conn = await connect(ledger_db)
    try:
        ids = json.loads(await conn.fetchval("SELECT external_ids FROM import_records WHERE market_id = $1", FED))
        assert ids["poly_asset_yes"] == FED_ASSET_YES and ids["account_ids"]["poly_address"].startswith("0x5b3E")
        raw = json.loads(await conn.fetchval("SELECT raw FROM import_records WHERE market_id = $1", FED))
        assert raw["bot_version"] == "2.3.1" and raw["next_sequence"] == 2
    finally:
        await conn.close()


async def test_corrupt_file_imports_nothing_and_names_the_problem(ledger_db, monkeypatch, tmp_path):
    corrupt = tmp_path / "positions.json"
    corrupt.write_bytes(OLD.read_bytes()[:-40])  # cut short, as a crashed writer leaves it
    code, out, err = await trueup(ledger_db, monkeypatch, "import", str(corrupt))
    assert code == 2 and out == ""
    assert err.startswith("positions.json: not valid JSON: ") and "line 113" in err
    assert err.endswith("1 problem; nothing imported\n")
    assert await table_counts(ledger_db) == {}  # not even the schema: the file was refused first


async def test_an_invalid_record_lists_all_errors_and_imports_nothing(ledger_db, monkeypatch, tmp_path):
    await trueup(ledger_db, monkeypatch, "import", str(OLD))  # a ledger that already holds something
    before = await table_counts(ledger_db)

    def damage(positions):
        positions[FED]["poly_yes"]["contracts"] = -25
        positions[NYC]["total_fees"] = None

    bad = tmp_path / "positions.json"
    bad.write_bytes(edited(NEW, damage))
    code, out, err = await trueup(ledger_db, monkeypatch, "import", str(bad))
    assert code == 2
    assert err.splitlines() == [
        f"positions.json: record '{FED}': poly_yes.contracts: -25 is negative",
        f"positions.json: record '{NYC}': total_fees: None is not a number",
        "2 problems; nothing imported",
    ]
    assert await table_counts(ledger_db) == before


async def test_reimporting_the_same_file_changes_nothing(ledger_db, monkeypatch):
    assert (await trueup(ledger_db, monkeypatch, "import", str(OLD)))[0] == 0
    conn = await connect(ledger_db)
    try:
        async def snapshot():
            return {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
                    for t in LEDGER_TABLES}
        before = await snapshot()
        code, out, err = await trueup(ledger_db, monkeypatch, "import", str(OLD))
        assert code == 0, err
        assert out == "positions_old.json: nothing new: all 8 holdings of its 4 records are already imported\n"
        assert await snapshot() == before
    finally:
        await conn.close()


async def test_the_new_file_after_the_old_one_moves_polymarket_legs_off_their_placeholders(ledger_db):
    first = await import_plan(ledger_db, plan_of(OLD, as_of=T1))
    assert (first.openings_written, first.openings_skipped) == (8, 0)
    second = await import_plan(ledger_db, plan_of(NEW, as_of=T2))
    # Kalshi holdings and the still-unmapped NYC leg are unchanged; three legs move to real ids.
    assert (second.openings_written, second.openings_skipped, second.placeholders_retired) == (3, 5, 3)
    rows = await positions(ledger_db)
    retired = {("polymarket", f"unmapped:{m}:{side}") for m, side in ((FED, "yes"), (BTC, "no"), (NBA, "no"))}
    assert_book({k: r for k, r in rows.items() if k not in retired}, NEW_EXPECTED)
    for key in retired:  # closed, and the PnL they carried stops counting (the mapped leg has it)
        assert (rows[key]["quantity"], rows[key]["realized_pnl"], rows[key]["closed_at"]) == (0, 0, T2)
    assert sum(r["realized_pnl"] for r in rows.values()) == sum(e[4] for e in NEW_EXPECTED.values())
    # An import older than what the ledger holds is refused, whole.
    with pytest.raises(ImportConflict, match="later than this import"):
        await import_plan(ledger_db, plan_of(NEW, as_of=T1 - timedelta(days=1), strategy_name="arb"))


async def test_dry_run_validates_and_writes_nothing(ledger_db, monkeypatch):
    code, out, err = await trueup(ledger_db, monkeypatch, "import", str(NEW), "--dry-run")
    assert code == 0, err
    assert out.splitlines()[0] == "dry run: positions_new.json: 4 records, 8 holdings would be imported:"
    assert out.splitlines()[1:] == [
        f"  {FED}: kalshi {FED} 25 no @ 0.62 (cost 15.5), realized -0.41, fees 0.41",
        f"  {FED}: polymarket {FED_ASSET_YES} 25 yes @ 0.35 (cost 8.75), realized 0, fees 0",
        f"  {BTC}: kalshi {BTC} 10 yes @ 0.47 (cost 4.7), realized -0.169999999999999, fees 0.17",
        f"  {BTC}: polymarket {BTC_TOKEN_NO} 10 no @ 0.49 (cost 4.9), realized 0, fees 0",
        f"  {NBA}: kalshi {NBA} 15 yes @ 0.554 (cost 8.31), realized -0.120000000000002, fees 0.35",
        f"  {NBA}: polymarket {NBA_ASSET_NO} 26 no @ 0.475 (cost 12.35), realized 0, fees 0",
        f"  {NYC}: kalshi {NYC} closed, realized 0.379999999999999, fees 0.52",
        f"  {NYC}: polymarket unmapped:{NYC}:no closed, realized 0, fees 0",
    ]
    assert await table_counts(ledger_db) == {}


async def test_a_large_file_is_written_in_chunks_with_progress(ledger_db, monkeypatch, tmp_path):
    n = 1201  # three chunks of records
    leg = {"contracts": D(3), "cost_basis": D("1.41"), "avg_price": D("0.47")}
    empty = {"contracts": D("0.0"), "cost_basis": D("0.0"), "avg_price": D("0.0")}
    records = {f"KXT-{i}": {"market_id": f"KXT-{i}", "description": f"market {i}", "kalshi_yes": leg,
                            "kalshi_no": empty, "poly_yes": empty, "poly_no": leg, "total_fees": D("0.02"),
                            "opened_at": "2025-11-01T00:00:00Z", "status": "open", "realized_pnl": None}
               for i in range(n)}
    big = tmp_path / "positions.json"
    big.write_text(json_text({"positions": records}))
    code, out, err = await trueup(ledger_db, monkeypatch, "import", str(big), "--progress")
    assert code == 0, err
    assert [line.split("] ")[1] for line in err.split("\r")[1:]] == [
        "500/1201 records", "1000/1201 records", "1201/1201 records\n"]
    counts = await table_counts(ledger_db)
    assert (counts["import_records"], counts["journal_openings"], counts["positions"]) == (n, 2 * n, 2 * n)
    conn = await connect(ledger_db)
    try:
        assert await conn.fetchval("SELECT sum(realized_pnl) FROM positions") == D("-0.02") * n
        assert await conn.fetchval("SELECT sum(cost_basis) FROM positions") == D("2.82") * n
    finally:
        await conn.close()


async def test_a_file_with_nothing_held_writes_nothing(ledger_db, monkeypatch, tmp_path):
    empty = tmp_path / "positions.json"
    empty.write_text('{"positions": {}}')
    code, out, err = await trueup(ledger_db, monkeypatch, "import", str(empty))
    assert (code, out) == (0, "positions.json: 0 records, none holding anything; nothing to import\n")
    assert await table_counts(ledger_db) == {}


async def test_an_unreachable_database_fails_the_import_with_a_clear_message(monkeypatch):
    code, out, err = await trueup(f"postgresql://postgres@127.0.0.1:{free_port()}/trueup", monkeypatch,
                                  "import", str(OLD))
    assert code == 1 and out == ""
    assert err.splitlines()[-1].startswith("import failed, nothing imported: ")
