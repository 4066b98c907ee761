"""HAProxy of the estate: a TCP frontend to the PostgreSQL primary (the standby a ``backup`` server), a runtime API."""

from __future__ import annotations

from pathlib import Path
from typing import Final

HAPROXY: Final = Path("/usr/sbin/haproxy")
BACKEND: Final = "pg"
PRIMARY: Final = "primary"
STANDBY: Final = "standby"


def config(*, port: int, primary_port: int, standby_port: int, admin_socket: Path) -> str:
    """The configuration: loopback frontend on ``port``; the standby takes traffic only when the primary is down."""
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
    server {STANDBY} 127.0.0.1:{standby_port} check inter 1s fall 2 rise 2 backup
"""


def argv(binary: Path, config_file: Path) -> list[str]:
    """Run HAProxy in the foreground (``-db``), so the pid we start is the one to stop."""
    return [str(binary), "-f", str(config_file), "-db"]


def check_argv(binary: Path, config_file: Path) -> list[str]:
    """Validate a configuration without starting (``-c``)."""
    return [str(binary), "-c", "-f", str(config_file)]
