"""The envelope every bus message shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

# uuid5 namespace for ids derived from venue facts: the same fact always gets the same id, so a
# replay or a restarted poller publishes a duplicate that consumers drop, never a new fact.
_TRUEUP_NAMESPACE = uuid.UUID("6f0d3c1e-2b8a-5f43-9c07-7e1b4a1d2c55")


def deterministic_id(*parts: object) -> str:
    return str(uuid.uuid5(_TRUEUP_NAMESPACE, "|".join(str(p) for p in parts)))


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Immutable envelope: identity, contract version and the time the fact happened."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    SCHEMA_VERSION: ClassVar[int] = 1

    event_id: str = Field(default_factory=new_id, min_length=1, max_length=128)
    schema_version: int = Field(default=1, ge=1)
    occurred_at: datetime = Field(default_factory=utcnow)


Venue = Literal["kalshi", "polymarket"]
VENUES: tuple[Venue, ...] = ("kalshi", "polymarket")
Outcome = Literal["yes", "no"]
Side = Literal["buy", "sell"]


class ErrorInfo(BaseModel):
    """A failure a reply carries instead of data. Never contains secrets or raw headers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    message: str
    venue: Venue | None = None
    retryable: bool = False
