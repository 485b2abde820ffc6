"""Structured logs with secrets redacted: JSON lines, or readable coloured lines on a terminal.

`LOG_FORMAT` picks the rendering: `json`, `console`, or `auto` (the default: console when stdout is
a terminal, JSON otherwise, so files, pipes and log shippers always get JSON). Redaction runs
before either renderer, so both print exactly the same (masked) values.

Three layers, because a secret reaches a log line in more ways than one:
- by key: a value under a key that names a credential (`api_secret=`, a `KALSHI-ACCESS-KEY` or
  `POLY_SIGNATURE` header in a dict or an `httpx.Headers`, any Mapping) is masked whatever it is;
- by key in text: `'kalshi-access-signature': '...'`, `("poly_api_key", "...")` or
  `Authorization: Bearer ...` inside a message, an exception text, a traceback or an object's
  repr is masked the same way, which catches per-request values (signatures) nobody registered;
- by value: every secret a process registers (`register_secret`, done for all `SecretStr`
  settings at load) is scrubbed from every string, with its base64 forms, wherever it appears.

`POLY_ADDRESS` is deliberately not masked: it is the wallet's public on-chain address (it
authenticates nothing on its own), and knowing which wallet a request was for is what an
operator needs when reading a log.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import structlog

REDACTED = "[REDACTED]"
# Key names that hold credentials. `token` but not `token_id(s)`: Polymarket's outcome token ids
# are public market identifiers an operator needs to read.
_SECRET_WORDS = (r"secret|passphrase|private|password|signature|authorization|cookie|credential"
                 r"|api[_-]?key|access[_-]?key|key[_-]?id|token(?![_-]?ids?\b)")
_SECRET_KEY = re.compile(_SECRET_WORDS, re.I)
# `KALSHI_PRIVATE_KEY_FILE=/run/secrets/k.pem`: where a secret lives is not a secret, and an
# operator needs it to fix a bad key.
_WHERE_A_SECRET_LIVES = ("_file", "-file", "_path")
# A quoted key and a quoted value, as a dict / JSON / Headers repr or a (key, value) tuple prints.
_QUOTED_PAIR = re.compile(r"""(?P<kq>["'])(?P<key>[^"'\n]{1,80}?)(?P=kq)(?P<sep>\s*[:,=]\s*b?)(?P<vq>["'])(?P<val>.*?)(?<!\\)(?P=vq)""")
# An unquoted `Key: value` / `key=value`, as a header dump or a formatted message prints it.
_BARE_PAIR = re.compile(rf"""(?P<key>[\w-]*(?:{_SECRET_WORDS})[\w-]*)(?P<sep>\s*[:=]\s*)(?P<val>(?:(?:Bearer|Basic)\s+)?[^\s,;'"()\[\]{{}}]+)""",
                        re.I)
# Renderer-owned fields (and structlog's own record handles): never secrets, and masking or
# rendering them here would break the line's shape.
_STRUCTURAL_KEYS = frozenset({"level", "timestamp", "service", "_record", "_from_structlog"})
_MIN_SECRET_LEN = 6

_secret_values: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None


def register_secret(value: str | bytes | None) -> None:
    """Scrub this value (and its base64 encodings) from all future log output."""
    global _secret_pattern
    if not value:
        return
    raw = value.encode() if isinstance(value, str) else value
    text = raw.decode(errors="ignore")
    forms = {text, text.strip()}
    for data in (raw, raw.strip()):
        for encoded in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()):
            forms.update({encoded, encoded.rstrip("=")})
    # A base64 secret (Polymarket's API secret) may be printed in the other alphabet.
    forms.update({text.strip().translate(str.maketrans("-_", "+/")), text.strip().translate(str.maketrans("+/", "-_"))})
    # A hex key may be printed with or without its 0x.
    if text.strip().lower().startswith("0x"):
        forms.add(text.strip()[2:])
    # PEM keys are multi-line; also scrub each base64 body line (a partial dump) and the body
    # joined into one line (a key whose newlines were stripped).
    body = [line.strip() for line in text.splitlines() if line.strip() and "-----" not in line]
    forms.update(line for line in body if len(line) >= 16)
    if len(body) > 1:
        forms.add("".join(body))
    before = len(_secret_values)
    _secret_values.update(f for f in forms if len(f) >= _MIN_SECRET_LEN)
    if len(_secret_values) != before:
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secret_values, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _scrub_registered(text: str) -> str:
    return _secret_pattern.sub(REDACTED, text) if _secret_pattern is not None else text


def _mask_quoted(match: re.Match[str]) -> str:
    if not _is_secret_name(match["key"]) or match["val"] == REDACTED:
        return match[0]
    return f"{match['kq']}{match['key']}{match['kq']}{match['sep']}{match['vq']}{REDACTED}{match['vq']}"


def _mask_bare(match: re.Match[str]) -> str:
    if not _is_secret_name(match["key"]) or match["val"] == REDACTED:
        return match[0]
    return f"{match['key']}{match['sep']}{REDACTED}"


def redact_text(text: str) -> str:
    """Registered secrets, and any value written next to a credential's key name, masked."""
    text = _scrub_registered(text)
    text = _QUOTED_PAIR.sub(_mask_quoted, text)
    return _BARE_PAIR.sub(_mask_bare, text)


def _redact(value: Any, key: str | None = None) -> Any:
    if key is not None and _is_secret_name(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(repr(value))
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, Mapping):  # dict, httpx.Headers, any multi-dict
        return {str(k): _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, tuple) and len(value) == 2 and _is_secret_name(value[0]) and value[1]:
        return [_redact(value[0]), REDACTED]  # a (name, value) header pair, e.g. from headers.items()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact(v) for v in value]
    # Anything else would be rendered by its repr (structlog's JSON fallback); render it here so
    # the repr is scrubbed too (an exception carrying headers, an object holding a key).
    return redact_text(repr(value))


def _is_secret_name(name: Any) -> bool:
    if isinstance(name, bytes):  # httpx.Headers.raw pairs
        name = name.decode("latin-1")
    if not isinstance(name, str) or name.lower().endswith(_WHERE_A_SECRET_LIVES):
        return False
    return _SECRET_KEY.search(name) is not None


def redaction_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if k in _STRUCTURAL_KEYS else _redact(v, k)) for k, v in event_dict.items()}


def configure_logging(service: str, level: str = "INFO", log_format: str | None = None) -> None:
    """One line per event on stdout for this process, including stdlib loggers (uvicorn, faststream,
    nats). `log_format` defaults to `LOG_FORMAT` from the environment: this runs before settings
    load (so config errors are rendered too), and the settings validate the variable itself."""
    console = renders_console(log_format or os.environ.get("LOG_FORMAT"), sys.stdout)
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redaction_processor,
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared_processors],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            lambda _l, _m, ed: {**ed, "service": service},
            ConsoleLineRenderer(colors=wants_colour(sys.stdout)) if console else structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_ScrubbingFormatter(formatter))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per venue HTTP call drowns the signal; our adapters log what matters themselves.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    # An uncaught exception's traceback would otherwise go to stderr unscrubbed.
    sys.excepthook = _log_uncaught
    structlog.contextvars.bind_contextvars(service=service)


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("uncaught").critical("uncaught exception", exc_info=(kind, exc, tb))


class _ScrubbingFormatter(logging.Formatter):
    """Scrubs the rendered line once more for registered secrets: a last net under the per-field
    redaction (key-pattern masking is not repeated here, where it could mangle the JSON itself)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return _scrub_registered(self._inner.format(record))


def renders_console(log_format: str | None, stream: Any) -> bool:
    """`LOG_FORMAT`'s rule: `console`, `json`, or `auto` (unset) = console only on a terminal."""
    log_format = (log_format or "auto").strip().lower()
    return log_format == "console" or (log_format != "json" and _is_terminal(stream))


def _is_terminal(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", None)) and stream.isatty()


def wants_colour(stream: Any) -> bool:
    # https://no-color.org: any non-empty NO_COLOR turns colours off; TERM=dumb can't show them.
    return _is_terminal(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


_RESET, _DIM, _BOLD = "\x1b[0m", "\x1b[2m", "\x1b[1m"
_LEVEL_STYLES = {
    "debug": "\x1b[2m", "info": "\x1b[32m", "warning": "\x1b[33m",
    "error": "\x1b[31m", "critical": "\x1b[1;41;97m",
}
# Printed after the line rather than as key=value: multi-line text.
_TRAILING_KEYS = ("exception", "stack")
# uvicorn's copy of the message with its own colour codes, for its own formatter: noise here.
_NOT_SHOWN = ("color_message",)
_SERVICE_WIDTH = len("exchange-gateway")
# Control characters from logged data (a venue's market title, a payload) must not drive the
# terminal: shown escaped. Newlines and tabs stay; a multi-line message stays multi-line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def render_console_line(event: Mapping[str, Any], *, colors: bool, with_service: bool = True) -> str:
    """`18:32:01.123 info     ledger  fill recorded  fill_id=f-1 venue=kalshi`, then any traceback.

    The time is the event's own UTC timestamp cut to the time of day; key fields follow in the
    order they were logged. `with_service=False` when the caller prefixes lines with the service
    itself (`make run`). Shared by this process's console renderer and `make run`, which renders
    its children's JSON lines with it.
    """
    fields = dict(event)
    timestamp = str(fields.pop("timestamp", ""))
    level = str(fields.pop("level", "")).lower()
    service = str(fields.pop("service", ""))
    message = _printable(str(fields.pop("event", "")))
    trailing = [_printable(str(fields.pop(k))) for k in _TRAILING_KEYS if fields.get(k)]
    for key in _NOT_SHOWN:
        fields.pop(key, None)

    def style(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colors and code else text

    parts = [style(_time_of_day(timestamp), _DIM), style(f"{level:<8}", _LEVEL_STYLES.get(level, ""))]
    if with_service and service:
        parts.append(style(f"{service:<{_SERVICE_WIDTH}}", _BOLD))
    parts.append(message)
    line = " ".join(parts)
    if fields:
        line += "  " + " ".join(f"{style(k, _DIM)}={_console_value(v)}" for k, v in fields.items())
    return "\n".join([line, *trailing])


def _time_of_day(timestamp: str) -> str:
    # TimeStamper(fmt="iso") writes 2026-11-29T18:32:01.123456Z: keep 18:32:01.123.
    return timestamp[11:23] if len(timestamp) >= 23 and timestamp[10] == "T" else timestamp


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode(), text)


def _console_value(value: Any) -> str:
    if isinstance(value, str):
        plain = value and not any(c.isspace() or c in "\"'=" for c in value)
        text = value if plain else json.dumps(value, ensure_ascii=False)
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    else:
        text = str(value)
    return _printable(text)


class ConsoleLineRenderer:
    """structlog's last processor for `LOG_FORMAT=console` (after redaction, like the JSON one)."""

    def __init__(self, colors: bool) -> None:
        self._colors = colors

    def __call__(self, _logger: Any, _method: str, event_dict: dict[str, Any]) -> str:
        return render_console_line(event_dict, colors=self._colors)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
