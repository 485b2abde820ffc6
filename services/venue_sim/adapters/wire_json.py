"""JSON as both simulated venues send it: Decimal becomes a JSON number with exactly its digits.

One encoder for every sim response, so no number on the simulated wire ever passes through float
(the admin API's injected rows included, which are echoed as they were given).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any


def plain(value: Decimal) -> str:
    """A Decimal in plain positional notation without redundant zeros ("10", "0.52", "0")."""
    text = str(value)
    if "E" in text or "e" in text:  # str() is positional unless the exponent is positive or very negative
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def dumps(value: Any) -> bytes:
    """Compact JSON; Decimal becomes a JSON number with exactly its digits (never via float)."""
    return _encode(value).encode()


class _StringKeys(dict[str, str]):
    """`"key":` by key, for keys that are exactly `str`: every row of a list repeats its keys.
    (Other keys are written each time: equal keys of other types can print differently.)"""

    def __missing__(self, key: str) -> str:
        written = encode_basestring_ascii(key) + ":"
        if len(self) < 4096:  # bounded: injected rows may carry any keys
            self[key] = written
        return written


_STRING_KEYS = _StringKeys()


def _encode(value: Any) -> str:
    return _EXACT.get(type(value), _encode_other)(value)


def _encode_dict(value: dict) -> str:
    get, keys = _EXACT.get, _STRING_KEYS
    return "{" + ",".join([
        (keys[k] if type(k) is str else encode_basestring_ascii(str(k)) + ":") + get(type(v), _encode_other)(v)
        for k, v in value.items()
    ]) + "}"


def _encode_list(value: list | tuple) -> str:
    get = _EXACT.get
    return "[" + ",".join([get(type(v), _encode_other)(v) for v in value]) + "]"


# Exact types (the bulk of every response), each written as json.dumps writes it.
_EXACT: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii,
    Decimal: plain,
    dict: _encode_dict,
    list: _encode_list,
    tuple: _encode_list,
    bool: lambda value: "true" if value else "false",
    int: int.__repr__,
    type(None): lambda value: "null",
}


def _encode_other(value: Any) -> str:
    """Subclasses of the types above, and anything else, by the general rules."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict):
        return _encode_dict(value)
    if isinstance(value, (list, tuple)):
        return _encode_list(value)
    if isinstance(value, float):
        raise TypeError("floats are not allowed on the simulated wire; use Decimal")
    return json.dumps(value)
