"""Issue 17, detection: a burst of "unauthorized access to customer table" lines, through the detector's
log loop and bus, is a security anomaly, and the responder opens a Critical incident with the reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from services.detector.domain.logmining.findings import LogRecord
from services.detector.domain.logmining.patterns import PatternConfig
from services.detector.domain.logwatch import LogWatchConfig
from services.detector.domain.tracker import TrackerConfig
from services.detector.log_loop import LogLoop
from services.detector.settings import DetectorSettings, LogSettings
from services.responder.core import Responder
from services.responder.handlers import register
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topics import ANOMALIES, INCIDENTS
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import at, policy

pytestmark = pytest.mark.component

CONFIG = LogWatchConfig(
    patterns=PatternConfig(bucket_seconds=5, learning_seconds=15, new_template_seconds=30, spike_min_count=5),
    tracker=TrackerConfig(close_delay_s=10),
)


class NoSource:
    """The loop is fed by the test (`LogLoop.watch.ingest`); its source is never read."""

    def read(self, start: datetime, end: datetime) -> AsyncIterator[LogRecord]:
        raise AssertionError("not read")

    def follow(self, start: datetime, *, poll_seconds: float, stop: asyncio.Event) -> AsyncIterator[LogRecord]:
        raise AssertionError("not followed")


async def test_an_unauthorized_access_burst_becomes_a_critical_security_incident(harness: BusHarness) -> None:
    now = [0.0]
    detector = Service.create("detector", DetectorSettings(checkpoint=False))
    await harness.attach(detector.bus)
    loop = LogLoop(detector.bus, NoSource(), None, LogSettings(), CONFIG, clock=lambda: at(now[0]))
    settings = ResponderSettings()
    responder = Service.create("responder", settings)
    core = Responder(responder.bus, policy(), Sender({}, console_url="http://c"), clock=lambda: at(now[0]))
    register(responder, core, settings)
    await harness.attach(responder.bus)

    for s in range(0, 45):
        loop.watch.ingest(LogRecord(at(s), f"GET /items/{s} 200 in {s % 7} ms", "INFO", "demo", "h1"))
        if s >= 30:
            for k in range(4):
                line = LogRecord(at(s + k / 10), "unauthorized access to customer table", "ERROR", "demo", "h1")
                loop.watch.ingest(line)
        now[0] = s + 1
        await loop.tick()
    anomalies = [e for e in harness.published(ANOMALIES) if isinstance(e, ev.AnomalyDetected)]
    security = [e for e in anomalies if e.data.impact is m.Impact.SECURITY]
    assert security, [e.data.summary for e in anomalies]
    assert security[0].data.labels["problem"] == "security"
    assert "words: unauthorized, customer table" in security[0].data.labels["problem_reason"]

    for event in harness.published(ANOMALIES):
        await harness.feed(ANOMALIES, event)
    incidents = [e.data.incident for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)]
    (incident,) = [i for i in incidents if i.problem == "security"]
    assert incident.severity is m.Severity.CRITICAL and incident.target == "demo"
    assert incident.severity_reason.startswith("critical: security incident (security, rule security): ")
    assert "security-relevant template (words: unauthorized, customer table)" in incident.severity_reason
