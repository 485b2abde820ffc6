"""`LOG_FORMAT`: readable lines for a terminal, JSON for everything else, the same redaction in both."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

from shared.logs import configure_logging, get_logger, register_secret, renders_console
from shared.settings import BaseServiceSettings, ConfigError, load_settings


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, structlog.get_config())
    yield
    handlers, level, excepthook, config = saved
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook = excepthook
    structlog.configure(**config)
    structlog.contextvars.clear_contextvars()


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_auto_means_console_on_a_terminal_only() -> None:
    assert renders_console(None, _Terminal()) and renders_console("auto", _Terminal())
    assert not renders_console(None, object())
    assert not renders_console("json", _Terminal())
    assert renders_console("console", object())


def test_console_lines_are_readable_and_redacted_like_json(capsys, monkeypatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    capsys.readouterr()
    configure_logging("ledger", "INFO", "console")
    secret = "console-secret-Zq81xYw"
    register_secret(secret)
    get_logger("t").info("fill recorded", fill_id="f-1", note=f"sent {secret}", api_key="ak-998877")
    logging.getLogger("a.stdlib.library").warning("third party says %s", secret)
    try:
        raise ValueError(f"bad {secret}")
    except ValueError:
        get_logger("t").exception("boom", order_id="o-1")
    out = capsys.readouterr().out
    assert secret not in out and "ak-998877" not in out
    first, second, third = [line for line in out.splitlines() if "ledger" in line][:3]
    assert first.endswith("info     ledger           fill recorded  fill_id=f-1 note=\"sent [REDACTED]\" api_key=[REDACTED]")
    assert "warning  ledger           third party says [REDACTED]" in second
    assert "error    ledger           boom  order_id=o-1" in third
    assert "Traceback (most recent call last):" in out and "ValueError: bad [REDACTED]" in out
    assert "{" not in first  # not JSON


def test_log_format_json_from_the_environment(capsys, monkeypatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    capsys.readouterr()
    configure_logging("ledger")
    get_logger("t").info("fill recorded", fill_id="f-1")
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["event"] == "fill recorded" and event["service"] == "ledger" and event["fill_id"] == "f-1"


def test_log_format_is_a_validated_setting(monkeypatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "console")
    assert load_settings(BaseServiceSettings).log_format == "console"
    monkeypatch.setenv("LOG_FORMAT", "fancy")
    with pytest.raises(ConfigError) as err:
        load_settings(BaseServiceSettings)
    assert "LOG_FORMAT" in err.value.message


def test_logged_data_cannot_drive_the_terminal() -> None:
    from shared.logs import render_console_line

    line = render_console_line({"event": "market \x1b[2Jtitle", "level": "info", "title": "a\x1b]0;pwned\x07b"},
                               colors=True)
    assert "\x1b[2J" not in line and "\x1b]0;" not in line and "\x07" not in line
    assert "market \\x1b[2Jtitle" in line
