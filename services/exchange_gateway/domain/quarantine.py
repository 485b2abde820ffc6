"""Venue rows that cannot be read: set aside with their payload and error, so one bad row never
stops the rows around it from flowing, and never disappears silently either. Pure.

A rejected row is identified by the venue's own id for it when it has one (a fill id, a trade
id, a ticker), else by a hash of its content, so seeing it again on the next poll is recognised
as the same row: it is stored once and alerted once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.contracts import Alert, deterministic_id

T = TypeVar("T")

ALERT_SOURCE = "exchange-gateway"
ALERT_CODE = "feed.row_quarantined"


@dataclass(frozen=True)
class RejectedRow:
    key: str
    raw: Any
    error: str


def row_key(row: Any, id_fields: tuple[str, ...]) -> str:
    """The row's first non-empty id field, else a content hash (stable across reads of the same row)."""
    if isinstance(row, dict):
        for name in id_fields:
            value = row.get(name)
            if isinstance(value, str) and value:
                return value
    canonical = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def split_rows(
    rows: Iterable[Any],
    read: Callable[[Any], T],
    *,
    id_fields: tuple[str, ...],
    errors: tuple[type[Exception], ...],
    public: Callable[[Any], Any] = lambda row: row,
) -> tuple[list[T], list[RejectedRow]]:
    """Read every row; a row whose reading raises one of `errors` is rejected, the rest go on.

    `public` strips what must not be stored or alerted (e.g. API keys in Polymarket `owner`)."""
    good: list[T] = []
    rejected: list[RejectedRow] = []
    for row in rows:
        try:
            good.append(read(row))
        except errors as exc:
            rejected.append(RejectedRow(row_key(row, id_fields), public(row), str(exc)))
    return good, rejected


def quarantine_alert(venue: str, feed: str, row: RejectedRow) -> Alert:
    """One critical alert per quarantined row: the id is derived from the row, so a re-publish
    after a crash is the same alert, never a second one."""
    return Alert(
        event_id=deterministic_id(venue, feed, "quarantine", row.key),
        severity="critical",
        source=ALERT_SOURCE,
        code=ALERT_CODE,
        message=f"{venue} {feed}: a row could not be read and was quarantined ({row.key}); "
        f"the rest of the feed goes on: {row.error}",
        dedup_key=f"quarantine:{venue}:{feed}:{row.key}",
        details={"venue": venue, "feed": feed, "row_key": row.key, "error": row.error},
    )
