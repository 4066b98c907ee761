"""Issue 17: the lines the demo itself writes under its security faults are Critical classes to the detector.

A real demo server (in this process) answers failed logins and exports records through a real
egress to a real sink; its log lines, read back as the collector reads them, go through the
detector's log loop and bus: the login failures are a ``security`` anomaly, the export a ``leak``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from incidentctl import demo_security as sec
from incidentctl.demo_service import LOG_FORMAT, Chaos, DemoServer, RedMetrics
from incidentctl.estate.sink import SinkServer
from services.collector.domain.loglines import parse_level, parse_timestamp, strip_header
from services.detector.domain.logmining.findings import LogRecord
from services.detector.log_loop import LogLoop
from services.detector.settings import DetectorSettings, LogSettings
from shared import events as ev
from shared.runtime import Service
from shared.topics import ANOMALIES
from tests.component.detector.test_critical_log_classes import CONFIG, NoSource
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import at

pytestmark = pytest.mark.component


def serving(server: DemoServer | SinkServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def demo_lines(tmp_path: Path) -> Iterator[list[str]]:
    """The demo's log lines after 40 failed logins and about two seconds of bulk export."""
    log_file = tmp_path / "demo-app.log"
    handler = logging.FileHandler(log_file)
    formatter = logging.Formatter(LOG_FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    demo_log = logging.getLogger("demo")
    demo_log.addHandler(handler)
    demo_log.setLevel(logging.INFO)
    sink = SinkServer(("127.0.0.1", 0))
    metrics = RedMetrics()
    egress = sec.Egress(f"http://127.0.0.1:{sink.server_address[1]}/upload", metrics.security)
    demo = DemoServer(("127.0.0.1", 0), Chaos(), metrics, None, sec.Credential("demo-admin", "right"))
    threads = [serving(sink), serving(demo)]
    try:
        url = f"http://127.0.0.1:{demo.server_address[1]}/login"
        with httpx.Client(timeout=5) as client:
            for i in range(40):
                assert client.post(url, data={"user": f"user{i % 5}", "password": "wrong"}).status_code == 401
        deadline = time.monotonic() + 2.2
        egress.exfiltrate_loop(lambda: time.monotonic() < deadline, rate=4 * 2**20)
        handler.flush()
        ours = ("authentication failed for user", "bulk export")  # other tests' stray demo threads log here too
        yield [x for x in log_file.read_text().splitlines() if any(w in x for w in ours)]
    finally:
        demo_log.removeHandler(handler)
        handler.close()
        egress.close()
        for server in (demo, sink):
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


async def test_the_demo_s_failed_logins_and_bulk_export_are_security_and_leak_anomalies(
    harness: BusHarness, demo_lines: list[str]
) -> None:
    failures = [x for x in demo_lines if "authentication failed for user" in x]
    exports = [x for x in demo_lines if "bulk export of" in x]
    assert len(failures) == 40 and exports, demo_lines
    assert all(x.endswith("from 127.0.0.1") for x in failures)

    now = [0.0]
    detector = Service.create("detector", DetectorSettings(checkpoint=False))
    await harness.attach(detector.bus)
    loop = LogLoop(detector.bus, NoSource(), None, LogSettings(), CONFIG, clock=lambda: at(now[0]))
    first = parse_timestamp(demo_lines[0])
    assert first is not None
    real = []  # the demo's lines, as the collector reads them, placed after 30 s of ordinary traffic
    for line in demo_lines:
        stamp = parse_timestamp(line)
        assert stamp is not None and parse_level(line) in ("INFO", "WARNING", "WARN")
        real.append((30.0 + (stamp - first).total_seconds(), strip_header(line), parse_level(line)))
    for s in range(0, 45):
        loop.watch.ingest(LogRecord(at(s), f"demo [worker] GET / 200 {s % 7}.1ms", "INFO", "demo", "h1"))
        for offset, message, level in real:
            if s <= offset < s + 1:
                loop.watch.ingest(LogRecord(at(offset), message, level, "demo", "h1"))
        now[0] = s + 1
        await loop.tick()

    anomalies = [e.data for e in harness.published(ANOMALIES) if isinstance(e, ev.AnomalyDetected)]
    problems = {a.labels.get("problem") for a in anomalies}
    assert {"security", "leak"} <= problems, [(a.summary, a.labels) for a in anomalies]
    security = next(a for a in anomalies if a.labels.get("problem") == "security")
    assert "authentication failed" in security.labels["problem_reason"], security.labels
