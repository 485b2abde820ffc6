"""Every NATS subject and stream name the system uses.

Names here are relative; `shared.bus.Bus` prefixes them with the deployment's namespace
(`BUS_NAMESPACE`, default `trueup`) so a test session or a second desk can share one NATS server
without seeing each other's messages.
"""

from typing import Final

# Facts: JetStream events, durable and replayable.
FILLS: Final = "evt.fills"  # .<venue>
ORDER_UPDATES: Final = "evt.orders"  # .<venue>
EXTERNAL_SNAPSHOTS: Final = "evt.external_snapshots"  # .<venue>
BALANCES: Final = "evt.balances"  # .<venue>
MARKS: Final = "evt.marks"  # .<venue>
SETTLEMENTS: Final = "evt.settlements"  # .<venue>
ALERTS: Final = "evt.alerts"
RISK_STATE: Final = "evt.risk_state"
RECONCILIATIONS: Final = "evt.reconciliations"
AUDIT: Final = "evt.audit"

# Messages that failed validation, kept with the error for an operator: dlq.<original subject>.
DEAD_LETTER: Final = "dlq"

# Questions: core request/reply.
GATEWAY_POSITIONS: Final = "rpc.gateway.positions"
GATEWAY_BALANCES: Final = "rpc.gateway.balances"
GATEWAY_FILLS_PAGE: Final = "rpc.gateway.fills_page"
GATEWAY_ORDER_LOOKUP: Final = "rpc.gateway.order_lookup"
GATEWAY_PLACE_ORDER: Final = "rpc.gateway.place_order"
GATEWAY_CANCEL_ORDER: Final = "rpc.gateway.cancel_order"
# How long a caller waits for the exchange-gateway's answer on rpc.gateway.*: the gateway checks
# at start that its venue reads give up before this (VENUE_READ_DEADLINE_SECONDS), so a slow
# venue reaches the caller as that venue's error, not as "gateway unavailable".
GATEWAY_REPLY_TIMEOUT_SECONDS: Final = 30.0
HEALTH: Final = "rpc.health"  # .<service>

# JetStream streams: one for facts, one for dead letters (kept longer, never consumed by services).
EVENTS_STREAM: Final = "EVENTS"
EVENTS_STREAM_SUBJECTS: Final = ("evt.>",)
DEAD_LETTER_STREAM: Final = "DEADLETTER"
DEAD_LETTER_STREAM_SUBJECTS: Final = ("dlq.>",)

# The services that answer health requests; the API aggregates these.
SERVICES: Final = ("exchange-gateway", "ledger", "reconciler", "executor", "risk", "notifier", "api-gateway")


def per_venue(subject: str, venue: str) -> str:
    return f"{subject}.{venue}"


def health_subject(service: str) -> str:
    return f"{HEALTH}.{service}"


def dead_letter_subject(original: str) -> str:
    return f"{DEAD_LETTER}.{original}"
