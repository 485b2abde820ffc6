"""JSON as both simulated venues send it: Decimal becomes a JSON number with exactly its digits.

One encoder for every sim response, so no number on the simulated wire ever passes through float
(the admin API's injected rows included, which are echoed as they were given).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def plain(value: Decimal) -> str:
    """A Decimal in plain positional notation without redundant zeros ("10", "0.52", "0")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def dumps(value: Any) -> bytes:
    """Compact JSON; Decimal becomes a JSON number with exactly its digits (never via float)."""
    return _encode(value).encode()


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("floats are not allowed on the simulated wire; use Decimal")
    return json.dumps(value)
