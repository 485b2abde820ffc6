"""The audit log: every operator action and mapping change, with who, why and what came of it."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from shared.contracts import utcnow

Connection = asyncpg.Connection | asyncpg.Pool


async def record(conn: Connection, *, actor: str, action: str, target: dict[str, Any], reason: str,
                 outcome: str) -> None:
    await conn.execute(
        "INSERT INTO audit_log (at, actor, action, target, reason, outcome) VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
        utcnow(), actor, action, json.dumps(target, sort_keys=True, default=str), reason, outcome,
    )
