"""Query and path parameters, checked by the gateway itself (each taken as text, not typed by
Litestar), so a bad one is a 400 in the API's own error shape that names it:
`{"error": "limit: must be an integer from 1 to 1000, got 'x'", "parameter": "limit"}`.
Every controller that reads parameters uses these."""

from __future__ import annotations

import re
from datetime import datetime

from litestar import Request, Response
from litestar.status_codes import HTTP_400_BAD_REQUEST

# Far beyond any book or run history, and within Postgres' bigint (a bigger one would fail in the
# service answering as a 503).
MAX_OFFSET = 10**9
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# RFC 3339 date-time: a full date and time with an explicit offset (or Z).
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class BadParameter(ValueError):
    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter


def bad_request(exc: BadParameter) -> Response[dict[str, str]]:
    return Response({"error": str(exc), "parameter": exc.parameter}, status_code=HTTP_400_BAD_REQUEST)


def parameter_problem(_request: Request, exc: BadParameter) -> Response[dict[str, str]]:
    """A controller's exception handler: a bad parameter or body anywhere in a route is a 400
    naming it, and nothing was asked of any service."""
    return bad_request(exc)


def only_known(request: Request, known: set[str]) -> None:
    """A misspelt parameter (`order=`, `state=`) is refused rather than silently ignored."""
    for name in request.query_params:
        if name not in known:
            expected = f"expected one of {', '.join(sorted(known))}" if known else "this route takes none"
            raise BadParameter(name, f"unknown parameter; {expected}")


def integer(name: str, text: str | None, default: int, low: int, high: int | None = None) -> int:
    if text is None:
        return default
    if not re.fullmatch(r"\d+", text) or int(text) < low or (high is not None and int(text) > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise BadParameter(name, f"must be an integer {bound}, got {text!r}")
    return int(text)


def paging(limit: str | None, offset: str | None, *, default_limit: int, max_limit: int) -> dict[str, int]:
    """A list's `limit` (1..max_limit) and `offset` (0..MAX_OFFSET), as a query's fields of those names."""
    return {"limit": integer("limit", limit, default_limit, 1, max_limit),
            "offset": integer("offset", offset, 0, 0, MAX_OFFSET)}


def choice(name: str, text: str | None, choices: tuple[str, ...]) -> str | None:
    if text is not None and text not in choices:
        raise BadParameter(name, f"must be one of {', '.join(choices)}, got {text!r}")
    return text


def text_filter(name: str, text: str | None, max_length: int) -> str | None:
    if text is not None and not 1 <= len(text) <= max_length:
        raise BadParameter(name, f"must be 1 to {max_length} characters")
    return text


def at_most(name: str, text: str | None, max_length: int) -> str | None:
    """A path id or free text (a reason) within its column's bound."""
    if text is not None and len(text) > max_length:
        raise BadParameter(name, f"at most {max_length} characters")
    return text


def boolean(name: str, text: str | None) -> bool:
    if text is None:
        return False
    if text.lower() not in BOOLEANS:
        raise BadParameter(name, f"must be true, false, 1 or 0, got {text!r}")
    return BOOLEANS[text.lower()]


def timestamp(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    if not RFC3339.match(text):
        raise BadParameter(name, f"must be an RFC 3339 time with an offset, e.g. 2026-01-31T09:00:00Z "
                                 f"(send '+' as %2B), got {text!r}")
    try:
        return datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadParameter(name, f"not a valid date and time: {text!r}") from None
