"""Issue 15: an outage that began under a silence opens its incident when the silence ends (through the bus)."""

from __future__ import annotations

import pytest

from services.responder.core import Responder
from services.responder.handlers import register
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topics import ANOMALIES, INCIDENTS, SILENCES
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import anomaly, at, policy, silence

pytestmark = pytest.mark.component


async def test_silenced_crash_opens_its_incident_at_the_silence_end_and_a_replay_opens_no_second(
    harness: BusHarness,
) -> None:
    now = [at(0)]
    settings = ResponderSettings()
    service = Service.create("responder", settings)
    core = Responder(service.bus, policy(), Sender({}, console_url="http://c"), clock=lambda: now[0])
    register(service, core, settings)
    await harness.attach(service.bus)

    await harness.feed(SILENCES, silence({"service": "api"}, start=0, end=60))
    crash = [anomaly("api", s, t=10, impact=m.Impact.SERVICE_DOWN) for s in ("http.up", "process.up")]
    now[0] = at(10)
    await harness.feed(ANOMALIES, *crash)
    await core.tick()
    assert harness.published(INCIDENTS) == []

    now[0] = at(61)
    await core.tick()
    opened = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)]
    assert len(opened) == 1 and opened[0].data.incident.severity is m.Severity.CRITICAL
    assert set(core.book.incidents[opened[0].data.incident.incident_id].incident.anomaly_ids) == {
        a.data.anomaly_id for a in crash
    }

    await harness.feed(ANOMALIES, *crash)  # the detector's events replayed
    await core.tick()
    assert len([e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)]) == 1
