"""A long-running responder forgets incidents resolved longer ago than its retention, on its clock loop."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from services.responder.core import Responder
from services.responder.handlers import register
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared.runtime import Service
from shared.topics import ANOMALIES, INCIDENTS
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import anomaly, at, policy

pytestmark = pytest.mark.component
WEEK_S = 7 * 86400


async def test_a_week_after_its_resolution_an_incident_is_forgotten_and_a_late_revision_opens_a_new_one(
    harness: BusHarness,
) -> None:
    now = [at(0)]
    settings = ResponderSettings()
    service = Service.create("responder", settings)
    registry = CollectorRegistry()
    core = Responder(
        service.bus, policy(), Sender({}, console_url="http://c"), clock=lambda: now[0], registry=registry,
        incident_retention_s=WEEK_S,
    )  # fmt: skip
    register(service, core, settings)
    await harness.attach(service.bus)

    await harness.feed(ANOMALIES, anomaly("api", "latency", t=0))
    now[0] = at(1)
    await harness.feed(ANOMALIES, anomaly("api", "latency", t=1, cls=ev.AnomalyResolved, revision=2))
    now[0] = at(40)
    await core.tick()  # quiet for 30 s: auto-resolved
    (resolved,) = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentResolved)]
    first = resolved.data.incident.incident_id

    now[0] = at(40 + WEEK_S)
    await core.tick()
    assert first in core.book.incidents  # not yet a week since it was resolved
    now[0] = at(40 + WEEK_S + 0.01 * WEEK_S)
    await core.tick()
    assert core.book.incidents == {} and core.book.incident_of_anomaly == {}
    assert registry.get_sample_value("ir_responder_incidents_forgotten_total") == 1

    await harness.feed(ANOMALIES, anomaly("api", "latency", t=WEEK_S + 7000, revision=3, cls=ev.AnomalyUpdated))
    (reopened,) = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)][1:]
    assert reopened.data.incident.incident_id != first
