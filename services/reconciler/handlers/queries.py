"""Run requests: a run now (on demand), past runs, one past run, and the overview."""

from __future__ import annotations

from services.reconciler.adapters import audit
from services.reconciler.adapters import runs as run_store
from services.reconciler.handlers.runs import Reconciler
from shared.contracts import ErrorInfo
from shared.contracts.channels import RECONCILER_OVERVIEW, RECONCILER_RECONCILE, RECONCILER_RUN, RECONCILER_RUNS
from shared.contracts.reconciler import (
    OverviewReply,
    OverviewRequest,
    ReconcileReply,
    ReconcileRequest,
    ReconciliationRequest,
    ReconciliationsPage,
    ReconciliationsQuery,
)


def answer_queries(reconciler: Reconciler) -> None:
    bus = reconciler.bus

    async def reconcile(request: ReconcileRequest) -> ReconcileReply:
        run = await reconciler.run("on_demand", refresh_external=True)
        await audit.record(reconciler.pool, actor=request.actor, action="reconcile", target={"run_id": run.run_id},
                           reason="on demand", outcome="done")
        return ReconcileReply(run=run)

    async def runs(query: ReconciliationsQuery) -> ReconciliationsPage:
        return await run_store.list_runs(reconciler.pool, query.limit, query.offset)

    async def run(request: ReconciliationRequest) -> ReconcileReply:
        found = await run_store.get_run(reconciler.pool, request.run_id)
        if found is None:
            return ReconcileReply(error=ErrorInfo(code="not_found", message=f"no reconciliation run {request.run_id}"))
        return ReconcileReply(run=found)

    async def overview(request: OverviewRequest) -> OverviewReply:
        """Both sides as read now and their reconciliation (not stored, not alerted on)."""
        computed = await reconciler.compute("overview", refresh_external=request.refresh_external)
        inputs = computed.inputs
        unavailable = inputs.ledger_error or inputs.gateway_error
        error = ErrorInfo(code="source_unavailable", message="; ".join(
            e for e in (inputs.ledger_error, inputs.gateway_error) if e)) if unavailable else None
        return OverviewReply(internal=inputs.internal, external=inputs.external, reconciliation=computed.run,
                             error=error)

    bus.respond(RECONCILER_RECONCILE.subject(), reconcile)
    bus.respond(RECONCILER_RUNS.subject(), runs)
    bus.respond(RECONCILER_RUN.subject(), run)
    bus.respond(RECONCILER_OVERVIEW.subject(), overview)
