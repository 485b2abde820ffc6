"""Polymarket's three ways of paging a list, as pure functions over already-sorted rows.

- Data API v1 (`/positions`, `/trades`, `/activity`): `offset` + `limit`; a short page ends it.
- Data API v2 (`/v2/positions`, `/v2/trades`): `cursor` + `limit`, answered with
  `pagination.has_more` / `next_cursor` (None on the last page).
- CLOB (`/data/orders`, `/data/trades`): `next_cursor` only, fixed pages of 100; the cursor is
  base64 of the decimal offset ("MA==" is 0) and "LTE=" (-1) means there is nothing more.

Every page knows its 1-based number so that fault injection can fail "page 3".
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

CLOB_PAGE_SIZE = 100

T = TypeVar("T")


class QueryError(Exception):
    """A query the venue refuses with 400 `{"error": message}`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page_no: int
    next_cursor: str | None = None  # None: no cursor paging, or (v2) the last page


def encode_cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


END_CURSOR = encode_cursor(-1)


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = int(base64.b64decode(cursor, validate=True).decode())
    except (ValueError, UnicodeDecodeError):
        raise QueryError(f"invalid cursor {cursor!r}") from None
    if value < 0:
        raise QueryError("cursor is past the end")
    return value


def int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"invalid {name}") from None


@dataclass(frozen=True)
class OffsetPage:
    offset: int
    limit: int

    @property
    def page_no(self) -> int:
        return self.offset // max(self.limit, 1) + 1

    def take(self, rows: Sequence[T]) -> Page[T]:
        return Page(list(rows[self.offset : self.offset + self.limit]), self.page_no)


def parse_offset_page(
    params: Mapping[str, str], default_limit: int, max_limit: int, max_offset: int | None = None
) -> OffsetPage:
    """A limit above the maximum is capped (like the venue), a negative one refused."""
    limit = min(int_param(params, "limit", default_limit), max_limit)
    offset = int_param(params, "offset", 0)
    if max_offset is not None and (limit < 0 or offset < 0 or offset > max_offset):
        raise QueryError(f"offset must be between 0 and {max_offset}, limit at least 0")
    if limit < 0 or offset < 0:
        raise QueryError("invalid limit or offset")
    return OffsetPage(offset, limit)


@dataclass(frozen=True)
class CursorPage(OffsetPage):
    """An offset page whose position travels as an opaque cursor, and which names the next one."""

    def take(self, rows: Sequence[T]) -> Page[T]:
        end = self.offset + self.limit
        return Page(list(rows[self.offset : end]), self.page_no, encode_cursor(end) if end < len(rows) else None)


def parse_cursor_page(params: Mapping[str, str], default_limit: int, max_limit: int) -> CursorPage:
    limit = min(int_param(params, "limit", default_limit), max_limit)
    offset = decode_cursor(params.get("cursor"))
    if limit <= 0:
        raise QueryError("limit must be positive")
    return CursorPage(offset, limit)


def clob_page(rows: Sequence[T], cursor: str | None) -> Page[T]:
    """One fixed-size CLOB page; the last one says END_CURSOR, and asking past it is empty."""
    if cursor == END_CURSOR:
        return Page([], len(rows) // CLOB_PAGE_SIZE + 1, END_CURSOR)
    offset = decode_cursor(cursor)
    end = offset + CLOB_PAGE_SIZE
    return Page(list(rows[offset:end]), offset // CLOB_PAGE_SIZE + 1,
                encode_cursor(end) if end < len(rows) else END_CURSOR)
