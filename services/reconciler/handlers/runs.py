"""Reconciliation runs: read both sides, compare (the pure domain), persist, publish, alert.

Runs never overlap: one lock. A request for a run while one is in progress waits for it and
then runs its own, so what it returns was read after it asked (an operator who just fixed
something sees the fix, not the run that was already half done).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import asyncpg

from services.reconciler.adapters import operator_state
from services.reconciler.adapters.operator_state import Acknowledgement, ItemKey
from services.reconciler.adapters.runs import run_items, save_run
from services.reconciler.domain.alerts import alert_changes, difference_key, fingerprint
from services.reconciler.domain.reasons import leg
from services.reconciler.domain.reconcile import reconcile
from services.reconciler.handlers.inputs import Inputs, domain_inputs, read_inputs, snapshot_time
from services.reconciler.handlers.mapping_sources import current_mappings
from shared.bus import Bus
from shared.chassis import Service
from shared.contracts import deterministic_id, new_id, utcnow
from shared.contracts.channels import ALERTS, RECONCILIATIONS
from shared.contracts.events import (
    MAX_PUBLISHED_DIFFERENCES,
    Alert,
    ReconciliationCompleted,
    ReconciliationItem,
    ReconciliationTrigger,
)
from shared.contracts.reconciler import InstrumentMapping, ReconciliationRun
from shared.logs import get_logger

log = get_logger(__name__)

SOURCE = "reconciler"


def item_key(item: ReconciliationItem) -> ItemKey:
    return item.venue, item.instrument_id, item.outcome


def current_fingerprint(item: ReconciliationItem) -> str:
    """The difference's fingerprint, whether or not it is acknowledged (an acknowledgement is
    stored with the fingerprint of the item as it was before)."""
    return fingerprint(item.model_copy(update={"acknowledged": False}))


@dataclass(frozen=True)
class Reconciliation:
    run: ReconciliationRun
    inputs: Inputs
    # Acknowledgements that no longer hold: their difference changed or resolved.
    lapsed: frozenset[ItemKey]
    # Seconds spent reading both sides, and comparing them: a slow run's log says where it went.
    read_s: float = 0.0
    compare_s: float = 0.0


def lapsed_acknowledgements(run: ReconciliationRun, acks: dict[ItemKey, Acknowledgement]) -> frozenset[ItemKey]:
    """An acknowledgement holds while its difference has the fingerprint acknowledged; one whose
    item has no difference any more (resolved, or never had one) lapses — which is why the
    acknowledge action accepts only an item with a difference. An item the venue could not report
    (api_error) keeps it: nothing is known to have changed."""
    current = {item_key(item): item for item in run_items(run)}
    lapsed = set()
    for key, ack in acks.items():
        item = current.get(key)
        if item is not None and item.status == "api_error":
            continue
        if item is None or item.difference is None or current_fingerprint(item) != ack.fingerprint:
            lapsed.add(key)
    return frozenset(lapsed)


class Reconciler:
    def __init__(self, service: Service, tolerance: Decimal) -> None:
        self.service = service
        self.tolerance = tolerance
        self.lock = asyncio.Lock()

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.service.pool is not None, "the reconciler owns a schema: its pool opens at start"
        return self.service.pool

    @property
    def bus(self) -> Bus:
        return self.service.bus

    async def compute(self, trigger: ReconciliationTrigger | Literal["overview"], *,
                      refresh_external: bool) -> Reconciliation:
        """A reconciliation of both sides as they are now; nothing stored, nothing published."""
        started_at = utcnow()
        began = time.perf_counter()
        inputs, mappings, acks = await asyncio.gather(
            read_inputs(self.bus, refresh_external=refresh_external),
            current_mappings(self.pool, self.bus),
            operator_state.acknowledgements(self.pool),
        )
        read = time.perf_counter()
        run_id = new_id()
        run = self._reconcile(inputs, mappings, acks.keys(), run_id, trigger, started_at)
        lapsed = lapsed_acknowledgements(run, acks)
        if lapsed:
            run = self._reconcile(inputs, mappings, acks.keys() - lapsed, run_id, trigger, started_at)
        return Reconciliation(run, inputs, lapsed, read_s=read - began, compare_s=time.perf_counter() - read)

    def _reconcile(self, inputs: Inputs, mappings: list[InstrumentMapping], acknowledged: Iterable[ItemKey],
                   run_id: str, trigger: ReconciliationTrigger | Literal["overview"], started_at) -> ReconciliationRun:
        internal, venues = domain_inputs(inputs)
        finished_at = utcnow()
        return reconcile(internal, venues, mappings, tolerance=self.tolerance, acknowledged=frozenset(acknowledged),
                         run_id=run_id, trigger=trigger, started_at=started_at, finished_at=finished_at,
                         snapshot_time=snapshot_time(inputs, finished_at))

    async def run(self, trigger: ReconciliationTrigger, *, refresh_external: bool = True) -> ReconciliationRun:
        """One recorded run: computed, stored with its items, published, then alerted on."""
        async with self.lock:
            reconciliation = await self.compute(trigger, refresh_external=refresh_external)
            run = reconciliation.run
            items = run_items(run)
            began = time.perf_counter()
            async with self.pool.acquire() as conn, conn.transaction():
                await save_run(conn, run)
                await operator_state.forget_acknowledgements(conn, reconciliation.lapsed)
            stored = time.perf_counter()
            differences = [item for item in items if item.status == "mismatch"]
            await self.bus.publish(RECONCILIATIONS.subject(), ReconciliationCompleted(
                event_id=deterministic_id("reconciliation", run.run_id), run_id=run.run_id, trigger=trigger,
                started_at=run.started_at, finished_at=run.finished_at, snapshot_time=run.snapshot_time,
                summary=run.summary, differences=tuple(differences[:MAX_PUBLISHED_DIFFERENCES]),
                differences_total=len(differences)))
            await self._alert(run, items)
            log.info("reconciliation run", run_id=run.run_id, trigger=trigger, summary=run.summary,
                     errors=run.errors or None, read_s=round(reconciliation.read_s, 3),
                     compare_s=round(reconciliation.compare_s, 3), store_s=round(stored - began, 3),
                     publish_and_alert_s=round(time.perf_counter() - stored, 3))
            return run

    async def _alert(self, run: ReconciliationRun, items: list[ReconciliationItem]) -> None:
        """A critical alert per new or changed difference, an info alert per resolved one. The
        alerts go out before the state that records them: a crash in between repeats an alert
        rather than losing one."""
        previous = await operator_state.alerted(self.pool)
        to_alert, resolved = alert_changes(previous, items, failed_venues=run.errors.keys())
        by_key = {difference_key(item): item for item in items}
        for item in to_alert:
            await self.bus.publish(ALERTS.subject(), mismatch_alert(run.run_id, item))
        for key in resolved:
            await self.bus.publish(ALERTS.subject(), resolved_alert(run.run_id, key, by_key.get(key)))
        async with self.pool.acquire() as conn, conn.transaction():
            await operator_state.update_alerted(conn, {difference_key(item): fingerprint(item) for item in to_alert},
                                                resolved, run.finished_at)


def _short_id(instrument_id: str) -> str:
    """Polymarket's 77-digit token ids shortened as the UI does (first 6 … last 4)."""
    return instrument_id if len(instrument_id) <= 14 else f"{instrument_id[:6]}…{instrument_id[-4:]}"


def _describe(item: ReconciliationItem) -> str:
    market = item.title or item.market_id or _short_id(item.instrument_id)
    return f"{market} · {leg(item.venue, item.outcome)}"


def _details(run_id: str, item: ReconciliationItem) -> dict:
    return {"run_id": run_id, **item.model_dump(mode="json")}


def _dedup_key(key: ItemKey) -> str:
    return "reconciliation:" + ":".join(key)


def mismatch_alert(run_id: str, item: ReconciliationItem) -> Alert:
    key = _dedup_key(difference_key(item))
    return Alert(
        event_id=deterministic_id("reconciliation-alert", run_id, key),
        severity="critical", source=SOURCE, code="reconciliation.mismatch",
        # The reason already names the market, the leg, both sizes and what to do.
        message=f"{item.reason} [{item.venue} {_short_id(item.instrument_id)}]",
        dedup_key=key, details=_details(run_id, item),
    )


def resolved_alert(run_id: str, key: ItemKey, item: ReconciliationItem | None) -> Alert:
    venue, instrument_id, outcome = key
    what = _describe(item) if item is not None else f"{leg(venue, outcome)} {_short_id(instrument_id)}"
    now = f"now {item.status}" if item is not None else "neither side holds it any more"
    return Alert(
        event_id=deterministic_id("reconciliation-resolved", run_id, *key),
        severity="info", source=SOURCE, code="reconciliation.resolved",
        message=f"reconciliation difference resolved: {what}: {now}",
        dedup_key=_dedup_key(key),
        details={"run_id": run_id, "venue": venue, "instrument_id": instrument_id, "outcome": outcome,
                 **({"item": item.model_dump(mode="json")} if item else {})},
    )
