"""The gateway tells the bus when it loses a venue and when it has it back — once per transition,
never per poll: the pure rule, then the fills poller against the simulator's injected faults over
real HTTP, NATS and Postgres, read through the reconciler's own durable consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.exchange_gateway.adapters.fill_store import FillStore
from services.exchange_gateway.domain.venue_connectivity import VenueLink
from services.exchange_gateway.handlers.feed_poller import FeedPoller, fills_feed
from shared.bus import Bus
from shared.contracts import VenueConnectivity, deterministic_id
from shared.contracts.channels import RECONCILER, VENUE_CONNECTIVITY

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_only_transitions_are_told_and_an_unpublished_one_keeps_its_id():
    link = VenueLink("kalshi")
    assert link.observe(True, at(0), "ok") is None  # the first success at start is no reconnect
    assert link.observe(True, at(1), "ok") is None
    lost = link.observe(False, at(2), "fills poll failed: HTTP 500")
    assert lost is not None and (lost.connected, lost.since, lost.venue) == (False, at(2), "kalshi")
    assert lost.event_id == deterministic_id("kalshi", "venue_connectivity", False, at(2).isoformat())
    # Not published yet (the bus was down): the next failing poll offers the same event.
    assert link.observe(False, at(3), "fills poll failed: timeout") == lost
    link.published(lost)
    assert link.observe(False, at(4), "fills poll failed: timeout") is None
    back = link.observe(True, at(5), "polled again")
    assert back is not None and (back.connected, back.since) == (True, at(5))
    # It flipped back before the reconnect went out: nothing changed from what was told.
    assert link.observe(False, at(6), "failed") is None
    assert link.observe(False, at(7), "failed again") is None
    assert link.observe(True, at(8), "polled again").since == at(8)


def test_a_venue_failing_from_the_start_is_told_lost():
    link = VenueLink("polymarket")
    lost = link.observe(False, at(0), "fills poll failed: connection refused")
    assert lost is not None and not lost.connected


class CountingStore(FillStore):
    """Counts the polls begun (each loads the checkpoint first)."""

    polls = 0

    async def load_checkpoint(self, venue):
        self.polls += 1
        return await super().load_checkpoint(venue)


async def until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_failing_fills_feed_is_told_lost_once_then_back_once(sim, admin, clients, plumbing,
                                                                     nats_users):
    told: list[VenueConnectivity] = []

    async def record(event: VenueConnectivity) -> None:
        told.append(event)

    reconciler = Bus(nats_users[RECONCILER], plumbing.bus.namespace, RECONCILER)
    reconciler.consume(VENUE_CONNECTIVITY, record)
    await reconciler.start()
    store = CountingStore(plumbing.pool)
    poller = FeedPoller("kalshi", fills_feed(clients["kalshi"]), store, plumbing.bus, 0.05)

    async def polls_later(n: int, what: str) -> None:
        target = store.polls + n
        await until(lambda: store.polls >= target, what)

    task = asyncio.create_task(poller.run_forever())
    try:
        await until(lambda: poller.health.last_success_at is not None, "the first successful poll")
        first_success = poller.health.last_success_at

        assert (await admin.post("/faults", json={"venue": "kalshi", "malformed_json": True})).status_code < 300
        await until(lambda: len(told) == 1, "the venue lost")
        lost_at = poller.health.last_success_at
        await polls_later(3, "more failed polls")  # still failing: nothing more to tell
        assert poller.health.last_success_at == lost_at and poller.health.last_error is not None

        assert (await admin.delete("/faults")).status_code < 300
        await until(lambda: len(told) == 2, "the venue back")
        await polls_later(3, "more successful polls")
        await asyncio.sleep(0.5)  # a duplicate or a per-poll event would arrive now
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await reconciler.stop()

    assert [(e.venue, e.connected) for e in told] == [("kalshi", False), ("kalshi", True)]
    lost, back = told
    assert first_success < lost.since < back.since
    assert "fills poll failed" in lost.reason and "malformed" in lost.reason.lower()
    assert lost.event_id == deterministic_id("kalshi", "venue_connectivity", False, lost.since.isoformat())
    assert back.event_id == deterministic_id("kalshi", "venue_connectivity", True, back.since.isoformat())
