"""Combining per-service health answers into the one verdict the UI and operators read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "degraded", "down"]


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    status: Status
    detail: dict[str, str]


def overall_status(services: list[ServiceHealth]) -> Status:
    """ok only when every service says ok; down when none answers; degraded otherwise."""
    if services and all(s.status == "ok" for s in services):
        return "ok"
    if not services or all(s.status == "down" for s in services):
        return "down"
    return "degraded"
