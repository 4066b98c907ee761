from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from services.recovery.adapters.runner import LocalRunner, runs_command
from services.recovery.domain.catalog import HttpPost, RestartProcess, Wait


async def test_a_recycled_pid_running_something_else_is_never_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "demo.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # this very test process
    action = RestartProcess(name="demo", target="demo", argv=("python", "-m", "not_this"), pidfile=str(pidfile))
    assert not runs_command(os.getpid(), action.argv)
    outcome = await LocalRunner().run(action)
    assert not outcome.ok and "runs something else" in outcome.detail
    assert pidfile.read_text().strip() == str(os.getpid())


async def test_http_post_failure_is_an_outcome_not_an_exception() -> None:
    outcome = await LocalRunner().run(HttpPost(name="reset", target="demo", url="http://127.0.0.1:9/x", timeout_s=1))
    assert not outcome.ok


async def test_http_post_names_the_step_in_its_idempotency_key() -> None:
    seen: list[str | None] = []

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("Idempotency-Key"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/reset"
        action = HttpPost(name="reset", target="demo", url=url, timeout_s=5)
        outcome = await LocalRunner().run(action, key="rcv-step-1")
        unnamed = await LocalRunner().run(action)
    finally:
        server.shutdown()
    assert outcome.ok and unnamed.ok
    assert seen == ["rcv-step-1", None]


async def test_wait() -> None:
    assert (await LocalRunner().run(Wait(target="demo", seconds=0))).ok
