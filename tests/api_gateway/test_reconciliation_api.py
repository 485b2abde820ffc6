"""The reconciliation routes: the real api-gateway asking the real reconciler process, which reads
the real ledger and exchange-gateway (on the venue simulator's demo account) over real NATS:
/api/positions/overview, /api/bot/reconcile, /api/v2/reconciliations[/{id}|/actions] and
/api/v2/mappings[/{market_id}]. Without a reconciler each route answers 503 at once.

One stack for the module; the tests build on each other's state in order (mappings made, an
item acknowledged)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal as D

import asyncpg
import httpx
import pytest

from services.api_gateway.login_link import mint_login_link
from tests.ledger.ledger_seed import api_gateway
from tests.support.reconciled_stack import (
    JVAN,
    NEWSOM_NO,
    NYC_WEATHER,
    TIMEOUT,
    VANCE_IDS,
    VANCE_YES,
    ReconciledStack,
    reconciled_stack,
)


@pytest.fixture(scope="module")
async def rs(nats_users, database_factory, tmp_path_factory) -> AsyncIterator[ReconciledStack]:
    async with reconciled_stack(nats_users, database_factory("trueup_reconciliation_api"),
                                tmp_path_factory.mktemp("reconciliation-api")) as running:
        yield running


def every_item(run: dict) -> dict[tuple[str, str, str], dict]:
    items = [i for market in run["by_market_id"].values() for i in market["items"]] + run["unmapped"]
    return {(i["venue"], i["instrument_id"], i["outcome"]): i for i in items}


async def audit_log(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch("SELECT actor, action, target, reason, outcome FROM reconciler.audit_log ORDER BY id")
    finally:
        await conn.close()


async def test_the_overview_is_internal_external_and_their_reconciliation(rs: ReconciledStack):
    response = await rs.api.get("/api/positions/overview", params={"refresh_external": "1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"internal", "external", "reconciliation"}  # no `error`: both sources answered

    # internal: the ledger's open positions, decimal strings.
    weather = [p for p in body["internal"] if p["instrument_id"] == NYC_WEATHER]
    assert len(weather) == 1 and (weather[0]["venue"], weather[0]["outcome"], D(weather[0]["quantity"])) == \
        ("kalshi", "yes", D(75))
    # external: the shape of /api/positions/external's `external`.
    external = body["external"]
    assert {"snapshot_time", "kalshi", "polymarket", "errors"} <= set(external) and external["errors"] == {}
    kalshi = external["kalshi"]
    assert (kalshi["status"], kalshi["complete"]) == ("ok", True) and "totals" in kalshi and "age_seconds" in kalshi
    held = {p["instrument_id"]: p for p in kalshi["positions"]}
    assert D(held[NYC_WEATHER]["quantity"]) == D(75) and held[NYC_WEATHER]["raw"]  # the venue's row, for debugging
    # reconciliation: seed 000's object; nothing is mapped yet, so every holding is an unknown mapping.
    run = body["reconciliation"]
    assert run["trigger"] == "overview" and run["by_market_id"] == {} and run["errors"] == {}
    item = every_item(run)[("kalshi", NYC_WEATHER, "yes")]
    assert (item["status"], D(item["internal_quantity"]), D(item["external_quantity"])) == ("unknown_mapping", D(75), D(75))
    assert item["reason"] and run["summary"]["unknown_mapping"] == len(run["unmapped"]) > 0
    # The overview is not stored as a run.
    runs = (await rs.api.get("/api/v2/reconciliations", params={"limit": "500"})).json()
    assert run["run_id"] not in {r["run_id"] for r in runs["runs"]}
    # The default reads the gateway's cache: same shape.
    cached = await rs.api.get("/api/positions/overview")
    assert cached.status_code == 200 and cached.json()["reconciliation"]["summary"] == run["summary"]


async def test_mappings_are_listed_put_read_and_deleted(rs: ReconciledStack):
    assert (await rs.api.get("/api/v2/mappings")).json()["mappings"] == []
    missing = await rs.api.get("/api/v2/mappings/vance-2028")
    assert missing.status_code == 404 and "vance-2028" in missing.json()["error"]

    put = await rs.api.put("/api/v2/mappings/vance-2028", json={
        "external_ids": VANCE_IDS, "title": "JD Vance wins 2028", "reason": "demo pair", "actor": "alice"})
    assert put.status_code == 200, put.text
    mapping = put.json()["mapping"]
    assert (mapping["market_id"], mapping["source"], mapping["title"]) == ("vance-2028", "operator", "JD Vance wins 2028")
    assert mapping["external_ids"]["kalshi_market_ticker"] == JVAN and mapping["updated_by"] == "api-token:alice"
    assert "event_id" not in put.json()

    one = await rs.api.get("/api/v2/mappings/vance-2028")
    assert one.status_code == 200 and one.json()["mapping"]["external_ids"] == {
        **VANCE_IDS, "poly_condition_id": None, "poly_market_slug": None}
    listed = (await rs.api.get("/api/v2/mappings")).json()["mappings"]
    assert [m["market_id"] for m in listed] == ["vance-2028"]

    # The mapped market shows with its legs: the ledger and both venues agree in the demo.
    run = (await rs.api.get("/api/positions/overview")).json()["reconciliation"]
    vance = run["by_market_id"]["vance-2028"]
    assert vance["status"] == "match", vance["reason"]
    assert D(vance["internal"]["kalshi_yes"]["quantity"]) == D(vance["external"]["kalshi_yes"]["quantity"]) == D(900)
    assert D(vance["external"]["poly_yes"]["quantity"]) == D(1500) and vance["title"] == "JD Vance wins 2028"

    # A throwaway mapping, replaced, then deleted; deleting it again is a 404.
    first = await rs.api.put("/api/v2/mappings/scratch", json={"external_ids": {"poly_market_slug": "scratch-slug"}})
    assert first.status_code == 200 and first.json()["mapping"]["title"] is None
    replaced = await rs.api.put("/api/v2/mappings/scratch", json={"external_ids": {"poly_condition_id": "0xabc"}})
    assert replaced.json()["mapping"]["external_ids"]["poly_market_slug"] is None
    deleted = await rs.api.delete("/api/v2/mappings/scratch", params={"reason": "cleanup"})
    assert deleted.status_code == 200 and deleted.json()["mapping"]["market_id"] == "scratch"
    again = await rs.api.delete("/api/v2/mappings/scratch")
    assert again.status_code == 404 and "scratch" in again.json()["error"]
    assert (await rs.api.get("/api/v2/mappings/scratch")).status_code == 404

    logged = [(r["actor"], r["action"], r["reason"], r["outcome"].split(":")[0]) for r in await audit_log(rs.database_url)]
    assert ("api-token:alice", "put_mapping", "demo pair", "done") in logged
    assert ("api-token", "delete_mapping", "cleanup", "done") in logged
    assert ("api-token", "delete_mapping", "", "refused") in logged


async def test_a_run_on_demand_is_returned_stored_and_listed(rs: ReconciledStack):
    response = await rs.api.post("/api/bot/reconcile")
    assert response.status_code == 200, response.text
    run = response.json()["run"]
    assert run["trigger"] == "on_demand" and run["by_market_id"]["vance-2028"]["status"] == "match"
    assert every_item(run)[("kalshi", NYC_WEATHER, "yes")]["status"] == "unknown_mapping"

    page = (await rs.api.get("/api/v2/reconciliations", params={"limit": "1"})).json()
    assert (page["limit"], page["offset"]) == (1, 0) and page["total"] >= 2  # the start-up run and this one
    assert [r["run_id"] for r in page["runs"]] == [run["run_id"]]  # newest first
    assert page["runs"][0]["summary"] == run["summary"]
    older = (await rs.api.get("/api/v2/reconciliations", params={"limit": "1", "offset": str(page["total"] - 1)})).json()
    assert older["runs"][0]["trigger"] == "startup" and older["offset"] == page["total"] - 1

    stored = await rs.api.get(f"/api/v2/reconciliations/{run['run_id']}")
    assert stored.status_code == 200 and stored.json()["run"]["run_id"] == run["run_id"]
    assert every_item(stored.json()["run"]) == every_item(run)
    unknown = await rs.api.get("/api/v2/reconciliations/no-such-run")
    assert unknown.status_code == 404 and "no-such-run" in unknown.json()["error"]

    logged = [(r["actor"], r["action"]) for r in await audit_log(rs.database_url)]
    assert ("api-token", "reconcile") in logged


async def test_operator_actions_are_done_refused_and_audited_with_who_did_them(rs: ReconciledStack):
    action = {"venue": "kalshi", "instrument_id": NYC_WEATHER, "outcome": "yes"}
    ghost = {"venue": "polymarket", "instrument_id": NEWSOM_NO, "outcome": "no"}
    # A browser session's action is "browser" (with the name it gives), a script's "api-token".
    link = await asyncio.to_thread(mint_login_link, str(rs.api.base_url), rs.stack.token)
    async with httpx.AsyncClient(base_url=str(rs.api.base_url), timeout=TIMEOUT) as browser:
        assert (await browser.get(link)).status_code in (200, 302, 303, 307)
        assert browser.cookies, "the login link opened no session"
        done = await browser.post("/api/v2/reconciliations/actions", json={
            **ghost, "action": "acknowledge", "reason": "moved to cold storage on purpose", "actor": "alice"})
    assert done.status_code == 200, done.text
    assert done.json()["done"] is True and NEWSOM_NO in done.json()["message"]
    item = every_item((await rs.api.get("/api/positions/overview")).json()["reconciliation"])[("polymarket", NEWSOM_NO, "no")]
    assert (item["status"], item["difference"], item["acknowledged"]) == ("unknown_mapping", "ghost", True)

    # Refused, with the reason, as a 200 (the request was valid; the reconciler said no).
    refused = await rs.api.post("/api/v2/reconciliations/actions", json={
        "action": "acknowledge", "venue": "polymarket", "instrument_id": VANCE_YES, "outcome": "yes", "reason": "x"})
    assert refused.status_code == 200 and refused.json()["done"] is False and "matches" in refused.json()["message"]
    nothing = await rs.api.post("/api/v2/reconciliations/actions", json={**action, "action": "adopt", "reason": "x"})
    assert nothing.json()["done"] is False and "nothing to adopt" in nothing.json()["message"]

    # Unmapped but agreeing (75 on both sides, whatever the cost basis): no difference, so no
    # acknowledgement — refused with what to do, never "done" and then forgotten by the next run.
    unmapped = await rs.api.post("/api/v2/reconciliations/actions", json={
        **action, "action": "acknowledge", "reason": "weather bet, on purpose"})
    assert unmapped.status_code == 200 and unmapped.json()["done"] is False, unmapped.text
    assert "no difference to acknowledge" in unmapped.json()["message"]
    assert "Kalshi YES: not mapped to a market (both hold 75) \u2014 map it to reconcile it." in unmapped.json()["message"]
    for shown in ((await rs.api.get("/api/positions/overview")).json()["reconciliation"],
                  (await rs.api.post("/api/bot/reconcile")).json()["run"]):
        weather = every_item(shown)[("kalshi", NYC_WEATHER, "yes")]
        assert (weather["status"], weather["difference"], weather["acknowledged"]) == ("unknown_mapping", None, False)

    mapped = await rs.api.post("/api/v2/reconciliations/actions", json={
        **action, "action": "map", "market_id": "nyc-weather", "reason": "its own market"})
    assert mapped.json()["done"] is True, mapped.text
    run = (await rs.api.post("/api/bot/reconcile")).json()["run"]
    assert run["by_market_id"]["nyc-weather"]["status"] == "match"
    assert (await rs.api.get("/api/v2/mappings/nyc-weather")).json()["mapping"]["external_ids"]["kalshi_market_ticker"] \
        == NYC_WEATHER

    logged = [(r["actor"], r["action"], r["reason"], r["outcome"].split(":")[0]) for r in await audit_log(rs.database_url)]
    assert ("browser:alice", "acknowledge", "moved to cold storage on purpose", "done") in logged
    assert ("api-token", "acknowledge", "x", "refused") in logged
    assert ("api-token", "acknowledge", "weather bet, on purpose", "refused") in logged
    assert ("api-token", "map", "its own market", "done") in logged


@pytest.mark.parametrize(("method", "path", "params", "body", "parameter"), [
    ("GET", "/api/positions/overview", {"refresh_external": "2"}, None, "refresh_external"),
    ("GET", "/api/positions/overview", {"refresh": "1"}, None, "refresh"),
    ("POST", "/api/bot/reconcile", {"actor": "two words"}, None, "actor"),
    ("GET", "/api/v2/reconciliations", {"limit": "0"}, None, "limit"),
    ("GET", "/api/v2/reconciliations", {"limit": "501"}, None, "limit"),
    ("GET", "/api/v2/reconciliations", {"offset": "-1"}, None, "offset"),
    ("GET", "/api/v2/reconciliations", {"page": "2"}, None, "page"),
    ("GET", "/api/v2/reconciliations/" + "r" * 65, {}, None, "run_id"),
    ("GET", "/api/v2/mappings", {"market_id": "x"}, None, "market_id"),
    ("GET", "/api/v2/mappings/" + "m" * 257, {}, None, "market_id"),
    ("PUT", "/api/v2/mappings/m", {}, {"external_ids": {}}, "external_ids"),
    ("PUT", "/api/v2/mappings/m", {}, {"external_ids": {"kalshi_market_ticker": ""}}, "external_ids.kalshi_market_ticker"),
    ("PUT", "/api/v2/mappings/m", {}, {"external_ids": {"kalshi_ticker": "K"}}, "external_ids.kalshi_ticker"),
    ("PUT", "/api/v2/mappings/m", {}, {"title": "no ids"}, "external_ids"),
    ("PUT", "/api/v2/mappings/m", {}, {"external_ids": {"kalshi_market_ticker": "K"}, "note": "x"}, "note"),
    ("PUT", "/api/v2/mappings/m", {}, "not json", "body"),
    ("PUT", "/api/v2/mappings/m", {}, ["a list"], "body"),
    ("DELETE", "/api/v2/mappings/m", {"reason": "r" * 1001}, None, "reason"),
    ("DELETE", "/api/v2/mappings/m", {"why": "x"}, None, "why"),
    ("POST", "/api/v2/reconciliations/actions", {}, {"action": "close", "venue": "kalshi", "instrument_id": "K",
                                                     "outcome": "yes", "reason": "r"}, "action"),
    ("POST", "/api/v2/reconciliations/actions", {}, {"action": "adopt", "venue": "binance", "instrument_id": "K",
                                                     "outcome": "yes", "reason": "r"}, "venue"),
    ("POST", "/api/v2/reconciliations/actions", {}, {"action": "adopt", "venue": "kalshi", "instrument_id": "K",
                                                     "outcome": "maybe", "reason": "r"}, "outcome"),
    ("POST", "/api/v2/reconciliations/actions", {}, {"action": "adopt", "venue": "kalshi", "instrument_id": "",
                                                     "outcome": "yes", "reason": "r"}, "instrument_id"),
    ("POST", "/api/v2/reconciliations/actions", {}, {"action": "adopt", "venue": "kalshi", "instrument_id": "K",
                                                     "outcome": "yes"}, "reason"),
    ("POST", "/api/v2/reconciliations/actions", {}, {"action": "adopt", "venue": "kalshi", "instrument_id": "K",
                                                     "outcome": "yes", "reason": "   "}, "reason"),
    ("POST", "/api/v2/reconciliations/actions", {}, {"action": "map", "venue": "kalshi", "instrument_id": "K",
                                                     "outcome": "yes", "reason": "r"}, "market_id"),
    ("POST", "/api/v2/reconciliations/actions", {}, {"action": "adopt", "venue": "kalshi", "instrument_id": "K",
                                                     "outcome": "yes", "reason": "r", "actor": "bob!"}, "actor"),
])
async def test_bad_input_is_a_400_naming_it(rs: ReconciledStack, method, path, params, body, parameter):
    content = body.encode() if isinstance(body, str) else None
    response = await rs.api.request(method, path, params=params, content=content,
                                    json=None if isinstance(body, str) else body)
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter and response.json()["error"].startswith(f"{parameter}: ")


@pytest.fixture(scope="module")
async def lone_api(nats_users, provision_bus) -> AsyncIterator[httpx.AsyncClient]:
    """An api-gateway on a namespace where no reconciler runs."""
    namespace = f"r{uuid.uuid4().hex[:10]}"
    await provision_bus(namespace)
    async with api_gateway(nats_users, namespace) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/positions/overview", None),
    ("POST", "/api/bot/reconcile", None),
    ("GET", "/api/v2/reconciliations", None),
    ("GET", "/api/v2/reconciliations/some-run", None),
    ("GET", "/api/v2/mappings", None),
    ("GET", "/api/v2/mappings/m", None),
    ("PUT", "/api/v2/mappings/m", {"external_ids": {"kalshi_market_ticker": "K"}}),
    ("DELETE", "/api/v2/mappings/m", None),
    ("POST", "/api/v2/reconciliations/actions", {"action": "acknowledge", "venue": "kalshi", "instrument_id": "K",
                                                 "outcome": "yes", "reason": "r"}),
])
async def test_without_a_reconciler_every_route_is_a_503(lone_api, method, path, body):
    response = await lone_api.request(method, path, json=body)
    assert response.status_code == 503, response.text
    assert response.json()["error"].startswith("reconciler unavailable")

