"""The view of the responder's own topics: copies of what it emitted are passed over, others' events folded."""

from __future__ import annotations

import pytest

from services.responder.core import Responder
from services.responder.domain.lifecycle import transition
from services.responder.handlers import register
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared.runtime import Service
from shared.topics import ANOMALIES, INCIDENTS
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import anomaly, at, policy

pytestmark = pytest.mark.component


async def start(harness: BusHarness) -> tuple[Service, Responder]:
    settings = ResponderSettings()
    service = Service.create("responder", settings)
    core = Responder(service.bus, policy(), Sender({}), clock=lambda: at(0))
    register(service, core, settings)
    await harness.attach(service.bus)
    return service, core


async def test_copies_of_its_own_events_are_passed_over_unparsed(harness: BusHarness) -> None:
    """The incident it opened comes back on its view: not admitted (not in ``seen``), the book unchanged."""
    service, core = await start(harness)
    await harness.feed(ANOMALIES, anomaly("api", "latency", t=0))
    own = harness.records(INCIDENTS)
    assert own, "the anomaly opened an incident"
    before = dict(core.book.incidents)
    await harness.deliver(INCIDENTS, own)
    await harness.deliver(INCIDENTS, own)  # a redelivery too
    assert core.book.incidents == before
    assert not any(event.id in service.bus.seen for event in harness.published(INCIDENTS))


async def test_an_event_another_writer_put_on_its_topics_is_folded(harness: BusHarness) -> None:
    """A note on its incident written by someone else (another instance) is admitted and folded."""
    service, core = await start(harness)
    await harness.feed(ANOMALIES, anomaly("api", "latency", t=0))
    (opened,) = harness.published(INCIDENTS)
    incident = opened.data.incident
    note = transition(ev.IncidentNoteAdded, incident, "looked at it", id_parts=("note", 1), now=at(1), actor="ops")
    await harness.feed(INCIDENTS, note)
    assert note.id in service.bus.seen
    assert core.book.incidents[incident.incident_id].notes == ("looked at it",)
