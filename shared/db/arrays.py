"""Array parameters for set-based writes (`INSERT ... SELECT * FROM unnest($1::text[], ...)`)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal


def numeric_texts(values: Iterable[Decimal | None]) -> list[str | None]:
    """Decimals for a `$n::text[]::numeric[]` parameter.

    asyncpg's binary `numeric` encoding costs about 3 µs a value — the largest single cost of a
    journal batch — while `str(Decimal)` is exact, ten times cheaper, and Postgres parses it
    exactly (exponent forms such as `0E-12` included).
    """
    return [None if value is None else str(value) for value in values]
