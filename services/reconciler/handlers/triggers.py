"""When runs happen: once at start-up, then every interval, and soon after a venue reconnects
(fills may have been missed while it was away). Several reconnects while a run is due or in
progress make one run, not several."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from services.reconciler.handlers.inputs import read_inputs
from services.reconciler.handlers.runs import Reconciler
from shared.chassis import Service
from shared.contracts.events import ReconciliationTrigger, VenueConnectivity
from shared.logs import get_logger

log = get_logger(__name__)

# How long the start-up run waits for the ledger and the gateway to answer before it runs anyway.
STARTUP_WAIT_SECONDS = 30.0


class Triggers:
    def __init__(self, service: Service, reconciler: Reconciler, interval_seconds: float) -> None:
        self.service = service
        self.reconciler = reconciler
        self.interval = interval_seconds
        self.reconnected = asyncio.Event()

    async def on_connectivity(self, events: list[VenueConnectivity]) -> None:
        """A reconnect asks for a run; one reported before this process started is already
        covered by the start-up run."""
        for event in events:
            if event.connected and event.occurred_at >= self.service.started_at:
                log.info("venue reconnected; reconciling", venue=event.venue, since=str(event.since))
                self.reconnected.set()

    def task(self) -> Callable[[], Awaitable[None]]:
        async def reconcile_on_schedule() -> None:
            await self._sources_up()
            trigger: ReconciliationTrigger = "startup"
            while not self.service.stopping.is_set():
                try:
                    await self.reconciler.run(trigger)
                except Exception:
                    # A run that failed (the database, the bus) is retried at the next trigger.
                    log.exception("reconciliation run failed", trigger=trigger)
                trigger = await self._next_trigger()

        return reconcile_on_schedule

    async def _sources_up(self) -> None:
        """Services start together (make run, compose): the start-up run waits a little for the
        ledger and the gateway to answer rather than record that they had not started yet."""
        deadline = asyncio.get_running_loop().time() + STARTUP_WAIT_SECONDS
        while asyncio.get_running_loop().time() < deadline and not self.service.stopping.is_set():
            inputs = await read_inputs(self.reconciler.bus, refresh_external=False)
            if not (inputs.ledger_error or inputs.gateway_error):
                return
            await asyncio.sleep(1.0)

    async def _next_trigger(self) -> ReconciliationTrigger:
        waits = {asyncio.create_task(self.reconnected.wait()): "reconnect",
                 asyncio.create_task(self.service.stopping.wait()): "stop"}
        done, pending = await asyncio.wait(waits, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if any(waits[task] == "reconnect" for task in done):
            self.reconnected.clear()
            return "reconnect"
        return "schedule"
