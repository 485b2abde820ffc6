"""The gateway marks what the ledger holds too: a ghost (held in the ledger, gone from the venue)
is marked and valued, and a ledger that stalls never holds up the venue holdings' marks.

Real processes (exchange-gateway, ledger, api-gateway) on a Polymarket account made in the
simulator before they start: token HELD bought and still in the wallet, token GHOST bought and
then transferred out. The gateway never sees GHOST in a venue snapshot, so only the ledger's
answer can get it a mark.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import httpx
import pytest

from services.venue_sim.domain import polymarket
from shared.contracts import Mark, utcnow
from shared.contracts.channels import ADMIN, EVENTS_STREAM, MARKS
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import Stack, get_external, start_stack
from tests.support import jetstream
from tests.support.venue_sim import RunningSim, running_sim
from tests.support.polling import eventually

DAY_MS = 86_400_000
HELD, GHOST = f"{10**40 + 2}", f"{10**40 + 4}"  # YES tokens of two markets; each NO token is the next number
QUANTITY, PRICE = Decimal("10"), Decimal("0.40")
# Each token's book: the mark's mid is the middle of its best levels.
BOOKS = {HELD: (Decimal("0.40"), Decimal("0.44")), GHOST: (Decimal("0.60"), Decimal("0.64"))}
MIDS = {token: (bid + ask) / 2 for token, (bid, ask) in BOOKS.items()}
STALL_SECONDS = 6.0
UNANSWERED = "ledger did not say what it holds"
ANSWERED_AGAIN = "ledger says what it holds again"


@dataclass
class GhostStack:
    sim: RunningSim
    stack: Stack
    api: httpx.AsyncClient


def make_account(sim: RunningSim) -> None:
    """Both tokens bought a day ago (settled, so their fills are final); GHOST then moved out."""
    exchange = sim.sim.polymarket
    now = sim.sim.clock.now_ms()
    for i, yes in enumerate((HELD, GHOST), start=1):
        no = str(int(yes) + 1)
        exchange.add_market(polymarket.Market(
            condition_id=f"0x{i:064x}", question=f"Ghost marks market {i}?", slug=f"ghost-marks-{i}",
            event_slug="ghost-marks", event_id=1, end_date="2030-01-01",
            tokens=(polymarket.Token(yes, "Yes", 0), polymarket.Token(no, "No", 1))))
        bid, ask = BOOKS[yes]
        exchange.set_book(yes, bids=[(bid, Decimal("100"))], asks=[(ask, Decimal("100"))])
        exchange.record_external_trade(yes, "BUY", QUANTITY, PRICE, match_ms=now - DAY_MS, will_fail=False)
    exchange.record_transfer(GHOST, -QUANTITY)


@pytest.fixture(scope="module")
async def ghost_stack(nats_users, database_factory, tmp_path_factory) -> AsyncIterator[GhostStack]:
    async with running_sim(scenario="empty") as sim:
        make_account(sim)
        env = gateway_env(sim, tmp_path_factory.mktemp("ghost-marks"), venues=("polymarket",))
        stack = start_stack(nats_users, database_factory("trueup_ghost_marks"), env, ledger={})
        try:
            async with stack.client(timeout=40) as api:
                yield GhostStack(sim, stack, api)
        finally:
            for name, log in stack.stop().items():
                print(f"----- {name} -----\n{log[-20000:]}")


async def ledger_open(api: httpx.AsyncClient) -> dict[str, dict]:
    response = await api.get("/api/v2/positions", params={"status": "open", "venue": "polymarket"})
    assert response.status_code == 200, response.text
    return {p["instrument_id"]: p for p in response.json()["positions"]}


async def marks_made(stack: Stack, nats_users: dict[str, str], since: datetime, until: datetime) -> dict[str, int]:
    """How many marks of each instrument the gateway read in [since, until]."""
    subject = f"{stack.namespace}.{MARKS.subject(venue='polymarket').relative}"
    stored = await jetstream.stored(nats_users[ADMIN], stack.namespace, EVENTS_STREAM)
    marks = [Mark.model_validate_json(m.data) for m in stored if m.subject == subject]
    counts = dict.fromkeys(BOOKS, 0)
    for mark in marks:
        if since <= mark.as_of <= until:
            counts[mark.instrument_id] += 1
    return counts


async def test_a_position_only_the_ledger_holds_is_marked_and_valued(ghost_stack: GhostStack):
    api = ghost_stack.api
    venue = (await get_external(api))["external"]["polymarket"]
    assert {p["instrument_id"] for p in venue["positions"]} == {HELD}  # the venue never shows GHOST

    async def valued() -> dict[str, dict]:
        held = await ledger_open(api)
        assert held.keys() == {HELD, GHOST} and all(p["mark_price"] is not None for p in held.values())
        return held

    for token, position in (await eventually(valued, "both ledger positions valued")).items():
        mark, quantity = Decimal(position["mark_price"]), Decimal(position["quantity"])
        assert mark == MIDS[token] and quantity == QUANTITY, position
        assert position["mark_as_of"] is not None
        assert Decimal(position["market_value"]) == mark * quantity
        assert Decimal(position["unrealized_pnl"]) == (mark - Decimal(position["avg_price"])) * quantity


async def test_a_stalled_ledger_holds_up_no_marks(ghost_stack: GhostStack, nats_users):
    stack = ghost_stack.stack

    async def ghost_marked() -> None:
        ghost = (await ledger_open(ghost_stack.api)).get(GHOST)
        assert ghost is not None and ghost["mark_price"] is not None

    await eventually(ghost_marked, "the ghost's first mark")
    ledger, log = stack.procs["ledger"], stack.logs["exchange-gateway"]
    said_before = log.read_text(errors="replace")
    # Stopped, not killed: its subscription stays, so questions reach it and go unanswered.
    ledger.send_signal(signal.SIGSTOP)
    stalled_at = utcnow()
    try:
        await asyncio.sleep(STALL_SECONDS)
    finally:
        resumed_at = utcnow()
        ledger.send_signal(signal.SIGCONT)

    made = await marks_made(stack, nats_users, stalled_at, resumed_at)
    # A round publishes the venue holdings' marks first; only then does it wait for the ledger, at
    # most LEDGER_TIMEOUT_SECONDS and once per reuse window (2 rounds): rounds 3 s and 1 s apart.
    assert made[HELD] >= 2, made
    # The ghost keeps the ledger's last answer while it is silent.
    assert made[GHOST] >= 1, made

    async def said_once_and_recovered() -> None:
        said = log.read_text(errors="replace")[len(said_before):]
        assert said.count(UNANSWERED) == 1 and said.count(ANSWERED_AGAIN) == 1, said

    await eventually(said_once_and_recovered, "one warning while the ledger was stalled, one line when it answered")
