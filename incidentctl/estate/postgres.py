"""PostgreSQL of the estate: a primary made by initdb and a streaming standby made by pg_basebackup -R.

The server refuses to run as root, so under root every server-side program runs as the ``postgres``
user (``setpriv``) and the data folders live in a private folder of that user under ``/tmp``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql

from incidentctl.procs import alive
from shared.errors import CliError

PROGRAMS: Final = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "postgres")
SERVER_USER: Final = "postgres"
SUPERUSER: Final = "postgres"
APP_USER: Final = "demo"
DATABASE: Final = "demo"
ORDERS_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, token text NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)


class PostgresError(CliError, RuntimeError):
    """A PostgreSQL program failed; the message carries its output's tail."""


def bin_dir() -> Path | None:
    """The folder holding every program of ``PROGRAMS`` (the newest Debian version first), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    return next((Path(c) for c in candidates if all((Path(c) / p).exists() for p in PROGRAMS)), None)


def as_server_user(argv: Sequence[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when we are root (the server refuses root), else unchanged."""
    if os.geteuid() != 0:
        return list(argv)
    return ["setpriv", f"--reuid={SERVER_USER}", f"--regid={SERVER_USER}", "--init-groups", "--", *argv]


def server_conf(*, port: int, socket_dir: Path) -> str:
    """Settings appended to a server's ``postgresql.conf``: loopback only, small, replication-ready."""
    return (
        "\n# incident-response demo estate\n"
        "listen_addresses = '127.0.0.1'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        "shared_buffers = '16MB'\n"
        "max_connections = 40\n"
        "wal_level = replica\n"
        "max_wal_senders = 5\n"
        "hot_standby = on\n"
        "fsync = off\n"  # a throw-away demo cluster: start-up and dumps faster, durability is not the point
    )


def _run(argv: Sequence[str], *, log: Path, timeout: float = 60.0) -> None:
    with log.open("ab") as out:
        result = subprocess.run(
            as_server_user(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-1500:]
        raise PostgresError(f"{Path(argv[0]).name} exited with {result.returncode}; {log} ends with:\n{tail}")


def private_dir(prefix: str) -> Path:
    """A fresh folder under /tmp owned by the user the server runs as (short: unix socket paths are limited)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(path, SERVER_USER, SERVER_USER)
    return path


def init_primary(pg: Path, data: Path, *, port: int, socket_dir: Path, log: Path) -> None:
    """Create the primary's cluster in ``data`` (local connections trusted, TCP ones by password)."""
    argv = [str(pg / "initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--no-sync", "--no-instructions",
            "--auth-local=trust", "--auth-host=scram-sha-256"]  # fmt: skip
    _run(argv, log=log)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(server_conf(port=port, socket_dir=socket_dir))


def start_server(pg: Path, data: Path, *, log: Path) -> None:
    """``pg_ctl start`` and wait until the server accepts connections (server log: ``<data>.log`` beside it)."""
    _run([str(pg / "pg_ctl"), "-D", str(data), "-l", str(server_log(data)), "-w", "-t", "30", "start"], log=log)


def server_log(data: Path) -> Path:
    """Where the server of ``data`` logs (beside its folder: the server user must be able to write it)."""
    return data.parent / f"{data.name}.log"


def stop_server(pg: Path, data: Path, *, log: Path) -> None:
    """``pg_ctl stop -m fast`` (a server that is not running is no error, nor one that was killed)."""
    pid = server_pid(data)
    if pid is None or not alive(pid):
        return
    try:
        _run([str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"], log=log)
    except PostgresError:
        if (data / "postmaster.pid").exists():
            _run([str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], log=log)


def server_pid(data: Path) -> int | None:
    """The postmaster's pid from ``postmaster.pid`` (None when it is not running)."""
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def create_app(*, socket_dir: Path, port: int, password: str) -> None:
    """Create the app role (password login over TCP), its database and the ``orders`` table."""
    with psycopg.connect(host=str(socket_dir), port=port, user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(APP_USER), sql.Literal(password))
        )
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(APP_USER)))
    with psycopg.connect(dbname=DATABASE, user=APP_USER, host=str(socket_dir), port=port, autocommit=True) as conn:
        conn.execute(ORDERS_DDL)


def make_standby(pg: Path, data: Path, *, primary_port: int, port: int, socket_dir: Path, log: Path) -> None:
    """Copy the primary with ``pg_basebackup -R`` (streaming replication) and give the copy its own port."""
    argv = [str(pg / "pg_basebackup"), "-D", str(data), "-h", str(socket_dir), "-p", str(primary_port),
            "-U", SUPERUSER, "-R", "-X", "stream", "-c", "fast", "--no-sync"]  # fmt: skip
    _run(argv, log=log)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(f"port = {port}\n")
