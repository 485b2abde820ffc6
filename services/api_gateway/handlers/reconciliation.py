"""Reconciliation area: the ledger's book beside what the venues hold (the overview), runs of the
reconciler (on demand and past), instrument mappings and the operator's actions on a difference.
Everything is asked of the reconciler over the bus; parameters and bodies are checked here, so a
bad one is a 400 that names it."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_404_NOT_FOUND, HTTP_503_SERVICE_UNAVAILABLE
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.api_gateway.domain.external import external_view
from services.api_gateway.handlers.auth import credential
from services.api_gateway.handlers.params import BadParameter, at_most, boolean, only_known, paging, parameter_problem
from services.api_gateway.handlers.portfolio import ENVELOPE, answer
from shared.bus import Bus, BusError
from shared.contracts import BalancesReply, PositionsReply, utcnow
from shared.contracts.base import Outcome, Venue
from shared.contracts.channels import (
    GATEWAY_REPLY_TIMEOUT_SECONDS,
    RECONCILER_ACTION,
    RECONCILER_DELETE_MAPPING,
    RECONCILER_MAPPINGS,
    RECONCILER_OVERVIEW,
    RECONCILER_PUT_MAPPING,
    RECONCILER_RECONCILE,
    RECONCILER_RUN,
    RECONCILER_RUNS,
)
from shared.contracts.reconciler import (
    DeleteMappingRequest,
    ExternalIds,
    MappingsRequest,
    OperatorAction,
    OperatorActionRequest,
    OverviewRequest,
    PutMappingRequest,
    ReconcileRequest,
    ReconciliationRequest,
    ReconciliationsQuery,
)

# The overview, a run and an action read the venues through the exchange-gateway (which answers
# within GATEWAY_REPLY_TIMEOUT_SECONDS) and the ledger; a run may first wait for one in progress.
RECONCILER_SLOW_TIMEOUT_SECONDS = GATEWAY_REPLY_TIMEOUT_SECONDS + 15.0
# Mappings and past runs come from the reconciler's own tables (and the ledger's imports, 10 s).
RECONCILER_TIMEOUT_SECONDS = 15.0
# The contracts' bounds (ReconciliationsQuery, ReconciliationRequest, the mapping requests).
MAX_RUNS_LIMIT = 500
MAX_RUN_ID_LENGTH = 64
MAX_MARKET_ID_LENGTH = 256
MAX_REASON_LENGTH = 1000
# Who did it: the API knows one token and browser sessions, not people; a caller may add a name.
ACTOR_NAME = re.compile(r"^[\w.@+-]{1,64}$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    actor: str | None = Field(default=None, description="the person acting, e.g. alice; recorded as <credential>:alice")


class MappingBody(_Body):
    external_ids: ExternalIds
    title: str | None = Field(default=None, max_length=500)
    reason: str = Field(default="", max_length=MAX_REASON_LENGTH)


class ActionBody(_Body):
    action: OperatorAction
    venue: Venue
    instrument_id: str = Field(min_length=1, max_length=256)
    outcome: Outcome
    market_id: str | None = Field(default=None, min_length=1, max_length=MAX_MARKET_ID_LENGTH)
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)
    # The same id on a retry makes an adopt book at most once (the reconciler derives the ledger
    # booking's id from it).
    request_id: str | None = Field(default=None, min_length=1, max_length=128)


BodyT = TypeVar("BodyT", bound=_Body)


def reconciler_unavailable(_request: Request, exc: BusError) -> Response[dict[str, str]]:
    """A controller's exception handler: the reconciler did not answer (down, or past the
    timeout). For an adopt that is an unknown outcome: retry with the same request_id."""
    return Response({"error": f"reconciler unavailable: {exc}"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)


def not_found(message: str) -> Response[dict[str, str]]:
    return Response({"error": message}, status_code=HTTP_404_NOT_FOUND)


def validation_problem(exc: ValidationError) -> BadParameter:
    """The first problem, named by its field path (`external_ids.kalshi_market_ticker`); a check
    across fields names its field in its message (`market_id: ...`)."""
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location:
        location, _, message = message.partition(": ") if ": " in message else ("body", "", message)
    return BadParameter(location, message)


async def parse_body(request: Request, model: type[BodyT]) -> BodyT:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise BadParameter("body", "not valid JSON") from None
    if not isinstance(data, dict):
        raise BadParameter("body", "must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def actor(request: Request, name: str | None) -> str:
    """"api-token" for a script's bearer call, "browser" for a session (as the credentials
    middleware recorded), each with the caller's name when given ("browser:alice")."""
    who = credential(request)
    if name is None or name == "":
        return who
    if not ACTOR_NAME.match(name):
        raise BadParameter("actor", "1 to 64 letters, digits or . @ + - _")
    return f"{who}:{name}"


def overview_body(reply: Any) -> dict[str, Any]:
    """Seed 000's `{internal, external, reconciliation}`: `external` as /api/positions/external
    shapes it (without balances: the overview compares holdings), plus `error` when a source did
    not answer (the parts it could read are still shown)."""
    body: dict[str, Any] = {
        "internal": [p.model_dump(mode="json") for p in reply.internal],
        "external": external_view(PositionsReply(snapshots=reply.external), BalancesReply(balances=()), utcnow()),
        "reconciliation": reply.reconciliation.model_dump(mode="json") if reply.reconciliation else None,
    }
    if reply.error is not None:
        body["error"] = reply.error.message
    return body


class OverviewController(Controller):
    path = "/api"
    tags = ["reconciliation"]
    exception_handlers = {BadParameter: parameter_problem, BusError: reconciler_unavailable}

    @get("/positions/overview", summary="The ledger's open positions, the venues' holdings and their reconciliation "
                                        "now (not stored); refresh_external=1 bypasses the gateway's short cache")
    async def overview(
        self,
        request: Request,
        bus: Bus,
        refresh_external: str | None = Parameter(default=None, description="1 | 0 (default)"),
    ) -> Response[dict[str, Any]]:
        only_known(request, {"refresh_external"})
        refresh = boolean("refresh_external", refresh_external)
        reply = await bus.request(RECONCILER_OVERVIEW.subject(), OverviewRequest(refresh_external=refresh),
                                  timeout=RECONCILER_SLOW_TIMEOUT_SECONDS)
        if reply.reconciliation is None:
            return Response({"error": f"reconciler: {reply.error.message if reply.error else 'no reconciliation'}"},
                            status_code=HTTP_503_SERVICE_UNAVAILABLE)
        return Response(overview_body(reply), status_code=HTTP_200_OK)

    @post("/bot/reconcile", status_code=HTTP_200_OK, summary="Run a reconciliation now (stored, published, alerted "
                                                              "on) and return it")
    async def reconcile(self, request: Request, bus: Bus) -> Response[dict[str, Any]]:
        only_known(request, {"actor"})
        who = actor(request, request.query_params.get("actor"))
        reply = await bus.request(RECONCILER_RECONCILE.subject(), ReconcileRequest(actor=who),
                                  timeout=RECONCILER_SLOW_TIMEOUT_SECONDS)
        if reply.run is None:
            return Response({"error": f"reconciler: {reply.error.message if reply.error else 'no run'}"},
                            status_code=HTTP_503_SERVICE_UNAVAILABLE)
        return answer(reply)


class ReconciliationController(Controller):
    path = "/api/v2"
    tags = ["reconciliation"]
    exception_handlers = {BadParameter: parameter_problem, BusError: reconciler_unavailable}

    @get("/reconciliations", summary="Past reconciliation runs, newest first, with their status counts")
    async def runs(
        self,
        request: Request,
        bus: Bus,
        limit: str | None = Parameter(default=None, description=f"1..{MAX_RUNS_LIMIT}, default 50"),
        offset: str | None = Parameter(default=None, description=">= 0, default 0"),
    ) -> Response[dict[str, Any]]:
        only_known(request, {"limit", "offset"})
        query = ReconciliationsQuery(**paging(limit, offset, default_limit=50, max_limit=MAX_RUNS_LIMIT))
        page = await bus.request(RECONCILER_RUNS.subject(), query, timeout=RECONCILER_TIMEOUT_SECONDS)
        return Response({**page.model_dump(mode="json", exclude=ENVELOPE), "limit": query.limit,
                         "offset": query.offset}, status_code=HTTP_200_OK)

    @get("/reconciliations/{run_id:str}", summary="One past run with every item")
    async def run(self, bus: Bus, run_id: str) -> Response[dict[str, Any]]:
        at_most("run_id", run_id, MAX_RUN_ID_LENGTH)
        reply = await bus.request(RECONCILER_RUN.subject(), ReconciliationRequest(run_id=run_id),
                                  timeout=RECONCILER_TIMEOUT_SECONDS)
        if reply.run is None:
            return not_found(f"no reconciliation run {run_id!r}")
        return answer(reply)

    @post("/reconciliations/actions", status_code=HTTP_200_OK,
          summary="An operator's acknowledge, adopt or map of one (venue, instrument, outcome); audit-logged; "
                  "`done` false with the reason when the reconciler refused it")
    async def action(self, request: Request, bus: Bus) -> Response[dict[str, Any]]:
        only_known(request, set())
        body = await parse_body(request, ActionBody)
        if body.action == "map" and body.market_id is None:
            raise BadParameter("market_id", "map attaches the instrument to a market; name it")
        fields = body.model_dump(exclude={"actor", "request_id"})
        command = OperatorActionRequest(**fields, actor=actor(request, body.actor),
                                        **({"event_id": body.request_id} if body.request_id else {}))
        reply = await bus.request(RECONCILER_ACTION.subject(), command, timeout=RECONCILER_SLOW_TIMEOUT_SECONDS)
        return answer(reply)

    @get("/mappings", summary="Every instrument mapping: the operator's and those imported with the ledger's markets")
    async def mappings(self, request: Request, bus: Bus) -> Response[dict[str, Any]]:
        only_known(request, set())
        reply = await bus.request(RECONCILER_MAPPINGS.subject(), MappingsRequest(),
                                  timeout=RECONCILER_TIMEOUT_SECONDS)
        return answer(reply)

    @get("/mappings/{market_id:str}", summary="One market's mapping")
    async def mapping(self, bus: Bus, market_id: str) -> Response[dict[str, Any]]:
        at_most("market_id", market_id, MAX_MARKET_ID_LENGTH)
        reply = await bus.request(RECONCILER_MAPPINGS.subject(), MappingsRequest(market_id=market_id),
                                  timeout=RECONCILER_TIMEOUT_SECONDS)
        if not reply.mappings:
            return not_found(f"no mapping for market {market_id!r}")
        return Response({"mapping": reply.mappings[0].model_dump(mode="json")}, status_code=HTTP_200_OK)

    @put("/mappings/{market_id:str}", status_code=HTTP_200_OK,
         summary="Create or replace the operator's mapping of a market (body: external_ids, title?, reason?)")
    async def put_mapping(self, request: Request, bus: Bus,
                          market_id: str) -> Response[dict[str, Any]]:
        only_known(request, set())
        at_most("market_id", market_id, MAX_MARKET_ID_LENGTH)
        body = await parse_body(request, MappingBody)
        if not any(body.external_ids.model_dump().values()):
            raise BadParameter("external_ids", "a mapping names at least one venue id")
        command = PutMappingRequest(market_id=market_id, external_ids=body.external_ids, title=body.title or None,
                                    actor=actor(request, body.actor), reason=body.reason)
        reply = await bus.request(RECONCILER_PUT_MAPPING.subject(), command, timeout=RECONCILER_TIMEOUT_SECONDS)
        if reply.mapping is None:
            return Response({"error": f"reconciler: {reply.error.message if reply.error else 'not stored'}"},
                            status_code=HTTP_503_SERVICE_UNAVAILABLE)
        return answer(reply)

    @delete("/mappings/{market_id:str}", status_code=HTTP_200_OK,
            summary="Remove the operator's mapping of a market (an imported one goes with its import); "
                    "query: reason?, actor?")
    async def delete_mapping(
        self,
        request: Request,
        bus: Bus,
        market_id: str,
        reason: str | None = Parameter(default=None, description="why, for the audit log"),
    ) -> Response[dict[str, Any]]:
        only_known(request, {"reason", "actor"})
        at_most("market_id", market_id, MAX_MARKET_ID_LENGTH)
        at_most("reason", reason, MAX_REASON_LENGTH)
        command = DeleteMappingRequest(market_id=market_id, reason=reason or "",
                                       actor=actor(request, request.query_params.get("actor")))
        reply = await bus.request(RECONCILER_DELETE_MAPPING.subject(), command, timeout=RECONCILER_TIMEOUT_SECONDS)
        if reply.mapping is None:
            return not_found(reply.error.message if reply.error else f"no operator mapping for market {market_id!r}")
        return answer(reply)

