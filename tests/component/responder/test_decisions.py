"""Human decisions through the responder's bus: L1 escalates by hand and L2 is paged; declare; replays."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.responder.core import OWN_TOPICS, Responder
from services.responder.handlers import register
from services.responder.notify.channel import RetryPolicy
from services.responder.notify.registry import Route
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topics import ANOMALIES, COMMANDS, INCIDENTS, RECOVERY
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import Recorder, anomaly, at, decision, policy

pytestmark = pytest.mark.component

QUICK = RetryPolicy(attempts=1, backoff_s=0, timeout_s=1)


class Clock:
    """The responder's injected clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def start(harness: BusHarness, clock: Clock) -> tuple[Responder, dict[m.Team, Recorder]]:
    settings = ResponderSettings()
    service = Service.create("responder", settings)
    recorders = {team: Recorder(team.value) for team in m.Team}
    routes = {team: {"chat": Route(r, QUICK)} for team, r in recorders.items()}
    core = Responder(service.bus, policy(), Sender(routes), clock=clock)
    register(service, core, settings)
    await harness.attach(service.bus)
    return core, recorders


def ack(incident_id: str, *, t: float) -> ev.AcknowledgeRequested:
    data = m.OperatorCommand(command_id=f"ack-{t}", incident_id=incident_id, actor="ann")
    return ev.AcknowledgeRequested.create(data, source="/tests", id_parts=(data.command_id,), time=at(t))


async def test_l1_escalates_by_hand_and_l2_is_paged(harness: BusHarness) -> None:
    clock = Clock(at(0))
    core, sent = await start(harness, clock)
    await harness.feed(ANOMALIES, anomaly("api", t=0))
    await core.tick()
    await core.drain()
    (incident_id,) = core.book.incidents
    assert len(sent[m.Team.L1].sent) == 1 and sent[m.Team.L2].sent == []
    clock.now = at(2)
    await harness.feed(COMMANDS, ack(incident_id, t=2), key=incident_id)  # L1 takes it
    await core.drain()
    clock.now = at(30)
    await core.tick()
    await core.drain()
    assert sent[m.Team.L2].sent == []  # acknowledged: the policy's L2 step does not page
    clock.now = at(40)
    up = decision(ev.EscalateRequested, incident_id, t=40, actor="ann", text="database corruption, beyond L1")
    await harness.feed(COMMANDS, up, key=incident_id)
    await harness.feed(COMMANDS, up, key=incident_id)  # delivered twice: one page
    await core.drain()
    assert len(sent[m.Team.L2].sent) == 1
    escalated = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentEscalated)]
    assert [(e.data.team, e.data.actor) for e in escalated][-1] == (m.Team.L2, "ann")
    assert "database corruption" in escalated[-1].data.reason
    assert core.book.incidents[incident_id].incident.status is m.IncidentStatus.TRIGGERED
    clock.now = at(50)  # L2's clock: the Major policy's L3 step is 10 s after L2's
    await core.tick()
    await core.drain()
    assert len(sent[m.Team.L3].sent) == 1
    await harness.detach(core.bus)  # a restarted responder rebuilds the same state: no second page
    again, again_sent = await start(harness, clock)
    await harness.rebuild(again.bus, OWN_TOPICS, again.fold, inputs=(RECOVERY,), clock=again.clock)
    await again.tick()
    await again.notify_owed()
    await again.drain()
    assert all(r.sent == [] for r in again_sent.values())


async def test_a_declared_incident_pages_and_a_decision_on_an_unknown_incident_is_dead_lettered(
    harness: BusHarness,
) -> None:
    clock = Clock(at(0))
    core, sent = await start(harness, clock)
    declare = decision(
        ev.DeclareRequested, t=0, actor="carol", severity=m.Severity.CRITICAL, impact=m.Impact.SECURITY,
        title="credentials leaked in a public repository",
    )  # fmt: skip
    await harness.feed(COMMANDS, declare, key=declare.data.incident_id)
    await core.tick()
    await core.drain()
    opened = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)]
    assert [(e.data.incident.incident_id, e.data.actor) for e in opened] == [(declare.data.incident_id, "carol")]
    assert len(sent[m.Team.L1].sent) == 1 and len(sent[m.Team.L2].sent) == 1  # Critical: L1 and L2 at once
    await harness.feed(COMMANDS, decision(ev.EscalateRequested, "inc-nope", t=1), key="inc-nope")
    assert len(harness.dead_letters(COMMANDS)) == 1
