"""On-call through the responder's bus: a hand-off at a simulated time pages the right person; windows mute, release."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from services.responder.core import OWN_TOPICS, Responder
from services.responder.domain.oncall import Contact, Layer, Person, Roster, Rotation, Schedule
from services.responder.domain.windows import MaintenanceWindow
from services.responder.handlers import register
from services.responder.notify.channel import RetryPolicy
from services.responder.notify.registry import Route
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topics import ANOMALIES, COMMANDS, INCIDENTS, RECOVERY, SILENCES
from tests.component.harness import BusHarness
from tests.factories import T0
from tests.unit.services.responder.helpers import Recorder, anomaly, at, command, policy

pytestmark = pytest.mark.component

QUICK = RetryPolicy(attempts=1, backoff_s=0, timeout_s=1)
HANDOFF = T0 + timedelta(seconds=100)
NOON_MINUTE = {"start_time": "12:00", "end_time": "12:01"}  # 12:01:40 UTC: ann hands L1 over to bob


class Clock:
    """The responder's injected clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def roster() -> Roster:
    # ann's turn from yesterday's 12:01:40, bob's from today's (HANDOFF)
    rotation = Rotation(
        people=("ann", "bob"),
        every="daily",
        handoff=time(12, 1, 40),
        timezone="UTC",
        start=T0.date() - timedelta(days=1),
    )
    people = tuple(
        Person(name=n, contacts=(Contact(type="log"), Contact(type="log", delay_s=30))) for n in ("ann", "bob")
    )
    return Roster(
        people=people, schedules=(Schedule(name="l1", team=m.Team.L1, layers=(Layer(name="base", rotation=rotation),)),)
    )


async def start(
    harness: BusHarness, clock: Clock, *, windows: tuple[MaintenanceWindow, ...] = ()
) -> tuple[Responder, dict[str, Recorder]]:
    settings = ResponderSettings()
    service = Service.create("responder", settings)
    recorders = {
        name: Recorder(name) for name in ("team", "oncall:ann:0", "oncall:ann:1", "oncall:bob:0", "oncall:bob:1")
    }
    routes = {m.Team.L1: {"team": Route(recorders["team"], QUICK)}}
    contacts = {name: Route(r, QUICK) for name, r in recorders.items() if name != "team"}
    sender = Sender(routes, contacts=contacts)
    core = Responder(service.bus, policy(), sender, clock=clock, roster=roster(), windows=windows)
    register(service, core, settings)
    await harness.attach(service.bus)
    return core, recorders


async def test_a_hand_off_at_a_simulated_time_pages_the_person_on_call_then_their_next_contact(
    harness: BusHarness,
) -> None:
    clock = Clock(HANDOFF + timedelta(seconds=10))
    core, sent = await start(harness, clock)
    await core.tick()
    handed = [e for e in harness.published(SILENCES) if isinstance(e, ev.OnCallHandedOff)]
    assert [(e.data.at, e.data.previous, e.data.person) for e in handed] == [(HANDOFF, "ann", "bob")]
    await harness.feed(ANOMALIES, anomaly("api", t=110))
    await core.tick()
    await core.drain()
    assert len(sent["team"].sent) == 1 and len(sent["oncall:bob:0"].sent) == 1  # the team and bob, not ann
    assert sent["oncall:ann:0"].sent == [] and sent["oncall:bob:1"].sent == []
    clock.now += timedelta(seconds=29)
    await core.tick()
    await core.drain()
    assert sent["oncall:bob:1"].sent == []  # bob's second contact waits its 30 s
    clock.now += timedelta(seconds=1)
    await core.tick()
    await core.drain()
    assert len(sent["oncall:bob:1"].sent) == 1
    await core.tick()  # the hand-off is published once, whatever the ticks
    assert len([e for e in harness.published(SILENCES) if isinstance(e, ev.OnCallHandedOff)]) == 1


async def test_an_acknowledgement_stops_the_next_contact(harness: BusHarness) -> None:
    clock = Clock(at(10))  # before the hand-off: ann
    core, sent = await start(harness, clock)
    await harness.feed(ANOMALIES, anomaly("api", t=10))
    await core.tick()
    await core.drain()
    assert len(sent["oncall:ann:0"].sent) == 1
    (incident_id,) = core.book.incidents
    clock.now = at(20)
    await harness.feed(COMMANDS, command(ev.AcknowledgeRequested, incident_id, t=20))
    clock.now = at(60)
    await core.tick()
    await core.drain()
    assert sent["oncall:ann:1"].sent == []  # acknowledged before it was due
    assert len(sent["oncall:ann:0"].sent) == 2  # the page, then the acknowledgement
    assert sent["oncall:bob:0"].sent == []


async def test_a_recurring_window_mutes_then_releases_at_a_simulated_time(harness: BusHarness) -> None:
    window = MaintenanceWindow.model_validate(
        {
            "name": "deploys",
            "matchers": ["service=~ap.*"],
            "time_intervals": [{"times": [{"start_time": "12:00", "end_time": "12:01"}]}],
        }
    )
    clock = Clock(at(10))  # 12:00:10 UTC, inside the window
    core, sent = await start(harness, clock, windows=(window,))
    await harness.feed(ANOMALIES, anomaly("api", t=10))
    await core.tick()
    assert harness.published(INCIDENTS) == [] and core.book.incidents == {}
    clock.now = at(60)  # 12:01: the window is over; the same episode, still firing, is updated
    await harness.feed(ANOMALIES, anomaly("api", t=60, revision=2, cls=ev.AnomalyUpdated))
    await core.tick()
    await core.drain()
    opened = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)]
    assert len(opened) == 1 and len(sent["team"].sent) == 1
    clock.now = at(24 * 3600 + 10)  # the next day, 12:00:10: the window holds again
    await harness.feed(ANOMALIES, anomaly("web", t=24 * 3600 + 10))
    await harness.feed(ANOMALIES, anomaly("apx", t=24 * 3600 + 10))
    targets = {e.data.incident.target for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)}
    assert targets == {"api", "web"}


async def test_an_outage_still_firing_when_a_window_ends_opens_its_incident_at_the_next_tick(
    harness: BusHarness,
) -> None:
    window = MaintenanceWindow.model_validate(
        {"name": "deploys", "matchers": ["service=api"], "time_intervals": [{"times": [NOON_MINUTE]}]}
    )
    clock = Clock(at(10))
    core, sent = await start(harness, clock, windows=(window,))
    await harness.feed(ANOMALIES, anomaly("api", t=10))
    await core.tick()
    assert core.book.incidents == {}
    clock.now = at(60)  # no new anomaly event: the tick re-evaluates what the window muted
    await core.tick()
    await core.drain()
    assert [e.data.incident.target for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentOpened)] == ["api"]
    assert len(sent["team"].sent) == 1


async def test_a_schedule_put_through_the_api_changes_who_is_paged(harness: BusHarness) -> None:
    clock = Clock(at(10))  # before the hand-off: ann by the config
    core, sent = await start(harness, clock)
    l1 = core.book.roster.schedules[0]
    rotation = l1.layers[0].rotation.model_copy(update={"people": ("bob",)})
    changed = l1.model_copy(update={"layers": (l1.layers[0].model_copy(update={"rotation": rotation}),)})
    data = m.ScheduleChange(schedule_name="l1", team=m.Team.L1, schedule=changed.model_dump(mode="json"), author="op")
    await harness.feed(SILENCES, ev.ScheduleUpdated.create(data, source="/tests", id_parts=("l1", 1), time=at(5)))
    await harness.feed(ANOMALIES, anomaly("api", t=10))
    await core.tick()
    await core.drain()
    assert len(sent["oncall:bob:0"].sent) == 1 and sent["oncall:ann:0"].sent == []
    await harness.detach(core.bus)  # a restarted responder rebuilds the schedule from the topic
    again, _ = await start(harness, clock)
    await harness.rebuild(again.bus, OWN_TOPICS, again.fold, inputs=(RECOVERY,), clock=again.clock)
    assert again.book.roster.schedule("l1") == changed


async def test_gaps_and_hand_offs_are_published_once_by_the_clock_tick(harness: BusHarness) -> None:
    clock = Clock(at(0))
    core, _ = await start(harness, clock)
    l1 = core.book.roster.schedules[0]
    days_only = {"times": [{"start_time": "08:00", "end_time": "12:01"}]}  # nobody from 12:01 UTC
    layer = l1.layers[0].model_dump(mode="json") | {"only": [days_only]}
    core.book.roster = core.book.roster.with_schedule(
        Schedule.model_validate(l1.model_dump(mode="json") | {"layers": [layer]})
    )
    clock.now = at(61)
    await core.tick()
    await core.tick()
    gaps = [e for e in harness.published(SILENCES) if isinstance(e, ev.OnCallGapStarted)]
    assert [(e.data.at, e.data.previous, e.data.person) for e in gaps] == [(at(60), "ann", None)]


async def test_a_gap_in_a_schedule_paged_for_critical_is_a_warning(harness: BusHarness) -> None:
    core, _ = await start(harness, Clock(at(0)))
    assert core.gap_warnings(at(0)) == []  # a 24/7 rotation
    l1 = core.book.roster.schedules[0]
    days_only = {"times": [{"start_time": "08:00", "end_time": "20:00"}]}
    layer = l1.layers[0].model_dump(mode="json") | {"only": [days_only]}
    core.book.roster = core.book.roster.with_schedule(
        Schedule.model_validate(l1.model_dump(mode="json") | {"layers": [layer]})
    )
    (first, *_rest) = core.gap_warnings(at(0))
    assert "on-call schedule l1 (L1, paged for critical incidents) has nobody on call from 2026-01-01T20:00:00" in first
