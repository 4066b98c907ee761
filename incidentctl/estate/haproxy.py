"""HAProxy of the estate: PostgreSQL behind a TCP frontend, a health frontend, the demo's entrance and egress.

The standby starts ``disabled`` (maintenance): it is read-only until promoted, so HAProxy must not
send writes to it by itself. Failover is an action (the runtime API enables it once it is promoted).
The health frontend answers ``GET`` with 200 while the backend has a usable server and closes the
connection without an answer when none is left (a new one, and a kept-alive one at its next request),
so a watcher sees the database service as down, not as erroring.

With the demo behind the estate (issue 17's security faults):

* ``web_in`` (HTTP): the demo's public entrance (backend ``demo``, server ``demo``): the load
  generator and the attacks come in here, so taking ``demo/demo`` out of rotation isolates the demo.
* ``egress_in`` (HTTP): the demo's only way out (backend ``egress``, server ``sink``): cutting
  ``egress/sink`` stops an exfiltration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

HAPROXY: Final = Path("/usr/sbin/haproxy")
BACKEND: Final = "pg"
PRIMARY: Final = "primary"
STANDBY: Final = "standby"
WEB_BACKEND: Final = "demo"
WEB_SERVER: Final = "demo"
EGRESS_BACKEND: Final = "egress"
EGRESS_SERVER: Final = "sink"


def config(
    *,
    port: int,
    primary_port: int,
    standby_port: int,
    health_port: int,
    admin_socket: Path,
    web_port: int | None = None,
    demo_port: int | None = None,
    egress_port: int | None = None,
    sink_port: int | None = None,
) -> str:
    """The configuration: the database frontend on ``port``, the health frontend on ``health_port``.

    The demo's HTTP frontends are there when their ports are given (``web_port`` with ``demo_port``,
    ``egress_port`` with ``sink_port``).
    """
    text = f"""global
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
    if web_port is not None and demo_port is not None:
        text += _http_pair("web_in", web_port, WEB_BACKEND, WEB_SERVER, demo_port, forward_for=True)
    if egress_port is not None and sink_port is not None:
        text += _http_pair("egress_in", egress_port, EGRESS_BACKEND, EGRESS_SERVER, sink_port, forward_for=False)
    return text


def _http_pair(frontend: str, port: int, backend: str, server: str, server_port: int, *, forward_for: bool) -> str:
    """An HTTP frontend and its one-server backend (no health check: a server in maint answers 503 at once)."""
    forward = "    option forwardfor\n" if forward_for else ""
    return f"""
frontend {frontend}
    mode http
    bind 127.0.0.1:{port}
    timeout client 30s
{forward}    default_backend {backend}

backend {backend}
    mode http
    timeout server 30s
    server {server} 127.0.0.1:{server_port}
"""


def argv(binary: Path, config_file: Path) -> list[str]:
    """Run HAProxy in the foreground (``-db``), so the pid we start is the one to stop."""
    return [str(binary), "-f", str(config_file), "-db"]


def check_argv(binary: Path, config_file: Path) -> list[str]:
    """Validate a configuration without starting (``-c``)."""
    return [str(binary), "-c", "-f", str(config_file)]
