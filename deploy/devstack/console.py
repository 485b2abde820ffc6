"""`make run`'s terminal: every child's lines, prefixed with its name, one writer at a time.

Children always log JSON to us. On a terminal (or `LOG_FORMAT=console`) each JSON line is shown
as a readable line by the same renderer a service uses on its own terminal, minus the service
name, which the prefix already shows; otherwise (a pipe, a file, `LOG_FORMAT=json`) the JSON goes
through untouched, so whatever reads it still gets one JSON object per line after the prefix.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO

from shared.logs import render_console_line, renders_console, wants_colour

_PALETTE = ("36", "35", "34", "33", "32", "96", "95", "94", "93")
_RESET = "\x1b[0m"
LAUNCHER = "devstack"


class Console:
    def __init__(self, names: list[str], stream: TextIO = sys.stdout, log_format: str | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._width = max(len(n) for n in [LAUNCHER, *names])
        self.readable = renders_console(log_format, stream)
        self.colors = self.readable and wants_colour(stream)
        self._colour = {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(names)}

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}{_RESET}" if self.colors else text

    def _write(self, name: str, lines: list[str]) -> None:
        prefix = self._style(f"{name:<{self._width}} |", self._colour.get(name, "1"))
        with self._lock:
            self._stream.write("".join(f"{prefix} {line}\n" for line in lines))
            self._stream.flush()

    def child_line(self, name: str, line: str) -> None:
        self._write(name, self.render(line).split("\n"))

    def render(self, line: str) -> str:
        """A child's JSON log line as a readable one (when we render); anything else as it came."""
        if not self.readable or not line.startswith("{"):
            return line
        try:
            event = json.loads(line)
        except ValueError:
            return line
        if not isinstance(event, dict) or "event" not in event:
            return line
        return render_console_line(event, colors=self.colors, with_service=False)

    def notice(self, text: str) -> None:
        self._write(LAUNCHER, [text])

    def restart_notice(self, name: str, text: str, last_lines: list[str]) -> None:
        """An exit, loud enough to see among the other services' lines, with what it said last."""
        lines = [self._style(f"!!! {text}", "1;31")]
        if last_lines:
            lines.append(f"    last lines of {name}:")
            lines.extend(f"    {rendered}" for line in last_lines for rendered in self.render(line).split("\n"))
        self._write(LAUNCHER, lines)

    def banner(self, lines: list[str]) -> None:
        bar = "=" * 72
        with self._lock:
            self._stream.write("\n" + "\n".join([bar, *(f"  {line}" for line in lines), bar]) + "\n\n")
            self._stream.flush()
