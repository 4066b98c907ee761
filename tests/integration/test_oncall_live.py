"""On-call and maintenance windows on a real broker, the responder's clock simulated (a day in the past).

A rotation hand-off at a simulated time pages the person on call through their contact rules (signed
webhooks, the second after its delay); a recurring maintenance window mutes an outage, then releases it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from services.responder.app import ResponderRuntime, build
from services.responder.domain.oncall import Roster
from services.responder.domain.policy import GroupingPolicy
from services.responder.domain.windows import MaintenanceWindow
from services.responder.notify.registry import ChannelSpec
from services.responder.notify.webhook import SIGNATURE_HEADER, verify
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.events import encode_event
from shared.runtime import Service
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES, SILENCES
from tests.integration.responder_support import (
    WEBHOOK_SECRET,
    Receiver,
    responder_settings,
    topic_events,
    until,
    webhook_receiver,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)
HANDOFF = datetime.combine(YESTERDAY, time(10, 0), tzinfo=UTC)


class SimClock:
    """The responder's clock: a simulated time the test sets; counts its reads (one per clock tick)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        return self.now


@pytest.fixture
def receiver() -> Any:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
async def producer(kafka_bootstrap: str, unique: str) -> AsyncIterator[Service]:
    settings = ResponderSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.")
    await ensure_topics(settings)
    service = Service.create("test-producer", settings)
    await service.start()
    yield service
    await service.stop()


def outage(at: datetime, *, revision: int = 1, cls: type[ev.AnomalyEvent] = ev.AnomalyDetected) -> ev.AnomalyEvent:
    data = m.Anomaly(
        anomaly_id="an-demo-latency",
        fingerprint="demo/latency",
        kind=m.AnomalyKind.THRESHOLD,
        target="demo",
        signal="latency",
        impact=m.Impact.SEVERE_DEGRADATION,
        score=0.9,
        since=at,
        last_seen=at,
        revision=revision,
        summary="latency anomalous on demo",
    )
    return cls.create(data, source="/tests", id_parts=(data.anomaly_id, revision), time=at, subject="demo")


async def send(producer: Service, event: ev.AnomalyEvent) -> None:
    topic = producer.settings.topic_prefix + ANOMALIES.name
    await producer.broker.publish(encode_event(event), topic, key=event.data.target.encode())


async def started(settings: ResponderSettings, clock: SimClock) -> ResponderRuntime:
    runtime = build(settings, clock=clock)
    await runtime.start()
    return runtime


def roster(receiver: Receiver) -> Roster:
    hook = {"type": "webhook", "secret": "hook"}
    return Roster.model_validate(
        {
            "people": [
                {"name": "ann", "contacts": [hook | {"url": f"{receiver.url}/ann"}]},
                {
                    "name": "bob",
                    "contacts": [
                        hook | {"url": f"{receiver.url}/bob"},
                        hook | {"url": f"{receiver.url}/bob-2", "delay_s": 60},
                    ],
                },
            ],
            "schedules": [
                {
                    "name": "l1-primary",
                    "team": "L1",
                    "layers": [
                        {
                            "name": "daily",
                            "rotation": {
                                "people": ["ann", "bob"],
                                "every": "daily",
                                "handoff": "10:00",
                                "timezone": "UTC",
                                "start": (YESTERDAY - timedelta(days=1)).isoformat(),
                            },
                        }
                    ],
                }
            ],
        }
    )


async def test_a_hand_off_at_a_simulated_time_pages_the_person_on_call_through_their_contacts(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    settings = responder_settings(
        kafka_bootstrap,
        unique,
        receiver,
        routes={team: [ChannelSpec(type="log")] for team in m.Team},  # only people get webhooks here
        grouping=GroupingPolicy(group_wait_s=0, group_interval_s=60, repeat_interval_s=3600),
        oncall=roster(receiver),
    )
    clock = SimClock(HANDOFF - timedelta(seconds=10))  # ann's turn (from the day before)
    runtime = await started(settings, clock)
    try:
        clock.now = HANDOFF + timedelta(seconds=5)  # bob's turn began at 10:00
        await until(lambda: bool(runtime.responder.book.oncall_events), what="the hand-off event")
        await send(producer, outage(clock.now))
        await until(lambda: len(receiver.received()) >= 1, what="the page to bob's first contact")
        seen = clock.reads
        await until(lambda: clock.reads >= seen + 5, what="five more clock ticks (bob-2 waits its 60 s)")
        assert [path for path, _, _ in receiver.received()] == ["/bob"]
        clock.now += timedelta(seconds=60)
        await until(lambda: len(receiver.received()) >= 2, what="the page to bob's second contact")
        await until(lambda: runtime.responder.sending == set(), what="sends to finish")
    finally:
        await runtime.stop()
    assert [path for path, _, _ in receiver.received()] == ["/bob", "/bob-2"]  # never ann
    for _, headers, body in receiver.received():
        assert verify(WEBHOOK_SECRET.encode(), body, headers[SIGNATURE_HEADER])
    handed = [e for e in await topic_events(settings, SILENCES) if isinstance(e, ev.OnCallHandedOff)]
    assert [(e.data.at, e.data.previous, e.data.person) for e in handed] == [(HANDOFF, "ann", "bob")]


async def test_a_recurring_window_mutes_an_outage_then_releases_it_at_a_simulated_time(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    window = MaintenanceWindow.model_validate(
        {
            "name": "nightly-deploy",
            "matchers": ["service=~dem.*"],
            "time_intervals": [{"times": [{"start_time": "03:00", "end_time": "04:00"}], "location": "UTC"}],
        }
    )
    settings = responder_settings(
        kafka_bootstrap,
        unique,
        receiver,
        grouping=GroupingPolicy(group_wait_s=0, group_interval_s=60, repeat_interval_s=3600),
        maintenance_windows=(window,),
    )
    clock = SimClock(datetime.combine(YESTERDAY, time(3, 30), tzinfo=UTC))
    runtime = await started(settings, clock)
    try:
        await send(producer, outage(clock.now))
        registry = runtime.service.metrics.registry
        silenced = {"input": "anomaly", "outcome": "silenced"}
        await until(lambda: registry.get_sample_value("ir_responder_decisions_total", silenced) == 1.0, what="muted")
        seen = clock.reads
        await until(lambda: clock.reads >= seen + 5, what="five clock ticks under the window")
        assert runtime.responder.book.incidents == {} and receiver.received() == []
        clock.now = datetime.combine(YESTERDAY, time(4, 0, 5), tzinfo=UTC)  # the window is over
        # no new anomaly event: the clock tick hands what still fires back to grouping, as when a silence ends
        await until(lambda: len(receiver.received()) >= 1, what="the page once the window ended")
        await until(lambda: runtime.responder.sending == set(), what="sends to finish")
    finally:
        await runtime.stop()
    events = await topic_events(settings)
    opened = [e for e in events if isinstance(e, ev.IncidentOpened)]
    assert len(opened) == 1 and opened[0].data.incident.opened_at == clock.now
    assert [path for path, _, _ in receiver.received()] == ["/L1"]
