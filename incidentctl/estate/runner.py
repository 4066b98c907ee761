"""Start and stop the whole estate under a stack folder; ``estate/estate.json`` records what runs.

Files: ``<root>/estate/`` (state, HAProxy config, the app's password file, logs), ``<root>/backups/``
(dumps and ``status.json``); the clusters, their logs and the sockets live in one short private folder
under ``/tmp`` (``pg_dir``), removed by ``stop``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final

from incidentctl.estate import haproxy, postgres
from incidentctl.procs import alive, free_port, spawn, terminate, wait_for_port
from shared.files import write_private

BACKUP_INTERVAL_S: Final = 30.0
BACKUP_KEEP: Final = 5


@dataclass
class EstateState:
    """Ports, folders and pids of a running estate."""

    root: str
    pg_bin: str
    pg_dir: str
    primary_port: int
    standby_port: int
    haproxy_port: int
    health_port: int
    pids: dict[str, int] = field(default_factory=dict)
    demo_port: int | None = None
    """The demo service behind the public frontend (None: no HTTP frontends)."""
    web_port: int | None = None
    egress_port: int | None = None
    sink_port: int | None = None

    @property
    def login_file(self) -> Path:
        """The demo's one valid login password (0600), written when the demo is behind the estate."""
        return self.estate_dir / "demo-login"

    def public_url(self) -> str | None:
        """The demo's public entrance through HAProxy (``web_in``), or None without one."""
        return None if self.web_port is None else f"http://127.0.0.1:{self.web_port}"

    def egress_url(self) -> str | None:
        """The demo's way out through HAProxy (``egress_in``) to the sink, or None without one."""
        return None if self.egress_port is None else f"http://127.0.0.1:{self.egress_port}/upload"

    @property
    def estate_dir(self) -> Path:
        """``<root>/estate``."""
        return Path(self.root) / "estate"

    @property
    def primary_data(self) -> Path:
        """The primary's cluster folder."""
        return Path(self.pg_dir) / "primary"

    @property
    def standby_data(self) -> Path:
        """The standby's cluster folder."""
        return Path(self.pg_dir) / "standby"

    @property
    def socket_dir(self) -> Path:
        """Where both servers put their unix sockets."""
        return Path(self.pg_dir)

    @property
    def admin_socket(self) -> Path:
        """HAProxy's runtime API socket (``level admin``)."""
        return Path(self.pg_dir) / "haproxy.sock"

    @property
    def passfile(self) -> Path:
        """The app role's password, in libpq's passfile format (0600)."""
        return self.estate_dir / "pgpass"

    @property
    def backups(self) -> Path:
        """Dumps and the backup status file."""
        return Path(self.root) / "backups"

    @property
    def status_file(self) -> Path:
        """The backup scheduler's status file."""
        return self.backups / "status.json"

    @property
    def health_url(self) -> str:
        """HAProxy's health frontend of the database service (refused while no server is usable)."""
        return f"http://127.0.0.1:{self.health_port}/health"

    def superuser_dsn(self, port: int, dbname: str = postgres.DATABASE) -> str:
        """A local superuser connection to one server over its unix socket (trusted locally; no secret)."""
        return f"host={self.socket_dir} port={port} dbname={dbname} user={postgres.SUPERUSER} connect_timeout=3"

    def dsn(self) -> str:
        """The app's connection through HAProxy; the password is read from ``passfile``, never carried here."""
        return (f"host=127.0.0.1 port={self.haproxy_port} dbname={postgres.DATABASE} user={postgres.APP_USER} "
                f"passfile={self.passfile} connect_timeout=3")  # fmt: skip

    def save(self) -> None:
        """Write ``estate.json``."""
        write_private(self.estate_dir / "estate.json", json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, root: Path) -> EstateState | None:
        """The estate recorded under ``root``, or None."""
        try:
            return cls(**json.loads((root / "estate" / "estate.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None


def unavailable(haproxy_binary: Path = haproxy.HAPROXY) -> str | None:
    """Why the estate cannot run here (a missing program), or None when it can."""
    if postgres.bin_dir() is None:
        return f"PostgreSQL programs ({', '.join(postgres.PROGRAMS)}) not found"
    if not haproxy_binary.exists():
        return f"HAProxy not found at {haproxy_binary}"
    if shutil.which("setpriv") is None and _is_root():
        return "running as root and setpriv (to run PostgreSQL as postgres) not found"
    return None


def _is_root() -> bool:
    return os.geteuid() == 0


def start(
    root: Path,
    *,
    backup_interval_s: float = BACKUP_INTERVAL_S,
    keep: int = BACKUP_KEEP,
    haproxy_binary: Path = haproxy.HAPROXY,
    demo_port: int | None = None,
) -> EstateState:
    """Start primary, standby, HAProxy and the backup scheduler under ``root``; stop what started on failure.

    With ``demo_port`` (where the demo service will listen), HAProxy is also the demo's public
    entrance and its egress, and the egress sink runs (see `haproxy.config`).
    """
    pg = postgres.bin_dir()
    if pg is None:
        raise RuntimeError("PostgreSQL programs not found")
    root = root.resolve()
    state = EstateState(str(root), str(pg), str(postgres.private_dir("ir-pg-")), free_port(), free_port(), free_port(),
                        free_port())  # fmt: skip
    if demo_port is not None:
        state.demo_port, state.web_port, state.egress_port, state.sink_port = demo_port, *(free_port() for _ in "wes")
    logs = state.estate_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    state.backups.mkdir(parents=True, exist_ok=True)
    state.save()
    try:
        tool_log = logs / "postgres-tools.log"
        postgres.init_primary(pg, state.primary_data, port=state.primary_port, socket_dir=state.socket_dir,
                              log=tool_log)  # fmt: skip
        postgres.start_server(pg, state.primary_data, log=tool_log)
        password = secrets.token_urlsafe(18)
        write_private(
            state.passfile, f"127.0.0.1:{state.haproxy_port}:{postgres.DATABASE}:{postgres.APP_USER}:{password}\n"
        )
        postgres.create_app(socket_dir=state.socket_dir, port=state.primary_port, password=password)
        postgres.make_standby(pg, state.standby_data, primary_port=state.primary_port, port=state.standby_port,
                              socket_dir=state.socket_dir, log=tool_log)  # fmt: skip
        postgres.start_server(pg, state.standby_data, log=tool_log)
        if state.sink_port is not None:
            write_private(state.login_file, secrets.token_urlsafe(18) + "\n")
            sink = [sys.executable, "-m", "incidentctl.estate.sink", "--port", str(state.sink_port)]
            sink_proc = spawn(sink, log_file=logs / "sink.log")
            state.pids["sink"] = sink_proc.pid
            state.save()
            wait_for_port(state.sink_port, timeout=15.0, proc=sink_proc)
        config = state.estate_dir / "haproxy.cfg"
        config.write_text(haproxy.config(port=state.haproxy_port, primary_port=state.primary_port,
                                         standby_port=state.standby_port, health_port=state.health_port,
                                         admin_socket=state.admin_socket, web_port=state.web_port,
                                         demo_port=state.demo_port, egress_port=state.egress_port,
                                         sink_port=state.sink_port))  # fmt: skip
        proxy = spawn(haproxy.argv(haproxy_binary, config), log_file=logs / "haproxy.log")
        state.pids["haproxy"] = proxy.pid
        state.save()
        wait_for_port(state.haproxy_port, timeout=15.0, proc=proxy)
        backup = [sys.executable, "-m", "incidentctl.estate.scheduler", "--out", str(state.backups),
                  "--status", str(state.status_file), "--pg-dump", str(pg / "pg_dump"),
                  "--host", str(state.socket_dir), "--port", str(state.primary_port), "--port", str(state.standby_port),
                  "--interval-s", f"{backup_interval_s:g}", "--keep", str(keep)]  # fmt: skip
        state.pids["backup"] = spawn(backup, log_file=logs / "backup.log").pid
        state.save()
    except BaseException:
        stop(state)
        raise
    return state


def stop(state: EstateState) -> None:
    """Stop the scheduler, HAProxy, the standby and the primary; remove the private folder."""
    for name in ("backup", "haproxy", "sink"):
        pid = state.pids.get(name)
        if pid is not None and alive(pid):
            terminate(pid, timeout=5.0)
        if pid is not None:
            _reap(pid)
    pg, tool_log = Path(state.pg_bin), state.estate_dir / "logs" / "postgres-tools.log"
    tool_log.parent.mkdir(parents=True, exist_ok=True)
    for data in (state.standby_data, state.primary_data):
        postgres.stop_server(pg, data, log=tool_log)
    for data in (state.standby_data, state.primary_data):  # keep the servers' logs with the stack's
        log = postgres.server_log(data)
        if log.exists():
            shutil.copyfile(log, state.estate_dir / "logs" / log.name)
    shutil.rmtree(state.pg_dir, ignore_errors=True)
    (state.estate_dir / "estate.json").unlink(missing_ok=True)


def _reap(pid: int, *, timeout: float = 5.0) -> None:
    """Collect the exit status of ``pid`` if this process started it (else it is another's to reap).

    Waits up to ``timeout`` for it to exit: a process that has been signalled may not have exited
    yet, and one polled too early stays a zombie (seen in CI: a haproxy zombie after stop).
    """
    deadline = time.monotonic() + timeout
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
            time.sleep(0.02)


def parts(state: EstateState) -> dict[str, dict[str, object]]:
    """Each part of the estate: pid, port, and whether it runs (for ``incidentctl status``)."""
    out: dict[str, dict[str, object]] = {}
    for name, data, port in (("pg-primary", state.primary_data, state.primary_port),
                             ("pg-standby", state.standby_data, state.standby_port)):  # fmt: skip
        pid = postgres.server_pid(data)
        out[name] = {"pid": pid, "port": port, "running": pid is not None and alive(pid)}
    ports: dict[str, int | None] = {"haproxy": state.haproxy_port, "backup": None}
    if "sink" in state.pids:
        ports["sink"] = state.sink_port
    for name, listen in ports.items():
        found = state.pids.get(name)
        out[name] = {"pid": found, "port": listen, "running": found is not None and alive(found)}
    return out
