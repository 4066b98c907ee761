"""HAProxy of the estate: a TCP frontend to the PostgreSQL primary, a health frontend, a runtime API.

The standby starts ``disabled`` (maintenance): it is read-only until promoted, so HAProxy must not
send writes to it by itself. Failover is an action (the runtime API enables it once it is promoted).
The health frontend answers ``GET`` with 200 while the backend has a usable server and closes the
connection without an answer when none is left (a new one, and a kept-alive one at its next request),
so a watcher sees the database service as down, not as erroring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

HAPROXY: Final = Path("/usr/sbin/haproxy")
BACKEND: Final = "pg"
PRIMARY: Final = "primary"
STANDBY: Final = "standby"


def config(*, port: int, primary_port: int, standby_port: int, health_port: int, admin_socket: Path) -> str:
    """The configuration: the database frontend on ``port``, the health frontend on ``health_port``."""
    return f"""global
    stats socket {admin_socket} mode 600 level admin
    stats timeout 30s

defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h

frontend {BACKEND}_in
    bind 127.0.0.1:{port}
    default_backend {BACKEND}

backend {BACKEND}
    server {PRIMARY} 127.0.0.1:{primary_port} check inter 1s fall 2 rise 2
    server {STANDBY} 127.0.0.1:{standby_port} check inter 1s fall 2 rise 1 disabled

frontend {BACKEND}_health
    mode http
    bind 127.0.0.1:{health_port}
    timeout client 5s
    tcp-request connection reject if {{ nbsrv({BACKEND}) lt 1 }}
    http-request reject if {{ nbsrv({BACKEND}) lt 1 }}
    http-request return status 200 content-type text/plain string "{BACKEND}: a server is up"
"""


def argv(binary: Path, config_file: Path) -> list[str]:
    """Run HAProxy in the foreground (``-db``), so the pid we start is the one to stop."""
    return [str(binary), "-f", str(config_file), "-db"]


def check_argv(binary: Path, config_file: Path) -> list[str]:
    """Validate a configuration without starting (``-c``)."""
    return [str(binary), "-c", "-f", str(config_file)]
