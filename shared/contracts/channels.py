"""Every channel on the bus, declared once: its subject pattern, what travels on it, who sends it
and who reads or answers it.

The bus takes these objects, never strings: `bus.publish(FILLS.subject(venue="kalshi"), fill)`
fails at once for a model the channel does not carry, a placeholder value that does not fit
(`venue="binance"`), or an event whose own field contradicts the subject (a Polymarket fill on
`evt.fills.kalshi`). `proto/` (JSON Schema + AsyncAPI) and `deploy/nats/permissions.conf` are
generated from these declarations (`make proto`), and tests fail when either drifts.

Subjects are relative; `shared.bus.Bus` prefixes them with the deployment's namespace
(`BUS_NAMESPACE`, default `trueup`) so a test session or a second desk can share one NATS server.

Placeholders: `{venue}` is one of `VENUES`; `{service}` is one of `SERVICES`, and on a channel
every service answers it is the answering service's own name (each answers only its own, and may
ask its own: the container healthcheck runs with the service's credentials); `{original_subject}`
is a whole subject (dead letters keep the subject the message came on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from string import Formatter
from typing import Any, Final, Generic, TypeVar

from shared.contracts.base import VENUES, Message
from shared.contracts.events import (
    Alert,
    BalanceSnapshot,
    DeadLetter,
    ExternalPositionsSnapshot,
    Fill,
    Mark,
    OrderUpdate,
    ReconciliationCompleted,
    RiskStateChanged,
    SettlementRecorded,
    VenueConnectivity,
)
from shared.contracts.gateway import (
    BalancesReply,
    BalancesRequest,
    CancelOrderReply,
    CancelOrderRequest,
    FillsPageReply,
    FillsPageRequest,
    HealthReply,
    HealthRequest,
    OrderLookupReply,
    OrderLookupRequest,
    PlaceOrderReply,
    PlaceOrderRequest,
    PositionsReply,
    PositionsRequest,
)
from shared.contracts.ledger import (
    OpenInstrumentsReply,
    OpenInstrumentsRequest,
    PortfolioHistoryReply,
    PortfolioHistoryRequest,
    PortfolioSummary,
    PortfolioSummaryRequest,
    PositionReply,
    PositionRequest,
    PositionsPage,
    PositionsQuery,
)
from shared.contracts.reconciler import (
    AdoptionReply,
    AdoptionRequest,
    DeleteMappingRequest,
    ImportedMarketsReply,
    ImportedMarketsRequest,
    MappingReply,
    MappingsReply,
    MappingsRequest,
    OperatorActionReply,
    OperatorActionRequest,
    OverviewReply,
    OverviewRequest,
    PutMappingRequest,
    ReconcileReply,
    ReconcileRequest,
    ReconciliationRequest,
    ReconciliationsPage,
    ReconciliationsQuery,
)

EventT = TypeVar("EventT", bound=Message)
RequestT = TypeVar("RequestT", bound=Message)
ReplyT = TypeVar("ReplyT", bound=Message)

# The services that connect to the bus (each with its own NATS user); the API aggregates their health.
EXCHANGE_GATEWAY: Final = "exchange-gateway"
LEDGER: Final = "ledger"
RECONCILER: Final = "reconciler"
EXECUTOR: Final = "executor"
RISK: Final = "risk"
NOTIFIER: Final = "notifier"
API_GATEWAY: Final = "api-gateway"
SERVICES: Final = (EXCHANGE_GATEWAY, LEDGER, RECONCILER, EXECUTOR, RISK, NOTIFIER, API_GATEWAY)

# How long a caller waits for the exchange-gateway's answer on rpc.gateway.*: the gateway checks
# at start that its venue reads give up before this (VENUE_READ_DEADLINE_SECONDS), so a slow
# venue reaches the caller as that venue's error, not as "gateway unavailable".
GATEWAY_REPLY_TIMEOUT_SECONDS: Final = 30.0

_VALUES: Final[dict[str, tuple[str, ...]]] = {"venue": VENUES, "service": SERVICES}
# Placeholders a consumer may leave open; the whole-subject one spans several tokens.
_WHOLE_SUBJECT: Final = "original_subject"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Stream:
    """A JetStream stream; its size and retention come from settings (`shared.bus.BusConfig`)."""

    name: str
    subjects: tuple[str, ...]


EVENTS_STREAM: Final = Stream("EVENTS", ("evt.>",))
# Messages a consumer gave up on, kept with the error for an operator (kept longer, never consumed by services).
DEAD_LETTER_STREAM: Final = Stream("DEADLETTER", ("dlq.>",))
STREAMS: Final = (EVENTS_STREAM, DEAD_LETTER_STREAM)


# The NATS user that creates streams and consumers (`python -m shared.bus.provision`); no service has its rights.
ADMIN: Final = "admin"


def stream_name(namespace: str, stream: Stream) -> str:
    """The stream's name in a deployment (`TRUEUP_EVENTS`); namespace `*` (the test server's
    permissions, one per session for many namespaces) stays a wildcard token."""
    return "*" if namespace == "*" else f"{namespace}_{stream.name}".upper().replace("-", "_")


# A reply bigger than one NATS message goes in parts (shared/bus/replies.py); the permissions let a
# responder send this many messages per request, so a reply may be up to ~this many megabytes.
MAX_REPLY_PARTS: Final = 64


def inbox_prefix(namespace: str, user: str) -> str:
    """Where a user's replies arrive (`_INBOX.trueup.ledger`): each may subscribe only under its own."""
    return f"_INBOX.{namespace}.{user}"


@dataclass(frozen=True)
class _Channel:
    pattern: str
    description: str

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(name for _, name, _, _ in Formatter().parse(self.pattern) if name)

    def _resolve(self, params: dict[str, str]) -> str:
        unknown = set(params) - set(self.placeholders)
        missing = set(self.placeholders) - set(params)
        if unknown or missing:
            raise ValueError(f"{self.pattern} takes {', '.join(self.placeholders) or 'no placeholders'}; "
                             f"got {', '.join(sorted(params)) or 'none'}")
        for name, value in params.items():
            _check_value(self.pattern, name, value)
        return self.pattern.format(**params)

    def wildcard(self, **fixed: str) -> str:
        """The pattern with every placeholder not in `fixed` open (`*`, or `>` for a whole subject)."""
        for name, value in fixed.items():
            _check_value(self.pattern, name, value)
        open_ = {name: (">" if name == _WHOLE_SUBJECT else "*") for name in self.placeholders}
        return self.pattern.format(**(open_ | fixed))


def _check_value(pattern: str, name: str, value: str) -> None:
    allowed = _VALUES.get(name)
    if allowed is not None and value not in allowed:
        raise ValueError(f"{pattern}: {name} must be one of {', '.join(allowed)}, not {value!r}")
    tokens = value.split(".") if name == _WHOLE_SUBJECT else [value]
    if not all(_TOKEN.match(token) for token in tokens):
        raise ValueError(f"{pattern}: {name}={value!r} is not a subject {'' if name == _WHOLE_SUBJECT else 'token'}")


@dataclass(frozen=True)
class EventChannel(_Channel, Generic[EventT]):
    """A fact on JetStream: durable, replayable, read by durable pull consumers."""

    model: type[EventT]
    publishers: tuple[str, ...]
    consumers: tuple[str, ...]
    stream: Stream = EVENTS_STREAM

    @property
    def name(self) -> str:
        """The channel's last fixed token (`fills` for `evt.fills.{venue}`): names its consumers."""
        return [token for token in self.pattern.split(".") if "{" not in token][-1]

    def durable(self, service: str) -> str:
        """The durable consumer through which `service` reads this channel (`ledger-fills`): the
        admin step creates it, the service binds to it, its NATS user may use only it."""
        if service not in self.consumers:
            readers = ", ".join(self.consumers) or "none"
            raise ValueError(f"{service} does not consume {self.pattern} (consumers: {readers})")
        return f"{service}-{self.name}"

    def subject(self, **params: str) -> EventSubject[EventT]:
        return EventSubject(self, self._resolve(params), params)

    def every(self, **fixed: str) -> EventSubject[EventT]:
        """For a consumer: every subject of the channel (or those matching `fixed` placeholders)."""
        return EventSubject(self, self.wildcard(**fixed), fixed, is_wildcard=True)


@dataclass(frozen=True)
class RpcChannel(_Channel, Generic[RequestT, ReplyT]):
    """A question: core NATS request/reply, answered by one service (replicas share it)."""

    request: type[RequestT]
    reply: type[ReplyT]
    answerers: tuple[str, ...]
    askers: tuple[str, ...]

    def subject(self, **params: str) -> RpcSubject[RequestT, ReplyT]:
        return RpcSubject(self, self._resolve(params), params)


@dataclass(frozen=True)
class EventSubject(Generic[EventT]):
    channel: EventChannel[EventT]
    relative: str
    params: dict[str, str]
    is_wildcard: bool = False

    def __hash__(self) -> int:
        return hash(self.relative)

    def check(self, event: Message) -> None:
        """Refuse an event the channel does not carry or whose own fields contradict the subject."""
        if self.is_wildcard:
            raise ValueError(f"cannot publish to the wildcard {self.relative}; name the subject")
        if not isinstance(event, self.channel.model):
            raise TypeError(f"{self.relative} carries {self.channel.model.__name__}, not {type(event).__name__}")
        for name, value in self.params.items():
            own = getattr(event, name, value)
            if own != value:
                raise ValueError(f"{type(event).__name__} with {name}={own!r} does not belong on {self.relative}")


@dataclass(frozen=True)
class RpcSubject(Generic[RequestT, ReplyT]):
    channel: RpcChannel[RequestT, ReplyT]
    relative: str
    params: dict[str, str]

    def __hash__(self) -> int:
        return hash(self.relative)

    def check(self, request: Message) -> None:
        if not isinstance(request, self.channel.request):
            raise TypeError(f"{self.relative} takes {self.channel.request.__name__}, not {type(request).__name__}")


# ---- facts ------------------------------------------------------------------------------------

FILLS: Final = EventChannel(
    "evt.fills.{venue}", "every fill once per status", Fill,
    publishers=(EXCHANGE_GATEWAY,), consumers=(LEDGER, EXECUTOR),
)
ORDER_UPDATES: Final = EventChannel(
    "evt.orders.{venue}", "an order's state as the venue reports it", OrderUpdate,
    publishers=(EXCHANGE_GATEWAY,), consumers=(EXECUTOR,),
)
EXTERNAL_SNAPSHOTS: Final = EventChannel(
    "evt.external_snapshots.{venue}", "a venue's holdings at one moment", ExternalPositionsSnapshot,
    publishers=(EXCHANGE_GATEWAY,), consumers=(RECONCILER, LEDGER),
)
BALANCES: Final = EventChannel(
    "evt.balances.{venue}", "a venue's cash balance at one moment", BalanceSnapshot,
    publishers=(EXCHANGE_GATEWAY,), consumers=(RECONCILER, RISK, LEDGER),
)
MARKS: Final = EventChannel(
    "evt.marks.{venue}", "best bid/ask/mid/last of a held instrument", Mark,
    publishers=(EXCHANGE_GATEWAY,), consumers=(LEDGER, RISK),
)
SETTLEMENTS: Final = EventChannel(
    "evt.settlements.{venue}", "a held market settled, and what it paid", SettlementRecorded,
    publishers=(EXCHANGE_GATEWAY,), consumers=(LEDGER,),
)
ALERTS: Final = EventChannel(
    "evt.alerts", "something an operator must see; every service raises them", Alert,
    publishers=SERVICES, consumers=(NOTIFIER,),
)
RISK_STATE: Final = EventChannel(
    "evt.risk_state", "trading state changes (ACTIVE / REDUCING / HALTED)", RiskStateChanged,
    publishers=(RISK,), consumers=(EXECUTOR, NOTIFIER),
)
RECONCILIATIONS: Final = EventChannel(
    "evt.reconciliations", "a finished reconciliation run", ReconciliationCompleted,
    publishers=(RECONCILER,), consumers=(RISK, NOTIFIER),
)
VENUE_CONNECTIVITY: Final = EventChannel(
    "evt.venue_connectivity.{venue}", "the gateway lost or regained a venue", VenueConnectivity,
    publishers=(EXCHANGE_GATEWAY,), consumers=(RECONCILER,),
)
DEAD_LETTERS: Final = EventChannel(
    "dlq.{original_subject}", "a message a consumer gave up on, with the reason", DeadLetter,
    publishers=SERVICES, consumers=(), stream=DEAD_LETTER_STREAM,
)

# ---- questions --------------------------------------------------------------------------------

GATEWAY_POSITIONS: Final = RpcChannel(
    "rpc.gateway.positions", "holdings per venue, valued at the latest marks", PositionsRequest, PositionsReply,
    answerers=(EXCHANGE_GATEWAY,), askers=(API_GATEWAY, RECONCILER),
)
GATEWAY_BALANCES: Final = RpcChannel(
    "rpc.gateway.balances", "cash per venue", BalancesRequest, BalancesReply,
    answerers=(EXCHANGE_GATEWAY,), askers=(API_GATEWAY, RECONCILER, LEDGER),
)
GATEWAY_FILLS_PAGE: Final = RpcChannel(
    "rpc.gateway.fills_page", "one page of a venue's fills", FillsPageRequest, FillsPageReply,
    answerers=(EXCHANGE_GATEWAY,), askers=(RECONCILER,),
)
GATEWAY_ORDER_LOOKUP: Final = RpcChannel(
    "rpc.gateway.order_lookup", "one order as the venue knows it", OrderLookupRequest, OrderLookupReply,
    answerers=(EXCHANGE_GATEWAY,), askers=(EXECUTOR, RECONCILER),
)
# Only the executor places and cancels: it runs the risk preflight first.
GATEWAY_PLACE_ORDER: Final = RpcChannel(
    "rpc.gateway.place_order", "place a signed order", PlaceOrderRequest, PlaceOrderReply,
    answerers=(EXCHANGE_GATEWAY,), askers=(EXECUTOR,),
)
GATEWAY_CANCEL_ORDER: Final = RpcChannel(
    "rpc.gateway.cancel_order", "cancel an order", CancelOrderRequest, CancelOrderReply,
    answerers=(EXCHANGE_GATEWAY,), askers=(EXECUTOR,),
)
LEDGER_POSITIONS: Final = RpcChannel(
    "rpc.ledger.positions", "the ledger's positions, filtered, sorted and paged", PositionsQuery, PositionsPage,
    answerers=(LEDGER,), askers=(API_GATEWAY, RECONCILER),
)
LEDGER_POSITION: Final = RpcChannel(
    "rpc.ledger.position", "one ledger position by id", PositionRequest, PositionReply,
    answerers=(LEDGER,), askers=(API_GATEWAY, RECONCILER),
)
LEDGER_SUMMARY: Final = RpcChannel(
    "rpc.ledger.summary", "the portfolio's totals now", PortfolioSummaryRequest, PortfolioSummary,
    answerers=(LEDGER,), askers=(API_GATEWAY, RISK),
)
LEDGER_PORTFOLIO_HISTORY: Final = RpcChannel(
    "rpc.ledger.portfolio_history", "portfolio snapshots in a time window", PortfolioHistoryRequest,
    PortfolioHistoryReply, answerers=(LEDGER,), askers=(API_GATEWAY,),
)
LEDGER_IMPORTED_MARKETS: Final = RpcChannel(
    "rpc.ledger.imported_markets", "external ids of the markets `trueup import` loaded", ImportedMarketsRequest,
    ImportedMarketsReply, answerers=(LEDGER,), askers=(RECONCILER,),
)
# The gateway marks these too, so a position the venue no longer holds (a ghost) is still valued.
LEDGER_OPEN_INSTRUMENTS: Final = RpcChannel(
    "rpc.ledger.open_instruments", "the instruments the ledger holds open on a venue", OpenInstrumentsRequest,
    OpenInstrumentsReply, answerers=(LEDGER,), askers=(EXCHANGE_GATEWAY,),
)
# Only the reconciler books adjustments, on an operator's adopt action (audit-logged there).
LEDGER_ADOPT: Final = RpcChannel(
    "rpc.ledger.adopt", "book a venue holding into the ledger as an external adjustment", AdoptionRequest,
    AdoptionReply, answerers=(LEDGER,), askers=(RECONCILER,),
)
RECONCILER_MAPPINGS: Final = RpcChannel(
    "rpc.reconciler.mappings", "instrument mappings (all, or one market's)", MappingsRequest, MappingsReply,
    answerers=(RECONCILER,), askers=(API_GATEWAY,),
)
RECONCILER_PUT_MAPPING: Final = RpcChannel(
    "rpc.reconciler.put_mapping", "create or replace a market's mapping", PutMappingRequest, MappingReply,
    answerers=(RECONCILER,), askers=(API_GATEWAY,),
)
RECONCILER_DELETE_MAPPING: Final = RpcChannel(
    "rpc.reconciler.delete_mapping", "remove a market's mapping", DeleteMappingRequest, MappingReply,
    answerers=(RECONCILER,), askers=(API_GATEWAY,),
)
RECONCILER_RECONCILE: Final = RpcChannel(
    "rpc.reconciler.reconcile", "run a reconciliation now and return it", ReconcileRequest, ReconcileReply,
    answerers=(RECONCILER,), askers=(API_GATEWAY,),
)
RECONCILER_RUNS: Final = RpcChannel(
    "rpc.reconciler.runs", "past reconciliation runs, newest first", ReconciliationsQuery, ReconciliationsPage,
    answerers=(RECONCILER,), askers=(API_GATEWAY,),
)
RECONCILER_RUN: Final = RpcChannel(
    "rpc.reconciler.run", "one past run with its items", ReconciliationRequest, ReconcileReply,
    answerers=(RECONCILER,), askers=(API_GATEWAY,),
)
RECONCILER_OVERVIEW: Final = RpcChannel(
    "rpc.reconciler.overview", "internal, external and their reconciliation now", OverviewRequest, OverviewReply,
    answerers=(RECONCILER,), askers=(API_GATEWAY,),
)
RECONCILER_ACTION: Final = RpcChannel(
    "rpc.reconciler.action", "an operator's acknowledge, adopt or map", OperatorActionRequest, OperatorActionReply,
    answerers=(RECONCILER,), askers=(API_GATEWAY,),
)
HEALTH: Final = RpcChannel(
    "rpc.health.{service}", "a service's health; each service answers its own", HealthRequest, HealthReply,
    answerers=SERVICES, askers=(API_GATEWAY,),
)

EVENT_CHANNELS: Final[tuple[EventChannel[Any], ...]] = (
    FILLS, ORDER_UPDATES, EXTERNAL_SNAPSHOTS, BALANCES, MARKS, SETTLEMENTS, ALERTS, RISK_STATE, RECONCILIATIONS,
    VENUE_CONNECTIVITY, DEAD_LETTERS,
)
RPC_CHANNELS: Final[tuple[RpcChannel[Any, Any], ...]] = (
    GATEWAY_POSITIONS, GATEWAY_BALANCES, GATEWAY_FILLS_PAGE, GATEWAY_ORDER_LOOKUP, GATEWAY_PLACE_ORDER,
    GATEWAY_CANCEL_ORDER, LEDGER_POSITIONS, LEDGER_POSITION, LEDGER_SUMMARY, LEDGER_PORTFOLIO_HISTORY,
    LEDGER_IMPORTED_MARKETS, LEDGER_OPEN_INSTRUMENTS, LEDGER_ADOPT, RECONCILER_MAPPINGS, RECONCILER_PUT_MAPPING,
    RECONCILER_DELETE_MAPPING, RECONCILER_RECONCILE, RECONCILER_RUNS, RECONCILER_RUN, RECONCILER_OVERVIEW,
    RECONCILER_ACTION, HEALTH,
)
