"""`make run`'s supervisor on real child processes: restarts with backoff, says so, stops in time."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time
from pathlib import Path

from deploy.devstack.console import Console
from deploy.devstack.supervisor import ChildSpec, RestartPolicy, Supervisor

# Prints a line, then waits to be killed; ignores nothing.
SLEEPER = [sys.executable, "-c", "import time; print('ready to work', flush=True); time.sleep(120)"]


def wait_until(condition, timeout: float, tick: Supervisor | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        if tick is not None:
            tick.tick()
        time.sleep(0.05)


def test_backoff_doubles_to_the_cap_and_resets_after_a_healthy_minute() -> None:
    policy = RestartPolicy()
    delays, previous = [], None
    for _ in range(8):
        previous = policy.next_delay(previous, ran_for=2.0)
        delays.append(previous)
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert policy.next_delay(30, ran_for=61.0) == 1


def test_a_killed_child_is_announced_with_its_last_lines_and_restarted(tmp_path: Path) -> None:
    out = io.StringIO()
    supervisor = Supervisor(Console(["worker"], out), tmp_path)
    child = supervisor.add(ChildSpec("worker", SLEEPER, {"PATH": os.environ["PATH"]}))
    try:
        wait_until(lambda: "ready to work" in out.getvalue(), 10)
        first_pid = child.pid
        os.kill(first_pid, signal.SIGKILL)
        wait_until(lambda: child.pid != first_pid, 10, tick=supervisor)
        wait_until(lambda: out.getvalue().count("ready to work") >= 3, 10)  # quoted once, then said again
        text = out.getvalue()
        assert "worker killed by SIGKILL" in text and "restarting in 1s" in text
        assert "last lines of worker:" in text
        assert f"worker restarted (restart #1, pid {child.pid})" in text
    finally:
        supervisor.stop(timeout=5)
    assert child.proc is not None and child.proc.poll() is not None


def test_stop_kills_a_child_that_ignores_sigterm_within_the_timeout(tmp_path: Path) -> None:
    stubborn = [sys.executable, "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(120)"]
    out = io.StringIO()
    supervisor = Supervisor(Console(["stubborn"], out), tmp_path)
    child = supervisor.add(ChildSpec("stubborn", stubborn, {"PATH": os.environ["PATH"]}))
    wait_until(lambda: "up" in out.getvalue(), 10)
    started = time.monotonic()
    supervisor.stop(timeout=1)
    assert time.monotonic() - started < 3
    assert child.proc is not None and child.proc.returncode == -signal.SIGKILL


def test_child_json_lines_render_readable_on_request_and_pass_through_otherwise() -> None:
    line = json.dumps({"event": "fill recorded", "level": "info", "service": "ledger",
                       "timestamp": "2026-11-29T18:32:01.123456Z", "fill_id": "f-1"})
    readable = io.StringIO()
    Console(["ledger"], readable, log_format="console").child_line("ledger", line)
    assert readable.getvalue() == "ledger   | 18:32:01.123 info     fill recorded  fill_id=f-1\n"
    piped = io.StringIO()
    Console(["ledger"], piped).child_line("ledger", line)  # not a terminal: JSON stays JSON
    assert piped.getvalue() == f"ledger   | {line}\n"
    Console(["ledger"], readable, log_format="console").child_line("ledger", "Traceback (most recent call last):")
    assert readable.getvalue().endswith("ledger   | Traceback (most recent call last):\n")
