"""Issue 15 through the responder's bus: a new problem class opens its own incident; a restart's outage is marked."""

from __future__ import annotations

import pytest

from services.responder.core import Responder
from services.responder.handlers import register
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topics import ANOMALIES, INCIDENTS, RECOVERY
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import anomaly, at, policy

pytestmark = pytest.mark.component


async def responder(harness: BusHarness, now: list[float]) -> Responder:
    settings = ResponderSettings()
    service = Service.create("responder", settings)
    core = Responder(service.bus, policy(), Sender({}, console_url="http://c"), clock=lambda: at(now[0]))
    register(service, core, settings)
    await harness.attach(service.bus)
    return core


def opened(harness: BusHarness) -> list[m.Incident]:
    return [e.data.incident for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)]


async def test_cpu_hog_after_a_cured_crash_is_its_own_incident(harness: BusHarness) -> None:
    now = [0.0]
    core = await responder(harness, now)
    down = anomaly("api", "http.up", t=0, impact=m.Impact.SERVICE_DOWN)
    await harness.feed(ANOMALIES, down)
    now[0] = 10
    await harness.feed(ANOMALIES, anomaly("api", "http.up", cls=ev.AnomalyResolved, revision=2))
    now[0] = 30
    hog = anomaly("api", "process.cpu", t=30, impact=m.Impact.RESOURCE_PRESSURE)
    await harness.feed(ANOMALIES, hog)
    await harness.feed(ANOMALIES, hog)  # redelivered
    assert [(i.problem, i.title) for i in opened(harness)] == [
        ("down", "http.up anomalous on api"),
        ("cpu", "process.cpu anomalous on api"),
    ]
    now[0] = 41
    await core.tick()  # the crash incident resolves on its own anomalies; the hog's stays open
    resolved = [e.data.incident.problem for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentResolved)]
    assert resolved == ["down"]


async def test_an_outage_during_a_restart_step_is_marked_and_pages_nobody_new(harness: BusHarness) -> None:
    now = [0.0]
    await responder(harness, now)
    await harness.feed(ANOMALIES, anomaly("api", "latency", t=0))
    (inc,) = opened(harness)
    step = m.RecoveryStep(index=0, action="restart_process", target="api")
    progress = m.RecoveryProgress(plan_id="plan-1", incident_id=inc.incident_id, target="api", step=step)
    now[0] = 4
    await harness.feed(RECOVERY, ev.RecoveryStepStarted.create(progress, source="/r", id_parts=("s",), time=at(4)))
    now[0] = 5
    await harness.feed(ANOMALIES, anomaly("api", "http.up", t=5, impact=m.Impact.SERVICE_DOWN))
    last = harness.published(INCIDENTS)[-1].data.incident
    assert last.recovery_caused == ("an-api-http.up-1",) and last.severity is m.Severity.MAJOR
    assert len(opened(harness)) == 1
