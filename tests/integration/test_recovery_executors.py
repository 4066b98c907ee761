"""Emergency actions against the real software: HAProxy's runtime API and supervisord's XML-RPC.

A real haproxy (/usr/sbin/haproxy) balances two real local HTTP servers; a real supervisord manages
a small program. The actions come from a settings-built catalog and run through the recovery runner.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from incidentctl.procs import free_port
from services.recovery.adapters.haproxy import HaproxyRuntimeApi
from services.recovery.adapters.runner import LocalRunner
from services.recovery.adapters.supervisor import SupervisorRpc
from services.recovery.app import build_catalog
from services.recovery.domain.catalog import SupervisorRestart
from services.recovery.settings import RecoverySettings

pytestmark = pytest.mark.integration
HAPROXY = "/usr/sbin/haproxy"
SUPERVISORD = "/usr/bin/supervisord"


async def until(predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    result = predicate()
                    if asyncio.iscoroutine(result):
                        result = await result
                except (OSError, httpx.HTTPError):
                    result = None
                if result:
                    return result
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@contextmanager
def named_http_server(name: str) -> Iterator[int]:
    """A local HTTP server answering every GET with its own name; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def short_tmp() -> Iterator[Path]:
    """A private directory under /tmp (unix socket paths must stay short)."""
    path = Path(tempfile.mkdtemp(prefix="ir-rec-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def started(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` for the block, then stop that very process (never by name)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def haproxy_config(sock: Path, port: int, primary: int, standby: int) -> str:
    return f"""global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    default_backend web
backend web
    balance roundrobin
    server primary 127.0.0.1:{primary}
    server standby 127.0.0.1:{standby} disabled
"""


async def served_by(port: int, count: int = 6) -> set[str]:
    """Who answers ``count`` fresh requests through the HAProxy frontend."""
    names = set()
    for _ in range(count):
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
        assert response.status_code == 200, response.text
        names.add(response.text)
    return names


async def states(sock: Path) -> dict[str, str]:
    found = await HaproxyRuntimeApi(str(sock)).servers_state()
    return {server: status.state for (backend, server), status in found.items() if backend == "web"}


@pytest.mark.skipif(not Path(HAPROXY).exists(), reason="haproxy not installed (scripts/test_tools.sh)")
async def test_failover_and_isolate_move_real_traffic_and_roll_back() -> None:
    with short_tmp() as tmp, named_http_server("primary") as primary, named_http_server("standby") as standby:
        sock, port = tmp / "admin.sock", free_port()
        config = tmp / "haproxy.cfg"
        config.write_text(haproxy_config(sock, port, primary, standby))
        with started([HAPROXY, "-f", str(config)], tmp / "haproxy.log"):
            await until(lambda: sock.exists() and served_by(port), what="haproxy serving")
            assert await served_by(port) == {"primary"}
            assert await states(sock) == {"primary": "ready", "standby": "maint"}

            settings = RecoverySettings(
                failover_actions=[
                    {"name": "web", "target": "web", "socket": str(sock), "backend": "web",
                     "primary": "primary", "standby": "standby"},
                ],
                isolate_actions=[
                    {"name": "primary", "target": "web", "socket": str(sock), "backend": "web", "server": "primary"},
                ],
            )  # fmt: skip
            catalog, runner = build_catalog(settings), LocalRunner()
            failover = catalog.resolve("failover:web", "web")

            outcome = await runner.run(failover)
            assert outcome.ok, outcome.detail
            assert "web/standby maint->ready" in outcome.detail and "web/primary ready->maint" in outcome.detail
            assert await states(sock) == {"primary": "maint", "standby": "ready"}
            assert await served_by(port) == {"standby"}

            rollback = catalog.rollback_of(failover)
            assert rollback is not None and rollback is catalog.resolve("failover:web:rollback", "web")
            outcome = await runner.run(rollback)
            assert outcome.ok, outcome.detail
            assert await states(sock) == {"primary": "ready", "standby": "maint"}
            assert await served_by(port) == {"primary"}

            # both in rotation, isolate the primary: traffic leaves it; the rollback brings it back
            await HaproxyRuntimeApi(str(sock)).set_state("web", "standby", "ready")
            assert await served_by(port) == {"primary", "standby"}
            isolate = catalog.resolve("isolate:primary", "web")
            outcome = await runner.run(isolate)
            assert outcome.ok and "web/primary ready->maint" in outcome.detail, outcome.detail
            assert await served_by(port) == {"standby"}
            unisolate = catalog.rollback_of(isolate)
            assert unisolate is not None
            assert (await runner.run(unisolate)).ok
            assert (await states(sock))["primary"] == "ready"
            assert await served_by(port) == {"primary", "standby"}


@pytest.mark.skipif(not Path(HAPROXY).exists(), reason="haproxy not installed (scripts/test_tools.sh)")
async def test_an_undeclared_server_changes_nothing() -> None:
    with short_tmp() as tmp, named_http_server("primary") as primary, named_http_server("standby") as standby:
        sock, port = tmp / "admin.sock", free_port()
        config = tmp / "haproxy.cfg"
        config.write_text(haproxy_config(sock, port, primary, standby))
        with started([HAPROXY, "-f", str(config)], tmp / "haproxy.log"):
            await until(lambda: sock.exists() and served_by(port), what="haproxy serving")
            settings = RecoverySettings(
                failover_actions=[
                    {"name": "web", "target": "web", "socket": str(sock), "backend": "web",
                     "primary": "primary", "standby": "nosuch"},
                ]
            )  # fmt: skip
            outcome = await LocalRunner().run(build_catalog(settings).resolve("failover:web", "web"))
            assert not outcome.ok and "unknown to HAProxy: web/nosuch" in outcome.detail
            assert await states(sock) == {"primary": "ready", "standby": "maint"}
            assert await served_by(port) == {"primary"}


def supervisord_config(tmp: Path, sock: Path) -> str:
    return f"""[unix_http_server]
file={sock}
[supervisord]
nodaemon=true
logfile={tmp}/supervisord.log
pidfile={tmp}/supervisord.pid
childlogdir={tmp}
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[program:worker]
command={sys.executable} -c "import time; time.sleep(600)"
startsecs=1
autorestart=false
"""


@pytest.mark.skipif(not Path(SUPERVISORD).exists(), reason="supervisor not installed (scripts/test_tools.sh)")
async def test_supervisor_restart_gives_a_new_running_pid() -> None:
    with short_tmp() as tmp:
        sock, config = tmp / "supervisor.sock", tmp / "supervisord.conf"
        config.write_text(supervisord_config(tmp, sock))
        with started([SUPERVISORD, "-c", str(config)], tmp / "supervisord.out"):
            rpc = SupervisorRpc(str(sock), timeout_s=10)
            first = await until(
                lambda: sock.exists() and (info := rpc.info("worker")).state == "RUNNING" and info,
                what="worker RUNNING",
            )
            settings = RecoverySettings(
                supervisor_actions=[{"name": "worker", "target": "app", "socket": str(sock), "program": "worker"}]
            )
            catalog = build_catalog(settings)
            action = catalog.resolve("supervisor_restart:worker", "app")
            assert catalog.rollback_of(action) is None

            outcome = await LocalRunner().run(action)

            assert outcome.ok, outcome.detail
            after = rpc.info("worker")
            assert after.state == "RUNNING" and after.pid not in (0, first.pid)
            assert psutil.pid_exists(after.pid) and not psutil.pid_exists(first.pid)
            assert f"pid {first.pid} (RUNNING) -> {after.pid} (RUNNING)" in outcome.detail

            refused = await LocalRunner().run(SupervisorRestart("x", "app", str(sock), "nosuch"))
            assert not refused.ok and "BAD_NAME" in refused.detail
