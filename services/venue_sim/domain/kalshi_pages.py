"""Kalshi-style cursor pagination.

The cursor is opaque to clients: URL-safe base64 of the last returned item's sort key plus the
next page's number. Keyset paging (rather than offsets) means items added while a client pages
(newer fills sort first) never shift what it has not seen yet, so each item is returned once.
The page number is carried only so that fault injection can fail "page 3".
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Generic, TypeVar

from services.venue_sim.domain.kalshi_units import KalshiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    after: tuple | None
    page_no: int
    limit: int


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursor: str  # "" on the last page, never None
    page_no: int


def parse_page_request(cursor: str | None, limit: str | None) -> PageRequest:
    return PageRequest(*_decode(cursor or ""), _limit(limit))


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise KalshiError(400, "invalid_parameters", "invalid parameters", f"limit must be an integer, got {raw!r}") from None
    if value < 1:
        raise KalshiError(400, "invalid_parameters", "invalid parameters", "limit must be at least 1")
    return min(value, MAX_LIMIT)


def _decode(raw: str) -> tuple[tuple | None, int]:
    if not raw:
        return None, 1
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
        return tuple(data["k"]), int(data["p"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise KalshiError(400, "invalid_parameters", "invalid parameters", "invalid cursor") from None


def _encode(key: tuple, page_no: int) -> str:
    raw = json.dumps({"k": list(key), "p": page_no}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def paginate(
    items: Sequence[T], key: Callable[[T], tuple], request: PageRequest, keep: Callable[[T], bool] | None = None,
) -> Page[T]:
    """`items` must already be sorted ascending by `key`, and `key` must be unique per item.

    With `keep`, only the items it keeps are listed; it is asked about the items from the cursor on
    until the page is full (and one more is found), so a page costs its own rows, not the list.
    """
    start = 0 if request.after is None else bisect_right(items, request.after, key=key)
    if keep is None:
        chosen = list(items[start : start + request.limit])
        more = len(items) > start + len(chosen)
    else:
        kept = (item for item in islice(items, start, None) if keep(item))
        chosen = list(islice(kept, request.limit))
        more = any(True for _ in kept)  # stops at the first
    cursor = _encode(key(chosen[-1]), request.page_no + 1) if more and chosen else ""
    return Page(chosen, cursor, request.page_no)
