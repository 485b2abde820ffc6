"""The reconciler as a real process against the real ledger and exchange-gateway, on the venue
simulator's demo account: runs at start-up and on demand, persisted and published; mappings;
a failed venue page; a trade the ledger has not seen yet; acknowledge, adopt and map; alerts.

One stack for the module, its tests in order (each builds on the state the previous left):
the simulator's faults stop the gateway's fills feed of a venue so that a trade injected at the
venue stays unseen by the ledger for as long as the test needs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from shared.bus import Bus
from shared.contracts.base import VENUES
from shared.contracts.channels import (
    EVENTS_STREAM,
    LEDGER_POSITIONS,
    RECONCILER_ACTION,
    RECONCILER_DELETE_MAPPING,
    RECONCILER_MAPPINGS,
    RECONCILER_OVERVIEW,
    RECONCILER_PUT_MAPPING,
    RECONCILER_RECONCILE,
    RECONCILER_RUN,
    RECONCILER_RUNS,
)
from shared.contracts.events import Alert, ReconciliationCompleted, ReconciliationItem
from shared.contracts.ledger import PositionsQuery
from shared.contracts.reconciler import (
    DeleteMappingRequest,
    ExternalIds,
    MappingsRequest,
    OperatorActionRequest,
    OverviewRequest,
    PutMappingRequest,
    ReconcileRequest,
    ReconciliationRequest,
    ReconciliationRun,
    ReconciliationsQuery,
)
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import Stack, get_external, start_stack
from tests.support.jetstream import stored
from tests.support.reconciled_stack import (
    FED_C25,
    FED_CUT_NO,
    FED_CUT_YES,
    FED_H0,
    FED_HOLD_NO,
    GNEW,
    JVAN,
    NEWSOM_NO,
    NYC_WEATHER,
    VANCE_NO,
    VANCE_YES,
    eventually,
    ledger_caught_up,
    spawn_reconciler,
)
from tests.support.venue_sim import RunningSim, running_sim

RUN_TIMEOUT = 40.0

ACTOR = "ops@example.com"


@dataclass
class Reconciled:
    sim: RunningSim
    stack: Stack
    bus: Bus  # as the api-gateway, the reconciler's asker
    admin: httpx.AsyncClient  # the simulator's /_sim
    admin_nats: str
    database_url: str  # the superuser's: the test reads the reconciler's audit log

    async def reconcile(self) -> ReconciliationRun:
        reply = await self.bus.request(RECONCILER_RECONCILE.subject(), ReconcileRequest(actor=ACTOR),
                                       timeout=RUN_TIMEOUT)
        assert reply.run is not None, reply.error
        return reply.run

    async def act(self, action: str, venue: str, instrument_id: str, outcome: str, **extra: Any):
        return await self.bus.request(RECONCILER_ACTION.subject(), OperatorActionRequest(
            action=action, venue=venue, instrument_id=instrument_id, outcome=outcome, actor=ACTOR,
            reason=f"test {action}", **extra), timeout=RUN_TIMEOUT)

    async def events(self) -> list:
        return await stored(self.admin_nats, self.stack.namespace, EVENTS_STREAM)

    async def alerts(self, after: int = 0) -> list[Alert]:
        messages = (await self.events())[after:]
        return [alert for alert in (Alert.model_validate_json(m.data) for m in messages
                                    if m.subject.endswith(".evt.alerts")) if alert.source == "reconciler"]

    async def fault(self, venue: str, **fail_pages: int) -> None:
        response = await self.admin.post("/faults", json={"venue": venue, "fail_pages": fail_pages})
        assert response.status_code == 200, response.text


def items(run: ReconciliationRun) -> dict[tuple[str, str, str], ReconciliationItem]:
    every = [i for market in run.by_market_id.values() for i in market.items] + list(run.unmapped)
    return {(i.venue, i.instrument_id, i.outcome): i for i in every}


def alerts_for(alerts: list[Alert], code: str, venue: str, instrument_id: str) -> list[Alert]:
    def about(alert: Alert) -> dict:
        return alert.details.get("item", alert.details)

    return [a for a in alerts if a.code == code and about(a).get("venue") == venue
            and about(a).get("instrument_id") == instrument_id]


@pytest.fixture(scope="module")
async def reconciled(nats_users, database_factory, tmp_path_factory) -> AsyncIterator[Reconciled]:
    # Its own database: the gateway's checkpoints, the ledger's book and the reconciler's runs start empty.
    database_url = database_factory("trueup_reconciler")
    async with running_sim(scenario="demo") as sim:
        env = {**gateway_env(sim, tmp_path_factory.mktemp("reconciler")), "SETTLEMENT_POLL_INTERVAL_SECONDS": "1"}
        stack = start_stack(nats_users, database_url, env, ledger={})
        bus = Bus(nats_users["api-gateway"], stack.namespace, "api-gateway")
        try:
            async with (stack.client(timeout=40) as api,
                        httpx.AsyncClient(base_url=f"{sim.admin_url}/_sim", timeout=10) as admin):
                await get_external(api)
                # Started once the ledger has every demo fill, so its start-up run compares settled books.
                await ledger_caught_up(api)
                spawn_reconciler(stack, nats_users, database_url)
                await bus.broker.connect()
                yield Reconciled(sim, stack, bus, admin, nats_users["admin"], database_url)
        finally:
            await bus.stop()
            for name, text in stack.stop().items():
                print(f"----- {name} -----\n{text[-20000:]}")


async def test_the_startup_run_is_stored_and_published(reconciled: Reconciled):
    async def started() -> Any:
        page = await reconciled.bus.request(RECONCILER_RUNS.subject(), ReconciliationsQuery(), timeout=5)
        # The page lists runs, then counts them: a run stored in between shows in the count only.
        assert page.runs and page.runs[-1].trigger == "startup"
        return page.runs[-1]

    first = await eventually(started, "the start-up run is stored")
    reply = await reconciled.bus.request(RECONCILER_RUN.subject(), ReconciliationRequest(run_id=first.run_id),
                                         timeout=5)
    assert reply.run is not None and reply.run.run_id == first.run_id and reply.run.trigger == "startup"
    assert reply.run.summary == first.summary and sum(first.summary.values()) == len(items(reply.run)) > 0
    published = [ReconciliationCompleted.model_validate_json(m.data) for m in await reconciled.events()
                 if m.subject.endswith(".evt.reconciliations")]
    assert [e.run_id for e in published if e.trigger == "startup"] == [first.run_id]
    # No mappings yet (nothing imported, none made): every holding is an unknown mapping.
    assert set(first.summary) >= {"unknown_mapping"} and first.summary["unknown_mapping"] == sum(first.summary.values())
    missing = await reconciled.bus.request(RECONCILER_RUN.subject(), ReconciliationRequest(run_id="no-such-run"),
                                           timeout=5)
    assert missing.run is None and missing.error is not None and missing.error.code == "not_found"


async def test_mapped_demo_pairs_show_the_demo_differences_and_unmapped_ones_stay_unknown(reconciled: Reconciled):
    run = await reconciled.reconcile()
    assert run.trigger == "on_demand" and not run.by_market_id and not run.errors
    assert items(run)[("kalshi", NYC_WEATHER, "yes")].status == "unknown_mapping"

    for market_id, ids in (("vance-2028", ExternalIds(kalshi_market_ticker=JVAN, poly_asset_yes=VANCE_YES,
                                                      poly_asset_no=VANCE_NO)),
                           ("fed-cut-dec-2026", ExternalIds(kalshi_market_ticker=FED_C25, poly_asset_yes=FED_CUT_YES,
                                                            poly_asset_no=FED_CUT_NO)),
                           ("newsom-2028", ExternalIds(kalshi_market_ticker=GNEW, poly_asset_no=NEWSOM_NO)),
                           ("fed-hold-dec-2026", ExternalIds(kalshi_market_ticker=FED_H0, poly_asset_no=FED_HOLD_NO))):
        reply = await reconciled.bus.request(RECONCILER_PUT_MAPPING.subject(), PutMappingRequest(
            market_id=market_id, external_ids=ids, title=market_id, actor=ACTOR, reason="demo pair"), timeout=5)
        assert reply.mapping is not None and reply.mapping.source == "operator"

    run = await reconciled.reconcile()
    assert {"vance-2028", "fed-cut-dec-2026"} <= run.by_market_id.keys()
    vance = run.by_market_id["vance-2028"]
    assert vance.status == "match", vance.reason
    assert vance.internal["kalshi_yes"].quantity == vance.external["kalshi_yes"].quantity == Decimal(900)
    assert vance.external["poly_yes"].quantity == Decimal(1500)
    # The demo's deliberate differences (Polymarket token transfers no trade shows), each classified.
    by_key = items(run)
    assert run.by_market_id["fed-cut-dec-2026"].status == "mismatch"
    drift = by_key[("polymarket", FED_CUT_YES, "yes")]
    assert (drift.status, drift.difference, drift.internal_quantity, drift.external_quantity) == \
        ("mismatch", "drift", Decimal(800), Decimal(650))
    assert by_key[("kalshi", FED_C25, "yes")].status == "match"
    ghost = by_key[("polymarket", NEWSOM_NO, "no")]
    assert (ghost.status, ghost.difference, ghost.internal_quantity) == ("mismatch", "ghost", Decimal(600)), ghost
    orphan = by_key[("polymarket", FED_HOLD_NO, "no")]
    assert (orphan.status, orphan.difference, orphan.external_quantity) == ("mismatch", "orphaned", Decimal(150))
    assert items(run)[("kalshi", NYC_WEATHER, "yes")].status == "unknown_mapping"
    # The run's fact carries its differences (every item stays with the stored run).
    [completed] = [e for e in (ReconciliationCompleted.model_validate_json(m.data) for m in await reconciled.events()
                               if m.subject.endswith(".evt.reconciliations")) if e.run_id == run.run_id]
    assert {(d.instrument_id, d.difference) for d in completed.differences} == {
        (FED_CUT_YES, "drift"), (NEWSOM_NO, "ghost"), (FED_HOLD_NO, "orphaned")}
    assert completed.differences_total == 3 and completed.summary == run.summary

    # The map action attaches the weather ticker to a market of its own: it matches next run.
    done = await reconciled.act("map", "kalshi", NYC_WEATHER, "yes", market_id="nyc-weather")
    assert done.done, done.message
    again = await reconciled.act("map", "kalshi", NYC_WEATHER, "yes", market_id="elsewhere")
    assert not again.done and "already mapped to nyc-weather" in again.message
    run = await reconciled.reconcile()
    assert run.by_market_id["nyc-weather"].status == "match"

    listed = await reconciled.bus.request(RECONCILER_MAPPINGS.subject(), MappingsRequest(), timeout=5)
    assert {m.market_id for m in listed.mappings} == {"vance-2028", "fed-cut-dec-2026", "newsom-2028",
                                                      "fed-hold-dec-2026", "nyc-weather"}
    gone = await reconciled.bus.request(RECONCILER_DELETE_MAPPING.subject(), DeleteMappingRequest(
        market_id="nyc-weather", actor=ACTOR, reason="test delete"), timeout=5)
    assert gone.mapping is not None and gone.mapping.market_id == "nyc-weather"
    absent = await reconciled.bus.request(RECONCILER_DELETE_MAPPING.subject(), DeleteMappingRequest(
        market_id="nyc-weather", actor=ACTOR, reason="twice"), timeout=5)
    assert absent.mapping is None and absent.error is not None

    conn = await asyncpg.connect(reconciled.database_url)
    try:
        logged = await conn.fetch("SELECT actor, action, reason, outcome FROM reconciler.audit_log ORDER BY id")
    finally:
        await conn.close()
    actions = [(r["action"], r["outcome"].split(":")[0]) for r in logged]
    assert actions.count(("put_mapping", "done")) == 4
    assert ("map", "done") in actions and ("map", "refused") in actions
    assert ("delete_mapping", "done") in actions and ("delete_mapping", "refused") in actions
    assert all(r["actor"] == ACTOR for r in logged)


async def test_a_failed_page_is_an_api_error_for_that_venue_only(reconciled: Reconciled):
    await reconciled.fault("kalshi", positions=1)
    try:
        run = await reconciled.reconcile()
    finally:
        await reconciled.fault("kalshi")
    assert "kalshi" in run.errors and "polymarket" not in run.errors
    by_key = items(run)
    kalshi = [i for k, i in by_key.items() if k[0] == "kalshi"]
    assert kalshi and all(i.status == "api_error" and i.external_quantity is None for i in kalshi)
    vance = run.by_market_id["vance-2028"]
    assert vance.status == "api_error"
    assert by_key[("polymarket", VANCE_YES, "yes")].status == "match"
    assert run.summary["match"] >= 1


async def test_a_trade_the_ledger_has_not_seen_is_a_mismatch_until_its_fill_arrives(reconciled: Reconciled):
    await reconciled.fault("polymarket", trades=1)  # the gateway's Polymarket fills feed fails
    before = len(await reconciled.events())
    response = await reconciled.admin.post("/polymarket/external-trades", json={
        "asset": VANCE_YES, "side": "BUY", "size": "25", "price": "0.30", "will_fail": False})
    assert response.status_code == 201, response.text

    run = await reconciled.reconcile()
    item = items(run)[("polymarket", VANCE_YES, "yes")]
    assert (item.status, item.difference) == ("mismatch", "drift"), item.reason
    assert item.diff_quantity == Decimal(25)
    assert run.by_market_id["vance-2028"].status == "mismatch"
    await reconciled.reconcile()  # the same difference again: not alerted again
    critical = alerts_for(await reconciled.alerts(before), "reconciliation.mismatch", "polymarket", VANCE_YES)
    assert len(critical) == 1 and critical[0].severity == "critical"
    # The message is the reason (market, leg, sizes as the UI shows them, why and what to do) and
    # the instrument, its id shortened as the UI does.
    assert critical[0].message == f"{item.reason} [polymarket {VANCE_YES[:6]}…{VANCE_YES[-4:]}]"
    assert "Polymarket YES: drift, 1,500 in the ledger vs 1,525 at the venue (+25): fills the ledger missed" \
        in critical[0].message and critical[0].message.startswith("Will JD Vance win")

    await reconciled.fault("polymarket")  # the feed reads again: the ledger gets the fill

    async def matched() -> None:
        assert items(await reconciled.reconcile())[("polymarket", VANCE_YES, "yes")].status == "match"

    await eventually(matched, "the fill reached the ledger")
    resolved = alerts_for(await reconciled.alerts(before), "reconciliation.resolved", "polymarket", VANCE_YES)
    assert len(resolved) == 1 and resolved[0].severity == "info"


async def test_acknowledge_keeps_the_difference_visible_without_an_alert(reconciled: Reconciled):
    # From here on the Kalshi fills feed stays down: trades injected there never reach the ledger.
    await reconciled.fault("kalshi", fills=1)
    before = len(await reconciled.events())
    response = await reconciled.admin.post("/kalshi/external-trades", json={
        "ticker": FED_C25, "side": "yes", "action": "buy", "count": "5", "price": "0.60"})
    assert response.status_code == 201, response.text

    overview = await reconciled.bus.request(RECONCILER_OVERVIEW.subject(), OverviewRequest(refresh_external=True),
                                            timeout=RUN_TIMEOUT)
    assert overview.error is None and overview.internal and overview.external
    shown = items(overview.reconciliation)[("kalshi", FED_C25, "yes")]
    assert shown.status == "mismatch" and shown.diff_quantity == Decimal(5)
    # The overview is neither stored nor alerted on.
    page = await reconciled.bus.request(RECONCILER_RUNS.subject(), ReconciliationsQuery(limit=500), timeout=5)
    assert overview.reconciliation.run_id not in {r.run_id for r in page.runs}

    done = await reconciled.act("acknowledge", "kalshi", FED_C25, "yes")
    assert done.done, done.message
    refused = await reconciled.act("acknowledge", "polymarket", VANCE_YES, "yes")
    assert not refused.done and "matches" in refused.message
    # Unmapped again (its mapping was deleted) with both sides at 75: nothing differs, nothing to acknowledge.
    unmapped = await reconciled.act("acknowledge", "kalshi", NYC_WEATHER, "yes")
    assert not unmapped.done and "no difference to acknowledge" in unmapped.message

    run = await reconciled.reconcile()
    item = items(run)[("kalshi", FED_C25, "yes")]
    assert item.status == "mismatch" and item.acknowledged
    assert not items(run)[("kalshi", NYC_WEATHER, "yes")].acknowledged
    assert alerts_for(await reconciled.alerts(before), "reconciliation.mismatch", "kalshi", FED_C25) == []


async def test_adopt_books_the_venue_holding_so_the_next_run_matches(reconciled: Reconciled):
    before = len(await reconciled.events())
    response = await reconciled.admin.post("/kalshi/external-trades", json={
        "ticker": JVAN, "side": "yes", "action": "buy", "count": "10", "price": "0.30"})
    assert response.status_code == 201, response.text
    run = await reconciled.reconcile()
    item = items(run)[("kalshi", JVAN, "yes")]
    assert (item.status, item.difference, item.diff_quantity) == ("mismatch", "drift", Decimal(10))
    assert len(alerts_for(await reconciled.alerts(before), "reconciliation.mismatch", "kalshi", JVAN)) == 1

    nothing = await reconciled.act("adopt", "kalshi", NYC_WEATHER, "yes")
    assert not nothing.done and "nothing to adopt" in nothing.message
    await reconciled.fault("kalshi", fills=1, positions=1)
    incomplete = await reconciled.act("adopt", "kalshi", JVAN, "yes")
    await reconciled.fault("kalshi", fills=1)
    assert not incomplete.done and "complete snapshot" in incomplete.message

    adopted = await reconciled.act("adopt", "kalshi", JVAN, "yes")
    assert adopted.done, adopted.message
    # Read as the UI shows numbers: a Kalshi price in cents, quantities plain.
    assert re.search(r"booked \+10 at \d+(\.\d{1,2})?¢ into the ledger \(ledger 900 → venue 910\)$",
                     adopted.message), adopted.message
    run = await reconciled.reconcile()
    item = items(run)[("kalshi", JVAN, "yes")]
    assert item.status == "match" and item.internal_quantity == Decimal(910)
    assert run.by_market_id["vance-2028"].status == "match"
    assert len(alerts_for(await reconciled.alerts(before), "reconciliation.resolved", "kalshi", JVAN)) == 1
    # The acknowledged difference is still there, still acknowledged, still never alerted.
    fed = items(run)[("kalshi", FED_C25, "yes")]
    assert fed.status == "mismatch" and fed.acknowledged


async def test_a_ledger_still_booking_fills_is_not_compared_and_nothing_is_alerted(reconciled: Reconciled):
    """After a restart (or in a burst) the ledger has fills on the bus it has not booked: its book
    is behind the venues, and comparing it would alert every such position as orphaned."""
    conn = await asyncpg.connect(reconciled.database_url)
    try:
        # The ledger's booking of fills waits on this lock: what it fetches stays unbooked.
        stalled = conn.transaction()
        await stalled.start()
        await conn.execute("LOCK TABLE ledger.journal_fills IN EXCLUSIVE MODE")
        response = await reconciled.admin.post("/polymarket/external-trades", json={
            "asset": VANCE_YES, "side": "BUY", "size": "10", "price": "0.30", "will_fail": False})
        assert response.status_code == 201, response.text

        async def backlog() -> None:
            page = await reconciled.bus.request(LEDGER_POSITIONS.subject(), PositionsQuery(status="open", limit=1),
                                                timeout=5)
            assert page.fills_pending, page.fills_pending

        await eventually(backlog, "the ledger has the trade's fill unbooked")
        before = len(await reconciled.events())
        run = await reconciled.reconcile()  # waits CATCH_UP_SECONDS for the ledger, then reports it behind
        assert run.summary["api_error"] == sum(run.summary.values()) > 0, run.summary
        assert all("still booking" in error for error in run.errors.values()) and set(run.errors) == set(VENUES)
        vance = items(run)[("polymarket", VANCE_YES, "yes")]
        assert "not checked (the ledger is still booking" in vance.reason and vance.external_quantity is None
        assert [a for a in await reconciled.alerts(before) if a.severity == "critical"] == []
    finally:
        await stalled.rollback()
        await conn.close()

    async def booked_and_matched() -> None:
        item = items(await reconciled.reconcile())[("polymarket", VANCE_YES, "yes")]
        # match once mapped (earlier in this module); either way both sides hold the same again
        assert item.status != "api_error" and item.diff_quantity == 0, item.reason

    await eventually(booked_and_matched, "the fill booked once the ledger went on")
