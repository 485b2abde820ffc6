"""Embedded NATS and Postgres: they start, accept real clients, and keep their data across starts."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from shared.devstack import embedded


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short path under /tmp, not pytest's 0700 tree: the unprivileged postgres user must reach it.
    path = Path(tempfile.mkdtemp(prefix="trueup-infra-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_nats_jetstream_data_survives_restart(workdir: Path) -> None:
    server = embedded.start_nats(workdir / "nats")
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="PROBE", subjects=["probe.>"])
        await js.publish("probe.one", b"kept")
        await nc.close()
        assert embedded.start_nats(workdir / "nats").pid == server.pid  # running: reused
    finally:
        server.stop()
    assert not embedded._answers(server.port)

    again = embedded.start_nats(workdir / "nats")
    try:
        assert again.pid != server.pid
        nc = await nats.connect(again.url)
        msg = await nc.jetstream().get_last_msg("PROBE", "probe.one")
        assert msg.data == b"kept"
        await nc.close()
    finally:
        again.stop()


async def test_postgres_data_survives_restart_and_running_server_is_reused(workdir: Path) -> None:
    started = time.monotonic()
    pg = embedded.start_postgres(workdir / "pg", durable=False)
    assert time.monotonic() - started < 10
    try:
        conn = await asyncpg.connect(pg.url)
        assert await conn.fetchval("SELECT current_database()") == "trueup"
        await conn.execute("CREATE TABLE kept (v numeric)")
        await conn.execute("INSERT INTO kept VALUES (0.10)")
        await conn.close()

        reused = embedded.start_postgres(workdir / "pg")
        assert reused.port == pg.port
    finally:
        pg.stop()
    assert not embedded._answers(pg.port)

    again = embedded.start_postgres(workdir / "pg", port=embedded.free_port())
    try:
        conn = await asyncpg.connect(again.url)
        assert str(await conn.fetchval("SELECT v FROM kept")) == "0.10"
        await conn.close()
    finally:
        again.stop()


async def test_postgres_recovers_from_crash_and_foreign_stale_pid(workdir: Path) -> None:
    pg = embedded.start_postgres(workdir / "pg", durable=False)
    pid = int((workdir / "pg" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while embedded._pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    # A crash leaves postmaster.pid behind; here it even names a live non-postgres process.
    pidfile = workdir / "pg" / "postmaster.pid"
    lines = pidfile.read_text().splitlines()
    lines[0] = str(os.getpid())
    pidfile.write_text("\n".join(lines) + "\n")

    again = embedded.start_postgres(workdir / "pg", port=pg.port if embedded.port_is_free(pg.port) else None)
    try:
        conn = await asyncpg.connect(again.url)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
    finally:
        again.stop()


def test_port_helpers() -> None:
    port = embedded.free_port()
    assert embedded.port_is_free(port)
    assert embedded.port_or_free(port) == port
