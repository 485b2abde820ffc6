"""What the reconciler remembers between runs: acknowledged differences and alerted ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

Connection = asyncpg.Connection | asyncpg.Pool
ItemKey = tuple[str, str, str]  # (venue, instrument_id, outcome)


@dataclass(frozen=True)
class Acknowledgement:
    fingerprint: str
    actor: str
    reason: str
    at: datetime


async def acknowledgements(conn: Connection) -> dict[ItemKey, Acknowledgement]:
    rows = await conn.fetch("SELECT venue, instrument_id, outcome, fingerprint, actor, reason, acknowledged_at "
                            "FROM acknowledgements")
    return {(r["venue"], r["instrument_id"], r["outcome"]):
            Acknowledgement(r["fingerprint"], r["actor"], r["reason"], r["acknowledged_at"]) for r in rows}


async def acknowledge(conn: Connection, key: ItemKey, ack: Acknowledgement) -> None:
    await conn.execute(
        """INSERT INTO acknowledgements (venue, instrument_id, outcome, fingerprint, actor, reason, acknowledged_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (venue, instrument_id, outcome) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
               actor = EXCLUDED.actor, reason = EXCLUDED.reason, acknowledged_at = EXCLUDED.acknowledged_at""",
        *key, ack.fingerprint, ack.actor, ack.reason, ack.at,
    )


async def forget_acknowledgements(conn: Connection, keys: Iterable[ItemKey]) -> None:
    await conn.executemany("DELETE FROM acknowledgements WHERE venue = $1 AND instrument_id = $2 AND outcome = $3",
                           list(keys))


async def alerted(conn: Connection) -> dict[ItemKey, str]:
    """(venue, instrument, outcome) -> the fingerprint of the difference last alerted there."""
    return {(r["venue"], r["instrument_id"], r["outcome"]): r["fingerprint"]
            for r in await conn.fetch("SELECT venue, instrument_id, outcome, fingerprint FROM alert_state")}


async def update_alerted(conn: asyncpg.Connection, alerted_now: Mapping[ItemKey, str], resolved: Iterable[ItemKey],
                         at: datetime) -> None:
    await conn.executemany("DELETE FROM alert_state WHERE venue = $1 AND instrument_id = $2 AND outcome = $3",
                           list(resolved))
    await conn.executemany(
        """INSERT INTO alert_state (venue, instrument_id, outcome, fingerprint, alerted_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (venue, instrument_id, outcome) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
               alerted_at = EXCLUDED.alerted_at""",
        [(*key, fingerprint, at) for key, fingerprint in alerted_now.items()],
    )
