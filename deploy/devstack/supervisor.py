"""Keeps `make run`'s processes alive: a child that exits unexpectedly is started again.

Restarts back off exponentially (1 s, 2 s, 4 s … capped at 30 s) so a service that dies at start
does not spin; a run that lasted a minute counts as healthy and resets the delay. Every exit is
announced with the child's last lines, which may have scrolled away behind the other services'.
Stopping is one deadline for everybody: SIGTERM to all, SIGKILL to whoever outlives it.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from deploy.devstack.console import Console

LAST_LINES = 12


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    healthy_after: float = 60.0

    def next_delay(self, previous: float | None, ran_for: float) -> float:
        """The wait before the next start, given the last wait and how long the last run lasted."""
        if previous is None or ran_for >= self.healthy_after:
            return self.first_delay
        return min(previous * 2, self.max_delay)


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str]


@dataclass
class Child:
    spec: ChildSpec
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay: float | None = None
    restart_at: float | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))
    pump: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    def __init__(self, console: Console, cwd: Path, policy: RestartPolicy = RestartPolicy(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._cwd = cwd
        self._policy = policy
        self._clock = clock
        self.children: list[Child] = []

    def add(self, spec: ChildSpec) -> Child:
        child = Child(spec)
        self.children.append(child)
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        child.tail.clear()
        child.proc = subprocess.Popen(
            child.spec.argv, cwd=self._cwd, env=child.spec.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, errors="replace",
            # Our own process group: a Ctrl-C in the terminal reaches only the launcher, which
            # then stops everyone in order instead of racing its children's exits.
            start_new_session=True,
        )
        child.started_at = self._clock()
        child.restart_at = None
        assert child.proc.stdout is not None
        child.pump = threading.Thread(target=self._pump, args=(child.proc.stdout, child), daemon=True)
        child.pump.start()

    def _pump(self, stream: IO[str], child: Child) -> None:
        for raw in stream:
            line = raw.rstrip("\n")
            child.tail.append(line)
            self._console.child_line(child.spec.name, line)

    def tick(self) -> None:
        """Notice exits and start whoever's backoff is over. Called from the launcher's loop."""
        now = self._clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._start(child)
                    self._console.notice(f"{child.spec.name} restarted (restart #{child.restarts}, "
                                         f"pid {child.pid})")
                continue
            code = child.proc.poll() if child.proc is not None else None
            if code is None:
                continue
            if child.pump is not None:
                child.pump.join(timeout=1)  # its last lines, before we quote them
            ran_for = now - child.started_at
            child.delay = self._policy.next_delay(child.delay, ran_for)
            child.restart_at = now + child.delay
            self._console.restart_notice(
                child.spec.name,
                f"{child.spec.name} {describe_exit(code)} after {ran_for:.1f}s; restarting in {child.delay:.0f}s",
                list(child.tail),
            )

    def stop(self, timeout: float) -> None:
        """SIGTERM every running child (last started first), SIGKILL whoever outlives `timeout`."""
        for child in self.children:
            child.restart_at = None
        running = [c.proc for c in reversed(self.children) if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.terminate()
        deadline = self._clock() + timeout
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for child in self.children:
            if child.pump is not None:
                child.pump.join(timeout=1)
