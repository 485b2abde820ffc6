"""Issue 10: an old `positions.json` (no `external_ids`) loads and renders unchanged. `trueup import`
into the ledger of a running stack (the demo account's, with the reconciler and the API), then
/api/positions/overview: every imported open leg is in the ledger's side with the file's market id
and quantity, each reconciles as an unknown mapping (nothing maps an old file's legs), the
Polymarket ones with the fix-it reason that names the mapping to add, and nothing errors."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.cli import main
from tests.support.db_roles import service_database_urls
from tests.support.reconciled_stack import ReconciledStack, reconciled_stack

OLD = Path(__file__).resolve().parents[1] / "data" / "positions_old.json"

# What the file's open records hold, leg by leg (tests/data/positions_old.json): Kalshi YES and NO of
# a ticker net into one holding (KXNBAGAME: 20 YES - 5 NO = 15 YES); Polymarket legs have no asset id,
# so they are the ledger's `unmapped:<market_id>:<outcome>` placeholders. The resolved KXHIGHNY
# record is flat: no open leg.
EXPECTED = {
    ("kalshi", "KXFEDDECISION-25DEC-H0", "no"): ("KXFEDDECISION-25DEC-H0", D(25)),
    ("polymarket", "unmapped:KXFEDDECISION-25DEC-H0:yes", "yes"): ("KXFEDDECISION-25DEC-H0", D(25)),
    ("kalshi", "KXBTCD-25DEC0517-T98000", "yes"): ("KXBTCD-25DEC0517-T98000", D(10)),
    ("polymarket", "unmapped:KXBTCD-25DEC0517-T98000:no", "no"): ("KXBTCD-25DEC0517-T98000", D(10)),
    ("kalshi", "KXNBAGAME-25DEC02LALBOS-LAL", "yes"): ("KXNBAGAME-25DEC02LALBOS-LAL", D(15)),
    ("polymarket", "unmapped:KXNBAGAME-25DEC02LALBOS-LAL:no", "no"): ("KXNBAGAME-25DEC02LALBOS-LAL", D(26)),
}
RESOLVED = "KXHIGHNY-25NOV30-B48"


@pytest.fixture(scope="module")
async def rs(nats_users, database_factory, tmp_path_factory) -> AsyncIterator[ReconciledStack]:
    async with reconciled_stack(nats_users, database_factory("trueup_import_renders"),
                                tmp_path_factory.mktemp("import-renders")) as running:
        yield running


def trueup_import(database_url: str, path: Path) -> str:
    """`trueup import path` as an operator runs it, with the ledger's own role."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", service_database_urls(database_url)["ledger"])
        code = main(["import", str(path)], out=out, err=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def every_item(run: dict) -> dict[tuple[str, str, str], dict]:
    items = [i for market in run["by_market_id"].values() for i in market["items"]] + run["unmapped"]
    return {(i["venue"], i["instrument_id"], i["outcome"]): i for i in items}


async def test_the_file_s_open_records_are_what_this_test_expects():
    """The expectation above is read off the file; if the file changes, this says so first."""
    records = json.loads(OLD.read_text())["positions"]
    assert all("external_ids" not in r for r in records.values())
    assert {m for m, _ in EXPECTED.values()} == {k for k, r in records.items() if r["status"] == "open"}
    assert records[RESOLVED]["status"] == "resolved"


async def test_an_old_file_imports_and_every_open_leg_renders_as_an_unknown_mapping(rs: ReconciledStack):
    before = (await rs.api.get("/api/positions/overview")).json()
    await asyncio.to_thread(trueup_import, rs.database_url, OLD)

    response = await rs.api.get("/api/positions/overview", params={"refresh_external": "1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "error" not in body  # both sources answered
    run = body["reconciliation"]
    assert run["errors"] == {} and run["summary"].get("api_error", 0) == 0

    # The ledger's side: each imported leg, open, under the file's market id with the file's quantity.
    internal = {(p["venue"], p["instrument_id"], p["outcome"]): p for p in body["internal"]}
    for key, (market_id, quantity) in EXPECTED.items():
        assert key in internal, f"{key} is not in the overview's ledger positions"
        position = internal[key]
        assert (position["market_id"], D(position["quantity"]), position["origin"]) == \
            (market_id, quantity, "imported"), position
    assert not [p for p in body["internal"] if p["market_id"] == RESOLVED]  # flat: nothing open

    # The reconciliation: no mapping names an old file's legs, so each is an unknown mapping.
    items = every_item(run)
    for key, (market_id, quantity) in EXPECTED.items():
        item = items[key]
        assert (item["status"], item["market_id"], D(item["internal_quantity"])) == \
            ("unknown_mapping", None, quantity), item
        venue, instrument_id, outcome = key
        if venue == "polymarket":
            # No venue row can ever match a placeholder: the reason says which id to add where.
            assert D(item["external_quantity"]) == 0
            assert f"Polymarket {outcome.upper()}: imported without its Polymarket asset id" in item["reason"]
            assert (f"add poly_asset_{outcome} to mapping {market_id} (PUT /api/v2/mappings/{market_id})"
                    in item["reason"]), item["reason"]
        else:
            # Mapping is the fix; the ticker itself is the item's, shown beside the reason.
            assert f"Kalshi {outcome.upper()}: not mapped to a market" in item["reason"], item["reason"]
            assert "map it" in item["reason"] and instrument_id not in item["reason"], item["reason"]

    # The demo account's own items are as they were before the import: the import added, changed nothing.
    demo_before = {k: (i["status"], i["internal_quantity"], i["external_quantity"])
                   for k, i in every_item(before["reconciliation"]).items()}
    demo_after = {k: (i["status"], i["internal_quantity"], i["external_quantity"])
                  for k, i in items.items() if k not in EXPECTED}
    assert demo_after == demo_before


async def test_the_overview_page_s_data_sources_answer_after_the_import(rs: ReconciledStack):
    """What the Overview page reads besides the overview: the runs and the mappings, no error."""
    run = await rs.api.post("/api/bot/reconcile")
    assert run.status_code == 200, run.text
    assert {(i["venue"], i["instrument_id"], i["outcome"]) for i in run.json()["run"]["unmapped"]} >= set(EXPECTED)
    mappings = await rs.api.get("/api/v2/mappings")
    assert mappings.status_code == 200 and mappings.json()["mappings"] == []  # an old file maps nothing
