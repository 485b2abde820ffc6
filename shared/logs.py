"""Structured JSON logs with secrets redacted.

Two layers: keys that look secret are masked whatever their value, and every secret value a
process registers (`register_secret`) is scrubbed from every string in every log line, together
with its base64 forms, because a leaked signature header or an exception message can carry it.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
from typing import Any

import structlog

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(r"(secret|passphrase|private|password|signature|authorization|api[_-]?key|token)", re.I)
_secret_values: set[str] = set()


def register_secret(value: str | bytes | None) -> None:
    """Scrub this value (and its base64 encodings) from all future log output."""
    if not value:
        return
    raw = value.encode() if isinstance(value, str) else value
    text = raw.decode(errors="ignore")
    forms = {text, text.strip(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    # PEM keys are multi-line; also scrub each base64 body line so a partial dump is caught.
    forms.update(line for line in text.splitlines() if len(line) >= 16 and "-----" not in line)
    _secret_values.update(f for f in forms if len(f) >= 6)


def redact_text(text: str) -> str:
    for secret in sorted(_secret_values, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact(value: Any, key: str | None = None) -> Any:
    if key is not None and _SECRET_KEY.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v) for v in value)
    return value


def redaction_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if k in ("level", "timestamp", "service") else _redact(v, k)) for k, v in event_dict.items()}


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout for this process, including stdlib loggers (uvicorn, faststream, nats)."""
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
            structlog.processors.JSONRenderer(),
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
    structlog.contextvars.bind_contextvars(service=service)


class _ScrubbingFormatter(logging.Formatter):
    """Scrubs the rendered line once more: a secret can hide in a formatted message or traceback."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(self._inner.format(record))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
