"""Client order ids trueup gives the orders it places, and how to tell them apart.

Every order the executor sends carries `tu-<strategy>-<digest>`: deterministic from the intent
(a retried intent reuses its id, so the venue's idempotency catches a double send), within the
64 characters the venues accept, and readable back by anyone holding only a fill. The ledger marks
a fill `own` (and knows its strategy) exactly when its client order id has this shape; anything
else — a manual trade, another bot — is `external`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

PREFIX: Final = "tu"
_STRATEGY = re.compile(r"^[a-z0-9_]{1,32}$")
_OWN = re.compile(r"^tu-([a-z0-9_]{1,32})-([0-9a-f]{24})$")


def client_order_id(strategy: str, intent_key: str) -> str:
    """The id for the order of `strategy` that carries out `intent_key` (e.g. an execution leg)."""
    if not _STRATEGY.match(strategy):
        raise ValueError(f"strategy name {strategy!r} must be 1-32 of a-z, 0-9 and _")
    digest = hashlib.sha256(f"{strategy}|{intent_key}".encode()).hexdigest()[:24]
    return f"{PREFIX}-{strategy}-{digest}"


def strategy_of(client_order_id: str | None) -> str | None:
    """The strategy of an order trueup placed; None for any other order (or none)."""
    if client_order_id is None:
        return None
    match = _OWN.match(client_order_id)
    return match.group(1) if match else None
