"""Issue 17's security faults on real HAProxy, the demo service and the egress sink (the estate's own wiring).

(a) failed logins through the public entrance are logged (user sanitised, never the password) and
counted; an auth-attack burst reaches the demo until recovery's ``isolate:demo-public`` takes it
out of rotation; (b) an exfiltration's bytes flow through the egress frontend to the sink until
``isolate:demo-egress`` cuts them.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from incidentctl import demo_security as sec
from incidentctl.demo_estate import DSN_ENV
from incidentctl.demo_security_config import EGRESS_ISOLATE, PUBLIC_ISOLATE, security_recovery
from incidentctl.estate import runner
from incidentctl.estate.containment import auth_attack_contained, exfiltration_contained, reopen
from incidentctl.fault_checks import FAULT_CHECKS
from incidentctl.procs import free_port, spawn, terminate, wait_for_port
from services.recovery.adapters.runner import LocalRunner
from services.recovery.app import build_catalog
from services.recovery.settings import RecoverySettings
from tests.integration.test_estate import REPO, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(runner.unavailable() is not None, reason=f"estate programs missing: {runner.unavailable()}"),
]


class Demo:
    """The demo service behind the estate, as the stack starts it."""

    def __init__(self, estate: runner.EstateState, port: int, log_file: Path) -> None:
        self.estate, self.url, self.log_file = estate, f"http://127.0.0.1:{port}", log_file

    def counter(self, name: str) -> float:
        text = httpx.get(self.url + "/metrics", timeout=5).text
        found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
        assert found, f"{name} not in /metrics"
        return float(found.group(1))

    def sink_bytes(self) -> int:
        return int(httpx.get(f"http://127.0.0.1:{self.estate.sink_port}/stats", timeout=5).json()["bytes"])

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def chaos(self, fault: str, **params: str) -> None:
        response = httpx.post(f"{self.url}/chaos/{fault}", params=params, timeout=5)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root, port = tmp_path_factory.mktemp("security"), free_port()
    estate = runner.start(root, backup_interval_s=60.0, demo_port=port)
    log_file = root / "logs" / "demo-app.log"
    env = {
        DSN_ENV: estate.dsn(),
        sec.PUBLIC_URL_ENV: estate.public_url() or "",
        sec.EGRESS_URL_ENV: estate.egress_url() or "",
        sec.LOGIN_USER_ENV: sec.DEMO_USER,
        sec.LOGIN_FILE_ENV: str(estate.login_file),
    }
    argv = [sys.executable, "-m", "incidentctl.demo_service", "--port", str(port), "--log-file", str(log_file)]
    proc = spawn(argv, log_file=root / "logs" / "demo.stdout.log", env=env, cwd=REPO)
    try:
        wait_for_port(port, timeout=20.0, proc=proc)
        yield Demo(estate, port, log_file)
    finally:
        terminate(proc.pid, timeout=5.0)
        proc.wait(timeout=5)
        runner.stop(estate)


def contain(estate: runner.EstateState, name: str, *, undo: bool = False) -> str:
    """Run recovery's declared isolate action (or its inverse) through the real runtime API."""
    settings = RecoverySettings(**security_recovery(estate, "demo"))
    catalog = build_catalog(settings)
    action = catalog.resolve(f"isolate:{name}", "demo")
    if undo:
        inverse = catalog.rollback_of(action)
        assert inverse is not None
        action = inverse
    outcome = asyncio.run(LocalRunner().run(action))
    assert outcome.ok, outcome.detail
    return outcome.detail


def settled(read: Callable[[], float], *, pause_s: float = 1.5) -> float | None:
    """The value when two reads ``pause_s`` apart agree (nothing more arrives), else None."""
    first = read()
    time.sleep(pause_s)
    return first if read() == first else None


def test_failed_logins_through_the_public_entrance_are_logged_and_counted_and_never_the_password(demo: Demo) -> None:
    public = demo.estate.public_url()
    assert public is not None
    before = demo.counter("demo_auth_failures_total")
    password = demo.estate.login_file.read_text().strip()
    wrong = "hunter2-" + "x" * 20
    for user in ("mallory", "eve\nINFO fake line " + "y" * 200):
        response = httpx.post(public + "/login", data={"user": user, "password": wrong}, timeout=5)
        assert response.status_code == 401
    ok = httpx.post(public + "/login", json={"user": sec.DEMO_USER, "password": password}, timeout=5)
    assert ok.status_code == 200
    bad = httpx.post(public + "/login", content=b"not a form", headers={"content-type": "application/json"})
    assert bad.status_code == 400

    assert demo.counter("demo_auth_failures_total") == before + 2
    assert demo.counter('http_requests_total{method="POST",path="/login",status="401"}') >= 2
    lines = wait_for(lambda: [x for x in demo.log().splitlines() if "authentication failed" in x], "failure lines")
    assert any(line.endswith("authentication failed for user mallory from 127.0.0.1") for line in lines), lines
    forged = next(x for x in lines if "user eve" in x)
    assert "WARNING" in forged and len(forged) < 200 and "INFO fake line" in forged  # one line, bounded
    assert not any(x.startswith("INFO fake line") for x in demo.log().splitlines())
    assert wrong not in demo.log() and password not in demo.log()


def test_an_auth_attack_reaches_the_demo_until_it_is_isolated_from_the_public_rotation(demo: Demo) -> None:
    public = demo.estate.public_url()
    assert public is not None
    start = demo.counter("demo_auth_failures_total")
    demo.chaos("auth-attack", duration_s="60")
    try:
        wait_for(lambda: demo.counter("demo_auth_failures_total") >= start + 20, "a burst of failed logins")
        contained, evidence = auth_attack_contained(demo.estate, demo.url, quiet_s=1.0)
        assert not contained and evidence.startswith("demo/demo ready; public entrance answers 200"), evidence
        detail = contain(demo.estate, PUBLIC_ISOLATE)
        assert "demo/demo ready->maint" in detail
        assert httpx.get(public + "/", timeout=5).status_code == 503
        stopped = wait_for(lambda: settled(lambda: demo.counter("demo_auth_failures_total")), "no more failures")
        assert httpx.post(demo.url + "/login", data={"user": "x", "password": "y"}).status_code == 401  # still up
        assert demo.counter("demo_auth_failures_total") == stopped + 1  # only the direct one
        assert "auth-attack" not in demo.log() and "HTTP Request" not in demo.log()  # the app's own words only
        contained, evidence = auth_attack_contained(demo.estate, demo.url)
        assert contained and evidence.startswith("demo/demo maint; public entrance answers 503"), evidence
        assert FAULT_CHECKS["auth-attack"](demo.estate)[0]  # the scenario's fresh check
    finally:
        demo.chaos("reset")
        contain(demo.estate, PUBLIC_ISOLATE, undo=True)
    assert httpx.get(public + "/", timeout=5).status_code == 200


def test_an_exfiltration_flows_through_the_egress_to_the_sink_until_the_egress_is_cut(demo: Demo) -> None:
    start_sink, start_counter = demo.sink_bytes(), demo.counter("demo_egress_bytes_total")
    demo.chaos("exfiltrate", duration_s="60")
    try:
        wait_for(lambda: demo.sink_bytes() >= start_sink + 8 * 2**20, "8 MiB at the sink")
        assert demo.counter("demo_egress_bytes_total") >= start_counter + 8 * 2**20
        wait_for(lambda: "bulk export of" in demo.log(), "a bulk-export line")
        assert not exfiltration_contained(demo.estate, quiet_s=1.0)[0]
        line = next(x for x in demo.log().splitlines() if "bulk export of" in x)
        assert re.search(r"bulk export of \d+ customer records to external host 127\.0\.0\.1:\d+$", line), line
        detail = contain(demo.estate, EGRESS_ISOLATE)
        assert "egress/sink ready->maint" in detail
        wait_for(lambda: settled(demo.sink_bytes), "no more bytes at the sink")
        wait_for(lambda: "refused" in demo.log(), "the refused exports logged")
        assert wait_for(lambda: settled(lambda: demo.counter("demo_egress_bytes_total")), "the counter stops")
        # the detector must find the leak in the application's words, not in a chaos name or the HTTP client's log
        assert "exfiltrat" not in demo.log() and "HTTP Request" not in demo.log()
        contained, evidence = exfiltration_contained(demo.estate)
        assert contained and evidence.startswith("egress/sink maint; sink bytes"), evidence
        assert FAULT_CHECKS["exfiltrate"](demo.estate)[0]  # the scenario's fresh check
    finally:
        demo.chaos("reset")
        reopen(demo.estate)
    assert exfiltration_contained(demo.estate, quiet_s=0.1)[1].startswith("egress/sink ready")
    passed, detail = FAULT_CHECKS["exfiltrate"](demo.estate)
    assert not passed and str(detail["evidence"]).startswith("egress/sink ready"), detail
