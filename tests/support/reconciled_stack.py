"""The reconciler with everything it reads, each a real process on real NATS + Postgres: the venue
simulator's demo account, exchange-gateway, ledger, api-gateway and the reconciler. Shared by the
reconciler's service tests, the reconciliation API tests and the Overview page test; with the demo
account's identifiers they name."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

from services.venue_sim.scenarios.polymarket_demo import token_id_for
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import Stack, get_external, spawn, start_stack
from tests.support.db_roles import service_database_urls
from tests.support.venue_sim import RunningSim, running_sim
from tests.support.polling import eventually

TIMEOUT = 60.0  # the API client's: a run reads both venues in full

# The demo account (services/venue_sim/scenarios).
VANCE = "will-jd-vance-win-the-2028-us-presidential-election"
FED_CUT = "fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting"
VANCE_YES, VANCE_NO = token_id_for(VANCE, "Yes"), token_id_for(VANCE, "No")
FED_CUT_YES, FED_CUT_NO = token_id_for(FED_CUT, "Yes"), token_id_for(FED_CUT, "No")
# Traded by the bot, then transferred out at the venue: the ledger holds NO 600, Polymarket none.
NEWSOM_NO = token_id_for("will-gavin-newsom-win-the-2028-us-presidential-election", "No")
# Transferred in at the venue: Polymarket holds NO 150, the ledger none.
FED_HOLD_NO = token_id_for("no-change-in-fed-interest-rates-after-december-2026-meeting", "No")
JVAN, GNEW = "KXPRESPERSON-28-JVAN", "KXPRESPERSON-28-GNEW"
FED_C25, FED_H0 = "KXFEDDECISION-26DEC-C25", "KXFEDDECISION-26DEC-H0"
NYC_WEATHER = "KXHIGHNY-26DEC01-B45"  # Kalshi-only: no demo pair names it; ledger and venue both hold YES 75
VANCE_IDS = {"kalshi_market_ticker": JVAN, "poly_asset_yes": VANCE_YES, "poly_asset_no": VANCE_NO}


async def ledger_caught_up(api: httpx.AsyncClient) -> None:
    """Every demo fill reached the ledger: Kalshi's holdings are its fills' net (the ledger must
    equal them), and the ledger's book stays the same over a few reads (Polymarket's deliberate
    differences — token transfers no trade shows — keep that venue from ever agreeing)."""
    seen: list[dict] = []

    async def settled() -> None:
        external = (await api.get("/api/positions/external", params={"refresh": "1"})).json()["external"]
        kalshi = {(p["instrument_id"], p["outcome"]): Decimal(p["quantity"]) for p in external["kalshi"]["positions"]
                  if Decimal(p["quantity"]) != 0}
        page = (await api.get("/api/v2/positions", params={"limit": "1000", "status": "open"})).json()
        ledger = {(p["venue"], p["instrument_id"], p["outcome"]): Decimal(p["quantity"]) for p in page["positions"]}
        assert kalshi and {(i, o): q for (v, i, o), q in ledger.items() if v == "kalshi"} == kalshi
        seen.append(ledger)
        assert len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3], "the ledger is still ingesting"

    await eventually(settled, "the ledger has every demo fill")


def spawn_reconciler(stack: Stack, nats_users: dict[str, str], database_url: str) -> None:
    """The reconciler as its own NATS user and Postgres role, added to `stack` (stopped with it).
    Its schedule is an hour away: it runs at start-up and when a test asks."""
    log = Path(tempfile.mkdtemp()) / "reconciler.log"
    stack.procs["reconciler"] = spawn("services.reconciler", {
        "PATH": os.environ["PATH"], "BUS_NAMESPACE": stack.namespace, "LOG_LEVEL": "DEBUG",
        "NATS_URL": nats_users["reconciler"], "DATABASE_URL": service_database_urls(database_url)["reconciler"],
        "RECONCILE_INTERVAL_SECONDS": "3600"}, log)
    stack.logs["reconciler"] = log


@dataclass
class ReconciledStack:
    sim: RunningSim
    stack: Stack
    api: httpx.AsyncClient
    database_url: str  # the superuser's: tests read the reconciler's audit log


@asynccontextmanager
async def reconciled_stack(nats_users: dict[str, str], database_url: str, tmp_path: Path) -> AsyncIterator[ReconciledStack]:
    """Simulator (demo), exchange-gateway, ledger, api-gateway and the reconciler, each a process
    as its own NATS user and Postgres role; the reconciler starts once the ledger has every demo
    fill, so what it compares is settled."""
    async with running_sim(scenario="demo") as sim:
        stack = start_stack(nats_users, database_url, gateway_env(sim, tmp_path), ledger={})
        try:
            async with stack.client(timeout=TIMEOUT) as api:
                await get_external(api)
                await ledger_caught_up(api)
                spawn_reconciler(stack, nats_users, database_url)

                async def answers() -> None:
                    response = await api.get("/api/v2/reconciliations")
                    assert response.status_code == 200, response.text

                await eventually(answers, "the reconciler answers")
                yield ReconciledStack(sim, stack, api, database_url)
        finally:
            for name, text in stack.stop().items():
                print(f"----- {name} -----\n{text[-20000:]}")
